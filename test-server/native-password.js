'use strict'

// mysql_native_password: the client sends SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).

const crypto = require('node:crypto')

const sha1 = (...parts) => {
  const hash = crypto.createHash('sha1')
  for (const part of parts) hash.update(part)
  return hash.digest()
}

/** Whether `authData` answers `scramble` for `password` (an empty password sends no data). */
function verifyNativePassword(scramble, password, authData) {
  if (password === '') return authData.length === 0
  if (authData.length !== 20) return false
  const stage1 = sha1(Buffer.from(password, 'utf8'))
  const mix = sha1(scramble, sha1(stage1))
  const expected = Buffer.from(stage1.map((byte, i) => byte ^ mix[i]))
  return crypto.timingSafeEqual(expected, authData)
}

module.exports = { verifyNativePassword }
