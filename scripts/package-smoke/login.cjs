// Real logins with the installed package: mysql2 over TLS and over a local socket to the embedded
// servers that login-server.cjs started, the token read from a file by authPlugins({ tokenFile });
// and a plain-TCP server that must be refused (the transport rule holds on every runtime).
//   SMOKE_SERVER=/path/to/server.json <runtime> login.cjs
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const mysql = require('mysql2/promise')
const { authPlugins } = require('mysql-openid-connect')

async function currentUser(options) {
  const connection = await mysql.createConnection(options)
  try {
    const [rows] = await connection.query('SELECT CURRENT_USER()')
    return rows[0]['CURRENT_USER()']
  } finally {
    await connection.end()
  }
}

async function main() {
  const server = JSON.parse(fs.readFileSync(process.env.SMOKE_SERVER, 'utf8'))
  const common = { user: server.user, authPlugins: authPlugins({ tokenFile: server.tokenFile }) }
  const tls = { host: server.host, port: server.port, ssl: { ca: fs.readFileSync(server.caFile, 'utf8') } }
  // three TLS logins (the later ones resume the first TLS session), then a second login on one
  // connection after the server's session tickets arrived: the peer check must hold in each case
  for (let i = 0; i < 3; i++) assert.equal(await currentUser({ ...tls, ...common }), `${server.user}@%`)
  const connection = await mysql.createConnection({ ...tls, ...common })
  await connection.query('SELECT 1')
  await connection.changeUser({ user: server.user })
  await connection.end()
  assert.equal(await currentUser({ socketPath: server.socketPath, ...common }), `${server.user}@%`)
  const refused = await currentUser({ host: server.host, port: server.plainPort, ...common }).then(
    () => 'connected',
    (err) => err.oidcCode,
  )
  assert.equal(refused, 'ERR_OIDC_INSECURE_TRANSPORT', 'plain TCP must be refused')
  const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `node ${process.version}`
  console.log(`smoke login: ok (${runtime}: mysql2 over TLS (resumed sessions and changeUser too) and a local socket, logged in as ${server.user}@% with the OIDC plugin; plain TCP refused)`)
}

main().catch((err) => {
  console.error(`smoke login failed: ${err.message}`)
  process.exit(1)
})
