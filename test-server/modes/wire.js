'use strict'

// What the modes share on the wire: the client plugin's name, reading its framed answer, and the
// access-denied text MySQL-derived servers send (docs/protocol.md#the-answer-packet).

const path = require('node:path')

const OIDC_CLIENT_PLUGIN = 'authentication_openid_connect_client'

// The package's own decoder (its build output), loaded when the first token arrives.
let decoder = null
/** capability byte, lenenc length, token: the token's bytes; throws ERR_OIDC_RESPONSE_MALFORMED. */
function readFramedToken(payload) {
  if (!decoder) decoder = require(path.join(__dirname, '..', '..', 'main.js')).parseOpenidConnectAuthResponse
  const { capability, token } = decoder(payload)
  return { capability, tokenBytes: token }
}

/** ER_ACCESS_DENIED_ERROR as mysqld and TiDB word it: the reason stays in the server's log. */
function mysqlAccessDenied({ user, host, passwordUsed }) {
  return `Access denied for user '${user}'@'${host}' (using password: ${passwordUsed ? 'YES' : 'NO'})`
}

module.exports = { OIDC_CLIENT_PLUGIN, readFramedToken, mysqlAccessDenied }
