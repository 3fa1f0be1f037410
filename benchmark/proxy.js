'use strict'

// The proxy against the floor, a plain byte relay (node:net piping, a few lines), each in its own
// process as a proxy runs (the proxy as the CLI, `mysql-openid-connect proxy`), both in front of the
// same upstream (the embedded OIDC server relaying to MariaDB, a third process), variants taking turns:
//   100 MB result set: throughput through the proxy / through the relay (goal ≥ 0.9×)
//   10 000 SELECT 1 round trips on one connection: time through the proxy / the relay (goal ≤ 1.1×)
//   a new connection (connect + end, cached token): proxy / a direct OIDC login with the plugin (goal ≤ 1.2×)
//   memory per idle connection: the proxy process's RSS with 100 idle clients
// Through the relay, mysql2 logs in itself (TLS end to end, the plugin); through the proxy it logs in
// with the local password over loopback and the proxy logs in upstream with the token.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const mysql = require('mysql2/promise')
const { authPlugins } = require('../main.js')
const { createProxy } = require('../lib/proxy/index.js')
const { record, fmtMs, fmtRatio, table } = require('./report.js')

const RESULT_ROWS = 100
const ROW_BYTES = 1024 * 1024 - 64 // 100 rows of ~1 MiB: ~100 MB
const THROUGHPUT_ROUNDS = 4
const ROUND_TRIPS = 10_000
const ROUND_TRIP_CHUNK = 1000
const LOGINS = 100
const IDLE_CONNECTIONS = 100 // MariaDB allows 151 by default
const LOCAL_PASSWORD = 'bench-local-password'

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function startUpstream() {
  const child = spawn(process.execPath, [path.join(__dirname, 'proxy-upstream.js')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error('the benchmark upstream ended before it was ready')
  return { upstream: JSON.parse(first.value), stop: () => new Promise((resolve) => (child.stdin.end(), child.on('exit', resolve))) }
}

/** Runs a script; resolves its first stdout line (JSON) and a stop function. */
async function startChild(args, env) {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.on('exit', resolve)
    child.kill('SIGTERM')
    child.stdin.end()
  })
  return { child, lines, stop, stderr: () => stderr }
}

async function startPlainRelay(upstream) {
  const relay = await startChild([path.join(__dirname, 'plain-relay.js'), upstream.host, String(upstream.port)])
  const first = await relay.lines.next()
  if (first.done) throw new Error('the plain relay ended before it was ready')
  return { port: JSON.parse(first.value).port, pid: relay.child.pid, stop: relay.stop }
}

/** The CLI proxy, token from a program (so cached and refreshed as getToken is), on loopback TCP. */
async function startCliProxy(upstream, dir) {
  fs.writeFileSync(path.join(dir, 'token'), upstream.token)
  fs.writeFileSync(path.join(dir, 'ca.pem'), upstream.ca)
  const proxy = await startChild([path.join(__dirname, '..', 'bin', 'mysql-openid-connect.js'), 'proxy',
    '--upstream', `${upstream.host}:${upstream.port}`, '--ssl-ca', path.join(dir, 'ca.pem'), '--command', `cat ${path.join(dir, 'token')}`,
    '--listen', '127.0.0.1:0', '--local-password-env', 'BENCH_PW', '--max-connections', '1000'], { BENCH_PW: LOCAL_PASSWORD })
  const started = Date.now()
  let match
  while (!(match = /listening on 127\.0\.0\.1:(\d+)/.exec(proxy.stderr()))) {
    if (proxy.child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`the proxy did not start: ${proxy.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { port: Number(match[1]), pid: proxy.child.pid, stop: proxy.stop }
}

async function timed(fn) {
  const started = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - started) / 1e6
}

async function resultSet(options) {
  const connection = await mysql.createConnection(options)
  let bytes = 0
  const ms = await timed(async () => {
    const [rows] = await connection.query({ sql: `SELECT REPEAT('x', ${ROW_BYTES}) FROM seq_1_to_${RESULT_ROWS}`, rowsAsArray: true })
    for (const [value] of rows) bytes += value.length
  })
  await connection.end()
  return { ms, bytes }
}

async function roundTrips(connection, count) {
  return timed(async () => {
    for (let i = 0; i < count; i++) await connection.query('SELECT 1')
  })
}

async function login(options) {
  return timed(async () => {
    const connection = await mysql.createConnection(options)
    await connection.end()
  })
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1])
}

async function idleMemory(pid, options) {
  const warm = await Promise.all(Array.from({ length: 10 }, () => mysql.createConnection(options)))
  await Promise.all(warm.map((c) => c.end()))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const before = rssKb(pid)
  const idle = []
  for (let i = 0; i < IDLE_CONNECTIONS; i++) idle.push(await mysql.createConnection(options))
  await new Promise((resolve) => setTimeout(resolve, 500))
  const after = rssKb(pid)
  await Promise.all(idle.map((c) => c.end()))
  return ((after - before) * 1024) / IDLE_CONNECTIONS
}

async function runProxy() {
  console.log('\n== Proxy: against a plain node:net relay in front of the same upstream (OIDC server + MariaDB in a child process) ==')
  const { upstream, stop } = await startUpstream()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-bench-'))
  const relay = await startPlainRelay(upstream)
  const proxy = await startCliProxy(upstream, dir)
  // the same proxy through the API, in this process: no process hop of its own
  const inProcessProxy = await createProxy({
    upstream: { host: upstream.host, port: upstream.port }, ssl: { ca: upstream.ca }, getToken: async () => upstream.token,
    listen: { host: '127.0.0.1', port: 0 }, localPassword: LOCAL_PASSWORD, log: false,
  })
  try {
    const plugin = { user: 'alice', database: upstream.database, ssl: { ca: upstream.ca }, authPlugins: authPlugins({ getToken: async () => upstream.token }) }
    const variants = {
      relay: { ...plugin, host: '127.0.0.1', port: relay.port },
      proxy: { host: '127.0.0.1', port: proxy.port, user: 'alice', password: LOCAL_PASSWORD, database: upstream.database },
      direct: { ...plugin, host: upstream.host, port: upstream.port },
      inProcess: { host: '127.0.0.1', port: inProcessProxy.address.port, user: 'alice', password: LOCAL_PASSWORD, database: upstream.database },
    }

    // 100 MB result set
    const throughput = { relay: [], proxy: [] }
    await resultSet(variants.relay)
    await resultSet(variants.proxy)
    for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
      for (const name of i % 2 ? ['proxy', 'relay'] : ['relay', 'proxy']) {
        const { ms, bytes } = await resultSet(variants[name])
        throughput[name].push(bytes / 1e6 / (ms / 1000))
      }
    }
    const mbps = (name) => median(throughput[name])
    const throughputRatio = mbps('proxy') / mbps('relay')

    // 10 000 SELECT 1
    const connections = { relay: await mysql.createConnection(variants.relay), proxy: await mysql.createConnection(variants.proxy) }
    const trips = { relay: 0, proxy: 0 }
    for (let done = 0; done < ROUND_TRIPS; done += ROUND_TRIP_CHUNK) {
      for (const name of (done / ROUND_TRIP_CHUNK) % 2 ? ['proxy', 'relay'] : ['relay', 'proxy']) trips[name] += await roundTrips(connections[name], ROUND_TRIP_CHUNK)
    }
    await Promise.all(Object.values(connections).map((c) => c.end()))
    const tripRatio = trips.proxy / trips.relay

    // new connections, cached token
    const logins = { direct: [], proxy: [], inProcess: [] }
    const order = Object.keys(logins)
    for (let i = 0; i < 10; i++) for (const name of order) await login(variants[name])
    for (let i = 0; i < LOGINS; i++) {
      for (let k = 0; k < order.length; k++) {
        const name = order[(i + k) % order.length]
        logins[name].push(await login(variants[name]))
      }
    }
    const loginRatio = median(logins.proxy) / median(logins.direct)
    const inProcessRatio = median(logins.inProcess) / median(logins.direct)

    const perIdle = await idleMemory(proxy.pid, variants.proxy)

    console.log(table([
      ['', 'plain relay / direct', 'proxy', 'proxy / floor', 'goal'],
      ['100 MB result set (MB/s, median of 4)', mbps('relay').toFixed(0), mbps('proxy').toFixed(0), fmtRatio(throughputRatio), '≥ 0.90×'],
      [`${ROUND_TRIPS} × SELECT 1 on one connection`, fmtMs(trips.relay), fmtMs(trips.proxy), fmtRatio(tripRatio), '≤ 1.10×'],
      ['new connection (median), vs a direct plugin login', fmtMs(median(logins.direct)), fmtMs(median(logins.proxy)), fmtRatio(loginRatio), '≤ 1.20×'],
      ['the same, createProxy in the client process (info)', fmtMs(median(logins.direct)), fmtMs(median(logins.inProcess)), fmtRatio(inProcessRatio), ''],
    ]))
    console.log(`memory per idle connection (proxy process RSS, ${IDLE_CONNECTIONS} idle clients): ${(perIdle / 1024).toFixed(1)} KiB`)
    record('proxy', '100 MB result set: throughput, proxy / plain relay', `${fmtRatio(throughputRatio)} (${mbps('proxy').toFixed(0)} vs ${mbps('relay').toFixed(0)} MB/s)`, '≥ 0.90×', throughputRatio >= 0.9)
    record('proxy', '10 000 SELECT 1: time, proxy / plain relay', `${fmtRatio(tripRatio)} (${fmtMs(trips.proxy)} vs ${fmtMs(trips.relay)})`, '≤ 1.10×', tripRatio <= 1.1)
    record('proxy', 'new connection, cached token: proxy / direct plugin login', `${fmtRatio(loginRatio)} (${fmtMs(median(logins.proxy))} vs ${fmtMs(median(logins.direct))})`, '≤ 1.20×', loginRatio <= 1.2)
    record('proxy', 'the same, createProxy in the client process (info)', `${fmtRatio(inProcessRatio)} (${fmtMs(median(logins.inProcess))})`, '', null)
    record('proxy', 'memory per idle connection (info)', `${(perIdle / 1024).toFixed(1)} KiB`, '', null)
  } finally {
    await inProcessProxy.close({ drainTimeoutMs: 100 })
    await proxy.stop()
    await relay.stop()
    await stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { runProxy }
