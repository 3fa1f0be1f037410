// mysql-openid-connect/prisma against real Prisma 7 and a real MariaDB: the generated client (from
// __test__/fixtures/prisma/schema.prisma, generated here into the gitignored __test__/.prisma) runs
// the same queries through PrismaMysql2 and through the official @prisma/adapter-mariadb on the same
// database, and both must give the same results except where the reference is wrong (README, "How it
// differs from @prisma/adapter-mariadb"). Then what Prisma's client does not reach: the adapter
// interface itself (transactions' connections, scripts, connection info, errors, dispose).
import test from 'ava'
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { PrismaMariaDb } from '@prisma/adapter-mariadb'

import { PrismaMysql2 } from 'mysql-openid-connect/prisma'
import { startMariaDb, type MariaDb } from '../test-server/index.js'
import { scenario, plain, SAMPLE_ANCIENT, SAMPLE_EXTREMES, SAMPLE_ORDINARY } from './helpers/prisma-scenario.js'

// Node's local zone far from UTC: a conversion through local time would show
process.env.TZ = 'Asia/Kolkata'

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
}

const worldPromise: Promise<World> = (async () => {
  generateClient()
  const { PrismaClient } = await import('./.prisma/client/client.js')
  const db = await startMariaDb()
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, multipleStatements: true })
  const user = `prisma_${db.database.slice(-8)}`
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'prisma-password'; GRANT ALL ON \`${db.database}\`.* TO '${user}'@'%'`)
  await admin.query(TABLES)
  return { db, admin, PrismaClient, login: { host: db.host, port: db.port, user, password: 'prisma-password', database: db.database } }
})()

test.after.always(async () => {
  const world = await worldPromise.catch(() => undefined)
  if (!world) return
  await world.admin.query(`DROP USER IF EXISTS '${world.login.user}'@'%'`)
  await world.admin.end()
  await world.db.close()
})

async function emptyTables(admin: mysql.Connection) {
  await admin.query('SET FOREIGN_KEY_CHECKS = 0; TRUNCATE `Post`; TRUNCATE `Profile`; TRUNCATE `User`; TRUNCATE `Sample`; SET FOREIGN_KEY_CHECKS = 1')
}

const adapters = {
  mysql2: (login: World['login']) => new PrismaMysql2({ ...login }),
  mysql2Text: (login: World['login']) => new PrismaMysql2({ ...login }, { useTextProtocol: true }),
  reference: (login: World['login']) => new PrismaMariaDb({ ...login }),
  referenceText: (login: World['login']) => new PrismaMariaDb({ ...login }, { useTextProtocol: true }),
}

async function runScenario(world: World, adapter: keyof typeof adapters, relationJoins: boolean, run = scenario) {
  await emptyTables(world.admin)
  const prisma = new world.PrismaClient({ adapter: adapters[adapter](world.login) })
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
    if (process.env.PRISMA_SCENARIO_DEBUG) writeFileSync(`/tmp/scenario-${run.ours}-${run.relationJoins}.json`, JSON.stringify({ reference, ours }, null, 1))
    t.deepEqual(Object.keys(ours), Object.keys(reference))
    for (const name of Object.keys(reference)) t.deepEqual(ours[name], reference[name], name)
  })
}

test.serial('what PrismaMysql2 returns is what was written: every type at its extremes, through Prisma', async (t) => {
  const world = await worldPromise
  const results = await runScenario(world, 'mysql2', false)
  const written = (id: bigint, sample: typeof SAMPLE_EXTREMES) => ({ ...plain({ id, ...sample }), decimal: `Decimal(${sample.decimal})` })
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
test.serial('where @prisma/adapter-mariadb is wrong: TIMESTAMP in the session zone, years before 1000', async (t) => {
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
  // the reference writes UTC digits into a session in Node's zone (+05:30 here), and reads years
  // before 1000 through Date's legacy parser (0001 → 2001)
  const reference = await stored('reference')
  t.is(reference.stored.epoch, String(1000000000 - 5.5 * 3600) + '.000')
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
