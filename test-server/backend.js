'use strict'

// A real database behind the embedded server (startOidcServer's `backend`): at start, one account
// per configured user on the backend (all privileges on `database`); after a login passes the mode's
// checks, a backend session as that account, logged in with the client's capability flags so both
// ends read the relayed packets alike.

const crypto = require('node:crypto')
const wire = require('../lib/mysql-protocol')

const { CLIENT } = wire
const ADMIN_FLAGS =
  CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.TRANSACTIONS
const DEFAULT_TIMEOUT_MS = 10_000
// CR_CONN_HOST_ERROR, as MySQL Router tells its clients when it cannot reach the server behind it.
const UNREACHABLE_ERROR_CODE = 2003

const quoteString = (text) => `'${String(text).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const quoteName = (name) => `\`${String(name).replace(/`/g, '``')}\``

function checkOptions(backend) {
  if (!backend || typeof backend !== 'object') throw new TypeError('backend must be { host, port } or { socketPath }, with user, password and database')
  const { host, port, socketPath, user, password, database } = backend
  if (!socketPath && !(typeof host === 'string' && Number.isInteger(port))) throw new TypeError('backend needs host and port, or socketPath')
  for (const [name, value] of Object.entries({ user, password, database })) {
    if (typeof value !== 'string' || !value) throw new TypeError(`backend.${name} must be a non-empty string`)
  }
}

/**
 * Logs in as the backend's administrative login, creates or updates one account per name in
 * `userNames`, and resolves to the backend's description for the relay (see the returned object).
 */
async function prepareBackend(backend, userNames) {
  checkOptions(backend)
  const where = backend.socketPath ? { socketPath: backend.socketPath } : { host: backend.host, port: backend.port }
  const timeoutMs = backend.timeoutMs || DEFAULT_TIMEOUT_MS
  // Random per backend instance (keyed by its admin password) yet the same in every test process
  // sharing that instance: concurrent servers naming the same account must not undo each other's.
  const passwordFor = (name) => crypto.createHmac('sha256', backend.password).update(`relay account ${name}`).digest('base64url')
  const admin = await wire.connectAndLogin({ ...where, user: backend.user, clientFlags: ADMIN_FLAGS, answer: wire.passwordAnswer(backend.password), timeoutMs })
  try {
    for (const name of userNames) {
      const account = `${quoteString(name)}@'%'`
      const password = quoteString(passwordFor(name))
      await wire.runStatement(admin.channel, `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${password}`, { timeoutMs })
      await wire.runStatement(admin.channel, `ALTER USER ${account} IDENTIFIED BY ${password}`, { timeoutMs })
      await wire.runStatement(admin.channel, `GRANT ALL PRIVILEGES ON ${quoteName(backend.database)}.* TO ${account}`, { timeoutMs })
    }
  } finally {
    admin.channel.sequenceId = 0
    admin.channel.writePacket(Buffer.from([wire.COMMAND.QUIT]))
    admin.channel.destroy()
  }
  const { handshake } = admin
  const sessionOptions = (request) => ({
    user: request.user,
    database: request.database,
    connectAttrs: request.connectAttrs,
    charset: request.charset,
    answer: wire.passwordAnswer(passwordFor(request.user)),
    timeoutMs,
  })
  return {
    serverVersion: handshake.serverVersion,
    charset: handshake.charset,
    statusFlags: handshake.statusFlags,
    /** What the embedded server offers its clients: the backend's own, without compression; TLS is ours. */
    greetingCapabilities(withTls) {
      return ((handshake.capabilities & ~CLIENT.COMPRESS & ~CLIENT.SSL) | (withTls ? CLIENT.SSL : 0)) >>> 0
    },
    /** A backend session for a client that logged in with `request` (parsed HandshakeResponse41). */
    login: (request) => wire.connectAndLogin({ ...where, clientFlags: request.clientFlags, ...sessionOptions(request) }),
    /** COM_CHANGE_USER on that session for a client's (parsed) COM_CHANGE_USER. */
    changeUser: (login, request) => wire.changeUser(login, sessionOptions(request)),
  }
}

/** The ERR packet a client gets when its backend session could not be had. */
function backendErrorPacket(err) {
  if (err instanceof wire.ServerError) return wire.encodeErr(err.errorCode, err.sqlState, err.message)
  const why = err && err.code ? err.code : 'no usable reply'
  return wire.encodeErr(UNREACHABLE_ERROR_CODE, 'HY000', `Can't connect to the backend server (${why})`)
}

module.exports = { prepareBackend, backendErrorPacket }
