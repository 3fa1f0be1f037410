'use strict'

// Prisma 7: PrismaMysql2 against @prisma/adapter-mariadb (the official adapter, the baseline) on the
// same MariaDB database, same login (a password: the adapters are measured, not the login), same
// generated client and queries, in alternating rounds. Ratios are ours ÷ reference (target ≤ 1.00×):
// findMany of 1 000 rows with every type, 1 000 findUnique by id, 1 000 create, 200 interactive
// transactions. Then the heap of PrismaMysql2 over 10 000 queries and 1 000 transactions.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const mysql = require('mysql2/promise')
const { startMariaDb } = require('../test-server')
const { record, fmtRatio, fmtMs, fmtMB, table } = require('./report.js')

const ROOT = path.join(__dirname, '..')
const ROUNDS = 5
const HEAP_TARGET_BYTES = 5 * 1024 * 1024

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/** The spec's schema, generated as the spec does it (the schema engine is not needed: a stand-in). */
function loadClient() {
  const standIn = path.join(os.tmpdir(), `prisma-engine-stand-in-${process.pid}`)
  fs.writeFileSync(standIn, '#!/bin/sh\nexit 1\n', { mode: 0o755 })
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/prisma/build/index.js'), 'generate', '--schema', path.join(ROOT, '__test__/fixtures/prisma/schema.prisma')], {
      cwd: ROOT,
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: standIn, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: 'pipe',
    })
  } finally {
    fs.rmSync(standIn, { force: true })
  }
  // the prisma-client generator writes TypeScript
  require('tsx/cjs/api').register()
  return require(path.join(ROOT, '__test__/.prisma/client/client.ts')).PrismaClient
}

function sampleRow(i) {
  return {
    int: i, tiny: i % 100, small: i, medium: i, unsigned: 4000000000 + i, big: 9007199254740993n + BigInt(i), bigUnsigned: 18446744073709551000n + BigInt(i % 500),
    float: i / 4, double: i / 3, decimal: `${i}.0123456789`, bool: i % 2 === 0, bit1: i % 2 === 1, bits: Buffer.from([i & 255, 1]),
    varchar: `row ${i}`, char: 'abcd', text: 'text '.repeat(20), longText: 'long '.repeat(40), bytes: Buffer.alloc(64, i & 255), varBinary: Buffer.from([1, 2, 3]),
    json: { i, tags: ['a', 'b'], nested: { ok: true } }, dateTime: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60, i % 1000)), timestamp: new Date(Date.UTC(2020, 5, 1, 12, 0, i % 60)),
    date: new Date(Date.UTC(2024, 0, 1 + (i % 28))), time: new Date(Date.UTC(1970, 0, 1, 10, 11, i % 60)), year: 1901 + (i % 200), role: i % 2 ? 'ADMIN' : 'MEMBER',
  }
}

const WORKLOADS = [
  { name: 'findMany, 1 000 rows of every type (×10)', run: async (prisma) => { for (let i = 0; i < 10; i++) await prisma.sample.findMany() } },
  { name: '1 000 findUnique by id', run: async (prisma, ids) => { for (let i = 0; i < 1000; i++) await prisma.user.findUnique({ where: { id: ids[i % ids.length] } }) } },
  {
    name: '1 000 create',
    run: async (prisma, _ids, round) => {
      for (let i = 0; i < 1000; i++) await prisma.post.create({ data: { title: `r${round}-${i}`, published: i % 2 === 0 } })
    },
  },
  {
    name: '200 interactive transactions',
    run: async (prisma, ids) => {
      for (let i = 0; i < 200; i++) {
        await prisma.$transaction(async (tx) => {
          const user = await tx.user.findUnique({ where: { id: ids[i % ids.length] } })
          await tx.user.update({ where: { id: user.id }, data: { name: `n${i}` } })
        })
      }
    },
  },
]

async function timed(fn) {
  const started = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - started) / 1e6
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function runPrisma() {
  console.log('\n== Prisma 7: PrismaMysql2 vs @prisma/adapter-mariadb, same MariaDB, %d alternating rounds ==', ROUNDS)
  const PrismaClient = loadClient()
  const { PrismaMysql2 } = require('../lib/prisma/index.js')
  const { PrismaMariaDb } = require('@prisma/adapter-mariadb')
  const db = await startMariaDb()
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, multipleStatements: true })
  const login = { host: db.host, port: db.port, user: db.user, password: db.password, database: db.database }
  const clients = {
    PrismaMysql2: new PrismaClient({ adapter: new PrismaMysql2(login) }),
    'adapter-mariadb': new PrismaClient({ adapter: new PrismaMariaDb(login) }),
  }
  try {
    await admin.query(fs.readFileSync(path.join(ROOT, '__test__/fixtures/prisma/schema.sql'), 'utf8'))
    await clients.PrismaMysql2.sample.createMany({ data: Array.from({ length: 1000 }, (_, i) => sampleRow(i)) })
    await clients.PrismaMysql2.user.createMany({ data: Array.from({ length: 100 }, (_, i) => ({ email: `u${i}@example.com`, createdAt: new Date(0) })) })
    const ids = (await clients.PrismaMysql2.user.findMany({ select: { id: true } })).map((user) => user.id)
    // warm both (connections, prepared statements, query plans)
    for (const [name, prisma] of Object.entries(clients)) for (const workload of WORKLOADS) await workload.run(prisma, ids, `warm-${name}`)

    const rows = [['workload', 'PrismaMysql2', 'adapter-mariadb', 'ratio']]
    for (const workload of WORKLOADS) {
      const times = { PrismaMysql2: [], 'adapter-mariadb': [] }
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? ['adapter-mariadb', 'PrismaMysql2'] : ['PrismaMysql2', 'adapter-mariadb']
        for (const name of order) times[name].push(await timed(() => workload.run(clients[name], ids, `${name}-${round}`)))
      }
      const ours = median(times.PrismaMysql2)
      const reference = median(times['adapter-mariadb'])
      const ratio = ours / reference
      rows.push([workload.name, fmtMs(ours), fmtMs(reference), fmtRatio(ratio)])
      record('prisma', `${workload.name}, PrismaMysql2 ÷ adapter-mariadb`, fmtRatio(ratio), '≤ 1.00×', ratio <= 1)
    }
    console.log(table(rows))

    // heap: ours, after warm-up, over 10 000 queries and 1 000 transactions
    const prisma = clients.PrismaMysql2
    const heap = () => {
      gc()
      gc()
      return process.memoryUsage().heapUsed
    }
    const before = heap()
    for (let i = 0; i < 10000; i++) await prisma.user.findUnique({ where: { id: ids[i % ids.length] } })
    const afterQueries = heap()
    for (let i = 0; i < 1000; i++) await prisma.$transaction(async (tx) => tx.user.update({ where: { id: ids[i % ids.length] }, data: { name: `h${i}` } }))
    const afterTransactions = heap()
    console.log(`heapUsed: ${fmtMB(before).replace('+', '')} at start, ${fmtMB(afterQueries - before)} after 10 000 queries, ${fmtMB(afterTransactions - before)} after 1 000 transactions more`)
    record('prisma', 'heap growth, 10 000 queries + 1 000 transactions', fmtMB(afterTransactions - before), '≤ 5 MB', afterTransactions - before <= HEAP_TARGET_BYTES)
  } finally {
    for (const prisma of Object.values(clients)) await prisma.$disconnect()
    await admin.end()
    await db.close()
  }
}

module.exports = { runPrisma }
