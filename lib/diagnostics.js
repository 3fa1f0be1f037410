'use strict'

// Events for observability tools, on node:diagnostics_channel. Subscribe with
// `diagnostics_channel.subscribe('mysql-openid-connect:token', listener)`. No event carries a token.
const diagnosticsChannel = require('node:diagnostics_channel')

const TOKEN_CHANNEL = 'mysql-openid-connect:token'
const LOGIN_CHANNEL = 'mysql-openid-connect:login'

const tokenChannel = diagnosticsChannel.channel(TOKEN_CHANNEL)
const loginChannel = diagnosticsChannel.channel(LOGIN_CHANNEL)

/**
 * A token source fetched, refreshed or failed to get a token:
 * `{ event: 'fetched' | 'refreshed' | 'failed', source, background, durationMs, iss?, sub?, iat?, exp?, code? }`.
 */
function publishToken(fields) {
  if (tokenChannel.hasSubscribers) tokenChannel.publish(fields)
}

/** The plugin answered or refused a login: `{ event: 'answered' | 'refused', plugin, transport, code? }`. */
function publishLogin(fields) {
  if (loginChannel.hasSubscribers) loginChannel.publish(fields)
}

module.exports = { TOKEN_CHANNEL, LOGIN_CHANNEL, publishToken, publishLogin }
