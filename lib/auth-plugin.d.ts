import type { AuthResponseOptions } from '../index'

/** What `getToken` is told about the connection being opened. */
export interface TokenContext {
  user?: string
  host?: string
  port?: number
  database?: string
  socketPath?: string
}

/** Options of `openidConnectAuthPlugin` and `authPlugins`. */
export interface OpenidConnectPluginOptions extends AuthResponseOptions {
  /** The ID token itself. Give at most one of `token`, `tokenFile`, `getToken`; with none, mysql2's `password` is the token. */
  token?: string | Uint8Array
  /** A file holding the token, read afresh at every authentication (rotated files are picked up). */
  tokenFile?: string
  /** Returns a token, sync or async. Its result is cached per context until `refreshBeforeExpirySeconds` before `exp`. */
  getToken?: (context: TokenContext) => string | Uint8Array | Promise<string | Uint8Array>
  /** Seconds before `exp` at which a cached `getToken` token is fetched again. Default 60. */
  refreshBeforeExpirySeconds?: number
  /** Milliseconds `getToken` may take before the connection fails with `ERR_OIDC_TOKEN_SOURCE_TIMEOUT`. Default 10 000. */
  tokenTimeoutMs?: number
  /** Send the token over plain TCP. Default false: only TLS or a Unix socket. */
  allowInsecureTransport?: boolean
  /** Also answer `mysql_clear_password` with the token (TiDB's `tidb_auth_token`). `authPlugins` only. Default false. */
  cleartext?: boolean
}

/** A mysql2 auth plugin: assignable to mysql2's `AuthPlugin`. */
export type OpenidConnectAuthPlugin = (pluginMetadata: {
  connection: unknown
  command: unknown
}) => (pluginData: Buffer) => Buffer | Promise<Buffer>

/** mysql2's `authPlugins` option value. */
export type OpenidConnectAuthPlugins = {
  authentication_openid_connect_client: OpenidConnectAuthPlugin
  mysql_clear_password?: OpenidConnectAuthPlugin
}

/** Error codes thrown by this package, as `error.code` and, surviving mysql2, `error.oidcCode`. */
export type OidcErrorCode =
  | 'ERR_OIDC_TOKEN_EMPTY'
  | 'ERR_OIDC_TOKEN_MALFORMED'
  | 'ERR_OIDC_TOKEN_TOO_LARGE'
  | 'ERR_OIDC_TOKEN_EXPIRED'
  | 'ERR_OIDC_TOKEN_NOT_YET_VALID'
  | 'ERR_OIDC_INVALID_ARGUMENT'
  | 'ERR_OIDC_RESPONSE_MALFORMED'
  | 'ERR_OIDC_INSECURE_TRANSPORT'
  | 'ERR_OIDC_TOKEN_SOURCE'
  | 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT'
  | 'ERR_OIDC_UNEXPECTED_REQUEST'
  | 'ERR_OIDC_NO_BINARY'

/** A mysql2 auth plugin that logs in with an OpenID Connect ID token. */
export declare function openidConnectAuthPlugin(options?: OpenidConnectPluginOptions): OpenidConnectAuthPlugin

/** The value of mysql2's `authPlugins` option: `{ authentication_openid_connect_client }` (and `mysql_clear_password` with `cleartext: true`). */
export declare function authPlugins(options?: OpenidConnectPluginOptions): OpenidConnectAuthPlugins
