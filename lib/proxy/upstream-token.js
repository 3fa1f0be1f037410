'use strict'

// The upstream login's answer comes from the plugin itself (authPlugins): the same token sources,
// cache, background refresh, core rules and peer check as a mysql2 login. The plugin reads a
// mysql2 connection ({ stream, config }) and a login command (an EventEmitter whose 'error'
// carries the server's refusal); this adapter gives it those, made from the proxy's own sockets.

const { EventEmitter } = require('node:events')
const { authPlugins } = require('../auth-plugin.js')
const { pluginError } = require('../errors.js')

/**
 * Checks the token options (throws what authPlugins throws) and returns `loginFor(stream, target)`,
 * which makes one login's `{ answer(pluginName, authData), refused() }`. Once the login is over,
 * `answer` refuses: one token per login.
 */
function upstreamAnswerer(tokenOptions) {
  const plugins = authPlugins(tokenOptions)
  return function loginFor(getStream, target) {
    // the token context: no database, so one cached token serves every database of an account
    const config = { user: target.user, host: target.host, port: target.port, socketPath: target.socketPath, ssl: target.ssl }
    const command = new EventEmitter()
    // `_command`: the running command, as mysql2 keeps it (a login that is over answers nothing)
    const connection = {
      get stream() {
        return getStream()
      },
      config,
      _command: command,
    }
    command.on('error', () => {}) // the refusal event's own listener; nothing here may throw
    return {
      answer(pluginName, authData) {
        const plugin = Object.hasOwn(plugins, pluginName) ? plugins[pluginName] : undefined
        if (!plugin) {
          // a server that switches to a password method would get the token as a password: never
          throw pluginError('ERR_OIDC_UNEXPECTED_REQUEST', `the upstream server asked for ${pluginName}, not authentication_openid_connect_client`)
        }
        return plugin({ connection, command })(authData)
      },
      /** The server refused the login (1045): the cache lets go of the token it sent. */
      refused() {
        command.emit('error', { errno: 1045 })
      },
    }
  }
}

module.exports = { upstreamAnswerer }
