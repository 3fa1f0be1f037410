'use strict'
// The demo: log in to a MySQL-protocol server with an OpenID Connect ID token through mysql2.
//
//   npm run demo                      embedded server (TLS) + a real OpenID provider on 127.0.0.1
//   MYSQL_HOST=db.example.com MYSQL_USER=alice OIDC_TOKEN_FILE=/path/to/token npm run demo
//                                     your real server (MYSQL_PORT, MYSQL_SSL_CA optional)

const fs = require('node:fs')
const mysql = require('mysql2/promise')

const { authPlugins, inspectIdToken } = require('../main.js')

async function loginAndShowUser(options, label) {
  const connection = await mysql.createConnection(options)
  try {
    const [rows] = await connection.query('SELECT CURRENT_USER()')
    console.log(`${label}: logged in as ${rows[0]['CURRENT_USER()']}`)
  } finally {
    await connection.end()
  }
}

async function embeddedDemo() {
  // the embedded server's identity provider uses jose, which is ESM-only: require() of it needs Node >= 20.19
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`the embedded demo needs Node.js 20.19 or later to develop with (this is ${process.version}); the package itself needs only Node.js 20`)
  }
  const { startOidcServer, startDemoIdentityProvider } = require('../test-server/index.js')
  // a real OpenID provider (oidc-provider) on 127.0.0.1, giving client 'alice' RS256 tokens by client credentials
  const idp = await startDemoIdentityProvider({ clientId: 'alice' })
  let server
  try {
    // Percona-style: the server discovers the provider's keys (/.well-known/openid-configuration, jwks_uri)
    server = await startOidcServer({
      mode: 'percona',
      identityProviders: [{ issuer: idp.issuer, discovery: true }],
      users: { alice: { identityProvider: idp.issuer } },
    })
    console.log(`identity provider (oidc-provider) at ${idp.issuer}`)
    console.log(`embedded Percona-style server on ${server.host}:${server.port} (TLS, auth_openid_connect, keys by discovery)`)
    const getToken = async (context) => {
      const token = await idp.getToken(context)
      const { claims, expiresAt } = inspectIdToken(token)
      console.log(`client credentials gave an RS256 token for sub=${claims.sub}, expires ${expiresAt.toISOString()}`)
      return token
    }
    await loginAndShowUser(
      { host: server.host, port: server.port, user: 'alice', ssl: { ca: server.ca }, authPlugins: authPlugins({ getToken }) },
      'mysql2',
    )
  } finally {
    await server?.close()
    await idp.close()
  }
}

async function realServerDemo(env) {
  const options = {
    host: env.MYSQL_HOST,
    port: env.MYSQL_PORT ? Number(env.MYSQL_PORT) : 3306,
    user: env.MYSQL_USER,
    ssl: env.MYSQL_SSL_CA ? { ca: fs.readFileSync(env.MYSQL_SSL_CA) } : {},
    authPlugins: authPlugins({ tokenFile: env.OIDC_TOKEN_FILE }),
  }
  await loginAndShowUser(options, `${options.host}:${options.port}`)
}

const env = process.env
const real = ['MYSQL_HOST', 'MYSQL_USER', 'OIDC_TOKEN_FILE'].filter((name) => env[name])
if (real.length > 0 && real.length < 3) {
  console.error('set all of MYSQL_HOST, MYSQL_USER and OIDC_TOKEN_FILE to use a real server (or none for the demo)')
  process.exit(2)
}
;(real.length === 3 ? realServerDemo(env) : embeddedDemo()).catch((err) => {
  // our errors end with their code already
  console.error(`demo failed: ${err.message}`)
  process.exit(1)
})
