import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const api = require('./main.js')

export const {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  openidConnectAuthPlugin,
  authPlugins,
  OidcError,
  isOidcError,
  oidcCodeOf,
  fromCommand,
  fromGitHubActions,
  fromGcpMetadata,
  fromOAuthClientCredentials,
} = api
export default api
