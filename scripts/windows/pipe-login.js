'use strict'
// A mysql2 login over a Windows named pipe, with the OIDC plugin, against the embedded server:
// run by the Windows node.exe from the repo root (scripts/windows-check.sh). The plugin treats a
// local socket (here \\.\pipe\...) as a secure transport, so the token goes without TLS.
const assert = require('node:assert/strict')
const mysql = require('mysql2/promise')

const { authPlugins } = require('../../main.js')
const { startOidcServer, createIdentityProvider, localSocketPath } = require('../../test-server/index.js')

async function main() {
  assert.equal(process.platform, 'win32', 'run this with the Windows node.exe')
  const socketPath = localSocketPath('pipe-login')
  assert.match(socketPath, /^\\\\\.\\pipe\\/, `a named pipe path, got ${socketPath}`)
  const idp = await createIdentityProvider({ issuer: 'https://idp.pipe.test', alg: 'RS256' })
  const server = await startOidcServer({ mode: 'mysql-enterprise', tls: false, socketPath, identityProviders: [idp], users: { alice: {} } })
  try {
    const connection = await mysql.createConnection({
      socketPath,
      user: 'alice',
      authPlugins: authPlugins({ getToken: () => idp.signIdToken({ sub: 'alice' }) }),
    })
    try {
      const [rows] = await connection.query('SELECT CURRENT_USER()')
      assert.equal(rows[0]['CURRENT_USER()'], 'alice@%')
    } finally {
      await connection.end()
    }
    assert.equal(server.authLog.length, 1)
    assert.equal(server.authLog[0].transport, 'unix', 'the server saw a local-socket login')
    assert.equal(server.authLog[0].ok, true)
    assert.equal(server.authLog[0].plugin, 'authentication_openid_connect_client')
    console.log(`named pipe ${socketPath}: logged in as ${server.authLog[0].user}@% (${server.authLog[0].plugin}, node ${process.version} ${process.platform}-${process.arch})`)
  } finally {
    await server.close()
  }
}

main().catch((err) => {
  console.error(`pipe-login failed: ${err.stack || err}`)
  process.exit(1)
})
