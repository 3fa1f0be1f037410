// Type-checked, never run (npm run test:types): the public API against mysql2's and Node's typings,
// under TypeScript 5.9 and 7, here (__test__/tsconfig.json) and in the consumer projects of
// __test__/types/, which get this file as consumer.cts, consumer.mts and consumer.ts.
import { subscribe } from 'node:diagnostics_channel'
import { importPKCS8 } from 'jose'
import type { AuthPlugin, ConnectionOptions, PoolOptions } from 'mysql2'
import * as moc from 'mysql-openid-connect'
import mocDefault from 'mysql-openid-connect'
import {
  authPlugins,
  clearPasswordAuthResponse,
  fromCommand,
  fromGcpMetadata,
  fromGitHubActions,
  fromOAuthClientCredentials,
  inspectIdToken,
  isOidcError,
  OidcError,
  oidcCodeOf,
  openidConnectAuthPlugin,
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  type AuthResponseOptions,
  type CommandSourceOptions,
  type GetTokenOptions,
  type HttpSourceOptions,
  type IdTokenInfo,
  type LoginEvent,
  type OAuthClientCredentialsOptions,
  type OidcErrorCode,
  type OpenidConnectAuthPlugin,
  type OpenidConnectAuthPlugins,
  type OpenidConnectPluginOptions,
  type ParsedAuthResponse,
  type PluginOptionsBase,
  type StaticTokenOptions,
  type TokenContext,
  type TokenEvent,
  type TokenFileOptions,
  type TokenSource,
  type TokenValue,
} from 'mysql-openid-connect'

// Every value the package exports; test:types also checks that require() and import() give these.
const valueExports = [
  'openidConnectAuthResponse',
  'clearPasswordAuthResponse',
  'parseOpenidConnectAuthResponse',
  'inspectIdToken',
  'openidConnectAuthPlugin',
  'authPlugins',
  'OidcError',
  'isOidcError',
  'oidcCodeOf',
  'fromCommand',
  'fromGitHubActions',
  'fromGcpMetadata',
  'fromOAuthClientCredentials',
] as const satisfies ReadonlyArray<keyof typeof moc>
// ...and the typings declare no value the list lacks ('default' is the ES module's namespace object)
type Unlisted = Exclude<keyof typeof moc, (typeof valueExports)[number] | 'default'>
const nothingUnlisted: [Unlisted] extends [never] ? true : false = true
const defaultIsTheApi: typeof moc.authPlugins = mocDefault.authPlugins

// the core functions and their option types
const coreOptions: AuthResponseOptions = { capability: 0, maxTokenBytes: 20_000, validate: true, clockSkewSeconds: 5 }
const response: Buffer = openidConnectAuthResponse('a.b.c', coreOptions)
const fromBytes: Buffer = openidConnectAuthResponse(new Uint8Array(3))
const parsed: ParsedAuthResponse = parseOpenidConnectAuthResponse(response)
const parsedFields: { capability: number; token: Buffer } = parsed
const info: IdTokenInfo = inspectIdToken(parsed.token)
const expiresAt: Date | null = info.expiresAt
const alg: unknown = info.header.alg
const sub: unknown = info.claims.sub
const clear: Buffer = clearPasswordAuthResponse('a.b.c', { validate: false })

// the plugin options: exactly one token source, plus the shared settings
const shared: PluginOptionsBase = {
  ...coreOptions,
  refreshBeforeExpirySeconds: 120,
  tokenTimeoutMs: 5_000,
  allowUnverifiedServer: false,
  allowInsecureTransport: false,
  cleartext: false,
}
const staticToken: StaticTokenOptions = { ...shared, token: new Uint8Array(3) }
const tokenFile: TokenFileOptions = { ...shared, tokenFile: '/var/run/secrets/token' }
const contextToken = (context: TokenContext): TokenValue =>
  `${context.user}@${context.host}:${context.port}/${context.database}${context.socketPath}`
const getToken: GetTokenOptions = { ...shared, getToken: async (context) => contextToken(context) }
// the signal that aborts when the login stops waiting, for the provider call
const abortable: GetTokenOptions = { getToken: async ({ signal }) => (await fetch('https://idp.example/token', { signal })).text() }
const everySource: OpenidConnectPluginOptions[] = [staticToken, tokenFile, getToken, abortable, { getToken: contextToken }]

// the plugin against mysql2's typings
const plugin: OpenidConnectAuthPlugin = openidConnectAuthPlugin(tokenFile)
const asMysql2Plugin: AuthPlugin = plugin
const plugins: OpenidConnectAuthPlugins = authPlugins({ token: 'a.b.c', cleartext: true })
const clearTextPlugin: OpenidConnectAuthPlugin | undefined = plugins.mysql_clear_password
const mysql2Option: ConnectionOptions['authPlugins'] = authPlugins(staticToken)
const connection: ConnectionOptions = {
  host: 'db.example.com',
  user: 'alice',
  ssl: { ca: 'pem' },
  authPlugins: authPlugins(getToken),
}
const pool: PoolOptions = { ...connection, authPlugins: { ...plugins, other: asMysql2Plugin } }

// the built-in token sources, each a getToken
const commandOptions: CommandSourceOptions = { timeoutMs: 5_000, env: process.env, cwd: '/', maxOutputBytes: 4096 }
const command: TokenSource = fromCommand('gcloud', ['auth', 'print-identity-token'], commandOptions)
const httpOptions: HttpSourceOptions = { timeoutMs: 5_000, maxResponseBytes: 4096 }
const github: TokenSource = fromGitHubActions({ ...httpOptions, audience: 'mysql' })
const gcp: TokenSource = fromGcpMetadata({ audience: 'https://db.example.com' })
// a key from crypto.subtle (the DOM's CryptoKey where the project has the DOM lib, Node's otherwise) or jose
declare const subtleKey: Awaited<ReturnType<typeof crypto.subtle.importKey>>
const oauthOptions: OAuthClientCredentialsOptions = {
  ...httpOptions,
  issuer: 'https://login.example.com',
  clientId: 'app',
  privateKey: { key: subtleKey, kid: 'key-1' },
  scope: 'db',
  resource: ['https://db.example.com'],
  use: 'id_token',
}
const oauth: TokenSource = fromOAuthClientCredentials(oauthOptions)
const withJoseKey: Promise<TokenSource> = importPKCS8('pem', 'RS256').then((privateKey) =>
  fromOAuthClientCredentials({ issuer: 'https://login.example.com', clientId: 'app', privateKey }),
)
const oauthSecret: TokenSource = fromOAuthClientCredentials({ issuer: 'https://login.example.com', clientId: 'app', clientSecret: 's' })
const kinds: Array<TokenSource['sourceKind']> = [command.sourceKind, github.sourceKind, gcp.sourceKind, oauth.sourceKind]
const fromSource: ConnectionOptions = { authPlugins: authPlugins({ getToken: fromGitHubActions() }) }
const fetched: Promise<string> = oauthSecret({ user: 'alice' })

// the events on node:diagnostics_channel
subscribe('mysql-openid-connect:token', (message) => {
  const event = message as TokenEvent
  const seconds: number | undefined = event.exp
  return event.event === 'failed' ? event.code : seconds
})
subscribe('mysql-openid-connect:login', (message) => {
  const event = message as LoginEvent
  // @ts-expect-error the transport is null when the login was refused for it
  return event.event === 'abandoned' || event.transport.startsWith('tls')
})

// errors: the code list, the guard, the class
function handle(err: unknown): OidcErrorCode | undefined {
  if (isOidcError(err)) {
    const code: OidcErrorCode = err.oidcCode
    const asError: Error = err
    return asError instanceof OidcError ? code : undefined
  }
  // @ts-expect-error unknown has no oidcCode until isOidcError narrows it
  return err.oidcCode
}
// oidcCodeOf takes anything a catch gives and answers a code or undefined
const fromCatch: OidcErrorCode | undefined = oidcCodeOf(new Error('x'))
// @ts-expect-error it may be undefined
const alwaysACode: OidcErrorCode = oidcCodeOf(null)
const unverified: OidcErrorCode = 'ERR_OIDC_UNVERIFIED_SERVER'
// @ts-expect-error not a code this package throws
const typo: OidcErrorCode = 'ERR_OIDC_TOKEN_EXPIRE'
const madeInATest = new OidcError('ERR_OIDC_TOKEN_SOURCE', 'the provider is down', { cause: new Error('503') })
// @ts-expect-error the code comes first: a message alone would become the code
new OidcError('the provider is down')

// what must not compile
// @ts-expect-error a number is not a token
openidConnectAuthResponse(42)
// @ts-expect-error the capability is a number
openidConnectAuthResponse('a.b.c', { capability: '1' })
// @ts-expect-error getToken must return a token
authPlugins({ getToken: () => 42 })
// @ts-expect-error getToken must resolve to a token
authPlugins({ getToken: async () => ({ token: 'a.b.c' }) })
// @ts-expect-error one token source, not two
authPlugins({ token: 'a.b.c', getToken: () => 'a.b.c' })
// @ts-expect-error one token source, not two
authPlugins({ tokenFile: '/t', token: 'a.b.c' })
// @ts-expect-error one token source, not two
openidConnectAuthPlugin({ tokenFile: '/t', getToken: command })
// @ts-expect-error a token source is required
authPlugins({ cleartext: true })
// @ts-expect-error a token source is required
authPlugins()
// @ts-expect-error a token source is required
openidConnectAuthPlugin({})
// @ts-expect-error gcp metadata needs an audience
fromGcpMetadata()
// @ts-expect-error arguments are a list, not a string (no shell)
fromCommand('gcloud', 'auth print-identity-token')

// The proxy, from its subpath: the token options are authPlugins', the rest its own.
import { createProxy, type ProxyConnectionRecord } from 'mysql-openid-connect/proxy'
const proxyStarted = createProxy({
  upstream: { host: 'db.example.com', port: 3306 },
  ssl: { ca: 'PEM' },
  getToken: fromGcpMetadata({ audience: 'mysql' }),
  listen: { path: '/run/mysql-oidc/mysql.sock' },
  localPassword: 'from-the-environment',
  log: (record: ProxyConnectionRecord) => record.outcome,
}).then(async (proxy) => {
  const where: string = 'path' in proxy.address ? proxy.address.path : `${proxy.address.host}:${proxy.address.port}`
  await proxy.close({ drainTimeoutMs: 1000 })
  return where
})
// @ts-expect-error a token source is required, as for authPlugins
const proxyWithoutToken = createProxy({ upstream: { socketPath: '/run/mysqld/mysqld.sock' }, listen: { host: '127.0.0.1', port: 3307 } })

export {
  valueExports,
  nothingUnlisted,
  defaultIsTheApi,
  fromBytes,
  parsedFields,
  expiresAt,
  alg,
  sub,
  clear,
  everySource,
  clearTextPlugin,
  mysql2Option,
  pool,
  kinds,
  fromSource,
  fetched,
  withJoseKey,
  handle,
  unverified,
  typo,
  madeInATest,
  proxyStarted,
  proxyWithoutToken,
}
