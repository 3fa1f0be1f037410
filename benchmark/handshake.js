'use strict'

// Handshake: mysql2 connect + SELECT 1 + end over TLS to the embedded server (StarRocks mode, whose
// default method is mysql_native_password), once with this plugin and once with a password
// account on the same server, interleaved. The plugin's share is the time spent inside the plugin
// (its mysql2 callbacks, timed around each call) over the whole connect time.

const mysql = require('mysql2/promise')
const { authPlugins } = require('../main.js')
const { startOidcServer, createIdentityProvider } = require('../test-server')
const { record, fmtMs, table } = require('./report.js')

const CYCLES = 300
const PLUGIN = 'authentication_openid_connect_client'

/** Wraps the plugin so every call into it (outer per connection, inner per request) is timed. */
function timedPlugins(plugins, timing) {
  const timed = (fn) => (...args) => {
    const started = process.hrtime.bigint()
    try {
      return fn(...args)
    } finally {
      timing.ns += process.hrtime.bigint() - started
    }
  }
  return { [PLUGIN]: timed((meta) => timed(plugins[PLUGIN](meta))) }
}

async function cycle(options) {
  const started = process.hrtime.bigint()
  const connection = await mysql.createConnection(options)
  await connection.query('SELECT 1')
  await connection.end()
  return Number(process.hrtime.bigint() - started) / 1e6
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function runHandshake() {
  console.log('\n== Handshake: connect + SELECT 1 + end over TLS, %d of each, interleaved ==', CYCLES)
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test' })
  const token = await idp.signIdToken({ sub: 'alice' }, { expiresIn: 3600 })
  const server = await startOidcServer({ mode: 'starrocks', identityProviders: [idp], users: { alice: {}, bob: { password: 'bench-pw' } } })
  try {
    const tls = { host: server.host, port: server.port, ssl: { ca: server.ca } }
    const timing = { ns: 0n }
    const oidc = { ...tls, user: 'alice', authPlugins: timedPlugins(authPlugins({ token }), timing) }
    const native = { ...tls, user: 'bob', password: 'bench-pw' }
    for (let i = 0; i < 20; i++) await Promise.all([cycle(oidc), cycle(native)]) // warm-up
    timing.ns = 0n
    const times = { oidc: [], native: [] }
    for (let i = 0; i < CYCLES; i++) {
      times.oidc.push(await cycle(oidc))
      times.native.push(await cycle(native))
    }
    const pluginMs = Number(timing.ns) / 1e6 / CYCLES
    const oidcMs = median(times.oidc)
    const nativeMs = median(times.native)
    const share = pluginMs / oidcMs
    console.log(table([
      ['', 'median per connection'],
      ['OIDC plugin (alice)', fmtMs(oidcMs)],
      ['mysql_native_password (bob)', fmtMs(nativeMs)],
      ['time inside the plugin', `${(pluginMs * 1000).toFixed(1)} µs`],
    ]))
    record('handshake', 'plugin share of connect time', `${(share * 100).toFixed(2)} %`, '≤ 1 %', share <= 0.01)
    record('handshake', 'OIDC vs native connect (info)', `${fmtMs(oidcMs)} vs ${fmtMs(nativeMs)}`, '', null)
    if (!server.authLog.every((entry) => entry.ok)) throw new Error('a benchmark login failed')
  } finally {
    await server.close()
  }
}

module.exports = { runHandshake }
