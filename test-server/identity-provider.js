'use strict'

// A local OpenID Connect identity provider (keys, a JWKS, ID tokens signed with jose), and the
// server's side of identity providers: their keys, given or discovered. What each server checks of
// a token lives in modes/<mode>.js; a real provider for tests and the demo is oidc-provider.js.

const crypto = require('node:crypto')
const http = require('node:http')
const net = require('node:net')
const jose = require('jose')

async function generateSigningKey(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicJwk }
}

// `expiresIn`: seconds from now (negative: already expired), a jose time span such as '10m', or null: no exp.
function expirationTime(expiresIn, nowSeconds) {
  if (typeof expiresIn === 'number') return nowSeconds + expiresIn
  return expiresIn
}

async function signWith(signingKey, claims, { expiresIn = 600, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new jose.SignJWT({ ...claims }).setProtectedHeader({ alg: signingKey.alg, typ: 'JWT', kid: signingKey.kid, ...header })
  if (claims.iat === undefined) jwt.setIssuedAt(now)
  if (claims.exp === undefined && expiresIn !== null) jwt.setExpirationTime(expirationTime(expiresIn, now))
  return jwt.sign(signingKey.privateKey)
}

/**
 * createIdentityProvider({ issuer, alg }) -> { issuer, alg, jwks, publicJwk, signIdToken, signWithForeignKey, secret? }
 * The JWKS holds two keys ('primary' and 'other', as during a key rollover); `publicJwk` is the
 * primary alone (MySQL Enterprise takes one key per provider). 'HS256' makes a shared-secret
 * provider (empty JWKS, `secret`): no emulated server takes it, which tests can show.
 */
async function createIdentityProvider({ issuer = 'https://idp.example.test', alg = 'RS256' } = {}) {
  const tag = crypto.randomBytes(4).toString('hex')
  if (alg.startsWith('HS')) {
    const secret = crypto.randomBytes(32)
    const hmacKey = { kid: `${tag}-hmac`, alg, privateKey: secret }
    return {
      issuer,
      alg,
      secret,
      jwks: { keys: [] },
      signIdToken: (claims, options) => signWith(hmacKey, { iss: issuer, ...claims }, options),
      signWithForeignKey: (claims, options) =>
        signWith({ ...hmacKey, privateKey: crypto.randomBytes(32) }, { iss: issuer, ...claims }, options),
    }
  }
  const primary = await generateSigningKey(alg, `${tag}-primary`)
  const other = await generateSigningKey(alg, `${tag}-other`)
  let foreign = null
  return {
    issuer,
    alg,
    jwks: { keys: [primary.publicJwk, other.publicJwk] },
    publicJwk: primary.publicJwk,
    // options: { expiresIn, header, key: 'primary' | 'other' }; claims may override iss, iat, exp.
    signIdToken(claims, options = {}) {
      return signWith(options.key === 'other' ? other : primary, { iss: issuer, ...claims }, options)
    },
    // Same kid as the primary key, different private key: the server finds a key and the signature fails.
    async signWithForeignKey(claims, options = {}) {
      foreign = foreign || (await generateSigningKey(alg, primary.kid))
      return signWith(foreign, { iss: issuer, ...claims }, options)
    },
  }
}

// Where keys come from by discovery (Percona and StarRocks take a key-set URL; the embedded server
// finds it as an admin would, from the issuer's discovery document). Only loopback http is fetched:
// tests have no network, and a document pointing elsewhere is refused before any request.
const MAX_DOCUMENT_BYTES = 512000 // Percona's jwks.cc write_callback cap (500 KB); StarRocks has none
const FETCH_TIMEOUT_MS = 10_000 // Percona's CURLOPT_TIMEOUT; StarRocks' URL.openStream() has none

function discoveryError(message) {
  return Object.assign(new Error(message), { code: 'ERR_KEY_DISCOVERY' })
}

/** `value` as a URL on a literal loopback address over http (no name, so no DNS), or a refusal. */
function loopbackUrl(value, what) {
  let url
  try {
    url = new URL(value)
  } catch {
    throw discoveryError(`${what} is not a URL`)
  }
  const host = url.hostname
  const loopback = host === '[::1]' || (net.isIPv4(host) && host.startsWith('127.'))
  if (url.protocol !== 'http:' || !loopback) {
    throw discoveryError(`${what} ${url.href} is not http on a loopback address: the embedded server fetches nothing else (no network in tests)`)
  }
  return url
}

/** GET a JSON document: 2xx only, no redirects, at most MAX_DOCUMENT_BYTES within FETCH_TIMEOUT_MS. */
function getJson(url, what) {
  return new Promise((resolve, reject) => {
    const fail = (message) => {
      clearTimeout(timer)
      request.destroy()
      reject(discoveryError(`${what} ${url.href}: ${message}`))
    }
    const request = http.get(url, { agent: false, headers: { accept: 'application/json' } }, (response) => {
      if (response.statusCode < 200 || response.statusCode >= 300) return fail(`HTTP ${response.statusCode}`)
      const chunks = []
      let size = 0
      response.on('data', (chunk) => {
        size += chunk.length
        if (size > MAX_DOCUMENT_BYTES) fail(`over ${MAX_DOCUMENT_BYTES} bytes`)
        else chunks.push(chunk)
      })
      response.on('error', (err) => fail(err.code || err.message))
      response.on('end', () => {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch {
          reject(discoveryError(`${what} ${url.href}: not JSON`))
        }
      })
    })
    request.on('error', (err) => fail(err.code || err.message))
    const timer = setTimeout(() => fail(`no answer within ${FETCH_TIMEOUT_MS} ms`), FETCH_TIMEOUT_MS)
  })
}

/** The issuer's jwks_uri, from its discovery document (whose issuer must be this one, OIDC Discovery 4.3). */
async function discoverJwksUri(issuer, documentUrl) {
  const document = await getJson(loopbackUrl(documentUrl, 'discovery document'), 'discovery document')
  if (!document || typeof document !== 'object') throw discoveryError(`discovery document ${documentUrl} is not an object`)
  if (document.issuer !== issuer) throw discoveryError(`discovery document ${documentUrl} names another issuer`)
  if (typeof document.jwks_uri !== 'string') throw discoveryError(`discovery document ${documentUrl} has no jwks_uri`)
  return loopbackUrl(document.jwks_uri, 'jwks_uri')
}

async function fetchKeys(jwksUri) {
  const set = await getJson(jwksUri, 'key set')
  if (!set || !Array.isArray(set.keys)) throw discoveryError(`key set ${jwksUri.href} has no keys array`)
  return set.keys
}

// { issuer, discovery: true } or { issuer, discoveryUrl }: the mode says when keys are read.
async function discoveredProvider(p, audience, modeSettings) {
  if (p.jwks || p.publicJwk) throw new TypeError(`identity provider ${p.issuer}: give jwks/publicJwk or discovery, not both`)
  if (!modeSettings.keyDiscovery) throw new TypeError(`${modeSettings.name} does not discover keys: ${modeSettings.keySource}`)
  const documentUrl = p.discoveryUrl || `${p.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
  try {
    const jwksUri = await discoverJwksUri(p.issuer, documentUrl)
    if (modeSettings.keyDiscovery === 'per-login') {
      return { issuer: p.issuer, jwksUri: jwksUri.href, audience, loadKeys: () => fetchKeys(jwksUri) }
    }
    const keys = await fetchKeys(jwksUri) // 'startup': read once, kept for the server's life
    return { issuer: p.issuer, jwksUri: jwksUri.href, jwks: { keys }, audience, loadKeys: async () => keys }
  } catch (err) {
    if (err.code !== 'ERR_KEY_DISCOVERY') throw err
    throw discoveryError(`startOidcServer: keys of identity provider ${p.issuer} could not be discovered: ${err.message}`)
  }
}

// Accepts createIdentityProvider() results, plain { issuer, jwks?, publicJwk?, audience? } objects, or
// { issuer, discovery: true | discoveryUrl, audience? }. `audience` falls back to the server-wide one.
// Each prepared provider has loadKeys(): its key set now (a discovered per-login one is fetched).
async function prepareProviders(providers, defaultAudience, modeSettings) {
  return Promise.all(
    providers.map(async (p) => {
      if (!p || typeof p.issuer !== 'string') throw new TypeError('each identity provider needs an issuer string')
      const audience = p.audience !== undefined ? p.audience : defaultAudience
      if (p.discovery || p.discoveryUrl) return discoveredProvider(p, audience, modeSettings)
      if (!p.jwks && !p.publicJwk) throw new TypeError(`identity provider ${p.issuer} needs a jwks, a publicJwk or discovery`)
      const keys = p.jwks ? p.jwks.keys : [p.publicJwk]
      if (!Array.isArray(keys)) throw new TypeError(`identity provider ${p.issuer}: jwks.keys must be an array`)
      return { issuer: p.issuer, jwks: { keys }, publicJwk: p.publicJwk, audience, loadKeys: async () => keys }
    }),
  )
}

module.exports = { createIdentityProvider, prepareProviders }
