/// <reference types="node" />
import type { webcrypto } from 'node:crypto'
import type { TokenContext } from './auth-plugin'

/**
 * A token source for `getToken`: called with the connection context, resolves the token. When
 * `context.signal` aborts (the plugin's `tokenTimeoutMs` passed), the request or program is stopped
 * and the call rejects with `ERR_OIDC_TOKEN_SOURCE_TIMEOUT`.
 */
export type TokenSource = ((context: TokenContext) => Promise<string>) & {
  /** Which built-in source this is, as the `mysql-openid-connect:token` events name it. */
  readonly sourceKind: 'command' | 'github-actions' | 'gcp-metadata' | 'oauth-client-credentials'
}

/** Only own properties are read; an unknown key or a wrong type throws `ERR_OIDC_INVALID_ARGUMENT`, as in every source. */
export interface CommandSourceOptions {
  /**
   * Milliseconds before the program, and every process it started (its process group; on Windows its
   * tree, through taskkill), is killed and the call fails with `ERR_OIDC_TOKEN_SOURCE_TIMEOUT`. Default 10 000.
   */
  timeoutMs?: number
  /** The program's environment. Default: this process's. */
  env?: NodeJS.ProcessEnv
  /** The program's working directory. Default: this process's. */
  cwd?: string
  /** Largest stdout accepted, in bytes (`ERR_OIDC_TOKEN_TOO_LARGE` past it). Default 1 MiB. */
  maxOutputBytes?: number
}

/**
 * Runs a program (no shell) and takes the token from its trimmed stdout, the credential-process
 * pattern: `fromCommand('gcloud', ['auth', 'print-identity-token'])`. Done when the program exits with
 * code 0, even if a process it left behind still holds stdout. Errors give the exit code and the first
 * line of stderr, never stdout. On POSIX the program runs in its own session (detached), so that it can
 * be killed with its descendants: it has no controlling terminal.
 */
export declare function fromCommand(command: string, args?: readonly string[], options?: CommandSourceOptions): TokenSource

export interface HttpSourceOptions {
  /** Milliseconds for the whole request, 1 to 2 147 483 647. Default 10 000. */
  timeoutMs?: number
  /** Largest response accepted, in bytes: a positive integer. Default 1 MiB. */
  maxResponseBytes?: number
}

/**
 * The GitHub Actions OIDC token of the running job (which needs `permissions: id-token: write`),
 * from `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. The request token is sent
 * over https, or plain http to a loopback address only (else `ERR_OIDC_INSECURE_TRANSPORT`).
 */
export declare function fromGitHubActions(options?: HttpSourceOptions & { audience?: string }): TokenSource

/**
 * An ID token for the attached service account from Google Cloud's metadata server
 * (`GCE_METADATA_HOST` overrides the address, as in Google's libraries), `format=full`. Plain http, as
 * the metadata server only speaks: no secret is sent.
 */
export declare function fromGcpMetadata(options: HttpSourceOptions & { audience: string }): TokenSource

export interface OAuthClientCredentialsOptions extends HttpSourceOptions {
  /**
   * The provider's issuer URL, found through OpenID discovery. https, or plain http to 127.0.0.0/8,
   * [::1] or localhost; every endpoint the discovery names is held to the same rule
   * (`ERR_OIDC_INSECURE_TRANSPORT` before anything connects).
   */
  issuer: string
  clientId: string
  /** client_secret_basic authentication. Give this or `privateKey`. */
  clientSecret?: string
  /**
   * private_key_jwt authentication: a CryptoKey (e.g. from jose's `importPKCS8` or `crypto.subtle`),
   * or `{ key, kid }`. Node's type, so that a project without the DOM lib compiles too.
   */
  privateKey?: webcrypto.CryptoKey | { key: webcrypto.CryptoKey; kid?: string }
  scope?: string
  /** Resource indicator(s) (RFC 8707): many providers issue a JWT access token only for a resource. */
  resource?: string | string[]
  /** Which token of the answer is sent to the database. Default `'access_token'`. */
  use?: 'access_token' | 'id_token'
}

/**
 * The OAuth 2.0 client-credentials grant against any OpenID provider, through `openid-client` (an
 * optional peer dependency: `npm install openid-client`).
 */
export declare function fromOAuthClientCredentials(options: OAuthClientCredentialsOptions): TokenSource

/** A `mysql-openid-connect:token` event. Never carries the token. */
export interface TokenEvent {
  event: 'fetched' | 'refreshed' | 'failed'
  /** `getToken`, `tokenFile` or a built-in source's `sourceKind`. */
  source: string
  /** True for a refresh no login waited for. */
  background: boolean
  durationMs: number
  iss?: string
  sub?: string
  /** Seconds since the epoch, as in the JWT. */
  iat?: number
  exp?: number
  /** The `ERR_OIDC_*` code of a failure. */
  code?: string
}

/** A `mysql-openid-connect:login` event. */
export interface LoginEvent {
  /** `'abandoned'`: the connection closed while its token was being fetched. */
  event: 'answered' | 'refused' | 'abandoned'
  /** `authentication_openid_connect_client` or `mysql_clear_password`. */
  plugin: string
  /** How the token reached (or would have reached) the server; `null` when refused for the transport. */
  transport: 'tls' | 'local-socket' | 'tls-unverified' | 'allowed-insecure' | null
  /** The code of a refusal. */
  code?: string
}
