// Types of the embedded test server (CommonJS, see index.js for the behaviour).
import type { JSONWebKeySet, JWK } from 'jose'

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

export interface ServerOptions {
  mode?: ServerMode
  identityProviders?: Array<IdentityProvider | IdentityProviderConfig>
  issuer?: string
  jwks?: JSONWebKeySet
  publicJwk?: JWK
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
}

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
