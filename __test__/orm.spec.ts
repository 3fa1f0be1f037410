// Each ORM and query builder the README names logs in through this package: against the embedded
// server alone (fast: a login and SELECT CURRENT_USER(), a cold pool asks getToken once), and in
// front of a real MariaDB, doing what applications do (helpers/orm-apps.ts), with short-lived tokens
// refreshed in the background. The lines inside each ORM below are the README's
// `### ORMs and query builders` snippets verbatim (a test checks); each ORM is imported where it is
// used, under the name the README's import gives it.
import test, { type ExecutionContext } from 'ava'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import mysql from 'mysql2/promise'

import { authPlugins } from '../main.js'
import { startOidcServer, createIdentityProvider, startMariaDb, type ServerMode } from '../test-server/index.js'
import * as apps from './helpers/orm-apps.js'

/** What the README's snippets assume is in scope. */
interface Target {
  host: string
  port: number
  user: string
  database: string
  ca: string
  getToken: () => Promise<string>
}
interface OrmClient {
  /** `SELECT CURRENT_USER()` through the ORM's raw-query API: the value. */
  currentUser(): Promise<unknown>
  /** The application, in the ORM's own terms (helpers/orm-apps.ts). */
  app(): Promise<apps.OrmApp> | apps.OrmApp
  /** Where the database may not close idle sessions (see Sequelize 7): the pool closes them itself. */
  closeIdleConnections?(): Promise<void>
  close(): Promise<void>
}

const DRIZZLE_MYSQL2: string = 'drizzle-orm/mysql2'

const ORMS: Record<string, (target: Target) => Promise<OrmClient>> = {
  async Knex({ host, port, user, database, ca, getToken }) {
    const { default: knex } = await import('knex')
    const db = knex({ client: 'mysql2', connection: { host, port, user, database, ssl: { ca }, authPlugins: authPlugins({ getToken }) } })
    return {
      async currentUser() {
        const [rows] = await db.raw('SELECT CURRENT_USER()')
        return rows[0]['CURRENT_USER()']
      },
      app: () => apps.knexApp(db),
      close: () => db.destroy(),
    }
  },

  async 'Sequelize 6'({ host, port, user, database, ca, getToken }) {
    const { Sequelize, QueryTypes, DataTypes } = await import('sequelize')
    const sequelize = new Sequelize({ dialect: 'mysql', host, port, username: user, database, dialectOptions: { ssl: { ca }, authPlugins: authPlugins({ getToken }) }, logging: false })
    await sequelize.authenticate()
    return {
      async currentUser() {
        const rows = await sequelize.query('SELECT CURRENT_USER()', { type: QueryTypes.SELECT })
        return (rows[0] as any)['CURRENT_USER()']
      },
      app: () => apps.sequelizeApp(sequelize, DataTypes),
      close: () => sequelize.close(),
    }
  },

  async 'Sequelize 7'({ host, port, user, database, ca, getToken }) {
    const { Sequelize, QueryTypes, DataTypes } = await import('@sequelize/core')
    const { MySqlDialect } = await import('@sequelize/mysql')
    const sequelize = new Sequelize({ dialect: MySqlDialect, host, port, user, database, ssl: { ca }, authPlugins: authPlugins({ getToken }) })
    await sequelize.authenticate()
    return {
      async currentUser() {
        const rows = await sequelize.query('SELECT CURRENT_USER()', { type: QueryTypes.SELECT })
        return (rows[0] as any)['CURRENT_USER()']
      },
      app: () => apps.sequelizeApp(sequelize, DataTypes),
      // @sequelize/mysql 7.0.0-alpha.48 destroys a connection the server closed once per mysql2 'error'
      // event, and mysql2 over TLS emits two (one per socket, TLS and TCP): the second destroy rejects,
      // unhandled ("Unable to determine to which pool the connection belongs"). Sequelize's, not ours.
      closeIdleConnections: () => sequelize.pool.destroyAllNow(),
      close: () => sequelize.close(),
    }
  },

  async TypeORM({ host, port, user, database, ca, getToken }) {
    const { DataSource, EntitySchema } = await import('typeorm')
    const entities = apps.typeormEntities(EntitySchema)
    const dataSource = await new DataSource({ type: 'mysql', host, port, username: user, database, entities, ssl: { ca }, extra: { authPlugins: authPlugins({ getToken }) } }).initialize()
    return {
      async currentUser() {
        const rows = await dataSource.query('SELECT CURRENT_USER()')
        return rows[0]['CURRENT_USER()']
      },
      app: () => apps.typeormApp(dataSource),
      close: () => dataSource.destroy(),
    }
  },

  async Drizzle({ host, port, user, database, ca, getToken }) {
    // Loaded untyped: drizzle-orm 0.45's .d.ts files fail tsc without skipLibCheck (drizzle-team/drizzle-orm#5187).
    const { drizzle } = await import(DRIZZLE_MYSQL2)
    const db = drizzle({ connection: { host, port, user, database, ssl: { ca }, authPlugins: authPlugins({ getToken }) } })
    return {
      async currentUser() {
        const [rows] = await db.execute('SELECT CURRENT_USER()')
        return (rows as any)[0]['CURRENT_USER()']
      },
      app: () => apps.drizzleApp(db),
      close: () => new Promise<void>((resolve, reject) => db.$client.end((err: unknown) => (err ? reject(err) : resolve()))),
    }
  },

  async Kysely({ host, port, user, database, ca, getToken }) {
    const { Kysely, MysqlDialect, sql } = await import('kysely')
    const { createPool } = await import('mysql2')
    const db = new Kysely({ dialect: new MysqlDialect({ pool: createPool({ host, port, user, database, ssl: { ca }, authPlugins: authPlugins({ getToken }) }) }) })
    return {
      async currentUser() {
        const { rows } = await sql`SELECT CURRENT_USER()`.execute(db)
        return (rows[0] as any)['CURRENT_USER()']
      },
      app: () => apps.kyselyApp(db),
      close: () => db.destroy(),
    }
  },

  async MikroORM({ host, port, user, database, ca, getToken }) {
    const { MikroORM, EntitySchema } = await import('@mikro-orm/mysql')
    const entities = apps.mikroOrmEntities(EntitySchema)
    const orm = await MikroORM.init({ entities, host, port, user, dbName: database, driverOptions: { connection: { ssl: { ca }, authPlugins: authPlugins({ getToken }) } } })
    return {
      async currentUser() {
        const rows = await orm.em.execute('SELECT CURRENT_USER()')
        return rows[0]['CURRENT_USER()']
      },
      app: () => apps.mikroOrmApp(orm),
      close: () => orm.close(),
    }
  },
}

// Sequelize 6 reads the server version over a connection of its own (closed after) before its pool's first.
const EXTRA_LOGINS: Record<string, number> = { 'Sequelize 6': 1 }

const providerPromise = createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })

async function startServer(t: ExecutionContext, mode: ServerMode = 'mysql-enterprise') {
  // TiDB binds the account to its issuer and email attribute (TOKEN_ISSUER, ATTRIBUTE '{"email": ...}')
  const alice = mode === 'tidb' ? { identityProvider: 'https://idp.example.test', email: 'alice@example.test' } : {}
  const server = await startOidcServer({ mode, identityProviders: [await providerPromise], users: { alice }, tls: true })
  t.teardown(() => server.close())
  return server
}

/** A fresh server and a getToken that counts its calls: each ORM starts cold, with an empty cache. */
async function target(t: ExecutionContext) {
  const idp = await providerPromise
  const server = await startServer(t)
  const calls = { count: 0 }
  const getToken = async () => {
    calls.count++
    return idp.signIdToken({ sub: 'alice', aud: 'mysql' })
  }
  return { server, calls, target: { host: server.host!, port: server.port!, user: 'alice', database: 'app', ca: server.ca!, getToken } }
}

/** Connects, closing the ORM in teardown so ava can exit. */
async function open(t: ExecutionContext, connect: (target: Target) => Promise<OrmClient>, where: Target) {
  const client = await connect(where)
  t.teardown(() => client.close())
  return client
}

async function until(condition: () => boolean, timeoutMs = 5000) {
  for (const start = Date.now(); !condition() && Date.now() - start < timeoutMs; ) await new Promise((r) => setTimeout(r, 10))
}

for (const [name, connect] of Object.entries(ORMS)) {
  test(`${name}: logs in over TLS and runs SELECT CURRENT_USER() through its raw-query API`, async (t) => {
    const { server, calls, target: where } = await target(t)
    const client = await open(t, connect, where)
    t.is(await client.currentUser(), 'alice@%')
    t.is(calls.count, 1)
    t.true(server.authLog.length > 0)
    for (const entry of server.authLog) t.like(entry, { ok: true, transport: 'tls', plugin: 'authentication_openid_connect_client' })
  })

  test(`${name}: a cold pool of 5 concurrent queries logs in 5 times with one getToken call`, async (t) => {
    const { server, calls, target: where } = await target(t)
    const client = await open(t, connect, where)
    t.deepEqual(await Promise.all(Array.from({ length: 5 }, () => client.currentUser())), Array(5).fill('alice@%'))
    // A knex (tarn) pool may serve a query on a connection freed meanwhile; the 5 it opened still log in.
    const expected = 5 + (EXTRA_LOGINS[name] ?? 0)
    const okLogins = () => server.authLog.filter((entry) => entry.ok).length
    await until(() => okLogins() >= expected)
    t.is(okLogins(), expected)
    t.is(server.authLog.length, expected)
    t.is(calls.count, 1)
  })
}

// In front of MariaDB: each ORM test gets a database of its own (startMariaDb) on the run's one server.
// Tokens live this long (exp is whole seconds, so 9-10 s in fact). Each burst of queries below
// starts a refresh; the next must come before that token expires, even on a loaded machine, or its
// login would wait for a new one (and a token sent in its last milliseconds may expire in flight).
const TOKEN_LIFETIME_S = 10

/** The embedded server relaying to a fresh MariaDB database; tokens for `sub` (the account's principal). */
async function databaseTarget(t: ExecutionContext, { sub = 'alice', expiresIn = 600 }: { sub?: string; expiresIn?: number } = {}) {
  const idp = await providerPromise
  const db = await startMariaDb()
  t.teardown(() => db.close())
  const server = await startOidcServer({ identityProviders: [idp], users: { alice: { principal: sub } }, tls: true, backend: db })
  t.teardown(() => server.close())
  const calls = { count: 0 }
  const getToken = async () => {
    calls.count++
    return idp.signIdToken({ sub, aud: 'mysql' }, { expiresIn })
  }
  /** A plain connection straight to MariaDB as its administrator: the second, independent view. */
  const witness = async () => {
    const connection = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database })
    t.teardown(() => connection.end())
    return connection
  }
  return { db, server, calls, witness, target: { host: server.host!, port: server.port!, user: 'alice', database: db.database, ca: server.ca!, getToken } }
}

for (const [name, connect] of Object.entries(ORMS)) {
  test(`${name} on MariaDB: its own schema, insert, join, a committed and a rolled-back transaction, seen from a second connection`, async (t) => {
    const { server, calls, witness, target: where } = await databaseTarget(t)
    const client = await open(t, connect, where)
    t.deepEqual(await Promise.all(Array.from({ length: 5 }, () => client.currentUser())), Array(5).fill('alice@%'))
    t.is(calls.count, 1, 'a cold pool asks getToken once')
    const app = await client.app()
    await app.createSchema()
    await app.addAuthorWithBook('Ada', 'Notes', 1)
    await app.addAuthorWithBook('Grace', 'Compilers', 2)
    t.deepEqual(await app.booksBy('Ada'), [{ title: 'Notes', author: 'Ada' }])
    await app.setStock('Notes', 5)
    await t.throwsAsync(app.setStockThenFail('Compilers', 99), { message: apps.ROLLED_BACK })
    const [rows] = await (await witness()).query('SELECT b.title, b.stock, a.name FROM books b JOIN authors a ON a.id = b.author_id ORDER BY b.title')
    t.deepEqual(rows, [
      { title: 'Compilers', stock: 2, name: 'Grace' },
      { title: 'Notes', stock: 5, name: 'Ada' },
    ])
    t.is(calls.count, 1)
    t.true(server.authLog.length >= 1)
    for (const entry of server.authLog) t.like(entry, { ok: true, transport: 'tls', user: 'alice' })
  })

  test(`${name} on MariaDB: ${TOKEN_LIFETIME_S} s tokens over a longer run whose connections keep being closed: no query fails, no login after the first waits for a token`, async (t) => {
    const sub = `alice-${name.replace(/\W/g, '').toLowerCase()}` // this test's own token events
    const { server, witness, target: where } = await databaseTarget(t, { sub, expiresIn: TOKEN_LIFETIME_S })
    const events: Record<string, number> = {}
    const onToken = (message: any) => {
      if (message.sub === sub) events[message.event] = (events[message.event] ?? 0) + 1
    }
    subscribe('mysql-openid-connect:token', onToken)
    t.teardown(() => unsubscribe('mysql-openid-connect:token', onToken))
    const client = await open(t, connect, where)
    const admin = await witness()
    const firstTokenExpires = Date.now() + TOKEN_LIFETIME_S * 1000
    let loginsAtExpiry = 0
    const runUntil = firstTokenExpires + 3000
    let queries = 0
    while (Date.now() < runUntil) {
      const burst = await Promise.allSettled(Array.from({ length: 3 }, () => client.currentUser()))
      const refusals = server.authLog.filter((entry) => !entry.ok).map((entry) => entry.reason)
      t.deepEqual(burst.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))), Array(3).fill('alice@%'), `server refusals: ${refusals}`)
      queries += 3
      // as a DBA (or wait_timeout) would: close the pool's idle sessions, so the next queries log in anew
      if (client.closeIdleConnections) await client.closeIdleConnections()
      for (const deadline = Date.now() + 3000; server.openConnections > 0 && Date.now() < deadline; ) {
        const [idle] = (await admin.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'alice' AND DB = DATABASE() AND COMMAND = 'Sleep'")) as any
        for (const { ID } of idle) await admin.query(`KILL CONNECTION ${Number(ID)}`).catch(() => {}) // gone already: fine
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await new Promise((resolve) => setTimeout(resolve, 50)) // the pool sees the close before it lends the connection again
      if (Date.now() < firstTokenExpires) loginsAtExpiry = server.authLog.length
    }
    const logins = server.authLog.length
    t.true(logins - loginsAtExpiry >= 2, `logins after the first token expired: ${logins - loginsAtExpiry}`)
    for (const entry of server.authLog) t.like(entry, { ok: true, transport: 'tls' })
    t.is(events.fetched, 1, 'only the first login waited for getToken')
    t.true((events.refreshed ?? 0) >= 2, `background refreshes: ${events.refreshed}`)
    t.falsy(events.failed)
    t.true(queries > 0)
  })
}

test('start-up statements: VERSION() is the greeting version of each mode, DATABASE() the chosen one, SET is accepted', async (t) => {
  const modes: ServerMode[] = ['mysql-enterprise', 'percona', 'starrocks', 'tidb']
  const versions = new Set()
  for (const mode of modes) {
    const server = await startServer(t, mode)
    const token = await (await providerPromise).signIdToken({ sub: 'alice', email: 'alice@example.test' })
    const options = { host: server.host, port: server.port, user: 'alice', ssl: { ca: server.ca }, authPlugins: authPlugins({ token, cleartext: mode === 'tidb' }) }
    const withDatabase = await mysql.createConnection({ ...options, database: 'app' })
    t.teardown(() => withDatabase.end())
    const [[version]] = (await withDatabase.query('select version() as version')) as any
    t.is(version.version, (withDatabase as any).connection._handshakePacket.serverVersion, mode)
    versions.add(version.version)
    t.deepEqual(((await withDatabase.query('SELECT DATABASE() AS `db_name`')) as any)[0], [{ db_name: 'app' }])
    t.deepEqual(((await withDatabase.query("select 1 from information_schema.schemata where schema_name = 'app'")) as any)[0], [{ 1: 1 }])
    t.deepEqual(((await withDatabase.query("select 1 from information_schema.schemata where schema_name = 'other'")) as any)[0], [])
    t.like(((await withDatabase.query("SET time_zone = '+00:00'")) as any)[0], { affectedRows: 0 })
    t.like(await t.throwsAsync(withDatabase.query('SELECT * FROM accounts')), { errno: 1064 })

    const withoutDatabase = await mysql.createConnection(options)
    t.teardown(() => withoutDatabase.end())
    t.deepEqual(((await withoutDatabase.query('SELECT DATABASE()')) as any)[0], [{ 'DATABASE()': null }])
  }
  t.is(versions.size, modes.length)
})

test("README's ORM snippets are the lines these tests run", (t) => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')
  const section = readme.split('### ORMs and query builders')[1].split(/\n##/)[0]
  const block = section.split('```js')[1].split('```')[0]
  const specLines = new Set(readFileSync(__filename, 'utf8').split('\n').map((line) => line.trim()))
  const headings = block.match(/^\/\/ .+$/gm)!.map((line) => line.slice(3))
  t.deepEqual(headings, Object.keys(ORMS))
  const code = block.split('\n').filter((line) => line.trim() && !line.startsWith('//') && !line.startsWith('import '))
  t.true(code.length >= 2 * headings.length)
  for (const line of code) t.true(specLines.has(line.trim()), `README line not in orm.spec.ts: ${line}`)
})
