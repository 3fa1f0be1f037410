// mysql-openid-connect/prisma against real Prisma 7 and a real MariaDB: the generated client (from
// __test__/fixtures/prisma/schema.prisma, generated here into the gitignored __test__/.prisma) runs
// the same queries through PrismaMysql2 and through the official @prisma/adapter-mariadb on the same
// database, and both must give the same results except where the reference is wrong (README, "How it
// differs from @prisma/adapter-mariadb"). PrismaMysql2 logs in with an OIDC token through the embedded
// server relaying to that MariaDB; the reference with a password. The adapter interface itself, below
// Prisma's client, is tested in prisma-adapter.spec.ts.
import test from 'ava'
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { inspect } from 'node:util'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { PrismaMariaDb } from '@prisma/adapter-mariadb'

import { PrismaMysql2 } from 'mysql-openid-connect/prisma'
import { authPlugins } from 'mysql-openid-connect'
import { startMariaDb, startOidcServer, createIdentityProvider, type MariaDb, type OidcServer } from '../test-server/index.js'
import { scenario, plain, SAMPLE_ANCIENT, SAMPLE_EXTREMES, SAMPLE_ORDINARY } from './helpers/prisma-scenario.js'


const ROOT = join(__dirname, '..')
const SCHEMA = join(ROOT, '__test__/fixtures/prisma/schema.prisma')
const TABLES = readFileSync(join(ROOT, '__test__/fixtures/prisma/schema.sql'), 'utf8')
const work = mkdtempSync(join(tmpdir(), 'oidc-prisma-'))
test.after.always(() => rmSync(work, { recursive: true, force: true }))

/** `prisma generate`, with a stand-in for the schema engine it would otherwise download (and never run here). */
function generateClient() {
  const standIn = join(work, 'schema-engine-stand-in')
  writeFileSync(standIn, '#!/bin/sh\necho "the schema engine is not used by prisma generate" >&2\nexit 1\n')
  chmodSync(standIn, 0o755)
  execFileSync(process.execPath, [join(ROOT, 'node_modules/prisma/build/index.js'), 'generate', '--schema', SCHEMA], {
    cwd: ROOT,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: standIn, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: 'pipe',
  })
}

interface World {
  db: MariaDb
  /** a password login of the test's own on the test's database */
  login: { host: string; port: number; user: string; password: string; database: string }
  admin: mysql.Connection
  PrismaClient: any
  /** the embedded server relaying OIDC logins (account alice) to the same database */
  server: OidcServer
  getToken: () => Promise<string>
}

const worldPromise: Promise<World> = (async () => {
  generateClient()
  // generated just above, so a fresh clone's type check cannot see it: typed where it is used
  const clientPath: string = './.prisma/client/client.js'
  const { PrismaClient } = await import(clientPath)
  const db = await startMariaDb()
  // Node's local zone far from UTC, a conversion through local time would show; set only now, so a
  // MariaDB this spec happens to start runs in the machine's zone
  process.env.TZ = 'Asia/Kolkata'
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, multipleStatements: true })
  const user = `prisma_${db.database.slice(-8)}`
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'prisma-password'; GRANT ALL ON \`${db.database}\`.* TO '${user}'@'%'`)
  await admin.query(TABLES)
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })
  const server = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} }, tls: true, backend: db })
  const getToken = () => idp.signIdToken({ sub: 'alice', aud: 'mysql' })
  return { db, admin, PrismaClient, server, getToken, login: { host: db.host, port: db.port, user, password: 'prisma-password', database: db.database } }
})()

test.after.always(async () => {
  const world = await worldPromise.catch(() => undefined)
  if (!world) return
  await world.admin.query(`DROP USER IF EXISTS '${world.login.user}'@'%'`)
  await world.admin.end()
  await world.server.close()
  await world.db.close()
})

async function emptyTables(admin: mysql.Connection) {
  await admin.query('SET FOREIGN_KEY_CHECKS = 0; TRUNCATE `Post`; TRUNCATE `Profile`; TRUNCATE `User`; TRUNCATE `Sample`; SET FOREIGN_KEY_CHECKS = 1')
}

/** PrismaMysql2 logs in as alice with an OIDC token, through the embedded server; the reference with a password. */
function oidcLogin(world: World) {
  const { server, getToken, login } = world
  return { host: server.host, port: server.port, user: 'alice', database: login.database, ssl: { ca: server.ca }, authPlugins: authPlugins({ getToken }) }
}

const adapters = {
  mysql2: (world: World) => new PrismaMysql2(oidcLogin(world)),
  mysql2Text: (world: World) => new PrismaMysql2(oidcLogin(world), { useTextProtocol: true }),
  reference: (world: World) => new PrismaMariaDb({ ...world.login }),
  referenceText: (world: World) => new PrismaMariaDb({ ...world.login }, { useTextProtocol: true }),
}

async function runScenario(world: World, adapter: keyof typeof adapters, relationJoins: boolean, run: (prisma: any, options: { relationJoins: boolean }) => Promise<any> = scenario) {
  await emptyTables(world.admin)
  const prisma = new world.PrismaClient({ adapter: adapters[adapter](world) })
  try {
    return await run(prisma, { relationJoins })
  } finally {
    await prisma.$disconnect()
  }
}

const RUNS = [
  { ours: 'mysql2', reference: 'reference', relationJoins: false },
  { ours: 'mysql2Text', reference: 'referenceText', relationJoins: false },
  { ours: 'mysql2', reference: 'reference', relationJoins: true },
] as const

for (const run of RUNS) {
  test.serial(`PrismaMysql2 and @prisma/adapter-mariadb give the same results for every query (${run.ours}, relationJoins ${run.relationJoins})`, async (t) => {
    const world = await worldPromise
    const reference = await runScenario(world, run.reference, run.relationJoins)
    const ours = await runScenario(world, run.ours, run.relationJoins)
    t.deepEqual(Object.keys(ours), Object.keys(reference))
    for (const name of Object.keys(reference)) t.deepEqual(ours[name], reference[name], name)
  })
}

test.serial('what PrismaMysql2 returns is what was written: every type at its extremes, through Prisma', async (t) => {
  const world = await worldPromise
  const results = await runScenario(world, 'mysql2', false)
  const written = (id: bigint, sample: Record<string, any>) => ({ ...plain({ id, ...sample }), decimal: `Decimal(${sample.decimal})` })
  t.deepEqual(results['findMany every type'][0], written(1n, SAMPLE_EXTREMES))
  t.deepEqual(results['findMany every type'][1], written(2n, SAMPLE_ORDINARY))
  const ids = (...list: string[]) => list.map((id) => ({ id }))
  t.deepEqual(results['filters on every type'], [ids('1n'), ids('1n', '2n'), ids('2n'), ids('1n'), ids('1n'), ids('1n'), ids('1n'), ids('2n'), ids('1n')])
  t.deepEqual(results['nested transactions'], { outer: 'inner abort', emails: [{ email: 'inner2@example.com' }, { email: 'outer@example.com' }] })
  t.like(results['isolation Snapshot'], { error: 'P2028' })
  for (const level of ['ReadUncommitted', 'ReadCommitted', 'RepeatableRead', 'Serializable']) t.is(typeof results[`isolation ${level}`], 'number', level)
  t.like(results['unique violation'], { error: 'P2002', kind: 'UniqueConstraintViolation', constraint: { index: 'User_email_key' } })
  t.like(results['composite unique violation'], { error: 'P2002', constraint: { index: 'Post_authorId_title_key' } })
  t.like(results['foreign key violation'], { error: 'P2003', kind: 'ForeignKeyConstraintViolation', constraint: { fields: ['authorId'] } })
  t.like(results['not-null violation'], { error: 'P2010', kind: 'NullConstraintViolation', constraint: { fields: ['email'] } })
  t.like(results['value out of range'], { error: 'P2020', kind: 'ValueOutOfRange' })
  t.like(results['value too long'], { error: 'P2000', kind: 'LengthMismatch' })
})

// The differences from the reference, each listed in the README with its reason.
test.serial('TIMESTAMP stored as the UTC instant; where @prisma/adapter-mariadb is wrong: years before 1000', async (t) => {
  const world = await worldPromise
  const instant = new Date('2001-09-09T01:46:40.000Z')
  const stored = async (adapter: keyof typeof adapters) =>
    runScenario(world, adapter, false, async (prisma) => {
      const sample = await prisma.sample.create({ data: { ...SAMPLE_ANCIENT, timestamp: instant } })
      const [rows] = await world.admin.query<any[]>('SELECT UNIX_TIMESTAMP(`timestamp`) AS epoch, CAST(`dateTime` AS CHAR) AS dateTime, CAST(`date` AS CHAR) AS date FROM Sample')
      return { read: plain(await prisma.sample.findUnique({ where: { id: sample.id }, select: { dateTime: true, date: true, timestamp: true } })), stored: rows[0] }
    })
  const ours = await stored('mysql2')
  t.deepEqual(ours, {
    read: plain({ dateTime: SAMPLE_ANCIENT.dateTime, date: SAMPLE_ANCIENT.date, timestamp: instant }),
    stored: { epoch: '1000000000.000', dateTime: '0001-01-01 00:00:00.000000', date: '0999-12-31' },
  })
  // the reference reads years before 1000 through Date's legacy parser (0001 → 2001). (Its TIMESTAMP
  // fault needs a server whose zone is not UTC: its sessions keep the server's zone while it writes UTC
  // digits; not played here, since the run's one MariaDB is shared by every spec.)
  const reference = await stored('reference')
  t.deepEqual(reference.read.dateTime, 'Date(2001-01-01T00:00:00.000Z)')
  t.is(reference.stored.dateTime, ours.stored.dateTime)
})

test.serial('a wrong password is P1000 at once; the reference waits for its pool and answers P2039', async (t) => {
  const world = await worldPromise
  const login = { ...world.login, password: 'wrong' }
  const ours = new world.PrismaClient({ adapter: new PrismaMysql2(login) })
  const started = Date.now()
  const err: any = await t.throwsAsync(ours.user.count())
  t.true(Date.now() - started < 5000)
  t.is(err.code, 'P1000')
  t.like(err.meta.driverAdapterError.cause, { kind: 'AuthenticationFailed', user: login.user, originalCode: '1045' })
  await ours.$disconnect()
  // the mariadb pool retries the login until its acquireTimeout, then reports a pool timeout
  const reference = new world.PrismaClient({ adapter: new PrismaMariaDb({ ...login, acquireTimeout: 1000 }) })
  const referenceError: any = await t.throwsAsync(reference.user.count())
  t.is(referenceError.code, 'P2039')
  t.like(referenceError.meta.driverAdapterError.cause, { kind: 'mysql', code: 45028 })
  await reference.$disconnect()
})

test.serial('the OIDC logins: alice over verified TLS; a refused token is P1000 and a refused server P1011, with oidcCode and never the token', async (t) => {
  const world = await worldPromise
  t.true(world.server.authLog.length > 0)
  for (const entry of world.server.authLog) t.like(entry, { user: 'alice', ok: true, transport: 'tls', plugin: 'authentication_openid_connect_client' })

  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })
  const expired = await idp.signIdToken({ sub: 'alice', aud: 'mysql' }, { expiresIn: -3600 })
  const { server } = world
  const cases = [
    { ssl: { ca: server.ca }, token: expired, code: 'P1000', kind: 'AuthenticationFailed', oidcCode: 'ERR_OIDC_TOKEN_EXPIRED' },
    // TLS without verification: the plugin keeps the token to itself
    { ssl: { rejectUnauthorized: false }, token: await world.getToken(), code: 'P1011', kind: 'TlsConnectionError', oidcCode: 'ERR_OIDC_UNVERIFIED_SERVER' },
  ]
  for (const { ssl, token, code, kind, oidcCode } of cases) {
    const logins = server.authLog.length
    const adapter = new PrismaMysql2({ host: server.host, port: server.port, user: 'alice', database: world.login.database, ssl, authPlugins: authPlugins({ getToken: async () => token }) })
    const prisma = new world.PrismaClient({ adapter })
    const err: any = await t.throwsAsync(prisma.user.count())
    t.is(err.code, code, oidcCode)
    t.like(err.meta.driverAdapterError.cause, { kind, oidcCode, originalCode: oidcCode })
    const everything = [err.message, err.stack, inspect(err, { depth: 10 }), JSON.stringify(err.meta.driverAdapterError.cause)].join('\n')
    t.false(everything.includes(token.split('.')[2]), 'the token (its signature) in the error')
    t.false(everything.includes(token.split('.')[1]), 'the token (its claims) in the error')
    t.is(server.authLog.filter((entry, i) => i >= logins && entry.tokenBytes > 0).length, 0, 'no token sent')
    await prisma.$disconnect()
  }
})

test('without @prisma/driver-adapter-utils: ERR_OIDC_MISSING_DEPENDENCY, and the main entry point never loads it', async (t) => {
  // a preload that hides the package, as in a project without Prisma
  const hide = "const M = require('module'); const resolve = M._resolveFilename; M._resolveFilename = function (name, ...rest) { if (name === '@prisma/driver-adapter-utils') { const e = new Error('Cannot find module'); e.code = 'MODULE_NOT_FOUND'; throw e } return resolve.call(this, name, ...rest) }"
  const program = `${hide}
    require('mysql-openid-connect')
    const loaded = Object.keys(require.cache).some((file) => file.includes('driver-adapter-utils') || file.includes('lib/prisma'))
    try { const { PrismaMysql2 } = require('mysql-openid-connect/prisma'); new PrismaMysql2({}) } catch (err) { console.log(JSON.stringify({ loaded, code: err.oidcCode, message: err.message })) }`
  const output = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', program], { cwd: ROOT }, (err, stdout) => (err ? reject(err) : resolve(stdout))))
  const result = JSON.parse(output)
  t.false(result.loaded)
  t.is(result.code, 'ERR_OIDC_MISSING_DEPENDENCY')
  t.regex(result.message, /npm install @prisma\/driver-adapter-utils/)
})

test.serial('more interactive transactions than connections, and one that times out: all settle, the pool keeps its slots', async (t) => {
  const world = await worldPromise
  await emptyTables(world.admin)
  const prisma = new world.PrismaClient({ adapter: new PrismaMysql2({ ...oidcLogin(world), connectionLimit: 2 }) })
  t.teardown(() => prisma.$disconnect())
  const emails = Array.from({ length: 20 }, (_, i) => `c${i}@example.com`)
  const created = await Promise.all(
    emails.map((email) =>
      prisma.$transaction(async (tx: any) => {
        const user = await tx.user.create({ data: { email, createdAt: new Date(0) } })
        return (await tx.user.findUnique({ where: { id: user.id } })).email
      }, { maxWait: 20_000 }),
    ),
  )
  t.deepEqual(created, emails)
  const timedOut: any = await t.throwsAsync(
    prisma.$transaction(async (tx: any) => {
      await tx.user.create({ data: { email: 'slow@example.com', createdAt: new Date(0) } })
      await new Promise((resolve) => setTimeout(resolve, 500))
      await tx.user.count()
    }, { timeout: 100 }),
  )
  t.is(timedOut.code, 'P2028')
  t.is(await prisma.user.count(), 20, 'the timed-out transaction was rolled back')
  // both slots free: two transactions at once still start
  t.deepEqual(await Promise.all([1, 2].map(() => prisma.$transaction((tx: any) => tx.user.count()))), [20, 20])
})
