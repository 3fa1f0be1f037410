'use strict'

// createProxy's options, checked once at start so a mistake fails there and not at the first client.

const net = require('node:net')
const { pluginError } = require('../errors.js')

// What authPlugins takes for the token: passed to it unchanged, so the proxy's token rules are the plugin's.
const TOKEN_OPTIONS = [
  'token', 'tokenFile', 'getToken', 'refreshBeforeExpirySeconds', 'tokenTimeoutMs', 'maxTokenBytes',
  'capability', 'clockSkewSeconds', 'validate', 'allowInsecureTransport', 'allowUnverifiedServer', 'cleartext',
]
const PROXY_OPTIONS = [
  'upstream', 'ssl', 'user', 'listen', 'allowNonLoopback', 'localPassword', 'localTls', 'maxConnections',
  'drainTimeoutMs', 'connectTimeoutMs', 'log', 'logFormat',
]
const KNOWN = new Set([...TOKEN_OPTIONS, ...PROXY_OPTIONS])
const DEFAULTS = { maxConnections: 1000, drainTimeoutMs: 30_000, connectTimeoutMs: 10_000 }

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `proxy: ${message}`)
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value)
const own = (object, key) => (Object.hasOwn(object, key) ? object[key] : undefined)

function checkPort(port, name) {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`${name}.port must be a port number from 0 to 65535`)
}

function checkPath(path, name) {
  if (typeof path !== 'string' || path === '') throw invalid(`${name} must be a non-empty path string`)
}

/** A loopback address: 127.0.0.0/8, ::1, or localhost (which resolves to one). */
function isLoopback(host) {
  if (host === 'localhost') return true
  if (net.isIPv4(host)) return host.startsWith('127.')
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host)
  return false
}

function readUpstream(upstream) {
  if (!isObject(upstream)) throw invalid('upstream must be { host, port } or { socketPath }')
  const socketPath = own(upstream, 'socketPath')
  if (socketPath !== undefined) {
    checkPath(socketPath, 'upstream.socketPath')
    return { socketPath }
  }
  const host = own(upstream, 'host')
  if (typeof host !== 'string' || host === '') throw invalid('upstream.host must be a host name or address')
  const port = own(upstream, 'port') ?? 3306
  checkPort(port, 'upstream')
  return { host, port }
}

function readListen(listen, options) {
  if (!isObject(listen)) throw invalid('listen must be { host, port } or { path } (a Unix socket)')
  const path = own(listen, 'path')
  if (path !== undefined) {
    checkPath(path, 'listen.path')
    return { path }
  }
  const host = own(listen, 'host') ?? '127.0.0.1'
  const port = own(listen, 'port')
  checkPort(port, 'listen')
  if (typeof host !== 'string') throw invalid('listen.host must be an address')
  if (!isLoopback(host)) {
    // anyone who reaches the port would log in as the upstream user: never by accident
    if (options.allowNonLoopback !== true) {
      throw invalid(`listen.host ${JSON.stringify(host)} is not a loopback address: set allowNonLoopback: true (and a localPassword) to listen there`)
    }
    if (options.localPassword === undefined) throw invalid('a non-loopback listen address needs a localPassword')
  }
  return { host, port }
}

function readLocalTls(localTls) {
  if (localTls === undefined) return undefined
  if (!isObject(localTls) || own(localTls, 'key') === undefined || own(localTls, 'cert') === undefined) {
    throw invalid('localTls must be { key, cert } (PEM)')
  }
  return { ...localTls }
}

function checkPositiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1) throw invalid(`${name} must be a positive integer`)
}

/** The checked options: { upstream, ssl, user, listen, tokenOptions, ... }. Throws OidcError ERR_OIDC_INVALID_ARGUMENT. */
function readProxyOptions(input) {
  if (!isObject(input)) throw invalid('options must be an object')
  const options = Object.create(null)
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) throw invalid(`unknown option ${JSON.stringify(key)}`)
    if (input[key] !== undefined) options[key] = input[key]
  }
  const tokenOptions = {}
  for (const key of TOKEN_OPTIONS) if (options[key] !== undefined) tokenOptions[key] = options[key]
  const { user, localPassword } = options
  if (user !== undefined && (typeof user !== 'string' || user === '')) throw invalid('user must be a non-empty string')
  if (localPassword !== undefined && (typeof localPassword !== 'string' || localPassword === '')) {
    throw invalid('localPassword must be a non-empty string')
  }
  if (options.ssl !== undefined && !isObject(options.ssl)) throw invalid('ssl must be an object (tls.connect options: ca, servername, ...)')
  if (options.allowNonLoopback !== undefined && typeof options.allowNonLoopback !== 'boolean') throw invalid('allowNonLoopback must be true or false')
  if (options.log !== undefined && options.log !== false && typeof options.log !== 'function') {
    throw invalid('log must be a function (one record per connection) or false')
  }
  if (options.logFormat !== undefined && options.logFormat !== 'text' && options.logFormat !== 'json') throw invalid("logFormat must be 'text' or 'json'")
  const result = {
    ...DEFAULTS,
    upstream: readUpstream(options.upstream),
    ssl: options.ssl,
    user,
    listen: readListen(options.listen, options),
    localPassword,
    localTls: readLocalTls(options.localTls),
    log: options.log,
    logFormat: options.logFormat ?? 'text',
    tokenOptions,
  }
  for (const name of ['maxConnections', 'drainTimeoutMs', 'connectTimeoutMs']) {
    if (options[name] !== undefined) {
      checkPositiveInteger(options[name], name)
      result[name] = options[name]
    }
  }
  return result
}

module.exports = { readProxyOptions, isLoopback, TOKEN_OPTIONS }
