'use strict'

/**
 * An embedded MySQL-protocol server that logs users in with an OpenID Connect ID token as strictly
 * as MySQL Enterprise, Percona Server, StarRocks or TiDB do (each mode's checks: modes/<mode>.js,
 * explained in docs/protocol.md#what-each-server-checks), and a local identity provider to mint
 * tokens (createIdentityProvider; a real one: startOidcProvider). For the package's tests and demo; without
 * `backend` it is not a database.
 *
 *   const idp = await createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })
 *   const server = await startOidcServer({
 *     mode: 'mysql-enterprise',      // | 'percona' | 'starrocks' | 'tidb'
 *     identityProviders: [idp],      // each { issuer, jwks?, publicJwk?, audience? }; or top-level issuer + jwks
 *       // { issuer, discovery: true } (or discoveryUrl): keys from the issuer's discovery document and
 *       // jwks_uri, loopback http only; percona reads them at start, starrocks on every login.
 *     users: { alice: {} },          // per account, as its CREATE USER would say:
 *       // identityProvider: an issuer. mysql-enterprise/percona: the provider the account is bound to
 *       //   (default: the only one); starrocks: its keys and required_issuer; tidb: TOKEN_ISSUER (default "").
 *       // principal: the "user" (sub) of mysql-enterprise/percona, default the account name.
 *       // email: tidb's ATTRIBUTE '{"email": ...}', default "".
 *       // password: a mysql_native_password account instead (a benchmark baseline).
 *     principalField: 'sub',         // starrocks principal_field (a claim, or a JSON pointer "/a/b")
 *     audience: undefined,           // percona audiences / starrocks required_audience (a provider's own wins)
 *     tls: true,                     // true: generated cert; { key, cert }: these PEMs; false: no CLIENT_SSL
 *     requireSecureTransport: undefined, // starrocks/tidb only, default false; always on for mysql-enterprise/percona
 *     socketPath: undefined,         // listen on this Unix socket instead of 127.0.0.1:<ephemeral port>
 *     fault: undefined,              // one of FAULTS, or (connectionNumber) => fault | undefined
 *     backend: undefined,            // { host, port } | { socketPath }, with user, password (an admin
 *       // login) and database: a real server to relay each session to once its login passed the
 *       // mode's checks, as the same account (created at start; all privileges on database). Its
 *       // greeting's version and capabilities are offered (no compression; TLS is ours). startMariaDb()
 *       // resolves to this shape. timeoutMs (default 10000): connect and login replies.
 *   })
 *   server.host, server.port, server.socketPath, server.ca, server.authLog, server.openConnections
 *   A refusal is ERR 1045 as the real server words it; the reason is in server.authLog[i].reason.
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
const { startOidcProvider, startDemoIdentityProvider } = require('./oidc-provider')
const { startMariaDb } = require('./mariadb')
const { prepareBackend } = require('./backend')

async function normalizeOptions(options) {
  const mode = options.mode || 'mysql-enterprise'
  if (!MODES[mode]) throw new TypeError(`unknown mode ${mode}; expected one of ${Object.keys(MODES).join(', ')}`)
  const modeSettings = MODES[mode]
  const { fault } = options
  if (fault !== undefined && typeof fault !== 'function' && !FAULTS.includes(fault)) throw new TypeError(`unknown fault ${fault}`)
  const { issuer, jwks, publicJwk, discovery, discoveryUrl } = options
  const providerList = options.identityProviders || (issuer ? [{ issuer, jwks, publicJwk, discovery, discoveryUrl }] : [])
  if (!providerList.length) throw new TypeError('startOidcServer needs identityProviders (or issuer + jwks)')
  const providers = await prepareProviders(providerList, options.audience, modeSettings)
  if (modeSettings.secureTransport === 'always' && options.requireSecureTransport === false) {
    throw new TypeError(`${mode} always requires TLS or a socket; requireSecureTransport: false is not an option there`)
  }
  const accounts = {}
  for (const [name, account = {}] of Object.entries(options.users || {})) {
    accounts[name] =
      account.password !== undefined
        ? { password: account.password }
        : { settings: modeSettings.account(name, account, providers, options) }
  }
  return {
    mode,
    modeSettings,
    accounts,
    requireSecureTransport: modeSettings.secureTransport === 'always' || options.requireSecureTransport === true,
    socketPath: options.socketPath,
    fault: options.fault,
    backend: options.backend,
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
  const config = await normalizeOptions(options)
  const tlsOption = options.tls === undefined ? true : options.tls
  const identity = tlsOption === true ? await getSelfSignedCertificate() : tlsOption || null
  const state = {
    config,
    secureContext: identity ? tls.createSecureContext({ key: identity.key, cert: identity.cert }) : null,
    authLog: [],
    connections: new Set(),
    sockets: new Set(),
    nextConnectionId: 1,
    // the real database the sessions are relayed to, its accounts made for the configured users
    backend: config.backend ? await prepareBackend(config.backend, Object.keys(config.accounts)) : null,
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
  startOidcProvider,
  startDemoIdentityProvider,
  startMariaDb,
  getSelfSignedCertificate,
  MODES: Object.keys(MODES),
  FAULTS,
  OIDC_CLIENT_PLUGIN,
}
