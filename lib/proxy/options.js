'use strict'

// createProxy's options, checked once at start so a mistake fails there and not at the first client.

const { pluginError } = require('../errors.js')
const { readOptions } = require('../options.js')
const { KNOWN_OPTIONS } = require('../auth-plugin.js')
const { own } = require('../transport.js')
const { isLoopbackHost } = require('../loopback.js')

// What authPlugins takes for the token: passed to it unchanged, and checked by it, so the proxy's
// token rules are the plugin's; the names are the plugin's own list.
const TOKEN_OPTIONS = [...KNOWN_OPTIONS]
const whateverAuthPluginsTakes = { type: 'any' }
const positiveInteger = (value) => ({ type: 'number', integer: true, min: 1, default: value })
const SCHEMA = {
  ...Object.fromEntries(TOKEN_OPTIONS.map((name) => [name, whateverAuthPluginsTakes])),
  // read by readUpstream, readListen and readLocalTls below
  upstream: { type: 'any' },
  listen: { type: 'any' },
  localTls: { type: 'any' },
  ssl: { type: 'object' },
  user: { type: 'string' },
  localPassword: { type: 'string' },
  allowNonLoopback: { type: 'boolean' },
  log: { type: 'any', check: (value) => (value === false || typeof value === 'function' ? undefined : 'must be a function (one record per connection) or false') },
  logFormat: { oneOf: ['text', 'json'], default: 'text' },
  maxConnections: positiveInteger(1000),
  drainTimeoutMs: positiveInteger(30_000),
  connectTimeoutMs: positiveInteger(10_000),
}

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `proxy: ${message}`)
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value)

function checkPort(port, name) {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`${name}.port must be a port number from 0 to 65535`)
}

function checkPath(path, name) {
  if (typeof path !== 'string' || path === '') throw invalid(`${name} must be a non-empty path string`)
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
  if (!isLoopbackHost(host)) {
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

/** The checked options: { upstream, ssl, user, listen, tokenOptions, ... }. Throws OidcError ERR_OIDC_INVALID_ARGUMENT. */
function readProxyOptions(input) {
  if (!isObject(input)) throw invalid('options must be an object')
  const options = readOptions(input, SCHEMA, 'proxy: options')
  const tokenOptions = {}
  for (const key of TOKEN_OPTIONS) if (options[key] !== undefined) tokenOptions[key] = options[key]
  const { user, localPassword, ssl, log, logFormat, maxConnections, drainTimeoutMs, connectTimeoutMs } = options
  return {
    upstream: readUpstream(options.upstream),
    ssl,
    user,
    listen: readListen(options.listen, options),
    localPassword,
    localTls: readLocalTls(options.localTls),
    log,
    logFormat,
    maxConnections,
    drainTimeoutMs,
    connectTimeoutMs,
    tokenOptions,
  }
}

module.exports = { readProxyOptions, TOKEN_OPTIONS }
