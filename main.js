'use strict'

// The public entry: the native core (generated loader in index.js, through lib/binding.js) and the mysql2 glue in lib/.
const {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
} = require('./lib/binding.js')
const { openidConnectAuthPlugin, authPlugins } = require('./lib/auth-plugin.js')

module.exports = {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  openidConnectAuthPlugin,
  authPlugins,
}
