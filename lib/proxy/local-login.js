'use strict'

// The proxy's local side: it greets a local client as a MySQL server would, upgrades to TLS when the
// client asks (and local TLS is set up), and checks the local password with the client's plugin.
// Resolves with what the upstream login needs; the final OK or ERR is the caller's to send.

const crypto = require('node:crypto')
const tls = require('node:tls')
const { encodeServerHandshake, parseClientHandshake, isSslRequest, encodeAuthSwitch } = require('../mysql-protocol/server-handshake.js')
const { PacketChannel } = require('./packet-channel.js')
const { CACHING_SHA2, LOCAL_PLUGINS } = require('./local-auth.js')

const CLIENT_SSL = 0x800n
const FAST_AUTH_SUCCESS = Buffer.from([0x01, 0x03])

class LocalLoginError extends Error {
  constructor(message, { errno = 1045, sqlState = '28000', outcome = 'local-auth-failed', sequenceId = null } = {}) {
    super(message)
    this.errno = errno
    this.sqlState = sqlState
    this.outcome = outcome
    this.sequenceId = sequenceId
  }
}

// Bytes 1..127, no NUL: some clients treat the scramble as a C string.
function makeScramble() {
  return Buffer.from(crypto.randomBytes(20).map((b) => (b % 127) + 1))
}

/**
 * Runs the local login on `socket`. `greeting` is what the upstream server offered (version,
 * connection id, capabilities, charset, status): the client sees it, so both ends agree on flags.
 * Resolves { stream, channel, handshake, nextSequenceId }; rejects with LocalLoginError.
 */
async function acceptLocalLogin(socket, { greeting, verifier, localTlsContext, timeoutMs }) {
  const scramble = makeScramble()
  let stream = socket
  let channel = new PacketChannel(stream)
  let capabilities = BigInt(greeting.capabilities) & ~CLIENT_SSL
  if (localTlsContext) capabilities |= CLIENT_SSL
  channel.write(0, encodeServerHandshake({ ...greeting, scramble, capabilities, authPluginName: CACHING_SHA2 }))
  const deadline = Date.now() + timeoutMs
  const next = () => channel.next(Math.max(1, deadline - Date.now()))
  let packet = await next()
  if (isSslRequest(packet.payload)) {
    if (!localTlsContext) throw new LocalLoginError('TLS requested but the proxy offers none', { errno: 1043, sqlState: '08S01', outcome: 'protocol-error' })
    const rest = channel.detach()
    if (rest.length) throw new LocalLoginError('data after the SSLRequest', { errno: 1043, sqlState: '08S01', outcome: 'protocol-error' })
    stream = new tls.TLSSocket(socket, { isServer: true, secureContext: localTlsContext })
    await new Promise((resolve, reject) => {
      stream.once('secure', resolve)
      stream.once('error', () => reject(new LocalLoginError('the local TLS handshake failed', { outcome: 'protocol-error' })))
    })
    channel = new PacketChannel(stream)
    packet = await next()
  }
  let handshake
  try {
    handshake = parseClientHandshake(packet.payload)
  } catch (err) {
    throw new LocalLoginError(`malformed handshake response (${err.message})`, { errno: 1043, sqlState: '08S01', outcome: 'protocol-error' })
  }
  let sequenceId = (packet.sequenceId + 1) & 0xff
  let plugin = handshake.pluginName
  let response = handshake.authData
  if (!LOCAL_PLUGINS.includes(plugin)) {
    // a client that started with another method (or none) is switched to the proxy's own
    channel.write(sequenceId, encodeAuthSwitch(CACHING_SHA2, scramble))
    packet = await next()
    plugin = CACHING_SHA2
    response = packet.payload
    sequenceId = (packet.sequenceId + 1) & 0xff
  }
  // without a local password the answer is not checked: the socket's mode or loopback is the guard
  if (verifier && !verifier.verify(plugin, scramble, response)) {
    throw new LocalLoginError(`Access denied for user '${handshake.user}' (wrong local password)`, { sequenceId })
  }
  if (plugin === CACHING_SHA2 && response.length > 0) {
    channel.write(sequenceId, FAST_AUTH_SUCCESS)
    sequenceId = (sequenceId + 1) & 0xff
  }
  return { stream, channel, handshake, nextSequenceId: sequenceId }
}

module.exports = { acceptLocalLogin, LocalLoginError }
