/// <reference types="node" />
import type { AuthResponseOptions } from '../index'

/** What `getToken` is told about the connection being opened. */
export interface TokenContext {
  user?: string
  host?: string
  port?: number
  database?: string
  socketPath?: string
  /**
   * Aborts when the login stops waiting (`tokenTimeoutMs`): pass it on (`fetch(url, { signal })`) so the
   * call ends too. Until a call settles, later logins for this context wait for it rather than call again.
   * Always set when the plugin calls `getToken`; the built-in sources honour it.
   */
  signal?: AbortSignal
}

/** A token as a source may give it. */
export type TokenValue = string | Uint8Array

/** Options every token source shares. */
export interface PluginOptionsBase extends AuthResponseOptions {
  /** Seconds before `exp` (or TiDB's 15-minute limit) at which a cached `getToken` token is refreshed in the background. Default 60. */
  refreshBeforeExpirySeconds?: number
  /** Milliseconds `getToken` may take before the connection fails with `ERR_OIDC_TOKEN_SOURCE_TIMEOUT`. At most 2 147 483 647. Default 10 000. */
  tokenTimeoutMs?: number
  /**
   * Send the token over TLS whose certificate chain or host name does not verify (self-signed with
   * `rejectUnauthorized: false`, a certificate for another name). Default false.
   */
  allowUnverifiedServer?: boolean
  /** Send the token over plain TCP too (and unverified TLS). Default false: only verified TLS or a local socket. */
  allowInsecureTransport?: boolean
  /** Also answer `mysql_clear_password` with the token, for TiDB's `tidb_auth_token` (TiDB's claim rules apply). Default false. */
  cleartext?: boolean
}

/** The token itself, checked at set-up. */
export interface StaticTokenOptions extends PluginOptionsBase {
  token: TokenValue
  tokenFile?: never
  getToken?: never
}

/** A file holding the token, read afresh at every authentication (rotated files are picked up). */
export interface TokenFileOptions extends PluginOptionsBase {
  tokenFile: string
  token?: never
  getToken?: never
}

/** Returns a token, sync or async; cached per context and refreshed in the background before it expires. */
export interface GetTokenOptions extends PluginOptionsBase {
  /** Called with the connection's context and, always, the `signal` that aborts when the login stops waiting. */
  getToken: (context: TokenContext & { signal: AbortSignal }) => TokenValue | Promise<TokenValue>
  token?: never
  tokenFile?: never
}

/** Options of `openidConnectAuthPlugin` and `authPlugins`: exactly one of `token`, `tokenFile`, `getToken`. */
export type OpenidConnectPluginOptions = StaticTokenOptions | TokenFileOptions | GetTokenOptions

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

/** Error codes thrown by this package, as `error.oidcCode` (and `error.code` unless mysql2 rewrote it). */
export type OidcErrorCode =
  | 'ERR_OIDC_TOKEN_EMPTY'
  | 'ERR_OIDC_TOKEN_MALFORMED'
  | 'ERR_OIDC_TOKEN_TOO_LARGE'
  | 'ERR_OIDC_TOKEN_EXPIRED'
  | 'ERR_OIDC_TOKEN_NOT_YET_VALID'
  | 'ERR_OIDC_TOKEN_CLAIM_MISSING'
  | 'ERR_OIDC_TOKEN_TOO_OLD'
  | 'ERR_OIDC_INVALID_ARGUMENT'
  | 'ERR_OIDC_RESPONSE_MALFORMED'
  | 'ERR_OIDC_INSECURE_TRANSPORT'
  | 'ERR_OIDC_UNVERIFIED_SERVER'
  | 'ERR_OIDC_POLLUTED_OPTIONS'
  | 'ERR_OIDC_DEBUG_OUTPUT'
  | 'ERR_OIDC_TOKEN_SOURCE'
  | 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT'
  | 'ERR_OIDC_MISSING_DEPENDENCY'
  | 'ERR_OIDC_UNEXPECTED_REQUEST'
  | 'ERR_OIDC_NO_BINARY'
  | 'ERR_OIDC_UNSUPPORTED_MYSQL2'

/** Every error this package throws. mysql2 may rewrite `code` (AUTH_SWITCH_PLUGIN_ERROR); `oidcCode` stays. */
export declare class OidcError extends Error {
  /** The message reads `authentication_openid_connect_client: <message> [<code>]`. */
  constructor(code: OidcErrorCode, message: string, options?: { cause?: unknown })
  readonly name: 'OidcError'
  code: OidcErrorCode | string
  readonly oidcCode: OidcErrorCode
}

/** True for an error this package threw, also after mysql2 handed it on. */
export declare function isOidcError(err: unknown): err is OidcError

/**
 * The `ERR_OIDC_*` code of an error this package caused, or `undefined` (also for a server's own
 * errors). Use it instead of `err.oidcCode`: `mysql2/promise` before 3.22.2 rejects with a copy of
 * the error that keeps only its message, and the code is read from there.
 */
export declare function oidcCodeOf(err: unknown): OidcErrorCode | undefined

/** A mysql2 auth plugin that logs in with an OpenID Connect ID token. */
export declare function openidConnectAuthPlugin(options: OpenidConnectPluginOptions): OpenidConnectAuthPlugin

/** The value of mysql2's `authPlugins` option: `{ authentication_openid_connect_client }` (and `mysql_clear_password` with `cleartext: true`). */
export declare function authPlugins(options: OpenidConnectPluginOptions): OpenidConnectAuthPlugins
