// PrismaMysql2 through Prisma's driver-adapter interface itself, against a real MariaDB: what the
// generated client does not show (column types, exact values, pinned transaction connections, failed
// commits, crashed clients, scripts, connection info, dispose, error kinds).
import test from 'ava'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { once } from 'node:events'
import mysql from 'mysql2/promise'
import { ColumnTypeEnum as T, type SqlDriverAdapter, type SqlQuery } from '@prisma/driver-adapter-utils'

import { PrismaMysql2 } from 'mysql-openid-connect/prisma'
import { startMariaDb, type MariaDb } from '../test-server/index.js'


const ROOT = join(__dirname, '..')

interface World {
  db: MariaDb
  admin: mysql.Connection
  login: { host: string; port: number; user: string; password: string; database: string }
}

const worldPromise: Promise<World> = (async () => {
  const db = await startMariaDb()
  // Node's local zone far from UTC, a conversion through local time would show; set only now, so a
  // MariaDB this spec happens to start runs in the machine's zone
  process.env.TZ = 'America/St_Johns'
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, multipleStatements: true })
  const user = `adapter_${db.database.slice(-8)}`
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'adapter-password'; GRANT ALL ON \`${db.database}\`.* TO '${user}'@'%'`)
  await admin.query(
    'CREATE TABLE item (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, big BIGINT NULL, qty INT NOT NULL DEFAULT 0) ENGINE=InnoDB; ' +
      "CREATE TABLE every_type (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, tiny TINYINT, u INT UNSIGNED, big BIGINT, ubig BIGINT UNSIGNED, dec30 DECIMAL(30,10), f FLOAT, d DOUBLE, dt DATETIME(6), ts TIMESTAMP(6) NULL, da DATE, ti TIME(6), y YEAR, " +
      "j JSON, e ENUM('a','b'), s SET('x','y'), bits BIT(12), g GEOMETRY, vc VARCHAR(20), vb VARBINARY(20), tx TEXT, bl BLOB, ch CHAR(2) CHARACTER SET binary)",
  )
  return { db, admin, login: { host: db.host, port: db.port, user, password: 'adapter-password', database: db.database } }
})()

test.after.always(async () => {
  const world = await worldPromise.catch(() => undefined)
  if (!world) return
  await world.admin.query(`DROP USER IF EXISTS '${world.login.user}'@'%'`)
  await world.admin.end()
  await world.db.close()
})

function sql(text: string, args: unknown[] = [], argTypes: SqlQuery['argTypes'] = args.map(() => ({ scalarType: 'unknown', arity: 'scalar' }))): SqlQuery {
  return { sql: text, args, argTypes }
}

async function adapterFor(t: any, config: Record<string, unknown> = {}, options = {}): Promise<SqlDriverAdapter> {
  const { login } = await worldPromise
  const adapter = await new PrismaMysql2({ ...login, ...config }, options).connect()
  t.teardown(() => adapter.dispose().catch(() => {}))
  return adapter
}

async function connectionsOf(user: string) {
  const { admin } = await worldPromise
  const [rows] = await admin.query<any[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user])
  return Number(rows[0].n)
}

const EVERY_TYPE_INSERT =
  "INSERT INTO every_type (tiny, u, big, ubig, dec30, f, d, dt, ts, da, ti, y, j, e, s, bits, g, vc, vb, tx, bl, ch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'x,y', b'101010101010', ST_GeomFromText('POINT(1 2)'), ?, ?, ?, ?, ?)"
const EVERY_TYPE_ARGS: [unknown, string, string?][] = [
  [-128, 'int'],
  [4294967295, 'int'],
  ['-9223372036854775808', 'bigint'],
  ['18446744073709551615', 'bigint'],
  ['-12345678901234567890.0123456789', 'decimal'],
  [0.5, 'float'],
  [0.1, 'float'],
  ['0001-01-01T00:00:00.123Z', 'datetime', 'DATETIME'],
  ['2038-01-19T03:14:07.999Z', 'datetime', 'TIMESTAMP'],
  ['9999-12-31T00:00:00.000Z', 'datetime', 'DATE'],
  ['1970-01-01T23:59:59.999Z', 'datetime', 'TIME'],
  [1901, 'int'],
  ['{"k": [1, 2.5, "x", null]}', 'json'],
  ['b', 'enum'],
  ['tëxt', 'string'],
  [new Uint8Array([0, 255]), 'bytes'],
  ['long text', 'string'],
  [Buffer.from('blob').toString('base64'), 'bytes'],
  [new Uint8Array([1, 2]), 'bytes'],
]

for (const useTextProtocol of [false, true]) {
  test(`queryRaw: each MySQL type as Prisma reads it, exactly, in UTC (${useTextProtocol ? 'text' : 'binary'} protocol)`, async (t) => {
    const adapter = await adapterFor(t, {}, { useTextProtocol })
    const args = EVERY_TYPE_ARGS.map(([value]) => value)
    const argTypes = EVERY_TYPE_ARGS.map(([, scalarType, dbType]) => ({ scalarType, dbType, arity: 'scalar' }) as const)
    const inserted = await adapter.queryRaw(sql(EVERY_TYPE_INSERT, args, argTypes as any))
    t.regex(inserted.lastInsertId ?? '', /^\d+$/)
    const result = await adapter.queryRaw(sql('SELECT * FROM every_type WHERE id = ?', [inserted.lastInsertId], [{ scalarType: 'bigint', arity: 'scalar' }]))
    const columns = Object.fromEntries(result.columnNames.map((name, i) => [name, { type: result.columnTypes[i], value: result.rows[0][i] }]))
    // the second run of a statement takes another path (it is known to return GEOMETRY): same result
    t.deepEqual(await adapter.queryRaw(sql('SELECT * FROM every_type WHERE id = ?', [inserted.lastInsertId], [{ scalarType: 'bigint', arity: 'scalar' }])), result)
    t.deepEqual(columns, {
      id: { type: T.Int64, value: Number(inserted.lastInsertId) },
      tiny: { type: T.Int32, value: -128 },
      u: { type: T.Int64, value: 4294967295 },
      big: { type: T.Int64, value: '-9223372036854775808' },
      ubig: { type: T.Int64, value: '18446744073709551615' },
      dec30: { type: T.Numeric, value: '-12345678901234567890.0123456789' },
      f: { type: T.Float, value: 0.5 },
      d: { type: T.Double, value: 0.1 },
      dt: { type: T.DateTime, value: '0001-01-01T00:00:00.123000+00:00' },
      ts: { type: T.DateTime, value: '2038-01-19T03:14:07.999000+00:00' },
      da: { type: T.Date, value: '9999-12-31' },
      ti: { type: T.Time, value: useTextProtocol ? '23:59:59.999000' : '23:59:59.999' },
      y: { type: T.Int32, value: 1901 },
      j: { type: T.Json, value: '{"k": [1, 2.5, "x", null]}' },
      e: { type: T.Enum, value: 'b' },
      s: { type: T.Text, value: 'x,y' },
      bits: { type: T.Bytes, value: Buffer.from([0x0a, 0xaa]) },
      g: { type: T.Bytes, value: Buffer.from('000000000101000000000000000000f03f0000000000000040', 'hex') },
      vc: { type: T.Text, value: 'tëxt' },
      vb: { type: T.Bytes, value: Buffer.from([0, 255]) },
      tx: { type: T.Text, value: 'long text' },
      bl: { type: T.Bytes, value: Buffer.from('blob') },
      ch: { type: T.Bytes, value: Buffer.from([1, 2]) },
    })
    // the stored TIMESTAMP is the UTC instant, whatever the server's or Node's zone
    const [stored] = await (await worldPromise).admin.query<any[]>('SELECT UNIX_TIMESTAMP(ts) AS epoch FROM every_type WHERE id = ?', [inserted.lastInsertId])
    t.is(String(stored[0].epoch), '2147483647.999000')
  })
}

test('queryRaw: binary vs text by character set 63, not by column type; JSON from expressions; DECIMAL never a float', async (t) => {
  const adapter = await adapterFor(t)
  const result = await adapter.queryRaw(sql("SELECT CAST('ab' AS BINARY) AS b, CAST('ab' AS CHAR) AS c, JSON_OBJECT('a', 1) AS j, 0.1 + 0.2 AS n, CAST(1 AS UNSIGNED) AS u, NULL AS z"))
  // MariaDB marks JSON_OBJECT's result as json in its extended metadata
  t.deepEqual(result.columnTypes, [T.Bytes, T.Text, T.Json, T.Numeric, T.Int64, T.Int32])
  // CAST(1 AS UNSIGNED) is an INT UNSIGNED here: Int64, as a number (the reference's choice too)
  t.deepEqual(result.rows, [[Buffer.from('ab'), 'ab', '{"a": 1}', '0.3', 1, null]])
})

test.serial('arguments: BigInt compared exactly (not through a double), dates by their dbType, bytes', async (t) => {
  for (const useTextProtocol of [false, true]) {
    const adapter = await adapterFor(t, {}, { useTextProtocol })
    await adapter.executeRaw(sql('DELETE FROM item'))
    const insert = 'INSERT INTO item (name, big) VALUES (?, ?)'
    const types = [{ scalarType: 'string', arity: 'scalar' }, { scalarType: 'bigint', arity: 'scalar' }] as SqlQuery['argTypes']
    t.is(await adapter.executeRaw(sql(insert, ['a', '9007199254740992'], types)), 1)
    t.is(await adapter.executeRaw(sql(insert, ['b', '9007199254740993'], types)), 1)
    const found = await adapter.queryRaw(sql('SELECT name FROM item WHERE big = ?', ['9007199254740993'], [types[1]]))
    t.deepEqual(found.rows, [['b']], useTextProtocol ? 'text protocol' : 'binary protocol')
    const limited = await adapter.queryRaw(sql('SELECT name FROM item ORDER BY name LIMIT ?', [1], [{ scalarType: 'int', arity: 'scalar' }]))
    t.deepEqual(limited.rows, [['a']])
    const dates = await adapter.queryRaw(
      sql('SELECT CAST(? AS DATETIME(3)), CAST(? AS DATE), CAST(? AS TIME(3))', ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'], [
        { scalarType: 'datetime', dbType: 'DATETIME', arity: 'scalar' },
        { scalarType: 'datetime', dbType: 'DATE', arity: 'scalar' },
        { scalarType: 'datetime', dbType: 'TIME', arity: 'scalar' },
      ]),
    )
    t.deepEqual(dates.rows, [['2024-02-29T23:59:59.999+00:00', '2024-02-29', useTextProtocol ? '23:59:59.999' : '23:59:59.999']])
  }
})

test.serial('executeRaw and queryRaw: affected rows and lastInsertId', async (t) => {
  const adapter = await adapterFor(t)
  await adapter.executeRaw(sql('DELETE FROM item'))
  const first = await adapter.queryRaw(sql("INSERT INTO item (name) VALUES ('x'), ('y')"))
  t.regex(first.lastInsertId ?? '', /^[1-9]\d*$/)
  const [rows] = await (await worldPromise).admin.query<any[]>("SELECT id FROM item WHERE name = 'x'")
  t.is(first.lastInsertId, String(rows[0].id))
  t.is(await adapter.executeRaw(sql("UPDATE item SET qty = qty + 1 WHERE name IN ('x', 'y', 'z')")), 2)
  // rows matched, changed or not (CLIENT_FOUND_ROWS, as the mariadb driver under the reference sets it)
  t.is(await adapter.executeRaw(sql("UPDATE item SET qty = 1 WHERE name = 'x'")), 1)
})

test('executeScript: several statements in one script, and the first failure reported', async (t) => {
  const adapter = await adapterFor(t)
  await adapter.executeScript("CREATE TABLE script_a (id INT); INSERT INTO script_a VALUES (1), (2);\nCREATE TABLE script_b AS SELECT * FROM script_a; DROP TABLE script_a")
  t.deepEqual((await adapter.queryRaw(sql('SELECT COUNT(*) FROM script_b'))).rows, [['2']])
  const err: any = await t.throwsAsync(adapter.executeScript('DROP TABLE script_b; SELECT * FROM script_b'))
  t.is(err.name, 'DriverAdapterError')
  t.like(err.cause, { kind: 'TableDoesNotExist', table: 'script_b', originalCode: '1146' })
})

test('getConnectionInfo: schema name, bind limit, no relation joins on MariaDB; versions that have them', async (t) => {
  const { login } = await worldPromise
  const adapter = await adapterFor(t)
  t.deepEqual(adapter.getConnectionInfo!(), { schemaName: login.database, maxBindValues: 65535, supportsRelationJoins: false })
  const named = await adapterFor(t, {}, { schema: 'other' })
  t.is(named.getConnectionInfo!().schemaName, 'other')
  const byUrl = await new PrismaMysql2(`mysql://${login.user}:${login.password}@${login.host}:${login.port}/${login.database}`).connect()
  t.is(byUrl.getConnectionInfo!().schemaName, login.database)
  await byUrl.dispose()
  const { relationJoinsSupported } = require(join(ROOT, 'lib/prisma/index.js'))
  for (const [version, expected] of [['8.0.13', true], ['8.0.12', false], ['8.4.3-commercial', true], ['9.1.0', true], ['5.7.44-log', false], ['10.11.19-MariaDB-0+deb12u1', false], ['11.4.2-MariaDB', false]] as const) {
    t.is(relationJoinsSupported(version), expected, version)
  }
})

test('connectToShadowDb: the same login on the shadow database', async (t) => {
  const { admin, login } = await worldPromise
  const shadow = `${login.database}_shadow`
  await admin.query(`CREATE DATABASE \`${shadow}\`; GRANT ALL ON \`${shadow}\`.* TO '${login.user}'@'%'`)
  t.teardown(() => admin.query(`DROP DATABASE \`${shadow}\``))
  for (const factory of [new PrismaMysql2({ ...login }, { shadowDatabase: shadow }), new PrismaMysql2(`mysql://${login.user}:${login.password}@${login.host}:${login.port}/${login.database}`, { shadowDatabase: shadow })]) {
    const adapter = await factory.connectToShadowDb()
    t.deepEqual((await adapter.queryRaw(sql('SELECT DATABASE()'))).rows, [[shadow]])
    t.is(adapter.getConnectionInfo!().schemaName, shadow)
    await adapter.dispose()
  }
  t.throws(() => new PrismaMysql2({ ...login }).connectToShadowDb(), { message: /shadowDatabase/ })
})

test.serial('transactions: one pinned connection, every isolation level, SNAPSHOT refused, savepoints', async (t) => {
  const { admin } = await worldPromise
  const adapter = await adapterFor(t, { connectionLimit: 3 })
  await adapter.executeRaw(sql('DELETE FROM item'))
  const levels = { 'READ UNCOMMITTED': 'READ UNCOMMITTED', 'READ COMMITTED': 'READ COMMITTED', 'REPEATABLE READ': 'REPEATABLE READ', SERIALIZABLE: 'SERIALIZABLE' } as const
  for (const [level, reported] of Object.entries(levels)) {
    const tx = await adapter.startTransaction(level as any)
    t.is(tx.options.usePhantomQuery, true)
    const ids = new Set()
    for (let i = 0; i < 4; i++) ids.add((await tx.queryRaw(sql('SELECT CONNECTION_ID()'))).rows[0][0])
    t.is(ids.size, 1, 'every query of a transaction on one connection')
    await tx.executeRaw(sql('INSERT INTO item (name) VALUES (?)', [level], [{ scalarType: 'string', arity: 'scalar' }]))
    await new Promise((resolve) => setTimeout(resolve, 150)) // MariaDB refreshes INNODB_TRX every 100 ms
    const [trx] = await admin.query<any[]>('SELECT trx_isolation_level AS level FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [Number([...ids][0])])
    t.is(trx[0]?.level, reported)
    await tx.commit()
  }
  const snapshot: any = await t.throwsAsync(adapter.startTransaction('SNAPSHOT'))
  t.is(snapshot.name, 'DriverAdapterError')
  t.deepEqual(snapshot.cause, { kind: 'InvalidIsolationLevel', level: 'SNAPSHOT' })

  const tx = await adapter.startTransaction()
  const add = (name: string) => tx.executeRaw(sql('INSERT INTO item (name) VALUES (?)', [name], [{ scalarType: 'string', arity: 'scalar' }]))
  await add('kept')
  await tx.createSavepoint!('prisma_sp_1')
  await add('undone')
  await tx.rollbackToSavepoint!('prisma_sp_1')
  await tx.createSavepoint!('prisma_sp_2')
  await add('released')
  await tx.releaseSavepoint!('prisma_sp_2')
  await t.throwsAsync(tx.createSavepoint!('x; DROP TABLE item'), { code: 'ERR_OIDC_INVALID_ARGUMENT' })
  await tx.commit()
  const names = await adapter.queryRaw(sql("SELECT name FROM item WHERE name IN ('kept', 'undone', 'released') ORDER BY name"))
  t.deepEqual(names.rows, [['kept'], ['released']])
  const rolledBack = await adapter.startTransaction()
  await rolledBack.executeRaw(sql("INSERT INTO item (name) VALUES ('rolled back')"))
  await rolledBack.rollback()
  t.deepEqual((await adapter.queryRaw(sql("SELECT COUNT(*) FROM item WHERE name = 'rolled back'"))).rows, [['0']])
})

// serial: these count the test user's connections and rows, which the concurrent tests change
test.serial('a failed COMMIT ends its connection instead of returning it to the pool', async (t) => {
  const { admin, login } = await worldPromise
  const adapter = await adapterFor(t, { connectionLimit: 1 })
  const tx = await adapter.startTransaction()
  const id = (await tx.queryRaw(sql('SELECT CONNECTION_ID()'))).rows[0][0]
  await tx.executeRaw(sql("INSERT INTO item (name) VALUES ('never committed')"))
  await admin.query(`KILL CONNECTION ${Number(id)}`)
  const err: any = await t.throwsAsync(tx.commit())
  t.is(err.name, 'DriverAdapterError')
  t.is(err.cause.kind, 'ConnectionClosed')
  // the pool's only slot is free again, with a new connection
  const next = await adapter.queryRaw(sql('SELECT CONNECTION_ID()'))
  t.not(next.rows[0][0], id)
  t.is(await connectionsOf(login.user), 1)
  t.deepEqual((await adapter.queryRaw(sql("SELECT COUNT(*) FROM item WHERE name = 'never committed'"))).rows, [['0']])
})

test.serial('a client that dies mid-transaction leaves neither its write nor its lock', async (t) => {
  const { admin, login } = await worldPromise
  await admin.query("INSERT INTO item (name, qty) VALUES ('contended', 1)")
  const program = `
    const { PrismaMysql2 } = require('mysql-openid-connect/prisma')
    ;(async () => {
      const adapter = await new PrismaMysql2(${JSON.stringify(login)}).connect()
      const tx = await adapter.startTransaction()
      await tx.executeRaw({ sql: "UPDATE item SET qty = 99 WHERE name = 'contended'", args: [], argTypes: [] })
      console.log('locked')
      process.kill(process.pid, 'SIGKILL')
    })()`
  const child = spawn(process.execPath, ['-e', program], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const [code, signal] = await once(child, 'exit')
  t.is(code, null)
  t.is(signal, 'SIGKILL')
  const other = await mysql.createConnection({ ...login })
  t.teardown(() => other.end())
  await other.query('SET SESSION innodb_lock_wait_timeout = 5')
  await other.query("UPDATE item SET qty = qty + 1 WHERE name = 'contended'")
  const [rows] = await other.query<any[]>("SELECT qty FROM item WHERE name = 'contended'")
  t.is(rows[0].qty, 2)
})

test.serial('dispose ends the pool: no connection of its user left on the server', async (t) => {
  const { login } = await worldPromise
  const user = `${login.user}`
  const adapter = await new PrismaMysql2({ ...login, connectionLimit: 4 }).connect()
  await Promise.all([1, 2, 3, 4].map(() => adapter.queryRaw(sql('SELECT SLEEP(0.05)'))))
  t.true((await connectionsOf(user)) >= 1)
  await adapter.dispose()
  for (let i = 0; i < 50 && (await connectionsOf(user)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.is(await connectionsOf(user), 0)
})

test('errors carry the kind Prisma maps: unique, foreign key, not null, out of range, too long, authentication', async (t) => {
  const { login } = await worldPromise
  const adapter = await adapterFor(t)
  await adapter.executeScript("DROP TABLE IF EXISTS child; DROP TABLE IF EXISTS parent; CREATE TABLE parent (id INT PRIMARY KEY, code VARCHAR(3) NOT NULL, tiny TINYINT, UNIQUE KEY parent_code_key (code)); CREATE TABLE child (id INT PRIMARY KEY, parentId INT, CONSTRAINT child_parentId_fkey FOREIGN KEY (parentId) REFERENCES parent(id)); INSERT INTO parent VALUES (1, 'a', 0)")
  const cases: [string, object][] = [
    ["INSERT INTO parent VALUES (2, 'a', 0)", { kind: 'UniqueConstraintViolation', constraint: { index: 'parent_code_key' }, originalCode: '1062' }],
    ['INSERT INTO child VALUES (1, 42)', { kind: 'ForeignKeyConstraintViolation', constraint: { fields: ['parentId'] }, originalCode: '1452' }],
    ['INSERT INTO parent VALUES (3, NULL, 0)', { kind: 'NullConstraintViolation', constraint: { fields: ['code'] }, originalCode: '1048' }],
    ["INSERT INTO parent VALUES (4, 'd', 300)", { kind: 'ValueOutOfRange', originalCode: '1264' }],
    ["INSERT INTO parent VALUES (5, 'toolong', 0)", { kind: 'LengthMismatch', column: 'code', originalCode: '1406' }],
    ['SELECT nope FROM parent', { kind: 'ColumnNotFound', column: 'nope', originalCode: '1054' }],
  ]
  for (const [statement, cause] of cases) {
    const err: any = await t.throwsAsync(adapter.executeRaw(sql(statement)))
    t.is(err.name, 'DriverAdapterError', statement)
    t.like(err.cause, cause, statement)
  }
  await adapter.executeRaw(sql("INSERT INTO child VALUES (1, 1)"))
  const restricted: any = await t.throwsAsync(adapter.executeRaw(sql('DELETE FROM parent WHERE id = 1')))
  t.like(restricted.cause, { kind: 'ForeignKeyConstraintViolation', originalCode: '1451' })

  const wrong = await new PrismaMysql2({ ...login, password: 'wrong' }).connect()
  const denied: any = await t.throwsAsync(wrong.queryRaw(sql('SELECT 1')))
  t.like(denied.cause, { kind: 'AuthenticationFailed', user: login.user, originalCode: '1045' })
  await wrong.dispose()
})

test('too many connections: the server\'s 1040 is TooManyConnections', async (t) => {
  // a server at its limit answers the connection with ERR 1040 before any handshake
  const server = createServer((socket) => {
    const message = Buffer.from('Too many connections')
    const payload = Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('#08004'), message])
    const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, 0])
    socket.end(Buffer.concat([header, payload]))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const adapter = await new PrismaMysql2({ host: '127.0.0.1', port: (server.address() as any).port, user: 'u' }).connect()
  const err: any = await t.throwsAsync(adapter.queryRaw(sql('SELECT 1')))
  t.like(err.cause, { kind: 'TooManyConnections', originalCode: '1040' })
  await adapter.dispose()
})
