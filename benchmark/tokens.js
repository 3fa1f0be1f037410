'use strict'

// Realistic ID tokens of exact sizes for the benchmarks: a JOSE header, Entra-ID-like claims with a
// future exp, and a base64url "signature" (never verified here, so random bytes serve).

const crypto = require('node:crypto')

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A compact JWT of exactly `bytes` bytes (at least ~90), valid for an hour. */
function makeToken(bytes) {
  const now = Math.floor(Date.now() / 1000)
  const header = b64url({ alg: 'RS256', typ: 'JWT', kid: 'benchkey' })
  const signatureBytes = bytes >= 1000 ? 256 : 16 // RS256 signs with 256 bytes; a tiny token cannot carry that
  const signature = crypto.randomBytes(signatureBytes).toString('base64url')
  const claims = bytes >= 1000 ? entraClaims(now) : { exp: now + 3600 }
  // grow a padding claim until the token reaches the size; base64url grows in steps of 4/3
  for (let pad = 0; ; pad++) {
    const token = `${header}.${b64url({ ...claims, pad: 'x'.repeat(pad) })}.${signature}`
    if (token.length === bytes) return token
    if (token.length > bytes) {
      // trim the signature's tail to land exactly (still valid base64url length)
      const over = token.length - bytes
      const cut = signature.slice(0, signature.length - over)
      if (cut.length % 4 !== 1) return `${header}.${b64url({ ...claims, pad: 'x'.repeat(pad) })}.${cut}`
    }
  }
}

function entraClaims(now) {
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47'
  return {
    aud: '6e74172b-be56-4843-9ff4-e66a39bb12e3',
    iss: `https://login.microsoftonline.com/${tenant}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    aio: 'AXQAi/8TAAAAbc3+8VZl1MzE3ZjBlNTItYjI4Yi00ZDcyLWE1ZWMtNzFhZTY2NjA5ZTVh',
    name: 'Alice Example',
    oid: '00000000-0000-0000-66f3-3332eca7ea81',
    preferred_username: 'alice@contoso.example',
    rh: '0.AXEAv4j5cvGGr0GRqy180BHbR-Zy-qTz2Lk2kTz9L_Z3vSlxAAA.',
    sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
    tid: tenant,
    uti: 'fqiBqXLPj0eQa82S-IYFAA',
    ver: '2.0',
  }
}

module.exports = { makeToken }
