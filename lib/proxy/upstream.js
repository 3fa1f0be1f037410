'use strict'

// The upstream side: connect, read the server's greeting, upgrade to TLS, log in with the plugin's
// answer to the server's AuthSwitchRequest. The flags the proxy asks for are the local client's
// (those that shape the command phase), so the relayed bytes mean the same to both ends.

const net = require('node:net')
const tls = require('node:tls')
const { PacketChannel } = require('./packet-channel.js')
const { parseServerGreeting, encodeClientHandshake, CLIENT } = require('./upstream-codec.js')

class UpstreamError extends Error {
  constructor(message, { outcome, serverError = null, code } = {}) {
    super(message)
    this.outcome = outcome
    this.serverError = serverError // the server's ERR payload, relayed to the client as it is
    this.oidcCode = code
  }
}

// Flags that shape only the connection phase: the proxy sets them itself, whatever the client said.
const LOGIN_FLAGS = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA
// Flags the proxy cannot relay: compression reframes packets, and TLS is each side's own.
const NOT_RELAYED = BigInt(CLIENT.COMPRESS | CLIENT.SSL | CLIENT.ZSTD_COMPRESSION | CLIENT.SSL_VERIFY_SERVER_CERT | CLIENT.REMEMBER_OPTIONS)

function serverErrorOf(payload) {
  const errno = payload.readUInt16LE(1)
  const message = payload.toString('utf8', payload[3] === 0x23 ? 9 : 3)
  return { errno, message, payload }
}

/** Connects and reads the greeting. Resolves { socket, channel, greeting }. */
function openUpstream(upstream, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = upstream.socketPath ? net.connect(upstream.socketPath) : net.connect(upstream.port, upstream.host)
    socket.setNoDelay(true)
    const fail = (err) => {
      socket.destroy()
      reject(err instanceof UpstreamError ? err : new UpstreamError(`cannot reach the upstream server (${err.code || err.message})`, { outcome: 'upstream-unreachable' }))
    }
    socket.once('error', fail)
    const channel = new PacketChannel(socket)
    channel.next(timeoutMs).then((packet) => {
      socket.off('error', fail)
      if (packet.payload[0] === 0xff) return fail(new UpstreamError(`the upstream server refused the connection: ${serverErrorOf(packet.payload).message}`, { outcome: 'upstream-refused', serverError: packet.payload }))
      let greeting
      try {
        greeting = parseServerGreeting(packet.payload)
      } catch (err) {
        return fail(new UpstreamError(`the upstream server's greeting is malformed (${err.message})`, { outcome: 'upstream-protocol-error' }))
      }
      resolve({ socket, channel, greeting })
    }, fail)
  })
}

/**
 * Logs in over an opened upstream: `request` is the local client's handshake, `loginFor` the plugin
 * adapter. Resolves { stream, okPayload, rest }; rejects with UpstreamError.
 */
async function loginUpstream({ socket, channel, greeting }, request, { upstream, ssl, tokenOptions, loginFor, user, timeoutMs }) {
  let stream = socket
  let sequenceId = 1
  const capabilities = (request.capabilities & greeting.capabilities & ~NOT_RELAYED) | BigInt(LOGIN_FLAGS) | (greeting.capabilities & BigInt(CLIENT.CONNECT_ATTRS) & request.capabilities) | (request.database ? BigInt(CLIENT.CONNECT_WITH_DB) : 0n)
  const useTls = !upstream.socketPath && (ssl !== undefined || tokenOptions.allowInsecureTransport !== true)
  let flags = capabilities
  if (useTls) {
    if (!(greeting.capabilities & BigInt(CLIENT.SSL))) throw new UpstreamError('the upstream server does not offer TLS', { outcome: 'upstream-refused', code: 'ERR_OIDC_INSECURE_TRANSPORT' })
    flags |= BigInt(CLIENT.SSL)
    const head = encodeClientHandshake({ ...request, capabilities: flags }).subarray(0, 32)
    channel.write(sequenceId++, head)
    channel.detach()
    const verify = tokenOptions.allowUnverifiedServer !== true && tokenOptions.allowInsecureTransport !== true
    const servername = ssl?.servername ?? (net.isIP(upstream.host) ? undefined : upstream.host)
    stream = tls.connect({ ...ssl, socket, servername, rejectUnauthorized: verify })
    await new Promise((resolve, reject) => {
      stream.once('secureConnect', resolve)
      stream.once('error', (err) => reject(new UpstreamError(`the upstream TLS handshake failed (${err.code || err.message})`, { outcome: 'upstream-tls-failed' })))
    })
    channel = new PacketChannel(stream)
  }
  const login = loginFor(() => stream, { user, host: upstream.host, port: upstream.port, socketPath: upstream.socketPath, ssl })
  const answer = async (pluginName, data) => {
    try {
      const response = await login.answer(pluginName, data)
      if (!response) throw new UpstreamError('the login was abandoned', { outcome: 'client-closed' })
      return response
    } catch (err) {
      if (err instanceof UpstreamError) throw err
      throw new UpstreamError(err.message, { outcome: 'token-refused', code: err.oidcCode })
    }
  }
  let first = Buffer.alloc(0)
  if (greeting.authPluginName === 'authentication_openid_connect_client') first = await answer(greeting.authPluginName, greeting.scramble)
  channel.write(sequenceId++, encodeClientHandshake({ ...request, user, capabilities: flags, authData: first, pluginName: greeting.authPluginName }))
  let switched = false
  for (;;) {
    const packet = await channel.next(timeoutMs)
    sequenceId = (packet.sequenceId + 1) & 0xff
    const kind = packet.payload[0]
    if (kind === 0x00) return { stream, okPayload: packet.payload, rest: channel.detach(), capabilities: flags }
    if (kind === 0xff) {
      const { errno, message } = serverErrorOf(packet.payload)
      if (errno === 1045) login.refused()
      throw new UpstreamError(`the upstream server refused the login: ${message}`, { outcome: 'upstream-refused', serverError: packet.payload })
    }
    if (kind === 0xfe && !switched) {
      switched = true
      const end = packet.payload.indexOf(0, 1)
      const pluginName = packet.payload.toString('latin1', 1, end < 0 ? packet.payload.length : end)
      channel.write(sequenceId, await answer(pluginName, end < 0 ? Buffer.alloc(0) : packet.payload.subarray(end + 1)))
      continue
    }
    throw new UpstreamError(`the upstream server asked for more than one token in a login (packet 0x${kind.toString(16)})`, { outcome: 'upstream-protocol-error', code: 'ERR_OIDC_UNEXPECTED_REQUEST' })
  }
}

module.exports = { openUpstream, loginUpstream, UpstreamError }
