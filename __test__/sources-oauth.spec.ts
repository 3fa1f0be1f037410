// fromOAuthClientCredentials against a real OpenID provider (oidc-provider) on 127.0.0.1, issuing
// JWT access tokens for a resource; end to end through mysql2 to the embedded server.
import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { performance } from 'node:perf_hooks'
import { join } from 'node:path'
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import mysql from 'mysql2/promise'

import { authPlugins, fromOAuthClientCredentials, inspectIdToken } from '../main.js'
import { startOidcProvider, startOidcServer, type OidcProvider } from '../test-server/index.js'

// lib/ internals are CommonJS without types: loaded from the package root (ava's working directory)
const load = createRequire(`${process.cwd()}/`)
const { cachedTokenSource } = load('./lib/token-sources.js')
const { guardConnections } = load('./__test__/helpers/connect-guard.cjs')

const CLIENT_SECRET = 'client-secret-CANARY-3f9a1c7e5b2d'
const AUDIENCE = 'mysql-app'
const clientKey = generateKeyPair('RS256', { extractable: true })

/** A real OpenID provider with two client-credentials clients: a secret one and a private_key_jwt one. */
async function startProvider(t: ExecutionContext, { unavailableFor = 0 } = {}): Promise<OidcProvider> {
  const clientPublic = { ...(await exportJWK((await clientKey).publicKey)), kid: 'client-1', alg: 'RS256', use: 'sig' }
  const provider = await startOidcProvider({
    clients: [
      { clientId: 'db-client', clientSecret: CLIENT_SECRET },
      { clientId: 'db-key-client', jwks: { keys: [clientPublic] } },
    ],
    resource: 'urn:mysql:app',
    audience: AUDIENCE,
    scope: 'db',
    unavailableFor,
  })
  t.teardown(() => provider.close())
  return provider
}

function accept(token: string) {
  const { claims, expiresAt } = inspectIdToken(token)
  return { expiresAt: expiresAt?.getTime() ?? null, issuedAt: (claims.iat as number) * 1000, iss: claims.iss, sub: claims.sub }
}

test('the client-credentials grant gets a signed JWT access token for the resource', async (t) => {
  const { issuer, jwks } = await startProvider(t)
  const getToken = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: CLIENT_SECRET, scope: 'db' })
  const token = await getToken({})
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience: AUDIENCE })
  t.is(protectedHeader.alg, 'RS256')
  t.is(payload.sub, 'db-client')
  t.is(payload.scope, 'db')
  t.true(payload.exp! > Date.now() / 1000)
  t.is((getToken as any).sourceKind, 'oauth-client-credentials')
})

test('private_key_jwt client authentication works too', async (t) => {
  const { issuer } = await startProvider(t)
  const { privateKey } = await clientKey
  const getToken = fromOAuthClientCredentials({ issuer, clientId: 'db-key-client', privateKey: { key: privateKey, kid: 'client-1' }, scope: 'db' })
  t.is(inspectIdToken(await getToken({})).claims.sub, 'db-key-client')
})

test('discovery happens once; the cache serves later logins without the provider', async (t) => {
  const { issuer, requests } = await startProvider(t)
  const getToken = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: CLIENT_SECRET })
  const source = cachedTokenSource(getToken, { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 10_000, accept })
  const token = await source({ user: 'db-client' })
  for (let i = 0; i < 5; i++) t.is(source({ user: 'db-client' }), token)
  await getToken({}) // a second grant reuses the discovered configuration
  t.deepEqual(requests.filter((path) => path.includes('openid-configuration')).length, 1)
  t.is(requests.filter((path) => path === '/token').length, 2)
})

test('a refused client gets a clear error without the secret; use id_token says none was issued', async (t) => {
  const { issuer } = await startProvider(t)
  const wrong = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: `${CLIENT_SECRET}-wrong` })
  const err = (await t.throwsAsync(wrong({}))) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(err.message, /invalid_client/)
  t.false(err.message.includes('CANARY'))
  t.is(err.cause, undefined)
  const idToken = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: CLIENT_SECRET, use: 'id_token' })
  const noIdToken = (await t.throwsAsync(idToken({}))) as any
  t.is(noIdToken.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(noIdToken.message, /no id_token/)
})

test('an unreachable provider is an error, and the next call tries discovery again', async (t) => {
  const closed = http.createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as any).port
  await new Promise((resolve) => closed.close(() => resolve(undefined)))
  const refused = fromOAuthClientCredentials({ issuer: `http://127.0.0.1:${port}`, clientId: 'db-client', clientSecret: CLIENT_SECRET })
  const err = (await t.throwsAsync(refused({}))) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(err.message, /could not be reached \(ECONNREFUSED\)/)
  // a provider down for its first discovery request: the failure is not kept
  const { issuer, requests } = await startProvider(t, { unavailableFor: 1 })
  const getToken = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: CLIENT_SECRET })
  t.is(((await t.throwsAsync(getToken({}))) as any).oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.is(inspectIdToken(await getToken({})).claims.sub, 'db-client')
  t.is(requests.filter((path) => path.includes('openid-configuration')).length, 2)
  // a provider that answers a huge discovery document is cut off at the response limit
  const huge = http.createServer((req, res) => res.end(JSON.stringify({ issuer: 'x', padding: 'a'.repeat(4 << 20) })))
  await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (huge.closeAllConnections(), new Promise((resolve) => huge.close(() => resolve(undefined)))))
  const flooded = fromOAuthClientCredentials({ issuer: `http://127.0.0.1:${(huge.address() as any).port}`, clientId: 'c', clientSecret: 's' })
  t.is(((await t.throwsAsync(flooded({}))) as any).oidcCode, 'ERR_OIDC_TOKEN_TOO_LARGE')
})

test('bad options fail at once with ERR_OIDC_INVALID_ARGUMENT', (t) => {
  const good = { issuer: 'https://login.example.test', clientId: 'c', clientSecret: 's' }
  const bad: Record<string, unknown>[] = [
    { ...good, issuer: 'http://login.example.test' }, // plain http off loopback
    { ...good, issuer: 'not a url' },
    { ...good, clientId: '' },
    { ...good, privateKey: {} }, // both
    { issuer: good.issuer, clientId: 'c' }, // neither
    { ...good, use: 'refresh_token' },
    { ...good, scope: 42 },
    { ...good, resource: [''] },
    { ...good, timeoutMs: 0 },
  ]
  for (const options of bad) {
    t.is((t.throws(() => fromOAuthClientCredentials(options as any)) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT', JSON.stringify(options))
  }
})

test('without openid-client installed, a clear error names the package', (t) => {
  // the package's lib/ alone, where no node_modules can be found
  const dir = mkdtempSync(join(tmpdir(), 'oidc-no-client-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(process.cwd(), 'lib'), join(dir, 'lib'), { recursive: true })
  const script = `
    const { fromOAuthClientCredentials } = require('./lib/sources/oauth-client-credentials.js')
    try { fromOAuthClientCredentials({ issuer: 'https://login.example.test', clientId: 'c', clientSecret: 's' }) }
    catch (err) { console.log(err.oidcCode, err.message) }`
  const child = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' })
  t.regex(child.stdout, /^ERR_OIDC_MISSING_DEPENDENCY .*npm install openid-client/)
})

test('end to end: mysql2 logs in to the embedded server with the provider’s access token', async (t) => {
  const { issuer, jwks } = await startProvider(t)
  const server = await startOidcServer({ identityProviders: [{ issuer, jwks, audience: AUDIENCE }], users: { 'db-client': {} } })
  t.teardown(() => server.close())
  const getToken = fromOAuthClientCredentials({ issuer, clientId: 'db-client', clientSecret: CLIENT_SECRET, scope: 'db' })
  const connection = await mysql.createConnection({
    host: server.host,
    port: server.port,
    ssl: { ca: server.ca },
    user: 'db-client',
    authPlugins: authPlugins({ getToken }),
  })
  t.teardown(() => connection.end())
  const [rows] = await connection.query('SELECT CURRENT_USER()')
  t.is((rows as any[])[0]['CURRENT_USER()'], 'db-client@%')
})

/** A provider on 127.0.0.1 that answers discovery with `tokenEndpoint` (given its own origin), and `onToken` for the rest. */
async function discoveryServer(t: ExecutionContext, tokenEndpoint: (origin: string) => string, onToken: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {}) {
  let origin = ''
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: origin, token_endpoint: tokenEndpoint(origin), jwks_uri: `${origin}/jwks` }))
    } else {
      onToken(req, res)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (server.closeAllConnections(), new Promise((resolve) => server.close(() => resolve(undefined)))))
  origin = `http://127.0.0.1:${(server.address() as any).port}`
  return origin
}

test.serial('a loopback provider whose discovery names a plain-http token endpoint off this machine: refused before any connection', async (t) => {
  const guard = guardConnections()
  t.teardown(guard.restore)
  for (const endpoint of ['http://192.0.2.1/token', 'http://token.example.test/oauth/token']) {
    const issuer = await discoveryServer(t, () => endpoint)
    const err: any = await fromOAuthClientCredentials({ issuer, clientId: 'c', clientSecret: CLIENT_SECRET })({}).catch((caught) => caught)
    t.is(err.oidcCode, 'ERR_OIDC_INSECURE_TRANSPORT', endpoint)
    t.true(err.message.includes(new URL(endpoint).hostname), err.message)
    for (const text of [err.message, String(err.stack)]) t.false(text.includes('CANARY'))
  }
  // the discovery requests went to 127.0.0.1 (the guard sees fetch's connections), nothing elsewhere
  t.true(guard.attempts.length > 0)
  t.deepEqual(guard.attempts.filter((attempt: string) => !attempt.startsWith('127.0.0.1:')), [])
})

test('a token endpoint that redirects is not followed: the secret and the signed assertion go nowhere else', async (t) => {
  const elsewhere: string[] = []
  const other = http.createServer((req, res) => {
    elsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`)
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 60 }))
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (other.closeAllConnections(), new Promise((resolve) => other.close(() => resolve(undefined)))))
  const target = `http://127.0.0.1:${(other.address() as any).port}/token`
  let status = 307
  const issuer = await discoveryServer(t, (origin) => `${origin}/token`, (req, res) => (req.resume(), res.writeHead(status, { location: target }).end()))
  const { privateKey } = await clientKey
  for (status of [302, 307, 308]) {
    for (const credential of [{ clientSecret: CLIENT_SECRET }, { privateKey: { key: privateKey, kid: 'client-1' } }]) {
      const err: any = await fromOAuthClientCredentials({ issuer, clientId: 'c', ...credential, timeoutMs: 3000 })({}).catch((caught) => caught)
      t.is(err?.oidcCode, 'ERR_OIDC_TOKEN_SOURCE', `${status}: ${err?.message}`)
    }
  }
  t.deepEqual(elsewhere, [])
})

test('the issuer rule at set-up: https, or plain http to 127.0.0.0/8, [::1] or localhost', (t) => {
  for (const issuer of ['http://127.0.0.2:8080', 'http://[::1]:8080', 'http://localhost:8080', 'https://login.example.test']) {
    t.notThrows(() => fromOAuthClientCredentials({ issuer, clientId: 'c', clientSecret: 's' }), issuer)
  }
  for (const issuer of ['http://192.0.2.1', 'http://127.0.0.1.example.test', 'http://localhost.example.test', 'ftp://127.0.0.1']) {
    const err = t.throws(() => fromOAuthClientCredentials({ issuer, clientId: 'c', clientSecret: 's' }), undefined, issuer) as any
    t.is(err?.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT', issuer)
  }
})

test('context.signal aborts a grant the provider never answers', async (t) => {
  let arrived = () => {}
  let closed = false
  const request = new Promise<void>((resolve) => (arrived = resolve))
  // the token endpoint never answers: only the source's own timeoutMs (5 s) or the signal ends it
  const issuer = await discoveryServer(t, (origin) => `${origin}/token`, (req) => (req.socket.once('close', () => (closed = true)), arrived()))
  const controller = new AbortController()
  const pending = fromOAuthClientCredentials({ issuer, clientId: 'c', clientSecret: CLIENT_SECRET, timeoutMs: 5000 })({ signal: controller.signal } as any).catch((err) => err)
  await request
  const abortedAt = performance.now()
  controller.abort()
  const err: any = await pending
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.true(performance.now() - abortedAt < 2000, `went on for ${Math.round(performance.now() - abortedAt)} ms`)
  for (let i = 0; i < 100 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.true(closed, 'the connection to the provider was left open')
})

test("one call's aborted signal stops that call, not another's that waits for the same discovery", async (t) => {
  let origin = ''
  const server = http.createServer((req, res) => {
    req.resume()
    if (req.url === '/.well-known/openid-configuration') {
      // slow enough that both calls wait for it, and the first one's signal aborts meanwhile
      const document = { issuer: origin, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks` }
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document)), 500)
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'aaa.bbb.ccc', token_type: 'Bearer', expires_in: 60 }))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (server.closeAllConnections(), new Promise((resolve) => server.close(() => resolve(undefined)))))
  origin = `http://127.0.0.1:${(server.address() as any).port}`
  const getToken = fromOAuthClientCredentials({ issuer: origin, clientId: 'c', clientSecret: CLIENT_SECRET, timeoutMs: 5000 })
  const first = new AbortController()
  const firstCall = getToken({ user: 'a', signal: first.signal } as any).catch((err) => err)
  const secondCall = getToken({ user: 'b', signal: new AbortController().signal } as any).catch((err) => err)
  setTimeout(() => first.abort(), 100)
  t.is((await firstCall)?.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.is(await secondCall, 'aaa.bbb.ccc')
})

test('options: own properties only; an unknown key or a wrong type is refused, naming the key', (t) => {
  const good = { issuer: 'https://login.example.test', clientId: 'c', clientSecret: 's' }
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, maxResponseBytes: 'x' }, /options\.maxResponseBytes must be an integer/],
    [{ ...good, timeoutMS: 1000 }, /unknown option "timeoutMS"/],
    [{ ...good, privateKey: 'pem text' }, /options\.privateKey must be an object/],
    // an inherited secret is not the caller's
    [Object.assign(Object.create({ clientSecret: 's' }), { issuer: good.issuer, clientId: 'c' }), /clientSecret or privateKey/],
    [Object.assign(Object.create({ issuer: good.issuer }), { clientId: 'c', clientSecret: 's' }), /options\.issuer is required/],
  ]
  for (const [options, message] of cases) {
    const err = t.throws(() => fromOAuthClientCredentials(options as any), undefined, String(message)) as any
    t.is(err?.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT', String(message))
    t.regex(err?.message ?? '', message)
  }
})
