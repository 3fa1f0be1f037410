/// <reference types="node" />
import type { SecureContextOptions, ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { OpenidConnectPluginOptions } from '../auth-plugin'

/** Where the real server is: TLS over TCP (verified unless you opt out), or its local socket. */
export type ProxyUpstream = { host: string; port?: number } | { socketPath: string }

/** Where local clients connect: a Unix socket (created mode 0600), or a loopback address. */
export type ProxyListen = { host?: string; port: number } | { path: string }

/** One record per connection, when it ends. Never holds a token, password or packet. */
export interface ProxyConnectionRecord {
  time: string
  /** `address:port`, or `unix-socket`. */
  client: string
  /** The user the local client logged in as. */
  user?: string
  /** The user the proxy logged in as upstream. */
  upstreamUser?: string
  durationMs: number
  bytesFromClient?: number
  bytesToClient?: number
  /** `closed`, `upstream-closed`, `local-auth-failed`, `local-protocol-error`, `upstream-unreachable`, `upstream-refused`, `token-refused`, `refused-max-connections`, `refused-draining`, ... */
  outcome: string
  /** The OidcError code, when the token was the trouble. */
  code?: string
  message?: string
}

export type ProxyOptions = OpenidConnectPluginOptions & {
  upstream: ProxyUpstream
  /** tls.connect options for the upstream (ca, servername, ...); the chain and host are always verified unless allowUnverifiedServer. */
  ssl?: TlsConnectionOptions
  /** The upstream user for every login. Default: the user each local client logs in as. */
  user?: string
  listen: ProxyListen
  /** Listen on an address that is not loopback. Needs `localPassword`. Default false. */
  allowNonLoopback?: boolean
  /** Local clients must log in with this password (mysql_native_password or caching_sha2_password). Default: none, anyone who can reach the socket or port gets in. */
  localPassword?: string
  /** Offer TLS to local clients (PEM key and certificate). */
  localTls?: SecureContextOptions & { key: string | Buffer; cert: string | Buffer }
  /** Default 1000; past it, a client gets ERR 1040. */
  maxConnections?: number
  /** How long close() waits for open connections. Default 30 000. */
  drainTimeoutMs?: number
  /** Connect and login timeout, each side. Default 10 000. */
  connectTimeoutMs?: number
  /** Called with each connection's record instead of writing a line to stderr; false: no log. */
  log?: ((record: ProxyConnectionRecord) => void) | false
  /** The stderr line's format. Default 'text'. */
  logFormat?: 'text' | 'json'
}

export interface Proxy {
  /** What it listens on: the socket path, or the bound host and port (port 0 gives a free one). */
  address: { path: string } | { host: string; port: number }
  /** Connections open now. */
  readonly connections: number
  /** Stops accepting; closes each open connection once it is quiet, and all that remain after drainTimeoutMs. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>
}

/** Starts the proxy; rejects with an OidcError (ERR_OIDC_INVALID_ARGUMENT) for bad options, or the listen error. */
export declare function createProxy(options: ProxyOptions): Promise<Proxy>

/** The diagnostics_channel name of the per-connection records. */
export declare const PROXY_CHANNEL: 'mysql-openid-connect:proxy'
