'use strict'

// Encoding speed: openidConnectAuthResponse against the hand-written JS framing of the StarRocks
// issue and against a native floor that frames and checks nothing. Every figure is a ratio of runs
// in this process, interleaved over several rounds (median), because the machine is shared.

const { Bench } = require('tinybench')
const { openidConnectAuthResponse } = require('../index.js')
const { makeToken } = require('./tokens.js')
const { record, fmtOps, fmtRatio, table } = require('./report.js')

// calls per timed iteration, so the timer's own cost does not swamp a sub-microsecond call
const BATCH = 200
const ROUNDS = 5
const SIZES = [100, 1300, 9000]
const TYPICAL = 1300

// The StarRocks issue's framing: capability byte, length header, token, joined by Buffer.concat.
function lengthHeader(length) {
  if (length < 251) return Buffer.from([length])
  const header = Buffer.alloc(3)
  header[0] = 0xfc
  header.writeUInt16LE(length, 1)
  return header
}
function jsFraming(token) {
  const body = Buffer.from(token)
  return Buffer.concat([Buffer.from([0x01]), lengthHeader(body.length), body])
}

const FRAMING_ONLY = { validate: false }

function candidates(floor) {
  return {
    'JS framing (StarRocks issue)': jsFraming,
    'floor: native, no work': floor.benchFloor,
    'ours, validate: false': (token) => openidConnectAuthResponse(token, FRAMING_ONLY),
    'ours, default checks': (token) => openidConnectAuthResponse(token),
    'napi-rs String -> Buffer (info)': floor.benchNapiRsDefault,
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function measure(fns, token) {
  const samples = Object.fromEntries(Object.keys(fns).map((name) => [name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ time: 250, warmupTime: 50, iterations: 20 })
    for (const [name, fn] of Object.entries(fns)) {
      bench.add(name, () => {
        for (let i = 0; i < BATCH; i++) fn(token)
      })
    }
    await bench.run()
    for (const task of bench.tasks) samples[task.name].push(task.result.throughput.mean * BATCH)
  }
  return Object.fromEntries(Object.entries(samples).map(([name, ops]) => [name, median(ops)]))
}

async function runEncode(floor) {
  console.log('\n== Encoding: ops/s (median of %d interleaved rounds, %d calls per sample) ==', ROUNDS, BATCH)
  const fns = candidates(floor)
  for (const size of SIZES) {
    const token = makeToken(size)
    const expected = jsFraming(token)
    for (const name of ['ours, validate: false', 'ours, default checks']) {
      if (!fns[name](token).equals(expected)) throw new Error(`${name} differs from the JS framing at ${size} B`)
    }
    const ops = await measure(fns, token)
    const js = ops['JS framing (StarRocks issue)']
    const floorOps = ops['floor: native, no work']
    const rows = Object.entries(ops).map(([name, value]) => [name, fmtOps(value), fmtRatio(value / js), fmtRatio(floorOps / value)])
    console.log(`\n${size} B token (${size === TYPICAL ? 'a typical Entra ID token' : size < TYPICAL ? 'small' : 'large'})`)
    console.log(table([['', 'ops/s', 'vs JS framing', 'time vs floor'], ...rows]))
    const framing = ops['ours, validate: false']
    const checked = ops['ours, default checks']
    const label = `${size} B`
    if (size === TYPICAL) {
      record('encode', `${label}: framing only vs JS framing`, fmtRatio(framing / js), '≥ 3×', framing / js >= 3)
      record('encode', `${label}: framing only, time vs floor`, fmtRatio(floorOps / framing), '≤ 1.5×', floorOps / framing <= 1.5)
      record('encode', `${label}: default checks vs JS framing`, fmtRatio(checked / js), '≥ 1×', checked / js >= 1)
    } else {
      record('encode', `${label}: framing only vs JS framing`, fmtRatio(framing / js), '', null)
      record('encode', `${label}: default checks vs JS framing`, fmtRatio(checked / js), '', null)
    }
  }
}

module.exports = { runEncode, jsFraming }
