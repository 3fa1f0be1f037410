'use strict'

// Small pieces every mode's token check is built from. Each mode (modes/*.js) decides which of
// them it applies and in what order, as its real server does; nothing here decides a policy.
// Reasons returned are short and never hold token content (only claim names and account values).

const jose = require('jose')

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** { header, claims } of a compact JWS, or null when it is not one (no signature checked). */
function decodeToken(token) {
  if (typeof token !== 'string' || !COMPACT_JWS.test(token)) return null
  try {
    const header = jose.decodeProtectedHeader(token)
    const claims = jose.decodeJwt(token)
    return header && claims ? { header, claims } : null
  } catch {
    return null
  }
}

/** Whether `token` is signed by the public `jwk` with `alg`; a key that does not fit the alg fails. */
async function signatureValid(token, jwk, alg) {
  try {
    const key = await jose.importJWK({ ...jwk, alg: undefined, use: undefined, key_ops: undefined }, alg)
    await jose.compactVerify(token, key, { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}

/** Seconds since the epoch with the fraction kept: servers compare whole-second claims with a finer clock. */
const nowSeconds = () => Date.now() / 1000

/** A NumericDate claim as a number, or undefined when it is absent or not a number. */
function numericClaim(claims, name) {
  return typeof claims[name] === 'number' ? claims[name] : undefined
}

/** `aud` as an array of strings (a string claim is one audience). */
function audiences(claims) {
  if (typeof claims.aud === 'string') return [claims.aud]
  return Array.isArray(claims.aud) ? claims.aud.filter((a) => typeof a === 'string') : []
}

module.exports = { decodeToken, signatureValid, nowSeconds, numericClaim, audiences }
