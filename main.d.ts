export {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  AuthResponseOptions,
  ParsedAuthResponse,
  IdTokenInfo,
} from './index'
export * from './lib/auth-plugin'
export * from './lib/sources'
