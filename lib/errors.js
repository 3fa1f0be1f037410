'use strict'

// Every error the package throws: an OidcError with a stable code. The core's codes
// (ERR_OIDC_TOKEN_*, ...) come from the Rust side and are re-thrown as OidcErrors.
const PLUGIN_NAME = 'authentication_openid_connect_client'

/**
 * An Error whose code survives mysql2: mysql2 overwrites `code` with AUTH_SWITCH_PLUGIN_ERROR when
 * a plugin's Promise rejects, so the code is also kept in `oidcCode` and at the end of the message.
 */
// Marks our errors across copies of the package (two versions installed side by side)
const BRAND = Symbol.for('mysql-openid-connect.OidcError')

class OidcError extends Error {
  constructor(code, message, options) {
    super(`${PLUGIN_NAME}: ${message} [${code}]`, options)
    this.code = code
    this.oidcCode = code
  }

  get [BRAND]() {
    return true
  }

  get name() {
    return 'OidcError'
  }
}

function pluginError(code, message, cause) {
  return new OidcError(code, message, cause === undefined ? undefined : { cause })
}

/** True for an error this package threw (also after mysql2 rewrote its `code`). */
function isOidcError(err) {
  return err instanceof OidcError || (err !== null && typeof err === 'object' && err[BRAND] === true)
}

/** Re-throws a core error (or any error) as an OidcError; anything else becomes its cause. */
function asPluginError(err) {
  if (isOidcError(err)) return err
  if (err && typeof err.code === 'string' && err.code.startsWith('ERR_OIDC_')) {
    return pluginError(err.code, err.message)
  }
  return pluginError('ERR_OIDC_TOKEN_SOURCE', 'the token source failed (see error.cause)', err)
}

// What every OidcError message ends with; a copy of the message keeps it
const CODE_AT_END = /^authentication_openid_connect_client: [\s\S]* \[(ERR_OIDC_[A-Z0-9_]+)\]$/

/**
 * The `ERR_OIDC_*` code of an error this package caused, or undefined. mysql2 hands plugin errors on
 * as they are, except that `mysql2/promise` before 3.22.2 rejects with a copy that keeps only
 * `message`, `code` (AUTH_SWITCH_PLUGIN_ERROR, or ours when the plugin threw at once), `errno` and
 * `sqlState`: the code is then read from the end of the message, and only with one of those codes.
 * A server's error never has them: an ERR packet in a command has an `errno`, and one between
 * commands (an Error with the server's text and its numeric code) has a number as `code`, so a
 * server cannot pass its own message off as one of ours.
 */
function oidcCodeOf(err) {
  if (err === null || typeof err !== 'object') return undefined
  if (isOidcError(err)) return err.oidcCode
  const oidcCode = Object.hasOwn(err, 'oidcCode') ? err.oidcCode : undefined
  if (typeof oidcCode === 'string' && oidcCode.startsWith('ERR_OIDC_')) return oidcCode
  if (err.errno !== undefined && err.errno !== null) return undefined
  const message = Object.hasOwn(err, 'message') ? err.message : undefined
  const fromMessage = typeof message === 'string' ? CODE_AT_END.exec(message)?.[1] : undefined
  const code = Object.hasOwn(err, 'code') ? err.code : undefined
  return code === 'AUTH_SWITCH_PLUGIN_ERROR' || code === fromMessage ? fromMessage : undefined
}

module.exports = { PLUGIN_NAME, OidcError, pluginError, isOidcError, asPluginError, oidcCodeOf }
