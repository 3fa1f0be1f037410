'use strict'

// Run by scripts/test-mysql2-range.sh with a mysql2 older than the supported range swapped in
// (3.14.3: its TLS socket is hidden from plugins). A TLS login must be refused with the package's
// own code and a message naming the mysql2 it needs, the token must never reach the server, and
// the process must not crash. Prints 'below-range: N passed, N failed'.
const assert = require('node:assert/strict')
const path = require('node:path')
const mysql = require('mysql2/promise')

const root = path.join(__dirname, '..', '..')
const { authPlugins, oidcCodeOf } = require(root)
const { startOidcServer, createIdentityProvider } = require(path.join(root, 'test-server', 'index.js'))

async function main() {
  const idp = await createIdentityProvider({ issuer: 'https://idp.range.test', alg: 'RS256' })
  const server = await startOidcServer({ mode: 'percona', identityProviders: [idp], users: { alice: {} } })
  let passed = 0
  let failed = 0
  try {
    const token = await idp.signIdToken({ sub: 'alice' })
    const options = { host: server.host, port: server.port, user: 'alice', ssl: { ca: server.ca }, authPlugins: authPlugins({ token }) }
    let err
    try {
      const connection = await mysql.createConnection(options)
      await connection.end()
    } catch (caught) {
      err = caught
    }
    try {
      assert.ok(err, 'the login must fail')
      assert.equal(oidcCodeOf(err), 'ERR_OIDC_UNSUPPORTED_MYSQL2')
      assert.match(err.message, /mysql2 3\.14\.4 or later/)
      assert.ok(!err.message.includes(token) && !server.authLog.some((entry) => entry.tokenBytes > 0), 'the token stayed home')
      passed++
    } catch (failure) {
      failed++
      console.error(failure)
    }
  } finally {
    await server.close()
  }
  console.log(`below-range: ${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 ? 0 : 1
}

main()
