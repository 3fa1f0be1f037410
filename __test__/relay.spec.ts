// The embedded server in front of a real MariaDB (startOidcServer's `backend`): after the OIDC login,
// packets pass both ways unchanged, so what applications do works: prepared statements, split
// packets over 16 MiB, several result sets from one call, LOAD DATA LOCAL refusals, COM_CHANGE_USER
// (checked by the mode, then changed on the backend), COM_RESET_CONNECTION and COM_QUIT; a backend
// that refuses, stalls or goes away gives the client an ERR packet, and the server serves on.
import test, { type ExecutionContext } from 'ava'
import { createHash } from 'node:crypto'
import net from 'node:net'
import mysql from 'mysql2/promise'

import { authPlugins } from '../main.js'
import { startOidcServer, createIdentityProvider, startMariaDb, type BackendOptions } from '../test-server/index.js'

const ISSUER = 'https://idp.example.test'
const providerPromise = createIdentityProvider({ issuer: ISSUER, alg: 'RS256' })
const databasePromise = startMariaDb()
test.after.always(async () => (await databasePromise).close())

async function serve(t: ExecutionContext, backend?: BackendOptions, options: Record<string, unknown> = {}) {
  const server = await startOidcServer({
    identityProviders: [await providerPromise],
    users: { alice: {}, bob: {} },
    backend: backend ?? (await databasePromise),
    ...options,
  })
  t.teardown(() => server.close())
  return server
}

/** A mysql2 connection through `server` as `user`, TLS verified, tokens signed for whoever logs in. */
async function connect(t: ExecutionContext, server: any, extra: Record<string, unknown> = {}) {
  const idp = await providerPromise
  const { database } = await databasePromise
  const getToken = ({ user }: { user?: string }) => idp.signIdToken({ sub: user, aud: 'mysql' })
  const connection = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: 'alice',
    database,
    ssl: { ca: server.ca },
    authPlugins: authPlugins({ getToken }),
    ...extra,
  })
  connection.on('error', () => {}) // a killed session's late error is what some tests cause
  t.teardown(() => connection.destroy())
  return connection
}

async function admin(t: ExecutionContext) {
  const { host, port, user, password, database } = await databasePromise
  const connection = await mysql.createConnection({ host, port, user, password, database })
  t.teardown(() => connection.end())
  return connection
}

const single = async (connection: mysql.Connection, sql: string, values?: unknown[]) => ((await connection.query(sql, values)) as any)[0][0]

/** A TCP hop to MariaDB the test controls: 'pass' forwards, 'stall' accepts and never answers. */
async function backendHop(t: ExecutionContext) {
  const db = await databasePromise
  const hop = { behaviour: 'pass' as 'pass' | 'stall', sockets: new Set<net.Socket>() }
  const listener = net.createServer((socket) => {
    hop.sockets.add(socket)
    socket.on('error', () => {})
    if (hop.behaviour === 'stall') return
    const upstream = net.connect(db.port, db.host)
    hop.sockets.add(upstream)
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
    socket.pipe(upstream).pipe(socket)
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of hop.sockets) socket.destroy()
    listener.close()
  })
  const backend = { host: '127.0.0.1', port: (listener.address() as net.AddressInfo).port, user: db.user, password: db.password, database: db.database }
  return { hop, backend }
}

test('the session is the real database: CURRENT_USER() is the OIDC account, created at start with rights on the database only', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  const { database } = await databasePromise
  t.deepEqual(await single(connection, 'SELECT CURRENT_USER() AS u, DATABASE() AS d'), { u: 'alice@%', d: database })
  t.regex((await single(connection, 'SELECT VERSION() AS v')).v, /MariaDB/)
  // the greeting is the backend's (MariaDB's carries a 5.5.5- prefix), so mysql2 knows what it talks to
  t.true((connection as any).connection._handshakePacket.serverVersion.endsWith((await single(connection, 'SELECT VERSION() AS v')).v))
  t.like(await t.throwsAsync(connection.query('CREATE DATABASE not_granted')), { errno: 1044 })
  t.like(server.authLog, [{ user: 'alice', ok: true, transport: 'tls', plugin: 'authentication_openid_connect_client' }])
})

test('prepared statements: prepare, execute with parameters, reuse, close', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  await connection.query('CREATE TABLE prepared (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2))')
  for (const [id, name, amount] of [[1, 'one', '1.50'], [2, 'two', '2.25']]) {
    await connection.execute('INSERT INTO prepared VALUES (?, ?, ?)', [id, name, amount])
  }
  const [rows] = await connection.execute('SELECT id, name, amount FROM prepared WHERE id >= ? ORDER BY id', [1])
  t.deepEqual(rows, [{ id: 1, name: 'one', amount: '1.50' }, { id: 2, name: 'two', amount: '2.25' }])
  const statement = await connection.prepare('SELECT name FROM prepared WHERE id = ?')
  t.deepEqual((await statement.execute([2]))[0], [{ name: 'two' }])
  await statement.close()
  t.deepEqual(await single(connection, 'SELECT COUNT(*) AS n FROM prepared'), { n: 2 })
})

test('a 20 MiB row goes both ways in split packets, byte for byte', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server, { maxPreparedStatements: 1 })
  await connection.query('CREATE TABLE big (id INT PRIMARY KEY, body LONGBLOB)')
  const body = Buffer.alloc(20 * 1024 * 1024)
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i) // not one repeated byte
  await connection.execute('INSERT INTO big VALUES (?, ?)', [1, body])
  const digest = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
  t.deepEqual(await single(connection, 'SELECT LENGTH(body) AS n, SHA2(body, 256) AS h FROM big'), { n: body.length, h: digest(body) })
  const [[viaText]] = (await connection.query('SELECT body FROM big WHERE id = 1')) as any
  t.is(digest(viaText.body), digest(body))
  const [[viaBinary]] = (await connection.execute('SELECT body FROM big WHERE id = ?', [1])) as any
  t.is(digest(viaBinary.body), digest(body))
  t.deepEqual(await single(connection, 'SELECT 1 AS after'), { after: 1 }) // the stream is still in step
})

test('two result sets from one call: a stored procedure, and multiple statements', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server, { multipleStatements: true })
  await connection.query('CREATE PROCEDURE two_sets() BEGIN SELECT 1 AS first; SELECT 2 AS second; END')
  const [sets] = (await connection.query('CALL two_sets()')) as any
  t.deepEqual([sets[0], sets[1]], [[{ first: 1 }], [{ second: 2 }]])
  t.like(sets[2], { affectedRows: 0 }) // the CALL's own OK
  const [statements] = (await connection.query('SELECT 3 AS a; SELECT 4 AS b')) as any
  t.deepEqual(statements, [[{ a: 3 }], [{ b: 4 }]])
  const [[[fromExecute]]] = (await connection.execute('CALL two_sets()')) as any
  t.deepEqual(fromExecute, { first: 1 })
})

test("LOAD DATA LOCAL: the server's file request reaches the client, its refusal the server, and the session goes on", async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  await connection.query('CREATE TABLE loaded (line VARCHAR(40))')
  // mysql2 without infileStreamFactory answers MariaDB's 0xFB request for the file with no data
  await t.throwsAsync(connection.query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE loaded"), { message: /LOCAL INFILE command server wants to read \/etc\/hostname/ })
  t.deepEqual(await single(connection, 'SELECT COUNT(*) AS n FROM loaded'), { n: 0 })
})

test('COM_CHANGE_USER: the mode checks the new account, then the backend session becomes it; a refused token ends the session', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  await connection.query('SET @kept = 1')
  await connection.changeUser({ user: 'bob' })
  t.deepEqual(await single(connection, 'SELECT CURRENT_USER() AS u, @kept AS kept'), { u: 'bob@%', kept: null })
  t.like(server.authLog, [{ user: 'alice', ok: true }, { user: 'bob', ok: true, transport: 'tls' }])

  const refused = await connect(t, server, { authPlugins: authPlugins({ getToken: async () => (await providerPromise).signIdToken({ sub: 'alice', aud: 'mysql' }) }) })
  t.like(await t.throwsAsync(refused.changeUser({ user: 'bob' })), { errno: 1045 })
  t.like(server.authLog.at(-1), { user: 'bob', ok: false })
})

test('COM_RESET_CONNECTION passes through: session state is cleared, the account stays', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  await connection.query('SET @gone = 1')
  await connection.reset()
  t.deepEqual(await single(connection, 'SELECT CURRENT_USER() AS u, @gone AS gone'), { u: 'alice@%', gone: null })
})

test('COM_QUIT ends the backend session too', async (t) => {
  const server = await serve(t)
  const connection = await connect(t, server)
  const { id } = await single(connection, 'SELECT CONNECTION_ID() AS id')
  await connection.end()
  const watcher = await admin(t)
  const gone = async () => ((await watcher.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [id])) as any)[0].length === 0
  for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.true(await gone())
  for (let i = 0; i < 100 && server.openConnections > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.is(server.openConnections, 0)
})

test('a backend session killed mid-query: the client gets an error, the server serves other clients', async (t) => {
  const server = await serve(t)
  const victim = await connect(t, server)
  const { id } = await single(victim, 'SELECT CONNECTION_ID() AS id')
  const sleeping = victim.query('SELECT SLEEP(30)')
  const watcher = await admin(t)
  for (let i = 0; i < 200; i++) {
    const [rows] = (await watcher.query("SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'", [id])) as any
    if (rows.length) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const started = Date.now()
  await watcher.query(`KILL CONNECTION ${Number(id)}`)
  const err = (await t.throwsAsync(sleeping)) as any
  t.true(Date.now() - started < 10_000)
  t.truthy(err.errno || err.code)
  const other = await connect(t, server)
  t.deepEqual(await single(other, 'SELECT CURRENT_USER() AS u'), { u: 'alice@%' })
})

test('a backend that goes away mid-query: the relay tells the client ERR 2013', async (t) => {
  const { hop, backend } = await backendHop(t)
  const server = await serve(t, backend)
  const connection = await connect(t, server)
  const sleeping = connection.query('SELECT SLEEP(30)')
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const socket of hop.sockets) socket.destroy()
  t.like(await t.throwsAsync(sleeping), { errno: 2013, sqlState: 'HY000' })
  hop.sockets.clear()
  const other = await connect(t, server)
  t.deepEqual(await single(other, 'SELECT CURRENT_USER() AS u'), { u: 'alice@%' })
})

test('a backend that stalls or refuses: the client gets an ERR packet after the OIDC login, never a hang', async (t) => {
  const { hop, backend } = await backendHop(t)
  const server = await serve(t, { ...backend, timeoutMs: 500 }, { users: { alice: {}, carol: {} } })
  hop.behaviour = 'stall'
  const started = Date.now()
  t.like(await t.throwsAsync(connect(t, server)), { errno: 2003, sqlState: 'HY000' })
  t.true(Date.now() - started < 5000)
  t.like(server.authLog.at(-1), { user: 'alice', ok: true })

  hop.behaviour = 'pass'
  const watcher = await admin(t)
  await watcher.query("DROP USER 'carol'@'%'") // the backend no longer knows carol
  const err = (await t.throwsAsync(connect(t, server, { user: 'carol' }))) as any
  t.is(err.errno, 1045)
  t.regex(err.message, /carol/)
  t.true(server.authLog.at(-1)!.backendError!.length > 0)
})

test('closing the server closes every relay and its backend sessions', async (t) => {
  const server = await serve(t)
  const connections = [await connect(t, server), await connect(t, server)]
  const ids = await Promise.all(connections.map(async (c) => (await single(c, 'SELECT CONNECTION_ID() AS id')).id))
  await server.close()
  for (const connection of connections) t.truthy(await t.throwsAsync(connection.query('SELECT 1')))
  const watcher = await admin(t)
  const alive = async () => ((await watcher.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (?)', [ids])) as any)[0].length
  for (let i = 0; i < 100 && (await alive()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.is(await alive(), 0)
})

test('a backend that cannot be reached fails startOidcServer with its error', async (t) => {
  const db = await databasePromise
  await t.throwsAsync(startOidcServer({ identityProviders: [await providerPromise], users: { alice: {} }, backend: { ...db, password: 'wrong' } }), { message: /Access denied/ })
  await t.throwsAsync(startOidcServer({ identityProviders: [await providerPromise], users: { alice: {} }, backend: { ...db, database: '' } as any }), { instanceOf: TypeError })
})
