// Tests of the embedded MySQL-protocol test server itself, driven by real mysql2 clients that frame
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
type SignOptions = { expiresIn?: number | string; header?: Claims; key?: 'other' }
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
let rsa: IdentityProvider
let ec: IdentityProvider

test.before(async () => {
  ;[rsa, ec] = await Promise.all([
    testServer.createIdentityProvider({ issuer: ISSUER, alg: 'RS256' }),
    testServer.createIdentityProvider({ issuer: ISSUER, alg: 'ES256' }),
  ])
})

async function startServer(t: ExecutionContext, options: Record<string, unknown> = {}) {
  const server = await testServer.startOidcServer({ identityProviders: [rsa], users: { alice: {} }, ...options })
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
  const where = server.socketPath ? { socketPath: server.socketPath } : { host: server.host, port: server.port, ssl: { ca: server.ca } }
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

for (const mode of ['mysql-enterprise', 'percona', 'starrocks', 'tidb']) {
  test(`${mode}: a framed token over TLS logs in and CURRENT_USER() answers alice@%`, async (t) => {
    const server = await startServer(t, { mode })
    const token = await rsa.signIdToken({ sub: 'alice' })
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
}

test('a Unix socket without TLS counts as secure', async (t) => {
  const socketPath = testServer.localSocketPath()
  const server = await startServer(t, { socketPath, tls: false })
  t.is(server.ca, undefined)
  t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken({ sub: 'alice' }))), 'alice@%')
  t.like(server.authLog[0], { ok: true, transport: 'unix', secure: true })
})

test('a token over plain TCP is refused unless requireSecureTransport is false', async (t) => {
  const strict = await startServer(t)
  const token = await rsa.signIdToken({ sub: 'alice' })
  const err = await refusal(t, clientOptions(strict, token, { ssl: undefined }))
  t.is(err.errno, 1045)
  t.is(err.sqlState, '28000')
  t.is(err.message, "Access denied for user 'alice'@'127.0.0.1' (insecure transport)")
  t.like(strict.authLog[0], { ok: false, transport: 'tcp', secure: false })
  const lax = await startServer(t, { requireSecureTransport: false, tls: false })
  t.is(await loginAndAsk(clientOptions(lax, token, { ssl: undefined })), 'alice@%')
})

test('an unknown account is refused before any token is asked for', async (t) => {
  const server = await startServer(t)
  let asked = false
  const err = await refusal(t, {
    ...clientOptions(server, await rsa.signIdToken({ sub: 'mallory' })),
    user: 'mallory',
    authPlugins: { authentication_openid_connect_client: () => () => ((asked = true), Buffer.alloc(0)) },
  })
  t.is(err.errno, 1045)
  t.is(err.message, "Access denied for user 'mallory'@'127.0.0.1' (unknown user)")
  t.false(asked)
})

const refusals: Array<[string, () => Promise<string>, string, () => Record<string, unknown>]> = [
  ['a wrong issuer', () => rsa.signIdToken({ sub: 'alice', iss: 'https://evil.example.test' }), 'untrusted issuer', () => ({})],
  ['a wrong audience', () => rsa.signIdToken({ sub: 'alice', aud: 'other' }), 'audience mismatch', () => ({ audience: 'mysql' })],
  ['a missing audience', () => rsa.signIdToken({ sub: 'alice' }), 'audience mismatch', () => ({ audience: 'mysql' })],
  ['a signature by a key outside the JWKS', () => rsa.signWithForeignKey({ sub: 'alice' }), 'bad signature', () => ({})],
  ['an unknown kid', () => rsa.signIdToken({ sub: 'alice' }, { header: { kid: 'nope' } }), 'no matching signing key', () => ({})],
  ['an expired token', () => rsa.signIdToken({ sub: 'alice' }, { expiresIn: -60 }), 'token expired', () => ({})],
  ['another subject', () => rsa.signIdToken({ sub: 'bob' }), 'sub does not match the account', () => ({})],
  ['ES256 on MySQL Enterprise', () => ec.signIdToken({ sub: 'alice' }), 'signature algorithm not allowed', () => ({ identityProviders: [ec] })],
]
for (const [what, makeToken, reason, options] of refusals) {
  test(`${what} is refused with ERR 1045 (${reason})`, async (t) => {
    const server = await startServer(t, options())
    const token = await makeToken()
    // validate: false so the server, not the client-side check, meets the expired token.
    const err = await refusal(t, clientOptions(server, token, {}, { validate: false }))
    t.is(err.code, 'ER_ACCESS_DENIED_ERROR')
    t.is(err.message, `Access denied for user 'alice'@'127.0.0.1' (${reason})`)
    t.like(server.authLog[0], { ok: false, reason, tokenBytes: token.length })
    // Nothing of the token reaches the log or the error: not even its signature part.
    const signature = token.split('.')[2]
    t.false(JSON.stringify(server.authLog).includes(signature))
    t.false(err.message.includes(signature))
  })
}

test('a key rollover: the JWKS second key is trusted too', async (t) => {
  const server = await startServer(t)
  t.is(await loginAndAsk(clientOptions(server, await rsa.signIdToken({ sub: 'alice' }, { key: 'other' }))), 'alice@%')
})

test('audience: per-provider audience wins over the server-wide one (Percona)', async (t) => {
  const server = await startServer(t, { mode: 'percona', identityProviders: [{ ...ec, audience: 'percona' }], audience: 'mysql' })
  t.is(await loginAndAsk(clientOptions(server, await ec.signIdToken({ sub: 'alice', aud: 'percona' }))), 'alice@%')
  await refusal(t, clientOptions(server, await ec.signIdToken({ sub: 'alice', aud: 'mysql' })))
  t.is(server.authLog[1].reason, 'audience mismatch')
})

test('principalField: StarRocks compares preferred_username with the account name', async (t) => {
  const server = await startServer(t, { mode: 'starrocks', identityProviders: [ec], principalField: 'preferred_username' })
  const good = await ec.signIdToken({ sub: 'u-123', preferred_username: 'alice' })
  t.is(await loginAndAsk(clientOptions(server, good)), 'alice@%')
  await refusal(t, clientOptions(server, await ec.signIdToken({ sub: 'alice' })))
  await refusal(t, clientOptions(server, await ec.signIdToken({ sub: 'alice', preferred_username: 'bob' })))
  t.deepEqual(
    server.authLog.map((e) => e.reason),
    [null, 'missing preferred_username claim', 'preferred_username does not match the account'],
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
  t.is(err.message, "Access denied for user 'alice'@'127.0.0.1' (malformed auth response)")
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
  const server = await startServer(t, { tls: false, requireSecureTransport: false })
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
