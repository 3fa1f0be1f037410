// Type-checked by `tsc --noEmit` (npm run test:types), never run: the public API against mysql2's typings.
import type { AuthPlugin, ConnectionOptions, PoolOptions } from 'mysql2'
import {
  authPlugins,
  openidConnectAuthPlugin,
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  clearPasswordAuthResponse,
  type IdTokenInfo,
  type OidcErrorCode,
  type OpenidConnectPluginOptions,
} from 'mysql-openid-connect'

const response: Buffer = openidConnectAuthResponse('a.b.c', { capability: 0, maxTokenBytes: 20_000, validate: true, clockSkewSeconds: 5 })
const fromBytes: Buffer = openidConnectAuthResponse(new Uint8Array(3))
const parsed: { capability: number; token: Buffer } = parseOpenidConnectAuthResponse(response)
const info: IdTokenInfo = inspectIdToken(parsed.token)
const expiresAt: Date | null = info.expiresAt
const alg: unknown = info.header.alg
const clear: Buffer = clearPasswordAuthResponse('a.b.c')

const plugin: AuthPlugin = openidConnectAuthPlugin({ tokenFile: '/var/run/secrets/token' })
const asyncSource: OpenidConnectPluginOptions = {
  getToken: async ({ user, host, port, database }) => `${user}${host}${port}${database}`,
  refreshBeforeExpirySeconds: 120,
  tokenTimeoutMs: 5_000,
}
const connection: ConnectionOptions = {
  host: 'db.example.com',
  user: 'alice',
  ssl: { ca: 'pem' },
  authPlugins: authPlugins(asyncSource),
}
const pool: PoolOptions = { ...connection, authPlugins: authPlugins({ token: 'a.b.c', cleartext: true, allowInsecureTransport: false }) }

function codeOf(err: unknown): OidcErrorCode | undefined {
  return (err as { oidcCode?: OidcErrorCode }).oidcCode
}

// @ts-expect-error a number is not a token
openidConnectAuthResponse(42)
// @ts-expect-error the capability is a number
openidConnectAuthResponse('a.b.c', { capability: '1' })
// @ts-expect-error getToken must return a token
authPlugins({ getToken: () => 42 })

export { fromBytes, expiresAt, alg, clear, plugin, pool, codeOf }
