'use strict'

// A cold pool of 200 connections opened at once with an async getToken: the provider must be asked
// once (the plugin's cache and single flight), and the time to all-connected is measured.

const mysql = require('mysql2/promise')
const { authPlugins } = require('../main.js')
const { startOidcServer, createIdentityProvider } = require('../test-server')
const { record, fmtMs } = require('./report.js')

const CONNECTIONS = 200
const PROVIDER_DELAY_MS = 50

async function runPool() {
  console.log('\n== Pool: %d connections opened at once, async getToken (%d ms) ==', CONNECTIONS, PROVIDER_DELAY_MS)
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test' })
  const token = await idp.signIdToken({ sub: 'alice' }, { expiresIn: 3600 })
  const server = await startOidcServer({ identityProviders: [idp], users: { alice: {} } })
  let calls = 0
  const getToken = async () => {
    calls++
    await new Promise((resolve) => setTimeout(resolve, PROVIDER_DELAY_MS))
    return token
  }
  const pool = mysql.createPool({
    host: server.host,
    port: server.port,
    ssl: { ca: server.ca },
    user: 'alice',
    connectionLimit: CONNECTIONS,
    authPlugins: authPlugins({ getToken }),
  })
  try {
    const started = process.hrtime.bigint()
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.getConnection()))
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    await Promise.all(connections.map((c) => c.query('SELECT 1')))
    connections.forEach((c) => c.release())
    const logins = server.authLog.filter((entry) => entry.ok).length
    console.log(`${logins} logins, ${calls} provider call(s), all connected in ${fmtMs(ms)}`)
    record('pool', `provider calls for ${CONNECTIONS} cold connections`, String(calls), '= 1', calls === 1)
    record('pool', `time to all ${CONNECTIONS} connected (TLS)`, fmtMs(ms), '', null)
  } finally {
    await pool.end()
    await server.close()
  }
}

module.exports = { runPool }
