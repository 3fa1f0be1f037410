// Types of the embedded test server (CommonJS, see index.js for the behaviour).
import type { JSONWebKeySet } from 'jose'

export type ServerMode = 'mysql-enterprise' | 'percona' | 'starrocks' | 'tidb'
export type Fault =
  | 'drop-after-handshake'
  | 'malformed-auth-switch'
  | 'huge-auth-switch'
  | 'error-packet'
  | 'more-data-after-response'
  | 'slow-handshake'

export interface SignOptions {
  /** Seconds from now (negative: already expired) or a jose time span such as '10m'. Default 600. */
  expiresIn?: number | string
  header?: Record<string, unknown>
  key?: 'primary' | 'other'
}

export interface IdentityProvider {
  issuer: string
  alg: string
  jwks: JSONWebKeySet
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
  reason: string | null
  secondResponse?: boolean
}

export interface ServerOptions {
  mode?: ServerMode
  identityProviders?: Array<IdentityProvider | { issuer: string; jwks?: JSONWebKeySet; audience?: string; secret?: Uint8Array }>
  issuer?: string
  jwks?: JSONWebKeySet
  /** `password`: a mysql_native_password account instead of OIDC (a benchmark baseline). */
  users?: Record<string, { principal?: string; password?: string }>
  principalField?: string
  audience?: string
  tls?: boolean | { key: string; cert: string }
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
