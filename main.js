'use strict'

// The public entry: the native core (generated loader in index.js, through lib/binding.js) and the mysql2 glue in lib/.
const {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
} = require('./lib/core.js')
const { openidConnectAuthPlugin, authPlugins } = require('./lib/auth-plugin.js')
const { OidcError, isOidcError, oidcCodeOf } = require('./lib/errors.js')
const { fromCommand } = require('./lib/sources/command.js')
const { fromGitHubActions } = require('./lib/sources/github-actions.js')
const { fromGcpMetadata } = require('./lib/sources/gcp-metadata.js')
const { fromOAuthClientCredentials } = require('./lib/sources/oauth-client-credentials.js')

module.exports = {
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
}
