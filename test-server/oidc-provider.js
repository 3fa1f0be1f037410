'use strict'

// A real OpenID provider (the oidc-provider package) on 127.0.0.1 with an ephemeral port, for the
// tests and the demo: client-credentials clients get RS256 JWT access tokens for one resource, with
// `sub` the client id and a `kid` header. Its discovery document (/.well-known/openid-configuration)
// and key set (/jwks) are what the embedded server reads with `{ issuer, discovery: true }`.

const crypto = require('node:crypto')
const http = require('node:http')
const path = require('node:path')
const jose = require('jose')

const PRIVATE_PARTS = ['d', 'p', 'q', 'dp', 'dq', 'qi']

async function generateSigningKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true })
  return { ...(await jose.exportJWK(privateKey)), kid: `op-${crypto.randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }
}

function publicPart(jwk) {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_PARTS.includes(name)))
}

// { clientId, clientSecret } (client_secret_basic) or { clientId, jwks } (private_key_jwt).
function clientMetadata(client) {
  if (!client || typeof client.clientId !== 'string' || client.clientId === '') throw new TypeError('each client needs a clientId string')
  const common = { client_id: client.clientId, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }
  if (client.jwks) return { ...common, token_endpoint_auth_method: 'private_key_jwt', jwks: client.jwks }
  return { ...common, client_secret: client.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * startOidcProvider({ clients, ttl, resource, audience, scope, unavailableFor }) -> provider
 *   clients: [{ clientId, clientSecret } | { clientId, jwks }], default one client with a random secret.
 *   ttl: access token lifetime in seconds (600). resource: the resource indicator ('urn:mysql'), the
 *   default when a client names none; its tokens carry aud `audience` ('mysql') and scope `scope` ('mysql').
 *   unavailableFor: answer 503 to the first n requests (a provider that is down).
 * The provider: { issuer, jwksUri, clientId, clientSecret, clients, resource, audience, scope, requests,
 *   jwks, publicJwk, kid, rotateKeys(), close() }. It never keeps the process alive; close() stops it.
 */
async function startOidcProvider(options = {}) {
  const { ttl = 600, resource = 'urn:mysql', audience = 'mysql', scope = 'mysql', unavailableFor = 0 } = options
  const clients = (options.clients || [{ clientId: 'mysql-client' }]).map((client) =>
    client.jwks || client.clientSecret ? { ...client } : { ...client, clientSecret: crypto.randomBytes(18).toString('base64url') },
  )
  const { default: Provider, errors } = await import('oidc-provider') // ESM only
  // Its own in-memory store is what a throw-away provider wants; given explicitly (a subclass), it
  // does not print the quick-start warning meant for production set-ups on every instance.
  const { default: MemoryAdapter } = await import('oidc-provider/lib/adapters/memory_adapter.js')
  class ThrowAwayAdapter extends MemoryAdapter {}
  const requests = [] // the path of every request, in order (the test counts discovery and JWKS reads)
  let unavailable = unavailableFor
  let handle = null
  const server = http.createServer((req, res) => {
    requests.push(req.url.split('?')[0])
    if (unavailable > 0) {
      unavailable--
      res.writeHead(503).end()
    } else handle(req, res)
  })
  // Neither the listener nor an idle keep-alive connection keeps the process running.
  server.on('connection', (socket) => socket.unref())
  await listen(server)
  server.unref()
  const issuer = `http://127.0.0.1:${server.address().port}`

  let keys = [await generateSigningKey()] // the first one signs
  const build = () => {
    const signingKid = keys[0].kid
    const provider = new Provider(issuer, {
      clients: clients.map(clientMetadata),
      features: {
        clientCredentials: { enabled: true },
        devInteractions: { enabled: false },
        // A resource indicator makes the access token a JWT for that audience (else it is opaque).
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo(ctx, indicator) {
            if (indicator !== resource) throw new errors.InvalidTarget()
            return { scope, audience, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256', kid: signingKid } } }
          },
        },
      },
      ttl: { ClientCredentials: ttl },
      adapter: ThrowAwayAdapter,
      jwks: { keys },
      cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    })
    handle = provider.callback()
  }
  build()

  let closing = null
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    clientId: clients[0].clientId,
    clientSecret: clients[0].clientSecret,
    clients,
    resource,
    audience,
    scope,
    requests,
    /** The published key set (public keys, newest first). */
    get jwks() {
      return { keys: keys.map(publicPart) }
    },
    /** The signing key's public JWK alone (MySQL Enterprise takes one key per provider). */
    get publicJwk() {
      return publicPart(keys[0])
    },
    /** The signing key's kid. */
    get kid() {
      return keys[0].kid
    },
    /** A new signing key, published with the old ones (kept unless keepOld: false); resolves to its kid. */
    async rotateKeys({ keepOld = true } = {}) {
      keys = [await generateSigningKey(), ...(keepOld ? keys : [])]
      build() // oidc-provider reads its keys once: the same issuer and port, a new instance behind them
      return keys[0].kid
    },
    close() {
      closing =
        closing ||
        new Promise((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      return closing
    },
  }
}

/**
 * For `npm run demo`: a provider with one client (`clientId`, default 'alice') and the package's own
 * `fromOAuthClientCredentials` as getToken, all on loopback. The account's principal is the client id.
 */
async function startDemoIdentityProvider({ clientId = 'alice', ttl } = {}) {
  const provider = await startOidcProvider({ clients: [{ clientId }], ttl })
  const { fromOAuthClientCredentials } = require(path.join(__dirname, '..', 'main.js'))
  const getToken = fromOAuthClientCredentials({
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    resource: provider.resource,
    use: 'access_token',
  })
  return Object.assign(provider, { getToken })
}

module.exports = { startOidcProvider, startDemoIdentityProvider }
