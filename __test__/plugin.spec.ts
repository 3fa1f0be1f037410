// The mysql2 glue on its own, against the connection shape mysql2 hands a plugin
// ({ connection: { stream, config } }); the end-to-end tests drive it through real mysql2.
import test from 'ava'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { SignJWT, generateKeyPair } from 'jose'

import { authPlugins, openidConnectAuthPlugin, parseOpenidConnectAuthResponse } from '../main.js'

const CANARY = 'CANARYPLUGINSUBJECT'
const keyPair = generateKeyPair('RS256')

async function sign(expiresIn: string | number = '10m', sub = CANARY) {
  const { privateKey } = await keyPair
  return new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(privateKey)
}

type Fake = { stream: { encrypted?: boolean }; config: Record<string, unknown> }
function tlsConnection(config: Record<string, unknown> = {}): Fake {
  return { stream: { encrypted: true }, config: { user: 'alice', host: 'db.test', port: 3306, database: 'app', ...config } }
}

/** One authentication as mysql2 runs it: outer call per connection, inner call with the server's data. */
async function authenticate(plugin: any, connection: Fake = tlsConnection()) {
  const response = await plugin({ connection, command: {} })(Buffer.alloc(20))
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
  t.deepEqual(Object.keys(authPlugins({ token: 'a.b.c' })), ['authentication_openid_connect_client'])
  t.deepEqual(Object.keys(authPlugins({ token: 'a.b.c', cleartext: true })), [
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
  const response = openidConnectAuthPlugin({ token: `${token}\n` })({ connection: tlsConnection(), command: {} } as any)(Buffer.alloc(0))
  t.true(Buffer.isBuffer(response))
  t.is(parseOpenidConnectAuthResponse(response as Buffer).token.toString(), token)
})

test('without a source, the connection password is the token', async (t) => {
  const token = await sign()
  t.is(await authenticate(openidConnectAuthPlugin(), tlsConnection({ password: token })), token)
  t.is(await codeOf(() => authenticate(openidConnectAuthPlugin(), tlsConnection())), 'ERR_OIDC_TOKEN_EMPTY')
})

test('plain TCP is refused unless allowInsecureTransport is true', async (t) => {
  const token = await sign()
  const plain = { stream: {}, config: { host: '127.0.0.1' } }
  const err = t.throws(() => openidConnectAuthPlugin({ token })({ connection: plain, command: {} } as any)(Buffer.alloc(0))) as any
  t.is(err.code, 'ERR_OIDC_INSECURE_TRANSPORT')
  t.regex(err.message, /ssl: \{ ca:/)
  t.regex(err.message, /socketPath/)
  t.is(await authenticate(openidConnectAuthPlugin({ token }), { stream: {}, config: { socketPath: '/tmp/mysql.sock' } }), token)
  t.is(await authenticate(openidConnectAuthPlugin({ token, allowInsecureTransport: true }), plain), token)
  t.is(await codeOf(() => authenticate(authPlugins({ token, cleartext: true }).mysql_clear_password, plain)), 'ERR_OIDC_INSECURE_TRANSPORT')
})

test('a second request on one connection is refused: the token is sent once', async (t) => {
  const token = await sign()
  const respond = openidConnectAuthPlugin({ token })({ connection: tlsConnection(), command: {} } as any)
  respond(Buffer.alloc(20))
  const err = t.throws(() => respond(Buffer.alloc(20))) as any
  t.is(err.oidcCode, 'ERR_OIDC_UNEXPECTED_REQUEST')
})

test('a later login on the same connection (changeUser) is answered again', async (t) => {
  const token = await sign()
  const plugin = openidConnectAuthPlugin({ token })
  const connection = tlsConnection()
  const handshake = {}
  const changeUser = {}
  t.true(Buffer.isBuffer(plugin({ connection, command: handshake } as any)(Buffer.alloc(20))))
  // mysql2 builds a new plugin instance per auth switch: a second switch in the same login is refused
  const again = t.throws(() => plugin({ connection, command: handshake } as any)(Buffer.alloc(20))) as any
  t.is(again.oidcCode, 'ERR_OIDC_UNEXPECTED_REQUEST')
  t.true(Buffer.isBuffer(plugin({ connection, command: changeUser } as any)(Buffer.alloc(20))))
})

test('an expired static token is refused before it is sent', async (t) => {
  const token = await sign(Math.floor(Date.now() / 1000) - 600)
  t.is(await codeOf(() => authenticate(openidConnectAuthPlugin({ token }))), 'ERR_OIDC_TOKEN_EXPIRED')
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

test('getToken gets the connection context, never the password', async (t) => {
  const token = await sign()
  const seen: unknown[] = []
  const plugin = openidConnectAuthPlugin({ getToken: (context) => (seen.push(context), token) })
  await authenticate(plugin, tlsConnection({ password: 'secret-password' }))
  t.deepEqual(seen, [{ user: 'alice', host: 'db.test', port: 3306, database: 'app', socketPath: undefined }])
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
  const alice = await authenticate(plugin, tlsConnection({ user: 'alice' }))
  const bob = await authenticate(plugin, tlsConnection({ user: 'bob' }))
  t.not(alice, bob)
  t.is(await authenticate(plugin, tlsConnection({ user: 'alice' })), alice)
  t.is(await authenticate(plugin, tlsConnection({ user: 'bob' })), bob)
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

test('a hanging getToken times out, and the next authentication asks again', async (t) => {
  const token = await sign()
  let calls = 0
  const plugin = openidConnectAuthPlugin({
    tokenTimeoutMs: 100,
    getToken: () => (++calls === 1 ? new Promise<string>(() => {}) : token),
  })
  // the plugin's timer does not hold the process open; a connecting socket does, this stands in for it
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const err = await t.throwsAsync(authenticate(plugin)) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.regex(err.message, /100 ms/)
  t.is(await authenticate(plugin), token)
})

test('the cleartext plugin sends the token then NUL from the same cache', async (t) => {
  let calls = 0
  const token = await sign()
  const plugins = authPlugins({ getToken: () => (calls++, token), cleartext: true })
  const clear = await plugins.mysql_clear_password!({ connection: tlsConnection(), command: {} })(Buffer.alloc(0))
  t.deepEqual(clear, Buffer.concat([Buffer.from(token), Buffer.from([0])]))
  t.is(await authenticate(plugins.authentication_openid_connect_client), token)
  t.is(calls, 1)
})

test('no error, inspect output or stack carries the token', async (t) => {
  const token = await sign()
  const expired = await sign(Math.floor(Date.now() / 1000) - 600)
  const plain = { stream: {}, config: {} }
  const texts: string[] = [inspect(authPlugins({ token })), inspect(openidConnectAuthPlugin({ token }), { showHidden: true })]
  const failures = [
    () => authenticate(openidConnectAuthPlugin({ token: expired })),
    () => authenticate(openidConnectAuthPlugin({ token }), plain),
    () => authenticate(openidConnectAuthPlugin({ token: `${token} x` })),
    () => authenticate(openidConnectAuthPlugin({ getToken: () => `${token}.extra` })),
    () => authenticate(openidConnectAuthPlugin({ token: token.replace('.', '..') })),
  ]
  for (const failure of failures) {
    const err: any = await t.throwsAsync(failure)
    texts.push(err.message, String(err.stack), inspect(err))
  }
  const pieces = [CANARY, ...token.split('.'), ...expired.split('.')].filter((piece) => piece.length >= 8)
  for (const text of texts) for (const piece of pieces) t.false(text.includes(piece))
})
