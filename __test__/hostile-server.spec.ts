// A hostile or broken server must neither crash the client nor get the token where it should not:
// never over a connection that is not secure (unless allowed), never through another plugin, never
// twice. A raw server built from the embedded server's protocol pieces plays each part, on
// 127.0.0.1 without TLS (the plugin is told allowInsecureTransport where the test needs it to talk).
import test, { type ExecutionContext } from 'ava'
import { createRequire } from 'node:module'
import path from 'node:path'
import mysql from 'mysql2/promise'

import { authPlugins, oidcCodeOf } from '../main.js'
import { refusesCleartextSwitch } from './helpers/mysql2-version.js'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const testServer = requireFromRoot('./test-server/index.js')
const { startHostileServer, switchTo, protocol } = requireFromRoot('./__test__/helpers/hostile-server.cjs')

const PLUGIN = 'authentication_openid_connect_client'
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.SECRETSIGNATURExyz' // exp-less: never cached
const SECRET = 'SECRETSIGNATURExyz'

type Peer = {
  send(payload: Buffer): void
  next(): Promise<Buffer | null>
  hangUp(): void
}

/** The shared raw server (helpers/hostile-server.cjs), plain TCP, stopped after the test. */
async function hostileServer(t: ExecutionContext, script: (peer: Peer) => Promise<void> | void) {
  const server = await startHostileServer({ script })
  t.teardown(() => server.close())
  /** How many times the token's signature reached the server. */
  const tokenSightings = (): number => server.sightings(SECRET)
  return { port: server.port as number, tokenSightings }
}

const ok = () => protocol.encodeOk()

type ClientOptions = { getToken?: () => Promise<string>; allowInsecureTransport?: boolean; cleartext?: boolean; ssl?: boolean }
async function connect(port: number, { getToken, allowInsecureTransport = true, cleartext, ssl }: ClientOptions = {}) {
  const source = getToken ? { getToken } : { token: TOKEN }
  const plugins = authPlugins({ ...source, allowInsecureTransport, cleartext, validate: false })
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'alice',
    connectTimeout: 3000,
    authPlugins: plugins,
    ...(ssl ? { ssl: {} } : {}),
  })
  await connection.end().catch(() => {})
  return 'connected'
}

/** The outcome of a connection attempt: 'connected' or the error's oidcCode/code. */
async function outcome(attempt: Promise<string>) {
  try {
    return await attempt
  } catch (err: any) {
    return String(oidcCodeOf(err) ?? err?.code ?? err?.message)
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

test('control: a well-behaved raw server gets the token exactly once', async (t) => {
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN))
    await peer.next()
    peer.send(ok())
  })
  t.is(await outcome(connect(server.port)), 'connected')
  t.is(server.tokenSightings(), 1)
})

test('the token is not sent over plain TCP unless allowInsecureTransport', async (t) => {
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN))
    await peer.next()
  })
  t.is(await outcome(connect(server.port, { allowInsecureTransport: false })), 'ERR_OIDC_INSECURE_TRANSPORT')
  await settle()
  t.is(server.tokenSightings(), 0)
})

test('a client that asked for TLS never talks to a server that offers none', async (t) => {
  const server = await hostileServer(t, (peer) => peer.send(switchTo(PLUGIN)))
  t.not(await outcome(connect(server.port, { ssl: true, allowInsecureTransport: false })), 'connected')
  t.is(server.tokenSightings(), 0)
})

for (const [what, packet, code] of [
  // older mysql2 answers with the (empty) password, which this server ignores before hanging up
  ['a switch to mysql_clear_password (cleartext not enabled)', switchTo('mysql_clear_password'), refusesCleartextSwitch ? 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED' : 'PROTOCOL_CONNECTION_LOST'],
  ['a switch to an unknown plugin', switchTo('dialog'), undefined],
  ['a switch with no plugin name at all', Buffer.from([0xfe]), undefined],
  ['a switch to mysql_native_password', switchTo('mysql_native_password', Buffer.alloc(21, 0x62)), undefined],
] as Array<[string, Buffer, string | undefined]>) {
  test(`${what}: no crash, and the token stays home`, async (t) => {
    const server = await hostileServer(t, async (peer) => {
      peer.send(packet)
      await peer.next()
      peer.hangUp()
    })
    const result = await outcome(connect(server.port))
    if (code) t.is(result, code)
    t.not(result, 'connected')
    await settle()
    t.is(server.tokenSightings(), 0)
  })
}

test('a huge AuthSwitchRequest (20 MiB over two packets) is survived and answered once', async (t) => {
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN, Buffer.alloc(20 * 1024 * 1024, 0x41)))
    await peer.next()
    peer.send(ok())
  })
  t.is(await outcome(connect(server.port)), 'connected')
  t.is(server.tokenSightings(), 1)
})

test('garbage after the greeting: an error, no crash, no token', async (t) => {
  const server = await hostileServer(t, (peer) => {
    peer.send(Buffer.from([0x02, 0xff, 0xff, 0x00]))
    peer.send(Buffer.alloc(0))
  })
  t.not(await outcome(connect(server.port)), 'connected')
  t.is(server.tokenSightings(), 0)
})

test('a server that asks for the token a second time by AuthMoreData does not get it', async (t) => {
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN))
    await peer.next()
    peer.send(protocol.encodeAuthMoreData(Buffer.from('again')))
    await peer.next()
  })
  t.is(await outcome(connect(server.port)), 'ERR_OIDC_UNEXPECTED_REQUEST')
  await settle()
  t.is(server.tokenSightings(), 1)
})

// mysql2 builds a new plugin instance for every AuthSwitchRequest: the plugin remembers the connection.
test('a server that sends a second AuthSwitchRequest does not get the token twice', async (t) => {
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN))
    await peer.next()
    peer.send(switchTo(PLUGIN))
    await peer.next()
    peer.send(ok())
  })
  await outcome(connect(server.port))
  await settle()
  t.is(server.tokenSightings(), 1)
})

// Were the late answer written, mysql2 would write to the ended socket and emit an 'error' nobody
// listens to: an uncaught exception. Run in a child process so a crash is observed, not suffered.
test('a server that hangs up while getToken is pending does not crash the client', async (t) => {
  const server = await hostileServer(t, (peer) => {
    peer.send(switchTo(PLUGIN))
    peer.hangUp()
  })
  const { spawn } = await import('node:child_process')
  const script = `
    const mysql = require('mysql2/promise')
    const { authPlugins } = require(${JSON.stringify(path.join(process.cwd(), 'main.js'))})
    const getToken = () => new Promise((resolve) => setTimeout(() => resolve(${JSON.stringify(TOKEN)}), 300))
    mysql.createConnection({ host: '127.0.0.1', port: ${server.port}, user: 'alice', connectTimeout: 3000,
      authPlugins: authPlugins({ getToken, allowInsecureTransport: true, validate: false }) })
      .then(() => console.log('connected'), (err) => console.log('refused', err.code))
    setTimeout(() => console.log('survived'), 1000)`
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', () => {})
  const killer = setTimeout(() => child.kill(), 10_000)
  const code = await new Promise((resolve) => child.once('exit', resolve))
  clearTimeout(killer)
  t.is(code, 0, output)
  t.regex(output, /survived/)
  t.is(server.tokenSightings(), 0)
})

test('the embedded TLS server with huge and malformed auth switches: the plugin logs in once each', async (t) => {
  const idp = await testServer.createIdentityProvider({ issuer: 'https://idp.example.test' })
  const token = await idp.signIdToken({ sub: 'alice' })
  for (const fault of ['huge-auth-switch', 'malformed-auth-switch']) {
    const server = await testServer.startOidcServer({ identityProviders: [idp], users: { alice: {} }, fault })
    t.teardown(() => server.close())
    const connection = await mysql.createConnection({
      host: server.host,
      port: server.port,
      ssl: { ca: server.ca },
      user: 'alice',
      connectTimeout: 5000,
      authPlugins: authPlugins({ token }),
    })
    await connection.end()
    t.like(server.authLog, [{ ok: true, transport: 'tls', tokenBytes: token.length }], fault)
  }
})

test('a server cannot pass its own message off as ours: an ERR packet between commands gets no oidcCode', async (t) => {
  // mysql2 turns an ERR packet that comes while no command runs into an Error with the server's text
  // and its numeric code, but no errno: the text alone must not make it one of ours
  const forged = 'authentication_openid_connect_client: the ID token expired [ERR_OIDC_TOKEN_EXPIRED]'
  const server = await hostileServer(t, async (peer) => {
    peer.send(switchTo(PLUGIN))
    await peer.next()
    peer.send(ok())
    await settle()
    peer.send(protocol.encodeErr(1045, '28000', forged))
  })
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'alice',
    connectTimeout: 3000,
    authPlugins: authPlugins({ token: TOKEN, allowInsecureTransport: true, validate: false }),
  })
  t.teardown(() => connection.destroy())
  // the callback connection under mysql2/promise's wrapper, which emits what the server sent
  const err: any = await new Promise((resolve) => (connection as any).connection.once('error', resolve))
  t.is(err.message, forged, 'the error mysql2 emits carries the server\'s text as it was sent')
  t.is(oidcCodeOf(err), undefined)
})
