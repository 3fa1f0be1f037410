'use strict'

// The client side of a login to a real MySQL-protocol server: greeting, optional TLS (SSLRequest),
// HandshakeResponse41 with the caller's capability flags, then auth switches and AuthMoreData, each
// answered by the caller's `answer(pluginName, data, context)`. Also COM_CHANGE_USER on a logged-in
// channel, and passwordAnswer() for mysql_native_password / caching_sha2_password / mysql_clear_password.

const crypto = require('node:crypto')
const net = require('node:net')
const { CLIENT } = require('./constants')
const { PacketChannel } = require('./channel')
const packets = require('./packets')

const DEFAULT_TIMEOUT_MS = 10_000

/** An ERR packet from the server: errorCode, sqlState and the server's message. */
class ServerError extends Error {
  constructor({ errorCode, sqlState, message }) {
    super(message)
    this.name = 'ServerError'
    this.errorCode = errorCode
    this.sqlState = sqlState
  }
}

/** A TCP or Unix-socket connection, Nagle off; rejects with the socket's error, or ETIMEDOUT after `timeoutMs`. */
function connectSocket({ host, port, socketPath, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const socket = socketPath ? net.connect(socketPath) : net.connect(port, host)
    const timer = setTimeout(() => {
      socket.destroy()
      const err = new Error(`connect timed out after ${timeoutMs} ms`)
      err.code = 'ETIMEDOUT'
      reject(err)
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', reject)
      socket.setNoDelay(true)
      resolve(socket)
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

// Reads auth replies until OK (resolves to its payload) or ERR (throws ServerError).
async function finishAuth(channel, { pluginName, scramble, answer, context, timeoutMs }) {
  let plugin = pluginName
  let pluginData = scramble
  for (;;) {
    const { payload } = await channel.readPacket({ timeoutMs })
    if (payload[0] === 0x00) return payload
    if (payload[0] === 0xff) throw new ServerError(packets.parseErr(payload))
    let reply
    if (payload[0] === 0xfe && payload.length > 1) {
      ;({ pluginName: plugin, pluginData } = packets.parseAuthSwitchRequest(payload))
      reply = await answer(plugin, pluginData, { ...context, stage: 'switch', scramble: pluginData })
      if (!reply) reply = Buffer.alloc(0) // a switch always gets an answer, even an empty one
    } else if (payload[0] === 0x01) {
      reply = await answer(plugin, payload.subarray(1), { ...context, stage: 'more', scramble: pluginData })
    } else {
      throw new Error(`unexpected packet 0x${payload[0].toString(16)} during authentication`)
    }
    if (reply) channel.writePacket(reply)
  }
}

/**
 * Connects and logs in. Resolves to { channel, handshake, clientFlags, mariadbCapabilities, ok }
 * (`ok`: the OK payload); rejects with ServerError on the server's refusal, or an Error (code
 * ETIMEDOUT, ECONNREFUSED, ...). `clientFlags` (and MariaDB's `mariadbCapabilities`) are sent as
 * given minus what the server lacks; `tls`: tls.connect options or null.
 */
async function connectAndLogin(options) {
  const { user, database = '', answer, connectAttrs, charset, tls = null, timeoutMs = DEFAULT_TIMEOUT_MS } = options
  let mariadbCapabilities = 0
  const socket = await connectSocket({ ...options, timeoutMs })
  const channel = new PacketChannel(socket)
  try {
    const greeting = await channel.readPacket({ timeoutMs })
    if (greeting.payload[0] === 0xff) throw new ServerError(packets.parseErr(greeting.payload))
    const handshake = packets.parseHandshakeV10(greeting.payload)
    let clientFlags = (options.clientFlags & handshake.capabilities & ~CLIENT.SSL & ~CLIENT.COMPRESS) >>> 0
    if (database) clientFlags |= CLIENT.CONNECT_WITH_DB
    else clientFlags &= ~CLIENT.CONNECT_WITH_DB
    let secure = Boolean(options.socketPath)
    if (tls) {
      if (!(handshake.capabilities & CLIENT.SSL)) throw new Error('the server does not offer TLS')
      clientFlags |= CLIENT.SSL
      channel.writePacket(packets.encodeSslRequest({ clientFlags, charset, mariadbCapabilities: (options.mariadbCapabilities || 0) & handshake.mariadbCapabilities }))
      // SNI takes host names only; tls.connect still checks an IP address against the certificate
      await channel.upgradeToTls({ host: options.host, ...(net.isIP(options.host || '') ? {} : { servername: options.host }), ...tls })
      secure = true
    }
    clientFlags >>>= 0
    mariadbCapabilities = (options.mariadbCapabilities || 0) & handshake.mariadbCapabilities
    const context = { secure, handshake }
    const pluginName = handshake.authPluginName || 'mysql_native_password'
    const authData = (await answer(pluginName, handshake.scramble, { ...context, stage: 'initial', scramble: handshake.scramble })) || Buffer.alloc(0)
    channel.writePacket(packets.encodeHandshakeResponse41({ clientFlags, user, authData, database, authPluginName: pluginName, connectAttrs, charset, mariadbCapabilities }))
    const ok = await finishAuth(channel, { pluginName, scramble: handshake.scramble, answer, context, timeoutMs })
    return { channel, handshake, clientFlags, mariadbCapabilities, secure, ok }
  } catch (err) {
    channel.destroy()
    throw err
  }
}

/**
 * COM_CHANGE_USER on a channel that `connectAndLogin` opened (its handshake, flags, secure); resolves
 * to the OK payload, rejects with ServerError when refused (the server then closes the session).
 */
async function changeUser(login, { user, database = '', answer, connectAttrs, charset, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  const { channel, handshake, clientFlags, secure } = login
  const pluginName = handshake.authPluginName || 'mysql_native_password'
  const context = { secure, handshake }
  const authData = (await answer(pluginName, handshake.scramble, { ...context, stage: 'initial', scramble: handshake.scramble })) || Buffer.alloc(0)
  channel.sequenceId = 0
  channel.writePacket(packets.encodeChangeUser({ clientFlags, user, authData, database, authPluginName: pluginName, connectAttrs, charset }))
  return finishAuth(channel, { pluginName, scramble: handshake.scramble, answer, context, timeoutMs })
}

const sha = (algorithm, ...parts) => {
  const hash = crypto.createHash(algorithm)
  for (const part of parts) hash.update(part)
  return hash.digest()
}
const xor = (a, b) => Buffer.from(a.map((byte, i) => byte ^ b[i % b.length]))
// Password plugins send a 20-byte scramble followed by a NUL.
const scramble20 = (data) => data.subarray(0, 20)

/** An `answer` that logs in with a password: mysql_native_password, caching_sha2_password, mysql_clear_password. */
function passwordAnswer(password) {
  const secret = Buffer.from(password, 'utf8')
  return (pluginName, data, { stage, secure, scramble }) => {
    if (pluginName === 'mysql_native_password') {
      if (stage === 'more') throw new Error('unexpected AuthMoreData for mysql_native_password')
      if (!secret.length) return Buffer.alloc(0)
      const stage1 = sha('sha1', secret)
      return xor(stage1, sha('sha1', scramble20(data), sha('sha1', stage1)))
    }
    if (pluginName === 'caching_sha2_password') {
      if (stage !== 'more') {
        if (!secret.length) return Buffer.alloc(0)
        const stage1 = sha('sha256', secret)
        return xor(stage1, sha('sha256', sha('sha256', stage1), scramble20(data)))
      }
      if (data.length === 1 && data[0] === 0x03) return null // fast auth succeeded: an OK follows
      if (data.length === 1 && data[0] === 0x04) return secure ? Buffer.concat([secret, Buffer.from([0])]) : Buffer.from([0x02]) // full auth: in clear only when secure, else ask for the key
      const key = data.toString('latin1') // the server's RSA public key (PEM), as asked
      const padded = xor(Buffer.concat([secret, Buffer.from([0])]), scramble20(scramble))
      return crypto.publicEncrypt({ key, oaepHash: 'sha1', padding: crypto.constants.RSA_PKCS1_OAEP_PADDING }, padded)
    }
    if (pluginName === 'mysql_clear_password') {
      if (!secure) throw new Error('mysql_clear_password refused: the connection is neither TLS nor a local socket')
      return Buffer.concat([secret, Buffer.from([0])])
    }
    throw new Error(`no password answer for auth plugin ${pluginName}`)
  }
}

/** Sends one statement (COM_QUERY) and resolves to the OK payload; for statements without result set. */
async function runStatement(channel, sql, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  channel.sequenceId = 0
  channel.writePacket(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]))
  const { payload } = await channel.readPacket({ timeoutMs })
  if (payload[0] === 0xff) throw new ServerError(packets.parseErr(payload))
  if (payload[0] !== 0x00) throw new Error('runStatement expects a statement without a result set')
  return payload
}

module.exports = { connectSocket, connectAndLogin, changeUser, passwordAnswer, runStatement, ServerError }
