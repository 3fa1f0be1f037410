'use strict'

// Memory: RSS, V8 heap and external memory of a client process (no server in it) before and after
// 1 000 000 openidConnectAuthResponse calls (default checks) and 10 000 connect/close cycles. RSS
// covers the native side (Rust allocations, Node's own), heapUsed the JS heap, external +
// arrayBuffers the Buffers. Growth target: ≤ 5 MB.

const { spawn } = require('node:child_process')
const path = require('node:path')
const { startOidcServer, createIdentityProvider } = require('../test-server')
const { record, fmtMB, table } = require('./report.js')

const TARGET_BYTES = 5 * 1024 * 1024

async function runMemory() {
  console.log('\n== Memory: 1 000 000 openidConnectAuthResponse calls, then 10 000 connect/close cycles (TLS), in a client-only process ==')
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test' })
  const token = await idp.signIdToken({ sub: 'alice' }, { expiresIn: 3600 })
  const server = await startOidcServer({ identityProviders: [idp], users: { alice: {} } })
  try {
    const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'memory-client.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_SERVER: JSON.stringify({ host: server.host, port: server.port, ca: server.ca, token }) },
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    if (code !== 0) throw new Error(`the memory client failed (exit ${code}): ${output}`)
    const { start, encoded, connected, seconds } = JSON.parse(output.trim().split('\n').pop())
    const row = (name, key) => [name, fmtMB(start[key]).replace('+', ''), fmtMB(encoded[key] - start[key]), fmtMB(connected[key] - start[key])]
    console.log(table([
      ['', 'at start', 'after 1 M responses', 'after 10 000 connections'],
      row('rss (all, native included)', 'rss'),
      row('heapUsed (JS heap)', 'heapUsed'),
      row('external (Buffers, native)', 'external'),
      row('arrayBuffers', 'arrayBuffers'),
      row('V8 young generation (in rss)', 'newSpace'),
    ]))
    console.log(`(responses took ${seconds.encode.toFixed(1)} s, connections ${seconds.connect.toFixed(1)} s)`)
    const encodeGrowth = encoded.rss - start.rss
    const connectGrowth = connected.rss - encoded.rss
    record('memory', 'RSS growth over 1 M openidConnectAuthResponse calls', fmtMB(encodeGrowth), '≤ 5 MB', encodeGrowth <= TARGET_BYTES)
    record('memory', 'RSS growth over 10 000 connect/close', fmtMB(connectGrowth), '≤ 5 MB', connectGrowth <= TARGET_BYTES)
    const heapGrowth = connected.heapUsed - start.heapUsed
    record('memory', 'JS heap growth over both', fmtMB(heapGrowth), '≤ 5 MB', heapGrowth <= TARGET_BYTES)
  } finally {
    await server.close()
  }
}

module.exports = { runMemory }
