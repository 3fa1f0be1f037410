'use strict'

// The proxy's local side: it greets a local client as a MySQL server would (with the upstream's own
// flags, version and connection id, so both ends agree on what the relayed bytes mean), upgrades to
// TLS when the client asks and local TLS is set up, and checks the local password with the client's
// plugin. Resolves with what the upstream login needs; the final OK or ERR is the caller's to send.

const crypto = require('node:crypto')
const tls = require('node:tls')
const { PacketChannel, CLIENT, encodeHandshakeV10, parseHandshakeResponse41, isSslRequest, encodeAuthSwitchRequest } = require('../mysql-protocol')
const { CACHING_SHA2, LOCAL_PLUGINS } = require('./local-auth.js')

// A handshake response is small; a local client that sends more is not a client.
const MAX_LOGIN_PACKET = 64 * 1024
const FAST_AUTH_SUCCESS = Buffer.from([0x01, 0x03])
// What the proxy cannot pass on: compression reframes packets; TLS is each side's own.
const NOT_OFFERED = CLIENT.COMPRESS | CLIENT.ZSTD_COMPRESSION_ALGORITHM | CLIENT.SSL

class LocalLoginError extends Error {
  constructor(message, { errorCode = 1045, sqlState = '28000', outcome = 'local-auth-failed' } = {}) {
    super(message)
    this.errorCode = errorCode
    this.sqlState = sqlState
    this.outcome = outcome
  }
}

const protocolError = (message) => new LocalLoginError(message, { errorCode: 1043, sqlState: '08S01', outcome: 'local-protocol-error' })

// Bytes 1..127, no NUL: some clients treat the scramble as a C string.
function makeScramble() {
  return Buffer.from(crypto.randomBytes(20).map((b) => (b % 127) + 1))
}

/**
 * Rejects as soon as the client's first packet header declares more than a login needs: the shared
 * reader would wait for all of a declared 16 MiB before it looks at the size.
 */
function guardFirstHeader(socket) {
  let head = Buffer.alloc(0)
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk.subarray(0, 4)])
      if (head.length < 4) return
      socket.off('data', onData)
      if (head.readUIntLE(0, 3) > MAX_LOGIN_PACKET) reject(protocolError('the first packet is larger than any login'))
      else resolve()
    }
    socket.on('data', onData)
  })
}

async function upgradeLocalTls(channel, secureContext, timeoutMs) {
  const { stream, buffered } = channel.release()
  // a client may send its ClientHello right behind the SSLRequest: TLSSocket reads what is unshifted
  stream.pause()
  if (buffered.length) stream.unshift(buffered)
  const secure = new tls.TLSSocket(stream, { isServer: true, secureContext })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(protocolError('the local TLS handshake timed out')), timeoutMs)
    secure.once('secure', () => resolve(clearTimeout(timer)))
    secure.once('error', () => reject(protocolError('the local TLS handshake failed')))
  })
  const next = new PacketChannel(secure, { maxMessageBytes: MAX_LOGIN_PACKET })
  next.sequenceId = channel.sequenceId
  return next
}

/**
 * Runs the local login on `socket`. `greeting` is the upstream's parsed HandshakeV10.
 * Resolves { channel, response } (the client's HandshakeResponse41; channel.sequenceId is the next
 * server packet's); rejects with LocalLoginError, or the channel's error when the client goes away.
 */
async function acceptLocalLogin(socket, { greeting, verifier, localTlsContext, timeoutMs }, current = {}) {
  const scramble = makeScramble()
  // `current.channel`: where the caller finds the sequence id for its ERR if this throws
  let channel = (current.channel = new PacketChannel(socket, { maxMessageBytes: MAX_LOGIN_PACKET }))
  const capabilities = ((greeting.capabilities & ~NOT_OFFERED) | (localTlsContext ? CLIENT.SSL : 0)) >>> 0
  channel.writePacket(encodeHandshakeV10({ ...greeting, scramble, capabilities, authPluginName: CACHING_SHA2 }))
  const deadline = Date.now() + timeoutMs
  const tooLarge = guardFirstHeader(socket)
  tooLarge.catch(() => {})
  const read = async () => {
    try {
      return await Promise.race([channel.readPacket({ timeoutMs: Math.max(1, deadline - Date.now()) }), tooLarge.then(() => new Promise(() => {}))])
    } catch (err) {
      throw err.code === 'ETIMEDOUT' ? protocolError('the local client did not log in in time') : protocolError(`the local client went away or sent garbage (${err.message})`)
    }
  }
  let packet = await read()
  if (isSslRequest(packet.payload)) {
    if (!localTlsContext) throw protocolError('the client asked for TLS, which this proxy does not offer locally')
    channel = current.channel = await upgradeLocalTls(channel, localTlsContext, Math.max(1, deadline - Date.now()))
    packet = await read()
  }
  let response
  try {
    response = parseHandshakeResponse41(packet.payload)
  } catch (err) {
    throw protocolError(`malformed handshake response (${err.message})`)
  }
  current.user = response.user
  let plugin = response.clientPluginName
  let proof = response.authData
  if (!LOCAL_PLUGINS.includes(plugin) || (verifier && proof.length === 0)) {
    // a client that started with another method (or none), or sent no proof (libmariadb with
    // --default-auth when the greeting named another plugin), is asked again, as real servers do
    plugin = LOCAL_PLUGINS.includes(plugin) ? plugin : CACHING_SHA2
    channel.writePacket(encodeAuthSwitchRequest(plugin, Buffer.concat([scramble, Buffer.from([0])])))
    packet = await read()
    proof = packet.payload
  }
  // without a local password the proof is not checked: the socket's mode or loopback is the guard
  if (verifier && !verifier.verify(plugin, scramble, proof)) {
    throw new LocalLoginError(`Access denied for user '${response.user}' (wrong local password)`)
  }
  if (plugin === CACHING_SHA2 && proof.length > 0) channel.writePacket(FAST_AUTH_SUCCESS)
  return { channel, response }
}

module.exports = { acceptLocalLogin, LocalLoginError, NOT_OFFERED }
