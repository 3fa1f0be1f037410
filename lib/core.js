'use strict'

// The native functions as the package exports them: every error they throw is an OidcError, with
// `oidcCode` like the plugin's, and the plugin named once in the message.
const binding = require('./binding.js')
const { asPluginError } = require('./errors.js')

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

module.exports = {
  openidConnectAuthResponse: rethrowingOidcErrors(binding.openidConnectAuthResponse),
  clearPasswordAuthResponse: rethrowingOidcErrors(binding.clearPasswordAuthResponse),
  parseOpenidConnectAuthResponse: rethrowingOidcErrors(binding.parseOpenidConnectAuthResponse),
  inspectIdToken: rethrowingOidcErrors(binding.inspectIdToken),
}
