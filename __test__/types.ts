// Type-checked by `tsc --noEmit` (npm run test:types), never run: the public API against mysql2's typings.
import type { AuthPlugin, ConnectionOptions, PoolOptions } from 'mysql2'
import {
  authPlugins,
  openidConnectAuthPlugin,
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  clearPasswordAuthResponse,
  isOidcError,
  OidcError,
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
// @ts-expect-error one token source, not two
authPlugins({ token: 'a.b.c', getToken: () => 'a.b.c' })
// @ts-expect-error one token source, not two
authPlugins({ tokenFile: '/t', token: 'a.b.c' })
// @ts-expect-error a token source is required
authPlugins({ cleartext: true })
// @ts-expect-error a token source is required
authPlugins()

function handle(err: unknown): OidcErrorCode | undefined {
  if (isOidcError(err)) {
    const code: OidcErrorCode = err.oidcCode
    const asError: Error = err
    return asError instanceof OidcError ? code : undefined
  }
  // @ts-expect-error unknown has no oidcCode until narrowed
  return err.oidcCode
}
const unverified: OidcErrorCode = 'ERR_OIDC_UNVERIFIED_SERVER'
const opted: OpenidConnectPluginOptions = { tokenFile: '/t', allowUnverifiedServer: true }

export { fromBytes, expiresAt, alg, clear, plugin, pool, codeOf, handle, unverified, opted }
