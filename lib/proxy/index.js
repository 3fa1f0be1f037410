'use strict'

// createProxy: a local MySQL-protocol endpoint that logs in upstream with the package's OIDC plugin.

const fs = require('node:fs')
const net = require('node:net')
const tls = require('node:tls')
const { readProxyOptions } = require('./options.js')
const { localPasswordVerifier } = require('./local-auth.js')
const { upstreamAnswerer } = require('./upstream-token.js')
const { connectionLogger, PROXY_CHANNEL } = require('./log.js')
const { ProxyConnection } = require('./connection.js')
const { encodeErr, framePackets } = require('../mysql-protocol')
const { pluginError } = require('../errors.js')

// How often a draining proxy looks for connections that went quiet, and how quiet is quiet.
const DRAIN_POLL_MS = 50
const QUIET_MS = 100

function listen(server, listenOptions) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.off('error', reject)
      resolve()
    }
    if (listenOptions.path) {
      // the socket file is created 0600: only this user's processes may connect
      const previous = process.umask(0o177)
      try {
        server.listen(listenOptions.path, done)
      } finally {
        process.umask(previous)
      }
    } else {
      server.listen(listenOptions.port, listenOptions.host, done)
    }
  })
}

/**
 * Starts a proxy. Resolves { address, connections, close(options?) } once it listens; `close`
 * stops accepting, lets open connections finish (closing each once it is quiet) up to
 * drainTimeoutMs, then ends the rest.
 */
async function createProxy(input) {
  const config = readProxyOptions(input)
  const loginFor = upstreamAnswerer(config.tokenOptions) // checks the token options now
  let localTlsContext = null
  if (config.localTls) {
    try {
      localTlsContext = tls.createSecureContext(config.localTls)
    } catch (err) {
      throw pluginError('ERR_OIDC_INVALID_ARGUMENT', `proxy: localTls is not a usable key and certificate (${err.message})`)
    }
  }
  const logConnection = connectionLogger(config)
  const connections = new Set()
  let closing = null // { promise, done } once close() was called
  const proxy = {
    config,
    loginFor,
    localTlsContext,
    verifier: config.localPassword === undefined ? null : localPasswordVerifier(config.localPassword),
    connectionEnded(connection, record) {
      connections.delete(connection)
      logConnection(record)
      if (closing && connections.size === 0) closing.done()
    },
  }
  const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    socket.setNoDelay(true)
    if (closing || connections.size >= config.maxConnections) {
      const why = closing ? [1053, '08S01', 'the proxy is shutting down'] : [1040, '08004', 'Too many connections']
      socket.on('error', () => {})
      socket.end(framePackets(0, encodeErr(why[0], why[1], `mysql-openid-connect proxy: ${why[2]}`)).bytes)
      logConnection({ client: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix-socket', outcome: closing ? 'refused-draining' : 'refused-max-connections', durationMs: 0 })
      return
    }
    const connection = new ProxyConnection(socket, proxy)
    connections.add(connection)
    connection.run()
  })
  // Unix sockets are files; a Windows named pipe is not (and takes no mode)
  const socketFile = config.listen.path && process.platform !== 'win32'
  if (socketFile && fs.existsSync(config.listen.path)) {
    // a socket left by a proxy that died: only a socket is removed, never another file
    if (fs.lstatSync(config.listen.path).isSocket()) fs.unlinkSync(config.listen.path)
  }
  await listen(server, config.listen)
  if (socketFile) fs.chmodSync(config.listen.path, 0o600)
  const address = server.address()

  const close = ({ drainTimeoutMs = config.drainTimeoutMs } = {}) => {
    if (closing) return closing.promise
    let done
    const promise = new Promise((resolve) => (done = resolve))
    closing = { promise, done }
    server.close()
    const poll = setInterval(() => {
      for (const connection of connections) if (connection.isQuiet(QUIET_MS)) connection.close()
    }, DRAIN_POLL_MS)
    const deadline = setTimeout(() => {
      for (const connection of connections) connection.close()
    }, drainTimeoutMs)
    if (connections.size === 0) done()
    return promise.then(() => {
      clearInterval(poll)
      clearTimeout(deadline)
    })
  }
  return {
    address: typeof address === 'string' ? { path: address } : { host: address.address, port: address.port },
    get connections() {
      return connections.size
    },
    close,
  }
}

module.exports = { createProxy, PROXY_CHANNEL }
