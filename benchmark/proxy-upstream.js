'use strict'

// The upstream of the proxy benchmark (see proxy.js), in its own process: a throwaway MariaDB behind
// the embedded OIDC server (TLS). Prints one JSON line (where to connect, a signed token), serves
// until its stdin ends, then stops.

const { startOidcServer, createIdentityProvider } = require('../test-server')
const { startMariaDb } = require('../test-server/mariadb.js')

;(async () => {
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test' })
  const token = await idp.signIdToken({ sub: 'alice' }, { expiresIn: 3600 })
  const backend = await startMariaDb()
  const server = await startOidcServer({ tls: true, identityProviders: [idp], users: { alice: {} }, backend })
  console.log(JSON.stringify({ host: server.host, port: server.port, ca: server.ca, token, database: backend.database }))
  process.stdin.resume()
  process.stdin.once('end', async () => {
    await server.close()
    await backend.close()
    process.exit(0)
  })
})().catch((err) => {
  console.error(err)
  process.exit(1)
})
