'use strict'

// The client side of the memory benchmark (see memory.js); run with --expose-gc. Prints one JSON
// line: memory at start (after a warm-up), after the openidConnectAuthResponse calls, after the connections.

const v8 = require('node:v8')
const mysql = require('mysql2/promise')
const { openidConnectAuthResponse, authPlugins } = require('../main.js')

const ENCODES = 1_000_000
const CONNECTIONS = 10_000
const PARALLEL = 8

const { host, port, ca, token } = JSON.parse(process.env.BENCH_SERVER)
const options = { host, port, ssl: { ca }, user: 'alice', authPlugins: authPlugins({ token }) }

function settle() {
  for (let i = 0; i < 4; i++) global.gc()
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  return { rss, heapUsed, external, arrayBuffers, newSpace: newSpace ? newSpace.space_size : 0 }
}

async function connectCycles(count) {
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      const connection = await mysql.createConnection(options)
      await connection.end()
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
}

function encode(count) {
  let bytes = 0
  for (let i = 0; i < count; i++) bytes += openidConnectAuthResponse(token).length
  return bytes
}

;(async () => {
  // warm-up, ending with encodes like the first measured phase: lazy initialization, JIT, TLS state,
  // allocator pools, and V8's young generation (which grows under allocation) settle first
  await connectCycles(500)
  encode(300_000)
  const start = settle()
  let t0 = Date.now()
  encode(ENCODES)
  const encodeSeconds = (Date.now() - t0) / 1000
  const encoded = settle()
  t0 = Date.now()
  await connectCycles(CONNECTIONS)
  const connectSeconds = (Date.now() - t0) / 1000
  await new Promise((resolve) => setTimeout(resolve, 200))
  const connected = settle()
  console.log(JSON.stringify({ start, encoded, connected, seconds: { encode: encodeSeconds, connect: connectSeconds } }))
})().catch((err) => {
  console.error(err)
  process.exit(1)
})
