// Types of the embedded test server (CommonJS, see index.js for the behaviour).
import type { JSONWebKeySet, JWK } from 'jose'
import type { TokenSource } from '../main.js'

export type ServerMode = 'mysql-enterprise' | 'percona' | 'starrocks' | 'tidb'
export type Fault =
  | 'drop-after-handshake'
  | 'malformed-auth-switch'
  | 'huge-auth-switch'
  | 'error-packet'
  | 'more-data-after-response'
  | 'slow-handshake'

export interface SignOptions {
  /** Seconds from now (negative: already expired), a jose time span such as '10m', or null: no exp. Default 600. */
  expiresIn?: number | string | null
  header?: Record<string, unknown>
  key?: 'primary' | 'other'
}

export interface IdentityProvider {
  issuer: string
  alg: string
  /** Two keys, 'primary' and 'other' (a rollover); empty for an HS provider. */
  jwks: JSONWebKeySet
  /** The primary public key alone (MySQL Enterprise takes one RSA key per provider); absent for HS. */
  publicJwk?: JWK
  secret?: Uint8Array
  signIdToken(claims: Record<string, unknown>, options?: SignOptions): Promise<string>
  signWithForeignKey(claims: Record<string, unknown>, options?: SignOptions): Promise<string>
}

export interface AuthLogEntry {
  user: string
  host: string
  mode: ServerMode
  clientPlugin: string | null
  plugin: string | null
  capability: number | null
  tokenBytes: number
  transport: 'tcp' | 'tls' | 'unix'
  secure: boolean
  ok: boolean
  /** Why the login was refused, as the real server logs it (the client only gets a bare 1045). */
  reason: string | null
  secondResponse?: boolean
  /** A StarRocks COM_CHANGE_USER, answered without an auth switch. */
  changeUser?: boolean
  /** With `backend`: the login passed the mode's checks (ok) but no backend session came of it. */
  backendError?: string
}

/** One account, as its CREATE USER would say; which options apply depends on the mode. */
export interface AccountOptions {
  /** An issuer of identityProviders. mysql-enterprise/percona: the provider the account is bound to
   * (default: the only one); starrocks: its keys and required_issuer; tidb: TOKEN_ISSUER (default ""). */
  identityProvider?: string
  /** mysql-enterprise/percona: the "user" the token's sub must equal (default: the account name). */
  principal?: string
  /** tidb: the account's email attribute, which the token's email must equal (default ""). */
  email?: string
  /** A mysql_native_password account instead of OIDC (a benchmark baseline). */
  password?: string
}

export interface IdentityProviderConfig {
  issuer: string
  jwks?: JSONWebKeySet
  publicJwk?: JWK
  /** Percona audiences / StarRocks required_audience for this provider. */
  audience?: string | string[]
}

/** Keys found from the issuer's discovery document and its jwks_uri, both http on a loopback address
 * (anything else is refused before a request; at most 500 KB each, 10 s). percona reads the key set
 * once at start (a failure rejects startOidcServer, code ERR_KEY_DISCOVERY); starrocks reads it on
 * every login (a failure refuses that login, the reason in authLog). Not for mysql-enterprise or tidb. */
export interface DiscoveredIdentityProviderConfig {
  issuer: string
  /** true: `${issuer}/.well-known/openid-configuration`. */
  discovery?: boolean
  /** The discovery document's URL, when it is not under the issuer. */
  discoveryUrl?: string
  audience?: string | string[]
}

export interface ServerOptions {
  mode?: ServerMode
  identityProviders?: Array<IdentityProvider | IdentityProviderConfig | DiscoveredIdentityProviderConfig>
  issuer?: string
  jwks?: JSONWebKeySet
  publicJwk?: JWK
  discovery?: boolean
  discoveryUrl?: string
  users?: Record<string, AccountOptions>
  /** starrocks principal_field: a claim name, or a JSON pointer such as '/ext/login'. Default 'sub'. */
  principalField?: string
  /** Default audience(s) of every provider that names none. */
  audience?: string | string[]
  tls?: boolean | { key: string; cert: string }
  /** starrocks/tidb only (default false); mysql-enterprise/percona always require TLS or a socket. */
  requireSecureTransport?: boolean
  socketPath?: string
  fault?: Fault | ((connectionNumber: number) => Fault | undefined)
  /** A real MySQL-protocol server behind this one: after a login passes the mode's checks, the
   * session is relayed to it, logged in there as the same account name (created at start, all
   * privileges on `database`). Without it the server answers the few start-up statements itself. */
  backend?: BackendOptions
}

/** Where the relay logs in, as an administrative login: what startMariaDb() resolves to fits. */
export type BackendOptions = ({ host: string; port: number; socketPath?: string } | { socketPath: string; host?: string; port?: number }) & {
  user: string
  password: string
  database: string
  /** Connecting and each reply while logging in to the backend; default 10000 ms. */
  timeoutMs?: number
}

export interface MariaDb {
  host: string
  port: number
  socketPath?: string
  /** An administrative login (may create users and grant on any database). */
  user: string
  password: string
  /** A fresh, empty database of this caller's own. */
  database: string
  /** Drops `database`; the server itself stops when the test run ends. */
  close(): Promise<void>
}

/** A throwaway MariaDB shared by one test run (test-server/mariadb.js). */
export declare function startMariaDb(): Promise<MariaDb>

export interface OidcServer {
  mode: ServerMode
  host?: string
  port?: number
  socketPath?: string
  ca?: string
  authLog: AuthLogEntry[]
  readonly openConnections: number
  close(): Promise<void>
}

export declare function startOidcServer(options?: ServerOptions): Promise<OidcServer>
export declare function createIdentityProvider(options?: { issuer?: string; alg?: string }): Promise<IdentityProvider>
/** A fresh local socket path: a Unix socket file, or a named pipe on Windows. */
export declare function localSocketPath(name?: string): string

/** A client of startOidcProvider: a secret (client_secret_basic) or a key set (private_key_jwt). */
export type OidcProviderClient = { clientId: string; clientSecret?: string } | { clientId: string; jwks: JSONWebKeySet }

export interface OidcProviderOptions {
  /** Default: one client 'mysql-client' with a random secret. A client without secret or jwks gets a random secret. */
  clients?: OidcProviderClient[]
  /** Access token lifetime in seconds. Default 600. */
  ttl?: number
  /** The resource indicator (default 'urn:mysql'), also the default when a client names none. */
  resource?: string
  /** The tokens' aud. Default 'mysql'. */
  audience?: string
  /** The resource's scope (granted when requested). Default 'mysql'. */
  scope?: string
  /** Answer 503 to the first n requests (a provider that is down). */
  unavailableFor?: number
}

/** A real OpenID provider (oidc-provider) on 127.0.0.1: client-credentials clients get RS256 JWT
 * access tokens (`sub` = client id, `kid` set, `aud` = audience). It never keeps the process alive. */
export interface OidcProvider {
  /** http://127.0.0.1:<port> */
  issuer: string
  jwksUri: string
  /** The first client's id and secret. */
  clientId: string
  clientSecret?: string
  clients: OidcProviderClient[]
  resource: string
  audience: string
  scope: string
  /** The path of every request, in order (e.g. '/.well-known/openid-configuration', '/jwks', '/token'). */
  requests: string[]
  /** The published public keys, newest first. */
  readonly jwks: JSONWebKeySet
  /** The signing key's public JWK alone (MySQL Enterprise takes one key). */
  readonly publicJwk: JWK
  /** The signing key's kid. */
  readonly kid: string
  /** Signs with a new key from now on, published with the old ones unless keepOld is false; resolves to the new kid. */
  rotateKeys(options?: { keepOld?: boolean }): Promise<string>
  close(): Promise<void>
}

export declare function startOidcProvider(options?: OidcProviderOptions): Promise<OidcProvider>

/** For the demo: a provider with one client (default 'alice') and getToken from the package's
 * fromOAuthClientCredentials (access tokens for the provider's resource). */
export declare function startDemoIdentityProvider(options?: {
  clientId?: string
  ttl?: number
}): Promise<OidcProvider & { getToken: TokenSource }>
