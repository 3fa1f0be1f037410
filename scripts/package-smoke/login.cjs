// A real login with the installed package: mysql2 over TLS to the embedded server that
// login-server.cjs started, the token read from a file by authPlugins({ tokenFile }).
//   SMOKE_SERVER=/path/to/server.json <runtime> login.cjs
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const mysql = require('mysql2/promise')
const { authPlugins } = require('mysql-openid-connect')

async function main() {
  const server = JSON.parse(fs.readFileSync(process.env.SMOKE_SERVER, 'utf8'))
  const connection = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    ssl: { ca: fs.readFileSync(server.caFile, 'utf8') },
    authPlugins: authPlugins({ tokenFile: server.tokenFile }),
  })
  try {
    const [rows] = await connection.query('SELECT CURRENT_USER()')
    assert.equal(rows[0]['CURRENT_USER()'], `${server.user}@%`)
  } finally {
    await connection.end()
  }
  const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `node ${process.version}`
  console.log(`smoke login: ok (${runtime}: mysql2 over TLS, logged in as ${server.user}@% with the OIDC plugin)`)
}

main().catch((err) => {
  console.error(`smoke login failed: ${err.message}`)
  process.exit(1)
})
