'use strict'

// The native functions as the package exports them, and the plugin's own (AuthResponder, the TLS
// session reader): every error they throw is an OidcError, with `oidcCode` like the plugin's, and the
// plugin named once in the message.
const binding = require('./binding.js')
const { PLUGIN_NAME, asPluginError } = require('./errors.js')

function rethrowingOidcErrors(fn) {
  const wrapped = (...args) => {
    try {
      return fn(...args)
    } catch (err) {
      throw asPluginError(err)
    }
  }
  Object.defineProperty(wrapped, 'name', { value: fn.name })
  return wrapped
}

/**
 * The plugin's native checker for `options` (constructing it is the options check): per server
 * plugin, one call that checks a token, frames it and returns the response with the claims.
 */
function authResponder(options) {
  let responder
  try {
    responder = new binding.AuthResponder(options)
  } catch (err) {
    throw asPluginError(err)
  }
  return {
    [PLUGIN_NAME]: rethrowingOidcErrors((token) => responder.openidConnect(token)),
    mysql_clear_password: rethrowingOidcErrors((token) => responder.clearPassword(token)),
  }
}

module.exports = {
  openidConnectAuthResponse: rethrowingOidcErrors(binding.openidConnectAuthResponse),
  clearPasswordAuthResponse: rethrowingOidcErrors(binding.clearPasswordAuthResponse),
  parseOpenidConnectAuthResponse: rethrowingOidcErrors(binding.parseOpenidConnectAuthResponse),
  inspectIdToken: rethrowingOidcErrors(binding.inspectIdToken),
  authResponder,
  // AuthResponseOptions' keys, from the list the native options check uses
  AUTH_RESPONSE_OPTIONS: Object.freeze(binding.AuthResponder.optionNames()),
  certificateOfTlsSession: binding.certificateOfTlsSession,
}
