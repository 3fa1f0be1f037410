'use strict'

// `npm run bench`: every performance figure of the package beside its target. Speed figures are
// ratios against baselines run interleaved in the same run; none of this is a test (figures: README.md, Performance).
//   node benchmark            all sections
//   node benchmark login      only some: login, handshake, pool, memory, refresh, prisma, proxy

const fs = require('node:fs')
const path = require('node:path')
const { machine, printSummary, figures } = require('./report.js')

const SECTIONS = ['login', 'handshake', 'pool', 'memory', 'refresh', 'prisma', 'proxy']

async function main() {
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter((name) => !SECTIONS.includes(name))
  if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`)
  const run = (name) => wanted.length === 0 || wanted.includes(name)
  const root = path.join(__dirname, '..')
  if (!fs.readdirSync(root).some((name) => name.endsWith('.node'))) {
    throw new Error('no native build in the package root: run `npm run build` first')
  }
  console.log(`machine: ${machine()}`)
  if (run('login')) await require('./login.js').runLogin()
  if (run('handshake')) await require('./handshake.js').runHandshake()
  if (run('pool')) await require('./pool.js').runPool()
  if (run('memory')) await require('./memory.js').runMemory()
  if (run('refresh')) await require('./refresh.js').runRefresh()
  if (run('prisma')) await require('./prisma.js').runPrisma()
  if (run('proxy')) await require('./proxy.js').runProxy()
  printSummary()
  if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ machine: machine(), figures }, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
