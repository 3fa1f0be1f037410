'use strict'

// The server side of the login benchmark (see login.js), in its own process so that its CPU is not
// counted as the client's. Prints one JSON line (where to connect, a signed token), serves until
// its stdin ends, then prints one more (how many logins succeeded and failed) and exits.

const { startOidcServer, createIdentityProvider } = require('../test-server')

// The claims of a typical Entra ID token, so the token has a typical size (~1.1 KB signed)
function entraLikeClaims() {
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  return {
    sub: 'alice',
    aud: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
    aio: 'AXQAi/8TAAAAbc3+8VZl1MzE3ZjBlNTItYjI4Yi00ZDcyLWE1ZWMtNzFhZTY2NjA5ZTVh',
    name: 'Alice Example',
    oid: '00000000-0000-0000-66f3-3332eca7ea81',
    preferred_username: 'alice@contoso.example',
    rh: '0.AXEAv4j5cvGGr0GRqy180BHbR-Zy-qTz2Lk2kTz9L_Z3vSlxAAA.',
    tid: tenant,
    uti: 'fqiBqXLPj0eQa82S-IYFAA',
    ver: '2.0',
  }
}

;(async () => {
  const mode = process.argv[2] || 'starrocks'
  const idp = await createIdentityProvider({ issuer: 'https://login.microsoftonline.com/72f988bf/v2.0' })
  const token = await idp.signIdToken(entraLikeClaims(), { expiresIn: 3600 })
  const server = await startOidcServer({ mode, tls: true, identityProviders: [idp], users: { alice: {} } })
  console.log(JSON.stringify({ mode, host: server.host, port: server.port, ca: server.ca, token }))
  process.stdin.resume()
  process.stdin.once('end', async () => {
    await server.close()
    const ok = server.authLog.filter((entry) => entry.ok).length
    console.log(JSON.stringify({ ok, failed: server.authLog.length - ok }))
    process.exit(0)
  })
})().catch((err) => {
  console.error(err)
  process.exit(1)
})
