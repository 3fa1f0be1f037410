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

module.exports = { PLUGIN_NAME, OidcError, pluginError, isOidcError, asPluginError }
