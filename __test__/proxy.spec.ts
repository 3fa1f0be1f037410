// The proxy (createProxy) under stress and attack: garbage and departing local clients, COM_CHANGE_USER,
// 500 clients at once, --max-connections, upstreams that refuse, die, lack TLS or ask twice, token
// expiry, the TLS rules, local TLS and the listen rules. Real clients: proxy-clients.spec.ts.
import test from 'ava'
import { createRequire } from 'node:module'
import net from 'node:net'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import mysql from 'mysql2/promise'

import { createProxy } from '../lib/proxy/index.js'
import { localSocketPath } from '../test-server/index.js'
import { useProxyHarness, LOCAL_PASSWORD, mariaDb, records, signToken, upstreamServer, realUpstream, proxyFor, socketOf } from './helpers/proxy-harness.js'

// untyped CommonJS helpers, as the other specs load them
const requireFromRoot = createRequire(join(process.cwd(), 'package.json'))
const { createTestPki } = requireFromRoot('./__test__/helpers/pki.cjs')

useProxyHarness(test)

test('a local client that sends garbage is dropped, and the proxy serves the next one', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server)
  for (const garbage of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]), Buffer.from([0x05, 0, 0, 1, 1, 2, 3, 4, 5])]) {
    const socket = net.connect(socketOf(proxy))
    socket.on('error', () => {})
    const received: Buffer[] = []
    socket.on('data', (chunk) => received.push(chunk))
    socket.write(garbage)
    await new Promise((resolve) => socket.on('close', resolve))
  }
  const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
  await connection.end()
  t.true(records.some((record) => record.outcome === 'local-protocol-error'))
})

test('COM_CHANGE_USER gets a clear error and is never relayed; the connection stays usable', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server)
  const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => connection.destroy())
  const logins = server.authLog.length
  const error = await t.throwsAsync(connection.changeUser({ user: 'mallory', password: LOCAL_PASSWORD }))
  t.regex(error!.message, /COM_CHANGE_USER is not supported through mysql-openid-connect proxy/)
  t.is(server.authLog.length, logins) // the upstream never saw it
  t.false(server.authLog.some((entry) => entry.user === 'mallory'))
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
})

test('500 clients at once all log in and query', async (t) => {
  // upstream over a local socket: 500 TLS handshakes on each side would only measure this machine
  const server = await upstreamServer(t, { tls: false, socketPath: localSocketPath('upstream') })
  const proxy = await proxyFor(t, server, { upstream: { socketPath: server.socketPath! }, ssl: undefined })
  const answers = await Promise.all(
    Array.from({ length: 500 }, async () => {
      const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, connectTimeout: 60_000 })
      try {
        const [[row]] = (await connection.query('SELECT 1')) as any
        return row['1']
      } finally {
        await connection.end()
      }
    }),
  )
  t.is(answers.filter((answer) => Number(answer) === 1).length, 500)
})

test('--max-connections: one client too many gets ERR 1040, the others keep working', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, { maxConnections: 2 })
  const open = await Promise.all([0, 1].map(() => mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })))
  t.teardown(() => open.forEach((connection) => connection.destroy()))
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.is(error.errno, 1040)
  const [[row]] = (await open[1].query('SELECT 1')) as any
  t.is(Number(row['1']), 1)
})

test('an upstream that refuses the connection gives the client an ERR packet and the proxy goes on', async (t) => {
  const closed = net.createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const { port } = closed.address() as net.AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const proxy = await proxyFor(t, { host: '127.0.0.1', port, ca: undefined })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: cannot reach the upstream server \(ECONNREFUSED\)/)
  t.is(error.errno, 2013)
})

test('an upstream session killed mid-query gives that client an error; the other client keeps working', async (t) => {
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server)
  const db = await mariaDb
  const victim = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  const bystander = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  victim.on('error', () => {})
  t.teardown(() => [victim, bystander].forEach((connection) => connection.destroy()))
  const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as any
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password })
  t.teardown(() => admin.destroy())
  const running = victim.query('SELECT SLEEP(20)')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await admin.query(`KILL CONNECTION ${Number(id)}`)
  const error: any = await t.throwsAsync(running)
  // an ERR packet, not a bare close: CR_SERVER_LOST, as MySQL Router reports it
  t.is(error.errno, 2013, error.message)
  const [[row]] = (await bystander.query('SELECT 6 * 7 AS answer')) as any
  t.is(Number(row.answer), 42)
})

test('a token that expires while clients stay connected: they keep working, new logins get a refreshed token', async (t) => {
  const server = await upstreamServer(t)
  const LIFETIME_S = 5
  let fetched = 0
  let firstFetchAt = 0
  const proxy = await proxyFor(t, server, {
    getToken: () => {
      fetched++
      firstFetchAt ||= Date.now()
      return signToken({}, { expiresIn: LIFETIME_S })
    },
    refreshBeforeExpirySeconds: 1,
  })
  const early = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => early.destroy())
  const again = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  await again.end()
  // the second login used the cached token (unless a loaded machine already reached the refresh window)
  if (Date.now() - firstFetchAt < (LIFETIME_S - 1) * 1000) t.is(fetched, 1)
  await new Promise((resolve) => setTimeout(resolve, firstFetchAt + LIFETIME_S * 1000 + 500 - Date.now())) // past exp
  // the server refuses an expired token: this login passing proves the proxy fetched a new one
  const late = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => late.destroy())
  t.true(fetched >= 2)
  for (const connection of [early, late]) {
    const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
    t.is(row['CURRENT_USER()'], 'alice@%')
  }
  t.true(server.authLog.every((entry) => entry.ok))
})

test('the token goes only to a verified upstream: a certificate for another name refuses before sending', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, { ssl: { ca: server.ca, servername: 'not-the-server.example' } })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: /)
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
})

test('local TLS for clients that insist on it', async (t) => {
  const server = await upstreamServer(t)
  const pki = await createTestPki()
  const proxy = await proxyFor(t, server, { listen: { host: '127.0.0.1', port: 0 }, localTls: { key: pki.right.key, cert: pki.right.cert } })
  const connection = await mysql.createConnection({ host: '127.0.0.1', port: (proxy.address as any).port, user: 'alice', password: LOCAL_PASSWORD, ssl: { ca: pki.ca } })
  t.teardown(() => connection.destroy())
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
  t.true((connection as any).connection.stream.encrypted === true)
})

test('options: a non-loopback listen needs the flag and a local password; the socket is 0600', async (t) => {
  const base = { upstream: { host: '127.0.0.1', port: 1 }, tokenFile: '/nonexistent', log: false as const }
  await t.throwsAsync(createProxy({ ...base, listen: { host: '0.0.0.0', port: 0 } }), { message: /not a loopback address/ })
  await t.throwsAsync(createProxy({ ...base, listen: { host: '0.0.0.0', port: 0 }, allowNonLoopback: true }), { message: /needs a localPassword/ })
  const proxy = await createProxy({ ...base, listen: { path: localSocketPath('mode') } })
  t.teardown(() => proxy.close())
  t.is(statSync(socketOf(proxy)).mode & 0o777, 0o600)
})

test('a client that leaves while the token is on its way leaves no upstream session behind', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, {
    getToken: async () => {
      await new Promise((resolve) => setTimeout(resolve, 800))
      return signToken()
    },
  })
  await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, connectTimeout: 300 }))
  const deadline = Date.now() + 10_000
  while ((proxy.connections > 0 || server.openConnections > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.is(proxy.connections, 0)
  t.is(server.openConnections, 0)
  // the login was given up with the client: no token reached the server
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
})

test('one token per login: an upstream that asks again after the token gets nothing more, the client an error', async (t) => {
  const server = await upstreamServer(t, { fault: 'more-data-after-response' })
  const proxy = await proxyFor(t, server)
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: the upstream server asked for more than one answer/)
  await new Promise((resolve) => setTimeout(resolve, 2500)) // the server waits 2 s for a second answer
  t.is(server.authLog.length, 1)
  t.is(server.authLog[0].secondResponse, false)
})

test('an upstream that offers no TLS gets no token, unless allowInsecureTransport says so', async (t) => {
  const server = await upstreamServer(t, { mode: 'starrocks', tls: false })
  const proxy = await proxyFor(t, server, { ssl: undefined })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: the upstream server does not offer TLS/)
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
  const optedOut = await proxyFor(t, server, { ssl: undefined, allowInsecureTransport: true })
  const connection = await mysql.createConnection({ socketPath: socketOf(optedOut), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => connection.destroy())
  t.like(server.authLog.at(-1), { ok: true, transport: 'tcp' })
})
