'use strict'

/**
 * An embedded MySQL-protocol server that logs users in with an OpenID Connect ID token the way
 * MySQL Enterprise, Percona Server, StarRocks and TiDB do (see PROTOCOL.md), and a local identity
 * provider to mint tokens. For the package's end-to-end tests and demo; it is not a database.
 *
 *   const idp = await createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })
 *   const server = await startOidcServer({
 *     mode: 'mysql-enterprise',      // | 'percona' | 'starrocks' | 'tidb'
 *     identityProviders: [idp],      // each { issuer, jwks, audience?, secret? }; or top-level issuer + jwks
 *     users: { alice: { principal: 'alice' } },  // principal defaults to the account name
 *     principalField: 'sub',         // claim compared with the principal (starrocks: with the account name)
 *     audience: undefined,           // required `aud` when set (a provider's own `audience` wins)
 *     tls: true,                     // true: generated cert; { key, cert }: these PEMs; false: no CLIENT_SSL
 *     requireSecureTransport: true,  // refuse a token sent over plain TCP (TLS and Unix sockets are secure)
 *     socketPath: undefined,         // listen on this Unix socket instead of 127.0.0.1:<ephemeral port>
 *     fault: undefined,              // one of FAULTS, or (connectionNumber) => fault | undefined
 *   })
 *   A user given a `password` (users: { bob: { password: 'pw' } }) logs in with mysql_native_password
 *   instead, as a baseline for benchmarks.
 *   server.host, server.port, server.socketPath, server.ca, server.authLog, server.openConnections
 *   await server.close()
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const tls = require('node:tls')
const { Connection, MODES, FAULTS, OIDC_CLIENT_PLUGIN } = require('./server')
const { createIdentityProvider, prepareProviders } = require('./identity-provider')
const { getSelfSignedCertificate } = require('./certs')

function normalizeOptions(options) {
  const mode = options.mode || 'mysql-enterprise'
  if (!MODES[mode]) throw new TypeError(`unknown mode ${mode}; expected one of ${Object.keys(MODES).join(', ')}`)
  const { fault } = options
  if (fault !== undefined && typeof fault !== 'function' && !FAULTS.includes(fault)) throw new TypeError(`unknown fault ${fault}`)
  const providerList =
    options.identityProviders || (options.issuer ? [{ issuer: options.issuer, jwks: options.jwks, secret: options.secret }] : [])
  if (!providerList.length) throw new TypeError('startOidcServer needs identityProviders (or issuer + jwks)')
  const users = {}
  for (const [name, account] of Object.entries(options.users || {})) {
    users[name] = { principal: account && account.principal !== undefined ? account.principal : name, password: account && account.password }
  }
  return {
    mode,
    modeSettings: MODES[mode],
    providers: prepareProviders(providerList),
    users,
    principalField: options.principalField || 'sub',
    audience: options.audience,
    requireSecureTransport: options.requireSecureTransport !== false,
    socketPath: options.socketPath,
    fault: options.fault,
  }
}

function listen(listener, socketPath) {
  return new Promise((resolve, reject) => {
    listener.once('error', reject)
    const onListening = () => {
      listener.off('error', reject)
      resolve()
    }
    if (socketPath) listener.listen(socketPath, onListening)
    else listener.listen(0, '127.0.0.1', onListening)
  })
}

/** Starts a server (options above); resolves once it is listening. */
async function startOidcServer(options = {}) {
  const config = normalizeOptions(options)
  const tlsOption = options.tls === undefined ? true : options.tls
  const identity = tlsOption === true ? await getSelfSignedCertificate() : tlsOption || null
  const state = {
    config,
    secureContext: identity ? tls.createSecureContext({ key: identity.key, cert: identity.cert }) : null,
    authLog: [],
    connections: new Set(),
    sockets: new Set(),
    nextConnectionId: 1,
  }
  const listener = net.createServer((socket) => {
    socket.setNoDelay(true) // a reply is often several writes: Nagle plus delayed ACKs would add 40 ms
    state.sockets.add(socket)
    socket.on('close', () => state.sockets.delete(socket))
    const connection = new Connection(state, socket)
    if (!connection.closed) state.connections.add(connection) // an unknown chosen fault closes it at once
  })
  await listen(listener, config.socketPath)
  let closing = null
  return {
    mode: config.mode,
    host: config.socketPath ? undefined : '127.0.0.1',
    port: config.socketPath ? undefined : listener.address().port,
    socketPath: config.socketPath,
    ca: identity ? identity.cert : undefined,
    // { user, host, mode, plugin, clientPlugin, capability, tokenBytes, transport, secure, ok, reason, secondResponse? }
    authLog: state.authLog,
    get openConnections() {
      return state.connections.size
    },
    // Stops listening, destroys every client socket, removes the Unix socket file.
    close() {
      closing =
        closing ||
        new Promise((resolve) => {
          listener.close(() => {
            if (config.socketPath && process.platform !== 'win32') fs.rmSync(config.socketPath, { force: true })
            resolve()
          })
          for (const connection of state.connections) connection.destroy()
          for (const socket of state.sockets) socket.destroy()
        })
      return closing
    },
  }
}

/** A fresh local socket path: a Unix socket file, or a named pipe on Windows (mysql2 takes both as socketPath). */
function localSocketPath(name = 'oidc-server') {
  const unique = `${name}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`
  return process.platform === 'win32' ? `\\\\.\\pipe\\${unique}` : path.join(os.tmpdir(), `${unique}.sock`)
}

module.exports = {
  startOidcServer,
  localSocketPath,
  createIdentityProvider,
  getSelfSignedCertificate,
  MODES: Object.keys(MODES),
  FAULTS,
  OIDC_CLIENT_PLUGIN,
}
