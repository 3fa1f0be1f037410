// The embedded MySQL Enterprise-style server (TLS) for the installed-package login smoke test, run
// by the build machine's Node from the repo (the test server is not part of the package):
//   node login-server.cjs OUT_DIR
// writes OUT_DIR/server.json ({ host, port, user, caFile, tokenFile, socketPath, plainPort }) once it listens, and stops
// when its standard input closes (or after 15 minutes, whichever comes first).
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { startOidcServer, createIdentityProvider, localSocketPath } = require('../../test-server/index.js')

async function main() {
  const dir = process.argv[2]
  const idp = await createIdentityProvider({ issuer: 'https://idp.smoke.test', alg: 'RS256' })
  const server = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} } })
  // the same logins over a local socket (secure without TLS), and a plain-TCP server that must get nothing
  const overSocket = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} }, tls: false, socketPath: localSocketPath('smoke') })
  const plain = await startOidcServer({ mode: 'starrocks', identityProviders: [idp], users: { alice: {} }, tls: false })
  const caFile = path.join(dir, 'ca.pem')
  const tokenFile = path.join(dir, 'token')
  fs.writeFileSync(caFile, server.ca)
  fs.writeFileSync(tokenFile, `${await idp.signIdToken({ sub: 'alice' }, { expiresIn: '20m' })}\n`)
  const info = { host: server.host, port: server.port, user: 'alice', caFile, tokenFile, socketPath: overSocket.socketPath, plainPort: plain.port }
  fs.writeFileSync(path.join(dir, 'server.json.tmp'), JSON.stringify(info))
  fs.renameSync(path.join(dir, 'server.json.tmp'), path.join(dir, 'server.json'))
  const stop = () => Promise.all([server.close(), overSocket.close(), plain.close()]).then(() => process.exit(0))
  process.stdin.on('end', stop).on('close', stop).resume()
  setTimeout(stop, 15 * 60_000).unref()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
