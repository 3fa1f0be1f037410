// The embedded server finds its provider's keys as Percona and StarRocks do (a key-set URL, here from
// the issuer's discovery document), against a real OpenID provider (oidc-provider) on 127.0.0.1;
// real mysql2 logs in with the package's fromOAuthClientCredentials over TLS.
import test, { type ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import http from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decodeProtectedHeader } from 'jose'
import mysql from 'mysql2/promise'

import { authPlugins, fromOAuthClientCredentials } from '../main.js'
import { startDemoIdentityProvider, startOidcProvider, startOidcServer, type OidcProvider, type OidcServer } from '../test-server/index.js'

type Mode = 'percona' | 'starrocks'
type MysqlError = Error & { errno?: number }

async function provider(t: ExecutionContext, options = {}): Promise<OidcProvider> {
  const started = await startOidcProvider(options)
  t.teardown(() => started.close())
  return started
}

/** A server of `mode` that discovers `issuer`'s keys, with one account for the client id. */
async function discoveringServer(t: ExecutionContext, mode: Mode, op: OidcProvider): Promise<OidcServer> {
  // percona: the account's "user" is the client id (the token's sub); starrocks: the login name is, and the
  // account names the provider (its jwks_url and required_issuer).
  const account = mode === 'percona' ? { principal: op.clientId } : { identityProvider: op.issuer }
  const server = await startOidcServer({ mode, identityProviders: [{ issuer: op.issuer, discovery: true }], users: { [op.clientId]: account } })
  t.teardown(() => server.close())
  return server
}

/** getToken from the package's client-credentials source; records each token's kid. */
function clientCredentials(op: OidcProvider, kids: unknown[] = []) {
  const source = fromOAuthClientCredentials({ issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, resource: op.resource, use: 'access_token' })
  return async (context: Parameters<typeof source>[0]) => {
    const token = await source(context)
    kids.push(decodeProtectedHeader(token).kid)
    return token
  }
}

async function currentUser(server: OidcServer, user: string, getToken: (context: any) => Promise<string>) {
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    ssl: { ca: server.ca },
    user,
    authPlugins: authPlugins({ getToken }),
  })
  try {
    const [rows] = await connection.query('SELECT CURRENT_USER()')
    return (rows as any[])[0]['CURRENT_USER()'] as string
  } finally {
    await connection.end()
  }
}

const jwksReads = (op: OidcProvider) => op.requests.filter((path) => path === '/jwks').length
const discoveryReads = (op: OidcProvider) => op.requests.filter((path) => path === '/.well-known/openid-configuration').length

for (const mode of ['percona', 'starrocks'] as const) {
  test(`${mode}: mysql2 logs in with the provider's access token, keys found by discovery`, async (t) => {
    const op = await provider(t)
    const server = await discoveringServer(t, mode, op)
    t.is(discoveryReads(op), 1) // the server's; the client has not asked for a token yet
    const kids: unknown[] = []
    t.is(await currentUser(server, op.clientId, clientCredentials(op, kids)), `${op.clientId}@%`)
    t.deepEqual(kids, [op.kid]) // oidc-provider's tokens carry the kid StarRocks requires
    const entry = server.authLog.at(-1)!
    t.true(entry.ok)
    t.is(entry.transport, 'tls')
  })
}

test('starrocks reads the key set on every login; percona once, at start', async (t) => {
  const op = await provider(t)
  const percona = await discoveringServer(t, 'percona', op)
  t.is(jwksReads(op), 1)
  const starrocks = await discoveringServer(t, 'starrocks', op)
  t.is(jwksReads(op), 1) // starrocks reads none before a login
  const getToken = clientCredentials(op)
  for (let i = 0; i < 3; i++) t.is(await currentUser(percona, op.clientId, getToken), `${op.clientId}@%`)
  t.is(jwksReads(op), 1)
  for (let i = 0; i < 3; i++) t.is(await currentUser(starrocks, op.clientId, getToken), `${op.clientId}@%`)
  t.is(jwksReads(op), 4)
})

test('a key rotation: starrocks takes the new key at once, percona (keys read at start) refuses it', async (t) => {
  const op = await provider(t)
  const percona = await discoveringServer(t, 'percona', op)
  const starrocks = await discoveringServer(t, 'starrocks', op)
  const firstKid = op.kid
  const newKid = await op.rotateKeys()
  t.not(newKid, firstKid)
  t.deepEqual(
    op.jwks.keys.map((key) => key.kid),
    [newKid, firstKid],
  )
  const kids: unknown[] = []
  t.is(await currentUser(starrocks, op.clientId, clientCredentials(op, kids)), `${op.clientId}@%`)
  const refused = (await t.throwsAsync(currentUser(percona, op.clientId, clientCredentials(op, kids)))) as MysqlError
  t.deepEqual(kids, [newKid, newKid])
  t.is(refused.errno, 1045)
  t.is(percona.authLog.at(-1)!.reason, 'no key with the token kid')
})

test('starrocks: a provider that is down refuses the login with the reason; percona keeps its keys', async (t) => {
  const op = await provider(t)
  const percona = await discoveringServer(t, 'percona', op)
  const starrocks = await discoveringServer(t, 'starrocks', op)
  const token = await clientCredentials(op)({})
  await op.close()
  t.is(await currentUser(percona, op.clientId, async () => token), `${op.clientId}@%`)
  const refused = (await t.throwsAsync(currentUser(starrocks, op.clientId, async () => token))) as MysqlError
  t.is(refused.errno, 1045)
  t.regex(starrocks.authLog.at(-1)!.reason!, /^Failed to load the JWKS: key set http:\/\/127\.0\.0\.1:\d+\/jwks: ECONNREFUSED$/)
})

/** A plain HTTP server answering `documents[path]` as JSON, recording every path asked for. */
async function staticServer(t: ExecutionContext, documents: (origin: string) => Record<string, unknown>) {
  const requests: string[] = []
  let answers: Record<string, unknown> = {}
  const server = http.createServer((req, res) => {
    requests.push(req.url!)
    const body = answers[req.url!]
    if (body === undefined) res.writeHead(404).end()
    else res.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (server.closeAllConnections(), new Promise((resolve) => server.close(() => resolve(undefined)))))
  const origin = `http://127.0.0.1:${(server.address() as any).port}`
  answers = documents(origin)
  return { origin, requests }
}

for (const mode of ['percona', 'starrocks'] as const) {
  test(`${mode}: a jwks_uri off loopback is never fetched; the server does not start`, async (t) => {
    for (const elsewhere of ['https://idp.example.com/jwks', 'http://localhost:{port}/jwks', 'http://10.0.0.1/jwks']) {
      const { origin, requests } = await staticServer(t, (issuer) => ({
        '/.well-known/openid-configuration': { issuer, jwks_uri: elsewhere.replace('{port}', issuer.split(':')[2]) },
        '/jwks': { keys: [] }, // reachable through 'localhost', and still never asked for
      }))
      const err = (await t.throwsAsync(startOidcServer({ mode, issuer: origin, discovery: true, users: { app: {} } }))) as Error & { code: string }
      t.is(err.code, 'ERR_KEY_DISCOVERY')
      t.regex(err.message, /^startOidcServer: keys of identity provider http:\/\/127\.0\.0\.1:\d+ could not be discovered: jwks_uri .* is not http on a loopback address/)
      t.deepEqual(requests, ['/.well-known/openid-configuration'])
    }
  })
}

test('discovery failures are clear start-up errors', async (t) => {
  const { origin } = await staticServer(t, (issuer) => ({
    '/wrong-issuer': { issuer: 'http://127.0.0.1:1', jwks_uri: `${issuer}/jwks` },
    '/no-jwks-uri': { issuer },
    '/big': { issuer, jwks_uri: `${issuer}/big-jwks` },
    '/big-jwks': { keys: [], padding: 'a'.repeat(512_000) },
    '/not-json': 'keys',
  }))
  const start = (discoveryUrl: string, mode: Mode = 'percona') => startOidcServer({ mode, issuer: origin, discoveryUrl, users: { app: {} } })
  const cases: Array<[string, RegExp]> = [
    ['/wrong-issuer', /discovery document .* names another issuer$/],
    ['/no-jwks-uri', /discovery document .* has no jwks_uri$/],
    ['/missing', /discovery document .*\/missing: HTTP 404$/],
    ['/not-json', /discovery document .*: not JSON$/],
    ['/big', /key set .*\/big-jwks: over 512000 bytes$/], // Percona's 500 KB cap
    [`http://example.com/.well-known/openid-configuration`, /discovery document http:\/\/example\.com\/.* is not http on a loopback address/],
  ]
  for (const [path, message] of cases) {
    const err = (await t.throwsAsync(start(path.startsWith('/') ? `${origin}${path}` : path))) as Error & { code: string }
    t.is(err.code, 'ERR_KEY_DISCOVERY', path)
    t.regex(err.message, message, path)
  }
  // a refused connection
  const closed = await startOidcProvider()
  await closed.close()
  const down = (await t.throwsAsync(startOidcServer({ mode: 'starrocks', issuer: closed.issuer, discovery: true, users: {} }))) as Error
  t.regex(down.message, /discovery document .*: ECONNREFUSED$/)
  // the servers whose keys are configuration only take no discovery
  for (const mode of ['mysql-enterprise', 'tidb'] as const) {
    const err = (await t.throwsAsync(startOidcServer({ mode, issuer: origin, discovery: true, users: {} }))) as Error
    t.true(err instanceof TypeError)
    t.regex(err.message, new RegExp(`^${mode} does not discover keys`))
  }
})

test('the demo provider: getToken by client credentials logs in to a MySQL Enterprise-style server', async (t) => {
  const demo = await startDemoIdentityProvider()
  t.teardown(() => demo.close())
  t.is(demo.clientId, 'alice')
  const server = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [{ issuer: demo.issuer, publicJwk: demo.publicJwk }], users: { alice: {} } })
  t.teardown(() => server.close())
  t.is(await currentUser(server, 'alice', demo.getToken), 'alice@%')
  t.is(demo.getToken.sourceKind, 'oauth-client-credentials')
})

test('a process with a provider it never closed still exits by itself', async (t) => {
  const script = `
    const { startDemoIdentityProvider } = require('./test-server/index.js')
    startDemoIdentityProvider().then((demo) => demo.getToken({})).then((token) => console.log(token.split('.').length))`
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: join(__dirname, '..'), timeout: 20_000 })
  t.is(stdout.trim(), '3')
})
