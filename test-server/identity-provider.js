'use strict'

// A local OpenID Connect identity provider (keys, JWKS, ID tokens) and the checks a MySQL-protocol
// server applies to its tokens. Tokens are never logged: only short reasons leave this module.

const crypto = require('node:crypto')
const jose = require('jose')

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

async function generateSigningKey(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicJwk }
}

// `expiresIn`: seconds from now (negative: already expired) or a jose time span such as '10m'.
function expirationTime(expiresIn, nowSeconds) {
  if (typeof expiresIn === 'number') return nowSeconds + expiresIn
  return expiresIn
}

async function signWith(signingKey, claims, { expiresIn = 600, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new jose.SignJWT({ ...claims }).setProtectedHeader({ alg: signingKey.alg, typ: 'JWT', kid: signingKey.kid, ...header })
  if (claims.iat === undefined) jwt.setIssuedAt(now)
  if (claims.exp === undefined) jwt.setExpirationTime(expirationTime(expiresIn, now))
  return jwt.sign(signingKey.privateKey)
}

/**
 * createIdentityProvider({ issuer, alg }) -> { issuer, alg, jwks, signIdToken, signWithForeignKey, secret? }
 * The JWKS holds two keys ('primary' and 'other', as during a key rollover). 'HS256' makes a
 * shared-secret provider instead (empty JWKS, `secret` to hand to the server).
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

// Accepts createIdentityProvider() results or plain { issuer, jwks, audience?, secret? } objects.
function prepareProviders(providers) {
  return providers.map((p) => {
    if (!p || typeof p.issuer !== 'string') throw new TypeError('each identity provider needs an issuer string')
    if (!p.jwks && !p.secret) throw new TypeError(`identity provider ${p.issuer} needs a jwks (or an HS secret)`)
    return {
      issuer: p.issuer,
      audience: p.audience,
      secret: p.secret,
      getKey: p.jwks ? jose.createLocalJWKSet(p.jwks) : null,
    }
  })
}

function reasonFromJoseError(err) {
  switch (err && err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature'
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no matching signing key'
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'signature algorithm not allowed'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'aud') return 'audience mismatch'
      if (err.claim === 'iss') return 'issuer mismatch'
      if (err.claim === 'nbf') return 'token not yet valid'
      return `claim ${err.claim} invalid`
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unsupported token'
    default:
      return 'malformed token'
  }
}

/**
 * Checks an ID token the way the emulated server does. Returns { ok: true, claims } or
 * { ok: false, reason } where reason is short and never contains token content.
 * options: { providers (prepared), algorithms, audience, principalField, expectedPrincipal }
 */
async function verifyIdToken(token, { providers, algorithms, audience, principalField, expectedPrincipal }) {
  let unverified
  try {
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'malformed token' }
    unverified = jose.decodeJwt(token)
  } catch {
    return { ok: false, reason: 'malformed token' }
  }
  // Like MySQL's identity-provider lookup: the token's iss selects the trusted issuer.
  const provider = providers.find((p) => p.issuer === unverified.iss)
  if (!provider) return { ok: false, reason: 'untrusted issuer' }
  const requiredAudience = provider.audience !== undefined ? provider.audience : audience
  let claims
  try {
    const { alg } = jose.decodeProtectedHeader(token)
    const key = typeof alg === 'string' && alg.startsWith('HS') ? provider.secret : provider.getKey
    if (!key) return { ok: false, reason: 'signature algorithm not allowed' }
    const result = await jose.jwtVerify(token, key, {
      algorithms,
      issuer: provider.issuer,
      audience: requiredAudience,
      requiredClaims: ['exp'],
    })
    claims = result.payload
  } catch (err) {
    if (err && err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'exp') return { ok: false, reason: 'missing exp' }
    return { ok: false, reason: reasonFromJoseError(err) }
  }
  const principal = claims[principalField]
  if (principal === undefined) return { ok: false, reason: `missing ${principalField} claim` }
  if (principal !== expectedPrincipal) return { ok: false, reason: `${principalField} does not match the account` }
  return { ok: true, claims }
}

module.exports = { createIdentityProvider, prepareProviders, verifyIdToken, ASYMMETRIC_ALGS }
