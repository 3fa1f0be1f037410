'use strict'

// A local OpenID Connect identity provider: keys, a JWKS, ID tokens signed with jose. What each
// server checks of a token lives in modes/<mode>.js.

const crypto = require('node:crypto')
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

// Accepts createIdentityProvider() results or plain { issuer, jwks?, publicJwk?, audience? } objects.
// `audience` falls back to the server-wide one. Which keys a mode trusts is the mode's business.
function prepareProviders(providers, defaultAudience) {
  return providers.map((p) => {
    if (!p || typeof p.issuer !== 'string') throw new TypeError('each identity provider needs an issuer string')
    if (!p.jwks && !p.publicJwk) throw new TypeError(`identity provider ${p.issuer} needs a jwks or a publicJwk`)
    const keys = p.jwks ? p.jwks.keys : [p.publicJwk]
    if (!Array.isArray(keys)) throw new TypeError(`identity provider ${p.issuer}: jwks.keys must be an array`)
    return { issuer: p.issuer, jwks: { keys }, publicJwk: p.publicJwk, audience: p.audience !== undefined ? p.audience : defaultAudience }
  })
}

module.exports = { createIdentityProvider, prepareProviders }
