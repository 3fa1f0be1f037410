'use strict'

const {
  openidConnectAuthResponse,
  clearPasswordAuthResponse,
  inspectIdToken,
} = require('./binding.js')
const { PLUGIN_NAME, pluginError, asPluginError } = require('./errors.js')
const { fileTokenSource, cachedTokenSource } = require('./token-sources.js')

const DEFAULTS = { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 10_000, maxTokenBytes: 10_000 }
const CORE_OPTIONS = ['capability', 'maxTokenBytes', 'clockSkewSeconds', 'validate']
const KNOWN_OPTIONS = new Set([
  ...CORE_OPTIONS,
  'token',
  'tokenFile',
  'getToken',
  'refreshBeforeExpirySeconds',
  'tokenTimeoutMs',
  'allowInsecureTransport',
  'cleartext',
])

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', message)
}

function checkNumber(options, name, min) {
  const value = options[name]
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= min)) {
    throw invalid(`options.${name} must be a finite number, ${min} or more`)
  }
}

/** Checks the options once, at set-up, so a mistake fails there and not at the first connection. */
function readOptions(options) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw invalid('options must be an object')
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw invalid(`unknown option ${JSON.stringify(key)}`)
  }
  const sources = ['token', 'tokenFile', 'getToken'].filter((name) => options[name] !== undefined)
  if (sources.length > 1) throw invalid(`give one token source, not ${sources.join(' and ')}`)
  const { token, tokenFile, getToken } = options
  if (token !== undefined && typeof token !== 'string' && !(token instanceof Uint8Array)) {
    throw invalid('options.token must be a string, Buffer or Uint8Array')
  }
  if (tokenFile !== undefined && (typeof tokenFile !== 'string' || tokenFile === '')) {
    throw invalid('options.tokenFile must be a non-empty path string')
  }
  if (getToken !== undefined && typeof getToken !== 'function') throw invalid('options.getToken must be a function')
  for (const flag of ['allowInsecureTransport', 'cleartext']) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw invalid(`options.${flag} must be true or false`)
    }
  }
  checkNumber(options, 'refreshBeforeExpirySeconds', 0)
  checkNumber(options, 'tokenTimeoutMs', 1)
  let core
  for (const name of CORE_OPTIONS) if (options[name] !== undefined) (core ??= {})[name] = options[name]
  try {
    // the core checks its own options; a throwaway call surfaces a bad one now
    openidConnectAuthResponse('x', { ...core, maxTokenBytes: core?.maxTokenBytes ?? 1 })
  } catch (err) {
    // 'x' itself is no JWT: only an option error matters here
    if (err.code === 'ERR_OIDC_INVALID_ARGUMENT') throw asPluginError(err)
  }
  const config = { ...options, core }
  // an option given as undefined takes its default too (a spread would keep the undefined)
  for (const [name, value] of Object.entries(DEFAULTS)) config[name] ??= value
  return config
}

/** `exp` in milliseconds, or null for a token that is not a JWT or has no `exp` (never cached). */
function expiryOf(token) {
  try {
    return inspectIdToken(token).expiresAt?.getTime() ?? null
  } catch {
    return null
  }
}

function tokenSourceFor(config) {
  if (config.token !== undefined) return () => config.token
  if (config.tokenFile !== undefined) return fileTokenSource(config.tokenFile, config.maxTokenBytes)
  if (config.getToken !== undefined) return cachedTokenSource(config.getToken, { ...config, expiryOf })
  return (context, connection) => connection.config.password ?? ''
}

/** TLS or a local socket, as the official clients require before they send a token. */
function isSecureTransport(connection) {
  return connection.stream?.encrypted === true || Boolean(connection.config?.socketPath)
}

function checkTransport(connection, config, pluginName) {
  if (config.allowInsecureTransport === true || isSecureTransport(connection)) return
  throw pluginError(
    'ERR_OIDC_INSECURE_TRANSPORT',
    `${pluginName} refuses to send the ID token over an unencrypted TCP connection: turn on TLS in mysql2 ` +
      `with the \`ssl\` option (for example \`ssl: { ca: fs.readFileSync('ca.pem') }\`), or connect over a ` +
      'Unix socket with `socketPath`. Only on a trusted network, set `allowInsecureTransport: true`.',
  )
}

// Logins already answered, keyed by mysql2's command (the handshake, or a later changeUser): mysql2
// makes a new plugin instance for every AuthSwitchRequest, so a flag per instance would let a
// second switch within one login get the token again.
const answeredLogins = new WeakSet()

/** Closed or closing: mysql2 would write a late answer to the ended socket and throw uncaught. */
function isGone(connection) {
  const stream = connection.stream
  return connection._closing === true || stream?.destroyed === true || stream?.writableEnded === true
}

/** A mysql2 AuthPlugin that answers one auth switch with `encode(token)`. */
function makePlugin(config, tokenSource, pluginName, encode) {
  return ({ connection, command }) => {
    const login = command !== null && typeof command === 'object' ? command : connection
    return () => {
      checkTransport(connection, config, pluginName)
      // a second request within one login is not part of the exchange: never send twice
      if (answeredLogins.has(login)) {
        throw pluginError('ERR_OIDC_UNEXPECTED_REQUEST', `the server asked for ${pluginName} data a second time`)
      }
      answeredLogins.add(login)
      const { user, host, port, database, socketPath } = connection.config
      const token = tokenSource({ user, host, port, database, socketPath }, connection)
      const respond = (value) => {
        // the server hung up while getToken ran: nothing to answer, and nowhere to send it
        if (isGone(connection)) return undefined
        try {
          return encode(value, config.core)
        } catch (err) {
          throw asPluginError(err)
        }
      }
      // a ready token is answered synchronously, which keeps the error code intact in mysql2
      return typeof token?.then === 'function' ? token.then(respond, (err) => Promise.reject(asPluginError(err))) : respond(token)
    }
  }
}

/**
 * A mysql2 auth plugin for `authentication_openid_connect_client`.
 */
function openidConnectAuthPlugin(options) {
  const config = readOptions(options)
  return makePlugin(config, tokenSourceFor(config), PLUGIN_NAME, openidConnectAuthResponse)
}

/**
 * mysql2's `authPlugins` option: `{ authentication_openid_connect_client }`, plus `mysql_clear_password`
 * (TiDB's tidb_auth_token) when `cleartext: true`. Both share one token source and cache.
 */
function authPlugins(options) {
  const config = readOptions(options)
  const tokenSource = tokenSourceFor(config)
  const plugins = { [PLUGIN_NAME]: makePlugin(config, tokenSource, PLUGIN_NAME, openidConnectAuthResponse) }
  if (config.cleartext === true) {
    plugins.mysql_clear_password = makePlugin(config, tokenSource, 'mysql_clear_password', clearPasswordAuthResponse)
  }
  return plugins
}

module.exports = { openidConnectAuthPlugin, authPlugins }
