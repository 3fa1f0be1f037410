'use strict'

// The local side's password check, as a MySQL server makes it: the client proves it knows the
// password by a scramble of it, never the password itself. The proxy holds the password (not a
// hash of it), so caching_sha2_password is always its "fast" path: no RSA, no cleartext.

const crypto = require('node:crypto')

const NATIVE = 'mysql_native_password'
const CACHING_SHA2 = 'caching_sha2_password'
const LOCAL_PLUGINS = [NATIVE, CACHING_SHA2]

const sha1 = (...parts) => crypto.createHash('sha1').update(Buffer.concat(parts)).digest()
const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest()

function xor(a, b) {
  const result = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) result[i] = a[i] ^ b[i]
  return result
}

function sameBytes(a, b) {
  return a.length === b.length && crypto.timingSafeEqual(a, b)
}

/**
 * A checker for one local password: `verify(pluginName, scramble, response)` says whether the
 * response proves the password. Only hashes of the password are kept.
 */
function localPasswordVerifier(password) {
  const bytes = Buffer.from(password, 'utf8')
  const nativeStage1 = sha1(bytes)
  const nativeStage2 = sha1(nativeStage1)
  const sha2Stage1 = sha256(bytes)
  const sha2Stage2 = sha256(sha2Stage1)
  bytes.fill(0)
  return {
    verify(pluginName, scramble, response) {
      if (!Buffer.isBuffer(response) || response.length === 0) return false
      if (pluginName === NATIVE) {
        // the client sent sha1(pw) xor sha1(scramble + sha1(sha1(pw))): undo the xor, hash, compare
        if (response.length !== 20) return false
        return sameBytes(sha1(xor(response, sha1(scramble, nativeStage2))), nativeStage2)
      }
      if (pluginName === CACHING_SHA2) {
        if (response.length !== 32) return false
        return sameBytes(response, xor(sha2Stage1, sha256(sha2Stage2, scramble)))
      }
      return false
    },
  }
}

module.exports = { NATIVE, CACHING_SHA2, LOCAL_PLUGINS, localPasswordVerifier }
