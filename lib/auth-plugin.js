'use strict'

const { AUTH_RESPONSE_OPTIONS } = require('./core.js')
const { PLUGIN_NAME, pluginError, asPluginError } = require('./errors.js')
const { fileTokenSource, cachedTokenSource } = require('./token-sources.js')
const { checkPeer, own } = require('./transport.js')
const { loginAnswers } = require('./login-answers.js')
const { publishLogin } = require('./diagnostics.js')
const { readOptions: readOwnOptions, MAX_TIMEOUT_MS } = require('./options.js')
const { requireMysql2Internals, catchCommandErrors, answerWhenReady, whenRefused } = require('./mysql2-login.js')

const DEFAULTS = { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 10_000, maxTokenBytes: 10_000 }
const CORE_OPTIONS = AUTH_RESPONSE_OPTIONS
const SOURCES = ['token', 'tokenFile', 'getToken']
const OPTIONS = {
  // the core checks its own options
  ...Object.fromEntries(CORE_OPTIONS.map((name) => [name, { type: 'any' }])),
  token: { type: 'any', check: (value) => (typeof value === 'string' || value instanceof Uint8Array ? undefined : 'must be a string, Buffer or Uint8Array') },
  tokenFile: { type: 'string' },
  getToken: { type: 'function' },
  allowInsecureTransport: { type: 'boolean' },
  allowUnverifiedServer: { type: 'boolean' },
  cleartext: { type: 'boolean' },
  refreshBeforeExpirySeconds: { type: 'number', min: 0 },
  tokenTimeoutMs: { type: 'number', min: 1, max: MAX_TIMEOUT_MS },
}
const KNOWN_OPTIONS = new Set(Object.keys(OPTIONS))

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', message)
}

/** Checks the options once, at set-up, so a mistake fails there and not at the first connection. */
function readOptions(options) {
  // the caller's own options only (an inherited `allowInsecureTransport` must not count), each checked
  const config = readOwnOptions(options, OPTIONS, 'options')
  const sources = SOURCES.filter((name) => config[name] !== undefined)
  if (sources.length > 1) throw invalid(`give one token source, not ${sources.join(' and ')}`)
  if (sources.length === 0) {
    // mysql2 also hands `password` to its built-in plugins, which a server may switch to and read
    throw invalid(
      'give a token source: `token`, `tokenFile` or `getToken` (mysql2\'s `password` is not used as the token: ' +
        'mysql2 would also send it to any built-in password plugin the server switches to)',
    )
  }
  const { token } = config
  let core
  for (const name of CORE_OPTIONS) if (config[name] !== undefined) (core ??= {})[name] = config[name]
  // the core checks its own options as it is built: a bad one fails here
  config.answers = loginAnswers(core, config.cleartext === true)
  for (const [name, value] of Object.entries(DEFAULTS)) config[name] ??= value
  // a static token is checked now too: an empty or malformed one would fail every login
  if (token !== undefined) config.answers.check(token)
  return config
}

/** What the token cache keeps and tells of a token: when it stops being usable, who it names. */
function acceptFor(config) {
  return (token) => {
    const { expiresAt, issuedAt, iss, sub } = config.answers.check(token)
    return { expiresAt, issuedAt, iss, sub }
  }
}

function tokenSourceFor(config) {
  if (config.token !== undefined) return () => config.token
  if (config.tokenFile !== undefined) return fileTokenSource(config.tokenFile, config.maxTokenBytes, config.tokenTimeoutMs)
  const { refreshBeforeExpirySeconds, tokenTimeoutMs } = config
  const accept = acceptFor(config)
  return cachedTokenSource(config.getToken, { refreshBeforeExpirySeconds, tokenTimeoutMs, accept, sourceKind: 'getToken' })
}

// Logins already answered, keyed by mysql2's command (the handshake, or a later changeUser): mysql2
// makes a new plugin instance for every AuthSwitchRequest, so a flag per instance would let a
// second switch within one login get the token again.
const answeredLogins = new WeakSet()

/** A mysql2 AuthPlugin that answers one auth switch with the token framed for `pluginName`. */
function makePlugin(config, tokenSource, pluginName) {
  return ({ connection, command }) => {
    const login = command !== null && typeof command === 'object' ? command : connection
    catchCommandErrors(command, connection)
    return () => {
      const facts = { plugin: pluginName, transport: null }
      try {
        requireMysql2Internals(connection)
        facts.transport = checkPeer(connection, config, pluginName)
        const answer = answerLogin(connection, login, config, tokenSource, pluginName)
        if (typeof answer?.then !== 'function') return reported(facts, answer)
        return answer.then((response) => reported(facts, response), (err) => Promise.reject(reportedError(facts, err)))
      } catch (err) {
        throw reportedError(facts, err)
      }
    }
  }
}

/** The response for a login whose peer passed: the token, checked and framed, now or once fetched. */
function answerLogin(connection, login, config, tokenSource, pluginName) {
  // a second request within one login is not part of the exchange: never send twice
  if (answeredLogins.has(login)) {
    throw pluginError('ERR_OIDC_UNEXPECTED_REQUEST', `the server asked for ${pluginName} data a second time`)
  }
  answeredLogins.add(login)
  const { user, host, port, database, socketPath } = connection.config
  const context = { user, host, port, database, socketPath }
  const respond = (token) => {
    // one native call at most: none for a token already checked (when fetched, or at set-up) and still in time
    const response = config.answers.response(token, pluginName)
    if (tokenSource.forget) whenRefused(login, connection, () => tokenSource.forget(context, token))
    return response
  }
  let token
  try {
    token = tokenSource(context)
  } catch (err) {
    throw asPluginError(err)
  }
  // a ready token is answered synchronously, which keeps the error code intact in mysql2
  return typeof token?.then === 'function' ? answerWhenReady(token, connection, login, respond) : respond(token)
}

/** Publishes the login's outcome (never the token) and passes the response on. */
function reported(facts, response) {
  // no response: the connection closed while the token was being fetched
  publishLogin({ event: response === undefined ? 'abandoned' : 'answered', ...facts })
  return response
}

function reportedError(facts, err) {
  publishLogin({ event: 'refused', ...facts, code: err?.oidcCode ?? err?.code })
  return err
}

/**
 * A mysql2 auth plugin for `authentication_openid_connect_client`.
 */
function openidConnectAuthPlugin(options) {
  const config = readOptions(options)
  return makePlugin(config, tokenSourceFor(config), PLUGIN_NAME)
}

/**
 * mysql2's `authPlugins` option: `{ authentication_openid_connect_client }`, plus `mysql_clear_password`
 * (TiDB's tidb_auth_token) when `cleartext: true`. Both share one token source and cache.
 */
function authPlugins(options) {
  const config = readOptions(options)
  const tokenSource = tokenSourceFor(config)
  const plugins = { [PLUGIN_NAME]: makePlugin(config, tokenSource, PLUGIN_NAME) }
  if (config.cleartext === true) {
    plugins.mysql_clear_password = makePlugin(config, tokenSource, 'mysql_clear_password')
  }
  return plugins
}

// KNOWN_OPTIONS for the test that holds it to the typings (main.js exports only the plugins)
module.exports = { openidConnectAuthPlugin, authPlugins, KNOWN_OPTIONS }
