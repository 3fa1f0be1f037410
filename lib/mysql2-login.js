'use strict'

// How a login runs inside mysql2, and the few places where a plugin must hold it by hand: mysql2
// emits a late plugin failure where nothing may listen, writes a late answer to whatever the
// connection is doing by then, and tells a server's refusal only to the login's command.

const { asPluginError, pluginError } = require('./errors.js')

// The oldest mysql2 whose TLS socket a plugin can see (3.14.3 and older write through a closure)
const NEEDS = 'mysql-openid-connect needs mysql2 3.14.4 or later (see its peerDependencies)'

function unsupported(what) {
  return pluginError('ERR_OIDC_UNSUPPORTED_MYSQL2', `refused to send the ID token: ${what}; ${NEEDS}`)
}

/**
 * Throws unless this mysql2 has what a login relies on (docs/mysql2-internals.md): a `config` and
 * the `stream` it really talks over, and `_command`, without which a late answer could not be told
 * from a current one and might be written into a finished login. Checked at every login, before
 * the token is fetched, so an unexpected mysql2 refuses instead of misbehaving.
 */
function requireMysql2Internals(connection) {
  if (connection === null || typeof connection !== 'object') throw unsupported('mysql2 passed the plugin no connection')
  if (connection.config === null || typeof connection.config !== 'object') throw unsupported('the connection has no config')
  if (connection.stream === null || typeof connection.stream !== 'object') {
    throw unsupported('the connection exposes no stream to judge the transport by')
  }
  if (!('_command' in connection)) throw unsupported('the connection does not say which command is running')
}

/** The error for a connection that asked for TLS but whose stream is plain: mysql2 hides its TLS socket. */
function hiddenTlsError() {
  return unsupported('TLS is on (`ssl`), but this mysql2 hides its TLS socket from plugins, so the server cannot be verified')
}

/** Closed or closing: mysql2 would write a late answer to the ended socket and throw uncaught. */
function isGone(connection) {
  const stream = connection.stream
  return connection._closing === true || stream?.destroyed === true || stream?.writableEnded === true
}

/**
 * The login no longer waits for this answer: its connection closed, or mysql2 moved past its
 * command (a server may say OK without waiting for the token; a late answer or error would then
 * land on a finished login: written as a stray packet, or emitted where nothing listens).
 */
function isOver({ connection, command }) {
  return isGone(connection) || (command !== connection && '_command' in connection && connection._command !== command)
}

/**
 * mysql2 reports a rejected plugin Promise by emitting 'error' on the login's command; a
 * changeUser command has no listener, so the emit would throw and kill the process. Give it the
 * listener mysql2 itself uses for a plugin that throws synchronously.
 */
function catchCommandErrors(command, connection) {
  if (typeof command?.listenerCount !== 'function' || command.listenerCount('error') > 0) return
  command.once('error', (err) => {
    if (typeof connection._handleFatalError === 'function') connection._handleFatalError(err)
    connection.stream?.destroy?.()
  })
}

/**
 * Settles with the answer to a pending token, but lets go of the login when its connection closes:
 * the shared fetch may outlive many abandoned logins, and must not keep them (or answer them).
 */
function answerWhenReady(pending, connection, command, respond) {
  const login = { resolve: null, reject: null, respond, connection, command, stream: connection.stream }
  const answer = new Promise((resolve, reject) => {
    login.resolve = resolve
    login.reject = reject
  })
  subscribe(pending, login)
  return answer
}

/**
 * Wires `pending` to `login`. A function of its own so that the callbacks that `pending` keeps
 * close over nothing but `slot` (closures keep their whole enclosing scope alive in V8), and
 * `slot` is emptied when the connection closes.
 */
function subscribe(pending, login) {
  let slot = login
  const take = () => {
    const current = slot
    slot = null
    current?.stream?.off?.('close', onClose)
    return current
  }
  const onClose = () => take()?.resolve(undefined) // gone: nothing to answer, nowhere to send it
  login.stream?.once?.('close', onClose)
  pending.then(
    (token) => {
      const current = take()
      if (!current) return
      if (isOver(current)) return current.resolve(undefined)
      try {
        current.resolve(current.respond(token))
      } catch (err) {
        current.reject(err)
      }
    },
    (err) => {
      const current = take()
      if (!current) return
      if (isOver(current)) return current.resolve(undefined)
      current.reject(asPluginError(err))
    },
  )
}

/**
 * Calls `refused` if the server answers this login with access denied (errno 1045). mysql2 hands a
 * handshake's error to the command's 'error' listeners and a changeUser's to its `onResult`.
 */
function whenRefused(command, connection, refused) {
  if (command === connection || typeof command?.once !== 'function') return
  const check = (err) => err?.errno === 1045 && refused()
  if (typeof command.onResult === 'function') {
    const onResult = command.onResult
    command.onResult = function (err, ...rest) {
      check(err)
      return onResult.call(this, err, ...rest)
    }
  } else {
    command.once('error', check)
  }
}

module.exports = { requireMysql2Internals, hiddenTlsError, catchCommandErrors, answerWhenReady, whenRefused }
