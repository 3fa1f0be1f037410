'use strict'

// The plugin's own error codes; the core's (ERR_OIDC_TOKEN_*) come from the Rust side.
const PLUGIN_NAME = 'authentication_openid_connect_client'

/**
 * An Error whose code survives mysql2: mysql2 overwrites `code` with AUTH_SWITCH_PLUGIN_ERROR when
 * a plugin's Promise rejects, so the code is also kept in `oidcCode` and in the message.
 */
function pluginError(code, message, cause) {
  const err = new Error(`${PLUGIN_NAME}: ${message} [${code}]`, cause === undefined ? undefined : { cause })
  err.code = code
  err.oidcCode = code
  return err
}

/** Re-throws a core error (or any error) as a plugin error, naming the plugin. */
function asPluginError(err) {
  if (err && typeof err.oidcCode === 'string') return err
  if (err && typeof err.code === 'string' && err.code.startsWith('ERR_OIDC_')) {
    return pluginError(err.code, err.message)
  }
  return pluginError('ERR_OIDC_TOKEN_SOURCE', 'the token source failed (see error.cause)', err)
}

module.exports = { PLUGIN_NAME, pluginError, asPluginError }
