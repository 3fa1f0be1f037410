'use strict'

// The whole login, as a user feels it: client CPU and wall time per mysql2 connect over TLS +
// SELECT 1 + end, with this package's plugin (cached getToken) against the framing-only plugin of
// the StarRocks issue, which checks nothing. The server runs in a child process so that only the
// client's CPU (process.cpuUsage: user + system, every thread) is counted. The variants take
// turns login by login, so drift and the other load on a shared machine fall on all alike; a
// third, the plugin with its TLS peer check off, shows what that check costs.

const { spawn } = require('node:child_process')
const path = require('node:path')
const readline = require('node:readline')
const mysql = require('mysql2/promise')
const { authPlugins, openidConnectAuthResponse } = require('../main.js')
const { record, fmtMs, fmtRatio, table } = require('./report.js')

const ROUNDS = 40
const LOGINS_PER_ROUND = 25 // of each variant
const WARMUP_LOGINS = 20
const TARGET_RATIO = 1.03
const PLUGIN = 'authentication_openid_connect_client'

/** A MySQL length-encoded integer: the length header of a length-encoded string. */
function lengthHeader(length) {
  if (length < 251) return Buffer.from([length])
  if (length < 2 ** 16) return Buffer.from([0xfc, length & 0xff, length >> 8])
  if (length < 2 ** 24) return Buffer.from([0xfd, length & 0xff, (length >> 8) & 0xff, length >> 16])
  const header = Buffer.alloc(9)
  header[0] = 0xfe
  header.writeBigUInt64LE(BigInt(length), 1)
  return header
}

/** The StarRocks issue's workaround: capability byte, length, token; no check of anything. */
function framingOnlyPlugins(token) {
  return { [PLUGIN]: () => () => Buffer.concat([Buffer.from([0x01]), lengthHeader(token.length), Buffer.from(token)]) }
}

/** Starts login-server.js; resolves with its first line and a function that stops it and returns its last. */
async function startServerProcess(mode) {
  const child = spawn(process.execPath, [path.join(__dirname, 'login-server.js'), mode], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error('the benchmark server process ended before it was ready')
  const stop = async () => {
    child.stdin.end()
    const last = await lines.next()
    if (last.done) throw new Error('the benchmark server process ended without its login count')
    return JSON.parse(last.value)
  }
  return { server: JSON.parse(first.value), stop }
}

async function login(options) {
  const connection = await mysql.createConnection(options)
  await connection.query('SELECT 1')
  await connection.end()
}

/** One login's client CPU (µs, user + system) and wall time (ms). */
async function measuredLogin(options) {
  const cpuBefore = process.cpuUsage()
  const started = process.hrtime.bigint()
  await login(options)
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6
  const cpu = process.cpuUsage(cpuBefore)
  return { cpuUs: cpu.user + cpu.system, wallMs }
}

/** The value at fraction `q` of the sorted values (linear between neighbours): 0.5 is the median. */
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = Math.floor(at)
  return sorted[below] + (sorted[Math.min(below + 1, sorted.length - 1)] - sorted[below]) * (at - below)
}
const median = (values) => quantile(values, 0.5)
const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length
const fmtUs = (us) => `${Math.round(us)} µs`

/**
 * One round: `count` logins of each variant, taking turns login by login (A B C, B C A, C A B, ...)
 * so all meet the same load; per variant, the median and mean CPU and the median wall time.
 */
async function round(variants, count) {
  const names = Object.keys(variants)
  const samples = Object.fromEntries(names.map((name) => [name, { cpuUs: [], wallMs: [] }]))
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]
      const { cpuUs, wallMs } = await measuredLogin(variants[name])
      samples[name].cpuUs.push(cpuUs)
      samples[name].wallMs.push(wallMs)
    }
  }
  const summary = ({ cpuUs, wallMs }) => ({ cpuUs: median(cpuUs), meanCpuUs: mean(cpuUs), wallMs: median(wallMs) })
  return Object.fromEntries(names.map((name) => [name, summary(samples[name])]))
}

async function runLogin(mode = 'starrocks') {
  const total = ROUNDS * LOGINS_PER_ROUND
  console.log('\n== Login: client CPU per TLS login (connect + SELECT 1 + end), %d of each, taking turns, %d rounds, server (%s) in a child process ==', total, ROUNDS, mode)
  const { server, stop } = await startServerProcess(mode)
  let measured = false
  try {
    const { token } = server
    const baseline = framingOnlyPlugins(token)[PLUGIN]()()
    if (!baseline.equals(openidConnectAuthResponse(token))) throw new Error('the framing-only baseline does not send what the plugin sends')
    const common = { host: server.host, port: server.port, user: 'alice', ssl: { ca: server.ca } }
    const variants = {
      ours: { ...common, authPlugins: authPlugins({ getToken: async () => token }) },
      baseline: { ...common, authPlugins: framingOnlyPlugins(token) },
      // only to show what the TLS peer check costs: not a setting to use
      peerCheckOff: { ...common, authPlugins: authPlugins({ getToken: async () => token, allowUnverifiedServer: true }) },
    }
    await round(variants, WARMUP_LOGINS) // the first login also fills the token cache
    const rounds = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(await round(variants, LOGINS_PER_ROUND))
    // per round, a ratio of that round's figures; then the median over the rounds
    const ratio = (name, key) => median(rounds.map((r) => r[name][key] / r.baseline[key]))
    const typical = (name, key) => median(rounds.map((r) => r[name][key]))
    const extra = (name) => median(rounds.map((r) => r[name].cpuUs - r.baseline.cpuUs))
    const row = (label, name) => [label, fmtUs(typical(name, 'cpuUs')), fmtUs(typical(name, 'meanCpuUs')), fmtMs(typical(name, 'wallMs'))]
    const ratioRow = (label, name) => [label, fmtRatio(ratio(name, 'cpuUs')), fmtRatio(ratio(name, 'meanCpuUs')), fmtRatio(ratio(name, 'wallMs'))]
    console.log(table([
      ['per login', 'client CPU (median)', 'client CPU (mean)', 'wall time (median)'],
      row('baseline: framing only (StarRocks issue)', 'baseline'),
      row('ours: authPlugins({ getToken }), cached token', 'ours'),
      row('ours, TLS peer check off (to show its cost)', 'peerCheckOff'),
      ratioRow('ours / baseline', 'ours'),
      ratioRow('ours, peer check off / baseline', 'peerCheckOff'),
    ]))
    const cpuRatio = ratio('ours', 'cpuUs')
    const spread = rounds.map((r) => r.ours.cpuUs / r.baseline.cpuUs)
    console.log(
      `ours − baseline: ${fmtUs(extra('ours'))} of client CPU per login, ${fmtUs(extra('ours') - extra('peerCheckOff'))} of it the TLS peer check; ` +
        `ours / baseline in the middle half of the rounds: ${fmtRatio(quantile(spread, 0.25))} to ${fmtRatio(quantile(spread, 0.75))}`,
    )
    const cpuFigure = `${fmtRatio(cpuRatio)} (${fmtUs(typical('ours', 'cpuUs'))} vs ${fmtUs(typical('baseline', 'cpuUs'))})`
    record('login', 'client CPU per TLS login, ours / framing only', cpuFigure, `≤ ${fmtRatio(TARGET_RATIO)}`, cpuRatio <= TARGET_RATIO)
    record('login', 'the same, peer check off (info)', fmtRatio(ratio('peerCheckOff', 'cpuUs')), '', null)
    const wallFigure = `${fmtRatio(ratio('ours', 'wallMs'))} (${fmtMs(typical('ours', 'wallMs'))} vs ${fmtMs(typical('baseline', 'wallMs'))})`
    record('login', 'wall time per TLS login, ours / framing only (info)', wallFigure, '', null)
    measured = true
  } finally {
    const logins = await stop()
    const expected = 3 * (WARMUP_LOGINS + total)
    // every measured login really authenticated (a refused one would be cheaper and skew the ratio)
    if (measured && (logins.failed !== 0 || logins.ok !== expected)) {
      throw new Error(`the server counted ${logins.ok} logins and ${logins.failed} refusals, expected ${expected} logins`)
    }
  }
}

module.exports = { runLogin, lengthHeader }
