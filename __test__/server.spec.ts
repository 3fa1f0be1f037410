// Tests of the embedded MySQL-protocol test server itself (each mode as strict as its server:
// docs/protocol.md#what-each-server-checks), driven by real mysql2 clients that frame
// the token with the package's own openidConnectAuthResponse.
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'
import type { ConnectionOptions } from 'mysql2/promise'

import { clearPasswordAuthResponse, openidConnectAuthResponse } from '../main.js'

type AuthResponseOptions = NonNullable<Parameters<typeof openidConnectAuthResponse>[1]>

type AuthLogEntry = { user: string; plugin: string | null; capability: number | null; tokenBytes: number } & {
  transport: 'tcp' | 'tls' | 'unix'
  secure: boolean
  ok: boolean
  reason: string | null
  secondResponse?: boolean
}
type OidcServer = { host?: string; port?: number; socketPath?: string; ca?: string; authLog: AuthLogEntry[] } & {
  openConnections: number
  close(): Promise<void>
}
type Claims = Record<string, unknown>
type SignOptions = { expiresIn?: number | string | null; header?: Claims; key?: 'other' }
type IdentityProvider = { signIdToken(c: Claims, o?: SignOptions): Promise<string>; signWithForeignKey(c: Claims): Promise<string> }
type MysqlError = Error & { code?: string; errno?: number; sqlState?: string }

// ava runs test files with the project root as cwd; the server is plain CommonJS without typings.
const repoRoot = process.cwd()
const requireFromRoot = createRequire(path.join(repoRoot, 'package.json'))
const testServer = requireFromRoot('./test-server/index.js') as {
  startOidcServer(options: Record<string, unknown>): Promise<OidcServer>
  createIdentityProvider(options: { issuer: string; alg?: string }): Promise<IdentityProvider>
  localSocketPath(name?: string): string
}
const protocol = requireFromRoot('./test-server/protocol.js')

const ISSUER = 'https://idp.example.test'
const OTHER_ISSUER = 'https://other-idp.example.test'
const MODES = ['mysql-enterprise', 'percona', 'starrocks', 'tidb'] as const
type Mode = (typeof MODES)[number]
let rsa: IdentityProvider
let ec: IdentityProvider
let hmac: IdentityProvider
let otherIdp: IdentityProvider

test.before(async () => {
  ;[rsa, ec, hmac, otherIdp] = await Promise.all([
    testServer.createIdentityProvider({ issuer: ISSUER, alg: 'RS256' }),
    testServer.createIdentityProvider({ issuer: ISSUER, alg: 'ES256' }),
    testServer.createIdentityProvider({ issuer: ISSUER, alg: 'HS256' }),
    testServer.createIdentityProvider({ issuer: OTHER_ISSUER, alg: 'RS256' }),
  ])
})

// TiDB: TOKEN_ISSUER must be the token's iss (a token with iss fails an account without one) and
// the email attribute must match; the other modes need nothing beyond the account name.
const ALICE: Record<Mode, Record<string, unknown>> = {
  'mysql-enterprise': {},
  percona: {},
  starrocks: {},
  tidb: { identityProvider: ISSUER, email: 'alice@example.com' },
}
const aliceClaims = (extra: Claims = {}) => ({ sub: 'alice', email: 'alice@example.com', ...extra })

async function startServer(t: ExecutionContext, options: Record<string, unknown> = {}) {
  const mode = (options.mode as Mode | undefined) ?? 'mysql-enterprise'
  const server = await testServer.startOidcServer({ identityProviders: [rsa], users: { alice: ALICE[mode] }, ...options })
  t.teardown(() => server.close())
  return server
}

function oidcPlugins(token: string, frame: AuthResponseOptions = {}) {
  const answer = () => () => openidConnectAuthResponse(token, frame)
  // tidb mode switches to mysql_clear_password: the bare token and a NUL.
  const clear = () => () => clearPasswordAuthResponse(token, frame)
  return { authentication_openid_connect_client: answer, mysql_clear_password: clear }
}

function clientOptions(server: OidcServer, token: string, extra: ConnectionOptions = {}, frame?: AuthResponseOptions) {
  const where = server.socketPath
    ? { socketPath: server.socketPath }
    : { host: server.host, port: server.port, ...(server.ca ? { ssl: { ca: server.ca } } : {}) }
  return { ...where, user: 'alice', connectTimeout: 5000, authPlugins: oidcPlugins(token, frame), ...extra } as ConnectionOptions
}

async function loginAndAsk(options: ConnectionOptions) {
  const connection = await mysql.createConnection(options)
  try {
    const [rows] = await connection.query('SELECT CURRENT_USER()')
    return (rows as Array<Record<string, unknown>>)[0]['CURRENT_USER()']
  } finally {
    await connection.end()
  }
}

async function refusal(t: ExecutionContext, options: ConnectionOptions): Promise<MysqlError> {
  return (await t.throwsAsync(mysql.createConnection(options))) as MysqlError
}

/** What the real server sends on a refusal: the bare ER_ACCESS_DENIED_ERROR (StarRocks: its reason). */
function deniedText(mode: Mode, reason: string, user = 'alice', host = '127.0.0.1') {
  return mode === 'starrocks' ? reason : `Access denied for user '${user}'@'${host}' (using password: YES)`
}

for (const mode of MODES) {
  test(`${mode}: a framed token over TLS logs in and CURRENT_USER() answers alice@%`, async (t) => {
    const server = await startServer(t, { mode })
    const token = await rsa.signIdToken(aliceClaims())
    const connection = await mysql.createConnection(clientOptions(server, token))
    const [user] = await connection.query('SELECT CURRENT_USER()')
    const [one, fields] = await connection.query('SELECT 1')
    await connection.ping()
    await connection.end()
    t.deepEqual(user, [{ 'CURRENT_USER()': 'alice@%' }])
    t.deepEqual(one, [{ 1: 1 }])
    t.is((fields as Array<{ name: string }>)[0].name, '1')
    const [entry] = server.authLog
    t.like(entry, { user: 'alice', ok: true, reason: null, transport: 'tls', secure: true, tokenBytes: token.length })
    if (mode === 'tidb') t.like(entry, { plugin: 'mysql_clear_password', capability: null })
    else t.like(entry, { plugin: 'authentication_openid_connect_client', capability: 1 })
  })

  test(`${mode}: a Unix socket without TLS counts as secure`, async (t) => {
    const server = await startServer(t, { mode, socketPath: testServer.localSocketPath(), tls: false })
    t.is(server.ca, undefined)
    t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken(aliceClaims()))), 'alice@%')
    t.like(server.authLog[0], { ok: true, transport: 'unix', secure: true })
  })
}

for (const mode of ['mysql-enterprise', 'percona'] as const) {
  test(`${mode}: over plain TCP there is no auth switch, only 1045, and it cannot be turned off`, async (t) => {
    const server = await startServer(t, { mode })
    let asked = false
    const plugin = () => () => ((asked = true), Buffer.alloc(0))
    const err = await refusal(t, { ...clientOptions(server, 'a.b.c', { ssl: undefined }), authPlugins: { authentication_openid_connect_client: plugin } })
    t.is(err.errno, 1045)
    t.is(err.sqlState, '28000')
    t.is(err.message, "Access denied for user 'alice'@'127.0.0.1' (using password: NO)")
    t.false(asked, 'the client plugin was never asked for a token')
    t.like(server.authLog[0], { ok: false, transport: 'tcp', plugin: null, tokenBytes: 0 })
    t.regex(server.authLog[0].reason ?? '', /insecure transport/)
    await t.throwsAsync(testServer.startOidcServer({ mode, identityProviders: [rsa], requireSecureTransport: false }), {
      instanceOf: TypeError,
    })
  })
}

for (const mode of ['starrocks', 'tidb'] as const) {
  test(`${mode}: plain TCP is accepted (the server does not enforce TLS)`, async (t) => {
    const server = await startServer(t, { mode, tls: false })
    t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken(aliceClaims()))), 'alice@%')
    t.like(server.authLog[0], { ok: true, transport: 'tcp', secure: false })
  })
}

test('an unknown account is refused before any token is asked for', async (t) => {
  const server = await startServer(t)
  let asked = false
  const err = await refusal(t, {
    ...clientOptions(server, await rsa.signIdToken({ sub: 'mallory' })),
    user: 'mallory',
    authPlugins: { authentication_openid_connect_client: () => () => ((asked = true), Buffer.alloc(0)) },
  })
  t.is(err.errno, 1045)
  t.is(err.message, "Access denied for user 'mallory'@'127.0.0.1' (using password: NO)")
  t.is(server.authLog[0].reason, 'unknown user')
  t.false(asked)
})

const now = () => Math.floor(Date.now() / 1000)
const noKid = { header: { kid: undefined } }
// [mode, what, token, expected reason in the server's log, server options]
type Case = [Mode, string, () => Promise<string>, RegExp, () => Record<string, unknown>]
const refusals: Case[] = [
  ['mysql-enterprise', 'ES256 (RS256 only)', () => ec.signIdToken(aliceClaims()), /unsupported algorithm ES256/, () => ({})],
  ['mysql-enterprise', 'RS384 from an RSA provider (RS256 only)', async () => (await rsa384()).signIdToken(aliceClaims()), /unsupported algorithm RS384/, async384],
  ['mysql-enterprise', 'the JWKS second key (one key per provider, no rollover)', () => rsa.signIdToken(aliceClaims(), { key: 'other' }), /bad signature/, () => ({})],
  ['mysql-enterprise', "iss of another provider than the account's", () => rsa.signIdToken(aliceClaims()), /iss is not the account's identity provider/, boundToOther],
  ['mysql-enterprise', 'another subject', () => rsa.signIdToken({ sub: 'bob' }), /sub does not match/, () => ({})],
  ['mysql-enterprise', 'an expired token', () => rsa.signIdToken(aliceClaims(), { expiresIn: -60 }), /token expired/, () => ({})],
  ['mysql-enterprise', 'a foreign signature', () => rsa.signWithForeignKey(aliceClaims()), /bad signature/, () => ({})],
  ['percona', 'HS256 (its docs say yes, id_token.cc says no)', () => hmac.signIdToken(aliceClaims(), { header: { kid: rsaKid() } }), /unsupported algorithm HS256/, () => ({})],
  ['percona', 'no kid while the provider has two keys', () => rsa.signIdToken(aliceClaims(), noKid), /no kid and the provider has more than one key/, () => ({})],
  ['percona', 'an unknown kid', () => rsa.signIdToken(aliceClaims(), { header: { kid: 'nope' } }), /no key with the token kid/, () => ({})],
  ['percona', "iss of another provider than the account's", () => rsa.signIdToken(aliceClaims()), /iss is not the account's identity provider/, boundToOther],
  ['percona', 'an iat 60 s in the future (leeway 0)', () => rsa.signIdToken(aliceClaims({ iat: now() + 60 })), /issued in the future/, () => ({})],
  ['percona', 'a missing audience when audiences are configured', () => rsa.signIdToken(aliceClaims()), /missing audience/, () => ({ audience: 'mysql' })],
  ['percona', 'a wrong audience', () => rsa.signIdToken(aliceClaims({ aud: 'other' })), /audience not authorized/, () => ({ audience: 'mysql' })],
  ['starrocks', 'an ES256 token (RSA keys only)', () => ec.signIdToken(aliceClaims()), /not an RSA key/, () => ({ identityProviders: [ec] })],
  ['starrocks', 'no kid', () => rsa.signIdToken(aliceClaims(), noKid), /Cannot find public key for kid: null/, () => ({})],
  ['starrocks', 'another login name', () => rsa.signIdToken({ sub: 'bob' }), /Login name alice is not matched/, () => ({})],
  ['starrocks', 'an expired token', () => rsa.signIdToken(aliceClaims(), { expiresIn: -60 }), /JWT expired/, () => ({})],
  ['tidb', 'no email claim', () => rsa.signIdToken({ sub: 'alice' }), /lack 'email'/, () => ({})],
  ['tidb', "an email other than the account's", () => rsa.signIdToken(aliceClaims({ email: 'mallory@example.com' })), /Wrong 'email'/, () => ({})],
  ['tidb', 'an iat 16 minutes old', () => rsa.signIdToken(aliceClaims({ iat: now() - 16 * 60 })), /out of its life time/, () => ({})],
  ['tidb', 'an iat in the future', () => rsa.signIdToken(aliceClaims({ iat: now() + 60 })), /issued at a future time/, () => ({})],
  ['tidb', 'a sub other than the account name', () => rsa.signIdToken(aliceClaims({ sub: 'ALICE' })), /Wrong 'sub'/, () => ({})],
  ['tidb', 'no kid', () => rsa.signIdToken(aliceClaims(), noKid), /no key for the token kid/, () => ({})],
  ['tidb', "a JWK whose alg is not the token's", () => rsa.signIdToken(aliceClaims()), /alg is not the token's/, relabelledKeys],
  ['tidb', 'an iss while the account has no TOKEN_ISSUER', () => rsa.signIdToken(aliceClaims()), /Wrong 'iss'/, () => ({ users: { alice: { email: 'alice@example.com' } } })],
  ['tidb', 'an expired token', () => rsa.signIdToken(aliceClaims(), { expiresIn: -60 }), /the token has been expired/, () => ({})],
]
let rsa384Provider: IdentityProvider | undefined
async function rsa384() {
  rsa384Provider = rsa384Provider ?? (await testServer.createIdentityProvider({ issuer: ISSUER, alg: 'RS384' }))
  return rsa384Provider
}
function async384() {
  return { identityProviders: [rsa384Provider] }
}
function rsaKid() {
  return (rsa as unknown as { publicJwk: { kid: string } }).publicJwk.kid
}
function boundToOther() {
  return { identityProviders: [rsa, otherIdp], users: { alice: { identityProvider: OTHER_ISSUER } } }
}
function relabelledKeys() {
  const { jwks } = rsa as unknown as { jwks: { keys: Array<Record<string, unknown>> } }
  return { identityProviders: [{ issuer: ISSUER, jwks: { keys: jwks.keys.map((k) => ({ ...k, alg: 'RS512' })) } }] }
}

for (const [mode, what, makeToken, reason, options] of refusals) {
  test(`${mode}: ${what} is refused with a bare 1045, the reason only in the server's log`, async (t) => {
    const token = await makeToken() // before options(): some build the provider they name
    const server = await startServer(t, { mode, ...options() })
    // validate: false so the server, not the client-side check, meets the expired token.
    const err = await refusal(t, clientOptions(server, token, {}, { validate: false }))
    t.is(err.code, 'ER_ACCESS_DENIED_ERROR')
    t.is(err.sqlState, '28000')
    const logged = server.authLog[0]
    t.like(logged, { ok: false, tokenBytes: token.length })
    t.regex(logged.reason ?? '', reason)
    t.is(err.message, deniedText(mode, logged.reason ?? ''))
    // Nothing of the token reaches the log or the error: not even its signature part.
    const signature = token.split('.')[2]
    t.false(JSON.stringify(server.authLog).includes(signature))
    t.false(err.message.includes(signature))
  })
}

// What the real servers accept, next to the refusals above.
const accepted: Array<[Mode, string, () => Promise<string>, () => Record<string, unknown>]> = [
  ['mysql-enterprise', 'a token without kid (one key, none needed)', () => rsa.signIdToken(aliceClaims(), noKid), () => ({})],
  ['mysql-enterprise', "the token of the account's own provider among two", () => otherIdp.signIdToken(aliceClaims()), boundToOther],
  ['percona', 'ES384', () => providerFor('ES384').then((p) => p.signIdToken(aliceClaims())), () => ({ identityProviders: [providers.ES384] })],
  ['percona', 'PS256', () => providerFor('PS256').then((p) => p.signIdToken(aliceClaims())), () => ({ identityProviders: [providers.PS256] })],
  ['percona', 'no kid when the provider has exactly one key', () => rsa.signIdToken(aliceClaims(), noKid), oneKey],
  ['percona', 'the JWKS second key (key rollover)', () => rsa.signIdToken(aliceClaims(), { key: 'other' }), () => ({})],
  ['percona', 'a token without exp (time claims only when present)', () => rsa.signIdToken(aliceClaims(), { expiresIn: null }), () => ({})],
  ['starrocks', 'a principal that differs only in case', () => rsa.signIdToken({ sub: 'ALICE' }), () => ({})],
  ['starrocks', 'PS512', () => providerFor('PS512').then((p) => p.signIdToken(aliceClaims())), () => ({ identityProviders: [providers.PS512] })],
  ['tidb', 'an iat 14 minutes old', () => rsa.signIdToken(aliceClaims({ iat: now() - 14 * 60 })), () => ({})],
]
const providers: Record<string, IdentityProvider> = {}
async function providerFor(alg: string) {
  providers[alg] = providers[alg] ?? (await testServer.createIdentityProvider({ issuer: ISSUER, alg }))
  return providers[alg]
}
function oneKey() {
  return { identityProviders: [{ issuer: ISSUER, jwks: { keys: [(rsa as unknown as { publicJwk: unknown }).publicJwk] } }] }
}
for (const [mode, what, makeToken, options] of accepted) {
  test(`${mode}: ${what} is accepted`, async (t) => {
    const token = await makeToken()
    const server = await startServer(t, { mode, ...options() })
    t.is(await loginAndAsk(clientOptions(server, token, {}, { validate: false })), 'alice@%')
    t.like(server.authLog[0], { ok: true, reason: null })
  })
}

test('tidb: the last byte of the clear-password payload is always dropped, NUL or not', async (t) => {
  const server = await startServer(t, { mode: 'tidb' })
  const token = await rsa.signIdToken(aliceClaims())
  const bare = { mysql_clear_password: () => () => Buffer.from(token) } // no NUL: TiDB cuts the signature's last character
  await refusal(t, { ...clientOptions(server, token), authPlugins: bare })
  t.like(server.authLog[0], { ok: false, tokenBytes: token.length - 1, reason: 'verify JWT failed: bad signature' })
  const padded = { mysql_clear_password: () => () => Buffer.from(`${token}x`) } // any last byte goes, not only NUL
  t.is(await loginAndAsk({ ...clientOptions(server, token), authPlugins: padded }), 'alice@%')
})

test('starrocks: changeUser through mysql2 fails (no auth switch on COM_CHANGE_USER); the session stays alice', async (t) => {
  const server = await startServer(t, { mode: 'starrocks', users: { alice: {}, bob: {} } })
  let asked = 0
  const plugin = () => () => (asked++, openidConnectAuthResponse(token))
  const token = await rsa.signIdToken({ sub: 'alice' })
  const connection = await mysql.createConnection({ ...clientOptions(server, token), authPlugins: { authentication_openid_connect_client: plugin } })
  t.teardown(() => connection.destroy())
  const err = (await t.throwsAsync(connection.changeUser({ user: 'bob' }))) as MysqlError
  t.is(err.errno, 1045)
  t.is(err.message, "Access denied for user 'bob' (using password: NO)")
  t.is(asked, 1, 'only the first login asked for a token')
  t.like(server.authLog[1], { user: 'bob', ok: false, clientPlugin: 'mysql_native_password', changeUser: true })
  t.regex(server.authLog[1].reason ?? '', /names mysql_native_password, not authentication_openid_connect_client/)
  const [rows] = await connection.query('SELECT CURRENT_USER()')
  t.deepEqual(rows, [{ 'CURRENT_USER()': 'alice@%' }])
})

test('audience: per-provider audience wins over the server-wide one (Percona)', async (t) => {
  const server = await startServer(t, { mode: 'percona', identityProviders: [{ ...ec, audience: 'percona' }], audience: 'mysql' })
  t.is(await loginAndAsk(clientOptions(server, await ec.signIdToken({ sub: 'alice', aud: 'percona' }))), 'alice@%')
  await refusal(t, clientOptions(server, await ec.signIdToken({ sub: 'alice', aud: 'mysql' })))
  t.is(server.authLog[1].reason, 'audience not authorized')
})

test('principalField: StarRocks compares preferred_username with the account name', async (t) => {
  const server = await startServer(t, { mode: 'starrocks', principalField: 'preferred_username' })
  const good = await rsa.signIdToken({ sub: 'u-123', preferred_username: 'Alice' })
  t.is(await loginAndAsk(clientOptions(server, good)), 'alice@%')
  await refusal(t, clientOptions(server, await rsa.signIdToken({ sub: 'alice' })))
  await refusal(t, clientOptions(server, await rsa.signIdToken({ sub: 'alice', preferred_username: 'bob' })))
  const pointer = await startServer(t, { mode: 'starrocks', principalField: '/ext/login' })
  t.is(await loginAndAsk(clientOptions(pointer, await rsa.signIdToken({ sub: 'x', ext: { login: 'alice' } }))), 'alice@%')
  t.deepEqual(
    server.authLog.map((e) => e.reason),
    [null, 'Can not get specified principal preferred_username', "Login name alice is not matched to the token's preferred_username"],
  )
})

test('users map an account to the principal in its auth string (MySQL Enterprise)', async (t) => {
  const server = await startServer(t, { users: { alice: { principal: 'alice@corp.example' } } })
  t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken({ sub: 'alice@corp.example' }))), 'alice@%')
  await refusal(t, clientOptions(server, await rsa.signIdToken({ sub: 'alice' })))
})

test('an unframed token is a malformed auth response (the StarRocks two-day bug)', async (t) => {
  const server = await startServer(t, { mode: 'starrocks' })
  const token = await rsa.signIdToken({ sub: 'alice' })
  const raw = { authentication_openid_connect_client: () => () => Buffer.from(token) }
  const err = await refusal(t, { ...clientOptions(server, token), authPlugins: raw })
  t.is(err.errno, 1045)
  t.is(server.authLog[0].reason, 'malformed auth response')
})

test('a token over 64 KiB travels with a 3-byte length', async (t) => {
  const server = await startServer(t)
  const token = await rsa.signIdToken({ sub: 'alice', padding: 'x'.repeat(70_000) })
  t.true(token.length > 65_535)
  t.is(await loginAndAsk(clientOptions(server, token, {}, { maxTokenBytes: 200_000 })), 'alice@%')
  t.is(server.authLog[0].tokenBytes, token.length)
})

test('a pool authenticates every physical connection and answers queries', async (t) => {
  const server = await startServer(t)
  const pool = mysql.createPool({ ...clientOptions(server, await rsa.signIdToken({ sub: 'alice' })), connectionLimit: 3 })
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => pool.query('SELECT CURRENT_USER()').then(([rows]) => rows)))
  const err = (await t.throwsAsync(pool.query('SELECT nothing FROM anywhere'))) as MysqlError
  await pool.end()
  t.deepEqual(answers, Array(5).fill([{ 'CURRENT_USER()': 'alice@%' }]))
  t.is(err.errno, 1064)
  t.is(server.authLog.length, 3)
  t.true(server.authLog.every((e) => e.ok))
})

for (const [fault, code] of [['drop-after-handshake', 'PROTOCOL_CONNECTION_LOST'], ['error-packet', 'ER_ACCESS_DENIED_ERROR']]) {
  test(`fault ${fault}: the client sees ${code}`, async (t) => {
    const server = await startServer(t, { fault })
    t.is((await refusal(t, clientOptions(server, await rsa.signIdToken({ sub: 'alice' })))).code, code)
    t.like(server.authLog[0], { ok: false, reason: `${fault} fault` })
  })
}

test('faults malformed-auth-switch and huge-auth-switch reach the client plugin', async (t) => {
  for (const [fault, expectedLength] of [['malformed-auth-switch', 0], ['huge-auth-switch', 1024 * 1024]] as const) {
    const server = await startServer(t, { fault })
    const token = await rsa.signIdToken({ sub: 'alice' })
    const seen: number[] = []
    const plugin = () => (data: Buffer) => (seen.push(data.length), openidConnectAuthResponse(token))
    // mysql2 reads a switch request without NUL as a name running to the end and no data.
    t.is(await loginAndAsk({ ...clientOptions(server, token), authPlugins: { authentication_openid_connect_client: plugin } }), 'alice@%')
    t.deepEqual(seen, [expectedLength], fault)
  }
})

test('fault more-data-after-response records whether the client answered again', async (t) => {
  const token = await rsa.signIdToken({ sub: 'alice' })
  const answersAgain = await startServer(t, { fault: 'more-data-after-response' })
  let calls = 0
  const eager = () => () => (calls++, openidConnectAuthResponse(token))
  await loginAndAsk({ ...clientOptions(answersAgain, token), authPlugins: { authentication_openid_connect_client: eager } })
  t.is(calls, 2)
  t.like(answersAgain.authLog[0], { ok: true, secondResponse: true })

  const staysQuiet = await startServer(t, { fault: 'more-data-after-response' })
  let sent = false
  const once = () => () => (sent ? null : ((sent = true), openidConnectAuthResponse(token)))
  await loginAndAsk({ ...clientOptions(staysQuiet, token), authPlugins: { authentication_openid_connect_client: once } })
  t.like(staysQuiet.authLog[0], { ok: true, secondResponse: false })
})

test('fault slow-handshake delays the greeting by 2 s', async (t) => {
  const server = await startServer(t, { fault: 'slow-handshake' })
  const started = Date.now()
  t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken({ sub: 'alice' }))), 'alice@%')
  t.true(Date.now() - started >= 1900)
})

test('close() ends open connections, stops listening and removes the socket file', async (t) => {
  const socketPath = testServer.localSocketPath('oidc-close')
  const tcp = await testServer.startOidcServer({ identityProviders: [rsa], users: { alice: {} } })
  const unix = await testServer.startOidcServer({ identityProviders: [rsa], users: { alice: {} }, socketPath, tls: false })
  const token = await rsa.signIdToken({ sub: 'alice' })
  const connections = await Promise.all([tcp, unix].map((s) => mysql.createConnection(clientOptions(s, token))))
  const ended = connections.map((c) => new Promise((resolve) => c.once('error', resolve).once('end', resolve)))
  t.is(tcp.openConnections + unix.openConnections, 2)
  await Promise.all([tcp.close(), unix.close()])
  await Promise.all(ended)
  t.is(tcp.openConnections + unix.openConnections, 0)
  t.false(fs.existsSync(socketPath))
  const refused = await new Promise<string | undefined>((resolve) => {
    net.connect(tcp.port as number, '127.0.0.1').once('error', (e: MysqlError) => resolve(e.code)).once('connect', () => resolve('connected'))
  })
  t.is(refused, 'ECONNREFUSED')
  await tcp.close() // a second close() is harmless
})

test('a process that closes its servers exits by itself (no socket or timer left)', async (t) => {
  // A connection still waiting for its slow greeting holds a timer and a socket when close() runs.
  const script = `
    const net = require('node:net')
    const { startOidcServer, createIdentityProvider } = require(${JSON.stringify(path.join(repoRoot, 'test-server'))})
    ;(async () => {
      const idp = await createIdentityProvider({ issuer: 'https://idp.example.test' })
      const slow = await startOidcServer({ identityProviders: [idp], fault: 'slow-handshake' })
      const socket = net.connect(slow.port, '127.0.0.1').on('error', () => {})
      await new Promise((resolve) => socket.once('connect', resolve))
      await new Promise((resolve) => setTimeout(resolve, 100))
      await slow.close()
      console.log('closed')
    })()`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  const killer = setTimeout(() => child.kill(), 10_000)
  const code = await new Promise((resolve) => child.once('exit', resolve))
  clearTimeout(killer)
  t.is(code, 0)
  t.is(output.trim(), 'closed')
})

test('protocol: a raw client that negotiates DEPRECATE_EOF gets no EOF packets', async (t) => {
  const { CLIENT } = protocol
  const server = await startServer(t, { mode: 'starrocks', tls: false })
  const socket = net.connect(server.port as number, '127.0.0.1')
  const reader = new protocol.PacketReader()
  let wake = () => {}
  socket.on('data', (chunk) => (reader.push(chunk), wake()))
  const next = async (): Promise<{ sequenceId: number; payload: Buffer }> => {
    for (let p = reader.next(); ; p = reader.next()) {
      if (p) return p
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  const send = (sequenceId: number, payload: Buffer) => socket.write(protocol.framePackets(sequenceId, payload).bytes)
  t.is((await next()).payload[0], 10)
  const flags = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.DEPRECATE_EOF
  const head = Buffer.alloc(32)
  head.writeUInt32LE(flags, 0)
  send(1, Buffer.concat([head, Buffer.from('alice\0\0authentication_openid_connect_client\0')]))
  const authSwitch = await next()
  t.is(authSwitch.payload.subarray(0, 38).toString('latin1'), '\xfeauthentication_openid_connect_client\0')
  send(authSwitch.sequenceId + 1, openidConnectAuthResponse(await rsa.signIdToken({ sub: 'alice' })))
  t.is((await next()).payload[0], 0x00)
  send(0, Buffer.from('\x03SELECT CURRENT_USER()'))
  const resultSet = [await next(), await next(), await next(), await next()]
  // column count, column definition, row, then an OK with the 0xFE header instead of two EOFs.
  t.deepEqual(resultSet.map((p) => [p.sequenceId, p.payload[0]]), [[1, 1], [2, 3], [3, 7], [4, 0xfe]])
  t.is(resultSet[2].payload.subarray(1).toString(), 'alice@%')
  send(0, Buffer.from([0x01])) // COM_QUIT
  await new Promise((resolve) => socket.once('close', resolve))
})
