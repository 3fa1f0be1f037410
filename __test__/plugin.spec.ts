// The mysql2 glue on its own, against the connection shape mysql2 hands a plugin
// ({ connection: { stream, config } }) over a real local socket; the end-to-end tests drive it
// through real mysql2.
import test from 'ava'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { SignJWT, generateKeyPair } from 'jose'

import { authPlugins, openidConnectAuthPlugin, parseOpenidConnectAuthResponse } from '../main.js'
import { localSocketPath } from '../test-server/index.js'

const CANARY = 'CANARYPLUGINSUBJECT'
const keyPair = generateKeyPair('RS256')

async function sign(expiresIn: string | number = '10m', sub = CANARY, claims: Record<string, unknown> = {}) {
  const { privateKey } = await keyPair
  const jwt = new SignJWT({ sub, ...claims }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime(expiresIn)
  return (claims.iat === undefined ? jwt.setIssuedAt() : jwt).sign(privateKey)
}

// One real local socket (a Unix socket or named pipe) stands in for mysql2's stream: a secure peer.
let localStream: net.Socket
let localPath: string
const localServer = net.createServer((peer) => peer.on('error', () => {}).unref())
test.before(async () => {
  const path = (localPath = localSocketPath('plugin-spec'))
  const server = localServer
  await new Promise<void>((resolve) => server.listen(path, resolve))
  localStream = await new Promise<net.Socket>((resolve) => {
    const socket: net.Socket = net.connect(path, () => resolve(socket))
  })
  server.unref()
  localStream.unref()
  localStream.setMaxListeners(0) // every test's logins share this one stream
})
test.after.always(() => {
  localStream?.destroy()
  localServer.close() // removes the socket file
})

// `_command`: mysql2's running command, which the plugin requires to exist
type Fake = { stream: unknown; config: Record<string, unknown>; _command?: unknown }
function secureConnection(config: Record<string, unknown> = {}): Fake {
  // socketPath as mysql2 keeps it: on Windows only a \\.\pipe\ path counts as this machine's
  return { stream: localStream, config: { user: 'alice', host: 'db.test', port: 3306, database: 'app', socketPath: localPath, ...config }, _command: null }
}

/** What mysql2 hands a plugin: the connection, and the login's command, which is the one running. */
function loginOf(connection: Fake = secureConnection()) {
  const command = {}
  connection._command = command
  return { connection, command }
}

/** One authentication as mysql2 runs it: outer call per connection, inner call with the server's data. */
async function authenticate(plugin: any, connection: Fake = secureConnection()) {
  const response = await plugin(loginOf(connection))(Buffer.alloc(20))
  return parseOpenidConnectAuthResponse(response).token.toString()
}

async function codeOf(promise: Promise<unknown> | (() => unknown)) {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (err: any) {
    return err.oidcCode as string
  }
  return 'no error'
}

test('authPlugins names the client plugin, and mysql_clear_password only with cleartext', (t) => {
  t.deepEqual(Object.keys(authPlugins({ token: 'a.b.c', validate: false })), ['authentication_openid_connect_client'])
  t.deepEqual(Object.keys(authPlugins({ token: 'a.b.c', validate: false, cleartext: true })), [
    'authentication_openid_connect_client',
    'mysql_clear_password',
  ])
})

test('bad options fail at set-up with ERR_OIDC_INVALID_ARGUMENT', (t) => {
  const bad: unknown[] = [
    5,
    'token',
    [],
    { tokn: 'x' },
    { token: 'a', tokenFile: '/x' },
    { token: 'a', getToken: () => 'a' },
    { token: 42 },
    { tokenFile: '' },
    { getToken: 'not a function' },
    { allowInsecureTransport: 'yes' },
    { cleartext: 1 },
    { refreshBeforeExpirySeconds: -1 },
    { tokenTimeoutMs: 0 },
    { tokenTimeoutMs: 2 ** 31 },
    { tokenTimeoutMs: Infinity },
    { refreshBeforeExpirySeconds: NaN },
    {},
    { capability: 256 },
    { maxTokenBytes: 16_777_211 },
    { clockSkewSeconds: -1 },
    { validate: 'false' },
  ]
  for (const options of bad) {
    const err = t.throws(() => authPlugins(options as any)) as any
    t.is(err.code, 'ERR_OIDC_INVALID_ARGUMENT', inspect(options))
    t.is(err.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
    t.regex(err.message, /^authentication_openid_connect_client: /)
  }
})

test('a static token is answered synchronously and framed', async (t) => {
  const token = await sign()
  const response = openidConnectAuthPlugin({ token: `${token}\n` })(loginOf() as any)(Buffer.alloc(0))
  t.true(Buffer.isBuffer(response))
  t.is(parseOpenidConnectAuthResponse(response as Buffer).token.toString(), token)
})

test('without a source, set-up refuses: the mysql2 password is never the token', (t) => {
  for (const make of [() => (authPlugins as any)(), () => openidConnectAuthPlugin({} as any), () => authPlugins({ cleartext: true } as any)]) {
    const err = t.throws(make) as any
    t.is(err.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
    t.regex(err.message, /`token`, `tokenFile` or `getToken`/)
  }
})

test('plain TCP is refused unless allowInsecureTransport is true', async (t) => {
  const token = await sign()
  const plain = { stream: new net.Socket(), config: { host: '127.0.0.1' }, _command: null }
  const err = t.throws(() => openidConnectAuthPlugin({ token })({ connection: plain, command: {} } as any)(Buffer.alloc(0))) as any
  t.is(err.code, 'ERR_OIDC_INSECURE_TRANSPORT')
  t.regex(err.message, /ssl: \{ ca:/)
  t.regex(err.message, /socketPath/)
  t.is(err.message.split('authentication_openid_connect_client').length - 1, 1, 'the plugin is named once')
  t.is(err.message.split('ERR_OIDC_INSECURE_TRANSPORT').length - 1, 1, 'the code is named once')
  // the stream decides, not the config: a socketPath that mysql2 did not use proves nothing
  const claimed = { stream: new net.Socket(), config: { socketPath: '/tmp/mysql.sock' }, _command: null }
  t.is(await codeOf(() => authenticate(openidConnectAuthPlugin({ token }), claimed)), 'ERR_OIDC_INSECURE_TRANSPORT')
  const notAStream = { stream: { encrypted: true, authorized: true }, config: {}, _command: null }
  t.is(await codeOf(() => authenticate(openidConnectAuthPlugin({ token }), notAStream)), 'ERR_OIDC_INSECURE_TRANSPORT')
  t.is(await authenticate(openidConnectAuthPlugin({ token, allowInsecureTransport: true }), plain), token)
  const tidbToken = await sign('10m', CANARY, { email: 'alice@example.test' })
  t.is(await codeOf(() => authenticate(authPlugins({ token: tidbToken, cleartext: true }).mysql_clear_password!, plain)), 'ERR_OIDC_INSECURE_TRANSPORT')
})

test('a second request on one connection is refused: the token is sent once', async (t) => {
  const token = await sign()
  const respond = openidConnectAuthPlugin({ token })(loginOf() as any)
  respond(Buffer.alloc(20))
  const err = t.throws(() => respond(Buffer.alloc(20))) as any
  t.is(err.oidcCode, 'ERR_OIDC_UNEXPECTED_REQUEST')
})

test('a later login on the same connection (changeUser) is answered again', async (t) => {
  const token = await sign()
  const plugin = openidConnectAuthPlugin({ token })
  const connection = secureConnection()
  const handshake = {}
  const changeUser = {}
  t.true(Buffer.isBuffer(plugin({ connection, command: handshake } as any)(Buffer.alloc(20))))
  // mysql2 builds a new plugin instance per auth switch: a second switch in the same login is refused
  const again = t.throws(() => plugin({ connection, command: handshake } as any)(Buffer.alloc(20))) as any
  t.is(again.oidcCode, 'ERR_OIDC_UNEXPECTED_REQUEST')
  t.true(Buffer.isBuffer(plugin({ connection, command: changeUser } as any)(Buffer.alloc(20))))
})

test('a static token is checked at set-up: empty, malformed or expired fails there', async (t) => {
  const expired = await sign(Math.floor(Date.now() / 1000) - 600)
  for (const [token, code] of [
    ['', 'ERR_OIDC_TOKEN_EMPTY'],
    ['  \n', 'ERR_OIDC_TOKEN_EMPTY'],
    ['not-a-jwt', 'ERR_OIDC_TOKEN_MALFORMED'],
    [expired, 'ERR_OIDC_TOKEN_EXPIRED'],
  ]) {
    t.is(await codeOf(() => authPlugins({ token })), code, JSON.stringify(token.slice(0, 12)))
  }
})

test('tokenFile is read afresh at every authentication', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-plugin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'token')
  const plugin = openidConnectAuthPlugin({ tokenFile: file })
  const first = await sign('10m', 'first')
  writeFileSync(file, `${first}\n`)
  t.is(await authenticate(plugin), first)
  const second = await sign('10m', 'second')
  writeFileSync(file, second)
  t.is(await authenticate(plugin), second)
})

test('tokenFile errors name the path and are checked before reading', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-plugin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const missing = join(dir, 'missing')
  const err = await t.throwsAsync(authenticate(openidConnectAuthPlugin({ tokenFile: missing }))) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.true(err.message.includes(missing))
  t.regex(err.message, /ENOENT/)
  const big = join(dir, 'big')
  writeFileSync(big, 'a'.repeat(10_003))
  t.is(await codeOf(authenticate(openidConnectAuthPlugin({ tokenFile: big }))), 'ERR_OIDC_TOKEN_TOO_LARGE')
  const folder = join(dir, 'folder')
  mkdirSync(folder)
  t.is(await codeOf(authenticate(openidConnectAuthPlugin({ tokenFile: folder }))), 'ERR_OIDC_TOKEN_SOURCE')
  const expired = join(dir, 'expired')
  writeFileSync(expired, await sign(Math.floor(Date.now() / 1000) - 600))
  t.is(await codeOf(authenticate(openidConnectAuthPlugin({ tokenFile: expired }))), 'ERR_OIDC_TOKEN_EXPIRED')
})

test('getToken gets the connection context and an AbortSignal, never the password', async (t) => {
  const token = await sign()
  const seen: any[] = []
  const plugin = openidConnectAuthPlugin({ getToken: (context) => (seen.push(context), token) })
  await authenticate(plugin, secureConnection({ password: 'secret-password' }))
  t.is(seen.length, 1)
  const { signal, ...connection } = seen[0]
  t.deepEqual(connection, { user: 'alice', host: 'db.test', port: 3306, database: 'app', socketPath: localPath })
  t.true(signal instanceof AbortSignal)
  t.false(signal.aborted)
})

test('getToken results are cached until refreshBeforeExpirySeconds before exp', async (t) => {
  let calls = 0
  const longLived = await sign('1h')
  const plugin = openidConnectAuthPlugin({ getToken: async () => (calls++, longLived) })
  for (let i = 0; i < 5; i++) t.is(await authenticate(plugin), longLived)
  t.is(calls, 1)

  let shortCalls = 0
  const shortLived = await sign('30s') // inside the default 60 s refresh window: fetched each time
  const short = openidConnectAuthPlugin({ getToken: () => (shortCalls++, shortLived) })
  await authenticate(short)
  await authenticate(short)
  t.is(shortCalls, 2)
  let tunedCalls = 0
  const tuned = openidConnectAuthPlugin({ getToken: () => (tunedCalls++, shortLived), refreshBeforeExpirySeconds: 5 })
  await authenticate(tuned)
  await authenticate(tuned)
  t.is(tunedCalls, 1)
})

test('the getToken cache is per connection context: another user gets its own token', async (t) => {
  const calls: string[] = []
  const plugin = openidConnectAuthPlugin({ getToken: async ({ user }) => (calls.push(user!), sign('1h', user)) })
  const alice = await authenticate(plugin, secureConnection({ user: 'alice' }))
  const bob = await authenticate(plugin, secureConnection({ user: 'bob' }))
  t.not(alice, bob)
  t.is(await authenticate(plugin, secureConnection({ user: 'alice' })), alice)
  t.is(await authenticate(plugin, secureConnection({ user: 'bob' })), bob)
  t.deepEqual(calls, ['alice', 'bob'])
})

test('a token without exp is fetched for every authentication', async (t) => {
  let calls = 0
  const plugin = openidConnectAuthPlugin({ getToken: () => (calls++, 'opaque-token'), validate: false })
  await authenticate(plugin)
  await authenticate(plugin)
  t.is(calls, 2)
})

test('concurrent authentications share one in-flight getToken', async (t) => {
  let calls = 0
  const token = await sign()
  const plugin = openidConnectAuthPlugin({
    getToken: () => (calls++, new Promise<string>((resolve) => setTimeout(() => resolve(token), 50))),
  })
  const tokens = await Promise.all(Array.from({ length: 200 }, () => authenticate(plugin)))
  t.is(calls, 1)
  t.true(tokens.every((sent) => sent === token))
})

test('a failed getToken is not cached, and its error survives with a code and a cause', async (t) => {
  const token = await sign()
  let calls = 0
  const cause = new Error('identity provider down')
  const plugin = openidConnectAuthPlugin({
    getToken: async () => {
      calls++
      if (calls === 1) throw cause
      return token
    },
  })
  const err = await t.throwsAsync(authenticate(plugin)) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.is(err.cause, cause)
  t.is(await authenticate(plugin), token)
  t.is(calls, 2)
  const syncThrow = openidConnectAuthPlugin({ getToken: () => { throw cause } })
  t.is(await codeOf(authenticate(syncThrow)), 'ERR_OIDC_TOKEN_SOURCE')
  const notAToken = openidConnectAuthPlugin({ getToken: () => 42 as any })
  t.is(await codeOf(authenticate(notAToken)), 'ERR_OIDC_INVALID_ARGUMENT')
})

test('options given as undefined take their defaults', async (t) => {
  const token = await sign()
  const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve(token), 30))
  const plugin = openidConnectAuthPlugin({ getToken: slow, tokenTimeoutMs: undefined, refreshBeforeExpirySeconds: undefined })
  t.is(await authenticate(plugin), token)
})

test('a hanging getToken times out and its signal aborts; once it gives up, the next authentication asks again', async (t) => {
  const token = await sign()
  let calls = 0
  const signals: AbortSignal[] = []
  const plugin = openidConnectAuthPlugin({
    tokenTimeoutMs: 100,
    // the first call hangs until its signal aborts, as fetch(url, { signal }) does
    getToken: ({ signal }) => {
      signals.push(signal)
      return ++calls === 1 ? new Promise<string>((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))) : token
    },
  })
  // the plugin's timer does not hold the process open; a connecting socket does, this stands in for it
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const err = await t.throwsAsync(authenticate(plugin)) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.regex(err.message, /100 ms/)
  t.true(signals[0].aborted)
  t.is((signals[0].reason as any).oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.is(await authenticate(plugin), token)
  t.is(calls, 2)
})

test('the cleartext plugin sends the token then NUL from the same cache', async (t) => {
  let calls = 0
  const token = await sign('10m', CANARY, { email: 'alice@example.test' })
  const plugins = authPlugins({ getToken: () => (calls++, token), cleartext: true })
  const clear = await plugins.mysql_clear_password!(loginOf())(Buffer.alloc(0))
  t.deepEqual(clear, Buffer.concat([Buffer.from(token), Buffer.from([0])]))
  t.is(await authenticate(plugins.authentication_openid_connect_client), token)
  t.is(calls, 1)
})

test('no error, inspect output or stack carries the token', async (t) => {
  const token = await sign()
  const expired = await sign(Math.floor(Date.now() / 1000) - 600)
  const plain = { stream: {}, config: {}, _command: null }
  const texts: string[] = [inspect(authPlugins({ token })), inspect(openidConnectAuthPlugin({ token }), { showHidden: true })]
  const failures = [
    async () => authenticate(openidConnectAuthPlugin({ token: expired })),
    async () => authenticate(openidConnectAuthPlugin({ token }), plain),
    async () => authenticate(openidConnectAuthPlugin({ token: `${token} x` })),
    async () => authenticate(openidConnectAuthPlugin({ getToken: () => `${token}.extra` })),
    async () => authenticate(openidConnectAuthPlugin({ token: token.replace('.', '..') })),
  ]
  for (const failure of failures) {
    const err: any = await t.throwsAsync(failure)
    texts.push(err.message, String(err.stack), inspect(err))
  }
  const pieces = [CANARY, ...token.split('.'), ...expired.split('.')].filter((piece) => piece.length >= 8)
  for (const text of texts) for (const piece of pieces) t.false(text.includes(piece))
})

test('cleartext (TiDB): a token without email or iat, or issued over 15 minutes ago, is refused before it is sent', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const email = 'alice@example.test'
  const noEmail = await sign('1h')
  const old = await sign('1h', CANARY, { email, iat: now - 16 * 60 })
  const noIat = await (async () => {
    const { privateKey } = await keyPair
    return new SignJWT({ sub: CANARY, email }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey)
  })()
  const clear = (options: any) => authenticateClear(authPlugins({ ...options, cleartext: true }))
  t.is(await codeOf(clear({ getToken: () => noEmail })), 'ERR_OIDC_TOKEN_CLAIM_MISSING')
  t.is(await codeOf(clear({ getToken: () => noIat })), 'ERR_OIDC_TOKEN_CLAIM_MISSING')
  t.is(await codeOf(clear({ getToken: () => old })), 'ERR_OIDC_TOKEN_TOO_OLD')
  const err = await t.throwsAsync(clear({ getToken: () => old })) as any
  t.regex(err.message, /15 minutes/)
  // a static token is checked at set-up, with the same rules
  t.is(await codeOf(() => authPlugins({ token: old, cleartext: true })), 'ERR_OIDC_TOKEN_TOO_OLD')
  // the same tokens are fine for the other servers
  t.is(await authenticate(authPlugins({ getToken: () => old }).authentication_openid_connect_client), old)
})

test('cleartext (TiDB): a cached token is refetched before it is 15 minutes old, even with an hour left', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const ageing = await sign('1h', CANARY, { email: 'alice@example.test', iat: now - 14 * 60 - 30 })
  let tidbCalls = 0
  const tidb = authPlugins({ getToken: () => (tidbCalls++, ageing), cleartext: true })
  await authenticateClear(tidb)
  await authenticateClear(tidb)
  t.is(tidbCalls, 2, 'inside the refresh window of its 15-minute life: fetched again')
  let otherCalls = 0
  const other = authPlugins({ getToken: () => (otherCalls++, ageing) })
  await authenticate(other.authentication_openid_connect_client)
  await authenticate(other.authentication_openid_connect_client)
  t.is(otherCalls, 1, 'other servers: cached until near exp')
})

test('a token the plugin refuses is not cached: the next login asks the provider again', async (t) => {
  const expired = await sign(Math.floor(Date.now() / 1000) - 600)
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"exp":9999999999}').toString('base64url')}.c2ln`
  for (const refused of [expired, unsigned]) {
    let calls = 0
    const plugin = openidConnectAuthPlugin({ getToken: () => (calls++, refused) })
    t.not(await codeOf(authenticate(plugin)), 'no error')
    t.not(await codeOf(authenticate(plugin)), 'no error')
    t.is(calls, 2)
  }
})

async function authenticateClear(plugins: any) {
  const response: Buffer = await plugins.mysql_clear_password(loginOf())(Buffer.alloc(0))
  return response.subarray(0, -1).toString()
}

test("mysql2's debug mode prints every packet, the token included: the login is refused before any token is fetched", async (t) => {
  let fetched = 0
  const plugin = openidConnectAuthPlugin({ getToken: async () => (fetched++, sign()) })
  for (const debug of [true, ['AuthSwitchResponse']]) {
    const err = await t.throwsAsync(async () => plugin({ connection: secureConnection({ debug }), command: {} })(Buffer.alloc(20)))
    t.is((err as any).oidcCode, 'ERR_OIDC_DEBUG_OUTPUT')
    t.regex(err!.message, /Turn `debug` off/)
  }
  t.is(fetched, 0)
  // nor does an opt-out let it through: allowInsecureTransport is about the network, not stdout
  const insecure = openidConnectAuthPlugin({ token: await sign(), allowInsecureTransport: true })
  t.is(await codeOf(authenticate(insecure, secureConnection({ debug: true }))), 'ERR_OIDC_DEBUG_OUTPUT')
  t.truthy(await authenticate(insecure, secureConnection({ debug: false })))
})

test('Windows: only this machine\'s named pipes count as a local socket, never \\\\host\\pipe (SMB)', (t) => {
  const { isThisMachinesPipe } = createRequire(join(process.cwd(), 'package.json'))('./lib/transport.js')
  for (const local of ['\\\\.\\pipe\\MySQL', '\\\\?\\pipe\\MySQL', '//./pipe/MySQL']) {
    t.true(isThisMachinesPipe({ socketPath: local }, 'win32'), local)
  }
  for (const remote of ['\\\\dbhost\\pipe\\MySQL', '//dbhost/pipe/MySQL', '\\\\dbhost\\.\\pipe\\x', undefined]) {
    t.false(isThisMachinesPipe({ socketPath: remote }, 'win32'), String(remote))
  }
  t.false(isThisMachinesPipe(Object.create({ socketPath: '\\\\.\\pipe\\MySQL' }), 'win32'), 'inherited: not the caller\'s')
  t.true(isThisMachinesPipe({ socketPath: '/var/run/mysqld/mysqld.sock' }, 'linux'))
})

test('a mysql2 without the internals a login relies on is refused before the token is fetched', async (t) => {
  let fetched = 0
  const plugin = openidConnectAuthPlugin({ getToken: async () => (fetched++, sign()) })
  const { _command, ...noCommand } = secureConnection()
  const shapes: Array<[string, unknown]> = [
    ['no running command', noCommand],
    ['no stream', { config: {}, _command: null }],
    ['no config', { stream: localStream, _command: null }],
    ['no connection', undefined],
  ]
  for (const [what, connection] of shapes) {
    const err = t.throws(() => plugin({ connection, command: {} } as any)(Buffer.alloc(0)), undefined, what) as any
    t.is(err.oidcCode, 'ERR_OIDC_UNSUPPORTED_MYSQL2', what)
    t.regex(err.message, /mysql2 3\.14\.4 or later/, what)
  }
  t.is(fetched, 0)
})

test('TLS asked for but a plain stream at the login: this mysql2 hides its TLS socket, and the token stays home', async (t) => {
  // mysql2 3.14.3 and older: connection.stream stays the TCP socket and TLS writes go through a closure
  const hidden = { stream: new net.Socket(), config: { host: 'db.test', ssl: { ca: 'x' } }, _command: null }
  const token = await sign()
  t.is(await codeOf(() => authenticate(openidConnectAuthPlugin({ token }), hidden)), 'ERR_OIDC_UNSUPPORTED_MYSQL2')
})
