'use strict'

// The upstream side in two steps, so the local client can be greeted with the upstream's own flags:
// openUpstream connects and reads the greeting (no token yet); loginUpstream upgrades to TLS and logs
// in with the local client's flags, answering the server's switch to the OIDC plugin with the
// plugin's own answer (upstream-token.js). Built on lib/mysql-protocol's channel and packets.

const net = require('node:net')
const { PacketChannel, connectSocket, CLIENT, parseHandshakeV10, encodeSslRequest, encodeHandshakeResponse41, parseAuthSwitchRequest, parseErr } = require('../mysql-protocol')
const { PLUGIN_NAME } = require('../errors.js')
const { NOT_OFFERED } = require('./local-login.js')

const MAX_LOGIN_PACKET = 1024 * 1024
// Flags of the connection phase alone: set by the proxy for its own login, whatever the client said.
const LOGIN_FLAGS = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA

class UpstreamError extends Error {
  constructor(message, { outcome, serverError = null, code } = {}) {
    super(message)
    this.outcome = outcome
    this.serverError = serverError // { errorCode, sqlState, message } of the server's ERR, relayed as it was
    if (code) this.oidcCode = code
  }
}

/** Connects and reads the greeting: resolves { channel, greeting }; rejects with UpstreamError. */
async function openUpstream(upstream, timeoutMs) {
  let socket
  try {
    socket = await connectSocket({ ...upstream, timeoutMs })
  } catch (err) {
    throw new UpstreamError(`cannot reach the upstream server (${err.code || err.message})`, { outcome: 'upstream-unreachable' })
  }
  // greetings and auth requests are small: a server that announces more is not buffered for long
  const channel = new PacketChannel(socket, { maxMessageBytes: MAX_LOGIN_PACKET })
  try {
    const { payload } = await channel.readPacket({ timeoutMs })
    if (payload[0] === 0xff) {
      const serverError = parseErr(payload)
      throw new UpstreamError(`the upstream server refused the connection: ${serverError.message}`, { outcome: 'upstream-refused', serverError })
    }
    return { channel, greeting: parseHandshakeV10(payload) }
  } catch (err) {
    channel.destroy()
    if (err instanceof UpstreamError) throw err
    throw new UpstreamError(`the upstream server did not greet properly (${err.code || err.message})`, { outcome: 'upstream-unreachable' })
  }
}

/** TLS unless the upstream is a local socket or the user opted out of it in so many words. */
function needsTls(upstream, ssl, tokenOptions) {
  return !upstream.socketPath && (ssl !== undefined || tokenOptions.allowInsecureTransport !== true)
}

/**
 * Upgrades an opened upstream to TLS, while the local client is still logging in: the SSLRequest
 * names every flag the proxy may ask for; servers read the flags again from the full response after
 * the TLS handshake, which names the local client's. Resolves when the handshake is done.
 */
async function secureUpstream({ channel, greeting }, { upstream, ssl, tokenOptions }) {
  if (!needsTls(upstream, ssl, tokenOptions)) return
  if (!(greeting.capabilities & CLIENT.SSL)) {
    throw new UpstreamError('the upstream server does not offer TLS', { outcome: 'upstream-refused', code: 'ERR_OIDC_INSECURE_TRANSPORT' })
  }
  const clientFlags = ((greeting.capabilities & ~NOT_OFFERED) | LOGIN_FLAGS | CLIENT.SSL) >>> 0
  channel.writePacket(encodeSslRequest({ clientFlags }))
  const verify = tokenOptions.allowUnverifiedServer !== true && tokenOptions.allowInsecureTransport !== true
  const servername = ssl?.servername ?? (net.isIP(upstream.host) ? undefined : upstream.host)
  try {
    await channel.upgradeToTls({ ...ssl, servername, rejectUnauthorized: verify })
  } catch (err) {
    throw new UpstreamError(`the upstream TLS handshake failed (${err.code || err.message})`, { outcome: 'upstream-tls-failed', code: 'ERR_OIDC_UNVERIFIED_SERVER' })
  }
}

/**
 * Logs in on an opened (and, unless local, secured) upstream as `user`, with the local client's
 * `response` (flags, database, charset, attributes). `loginFor` makes the token answer.
 * Resolves { stream, buffered, ok, clientFlags }.
 */
async function loginUpstream({ channel, greeting }, response, { upstream, ssl, tokenOptions, loginFor, user, timeoutMs }) {
  let clientFlags = (response.clientFlags & greeting.capabilities & ~NOT_OFFERED) | LOGIN_FLAGS
  clientFlags = response.database ? clientFlags | CLIENT.CONNECT_WITH_DB : clientFlags & ~CLIENT.CONNECT_WITH_DB
  if (!response.connectAttrs) clientFlags &= ~CLIENT.CONNECT_ATTRS
  if (needsTls(upstream, ssl, tokenOptions)) clientFlags |= CLIENT.SSL
  const { charset, database, connectAttrs } = response
  clientFlags >>>= 0
  // MariaDB's own flags (extended column metadata): the client was offered the upstream's, and both ends must agree
  const mariadbCapabilities = (response.mariadbCapabilities & greeting.mariadbCapabilities) >>> 0
  const login = loginFor(() => channel.stream, { user, host: upstream.host, port: upstream.port, socketPath: upstream.socketPath, ssl })
  const answer = async (pluginName, data) => {
    let reply
    try {
      reply = await login.answer(pluginName, data)
    } catch (err) {
      throw new UpstreamError(err.message, { outcome: 'token-refused', code: err.oidcCode })
    }
    if (!reply) throw new UpstreamError('the login was abandoned', { outcome: 'client-closed' })
    return reply
  }
  const pluginName = greeting.authPluginName || 'mysql_native_password'
  // the greeting's method gets an empty answer: the token goes only to the OIDC plugin's switch
  const first = pluginName === PLUGIN_NAME ? await answer(pluginName, greeting.scramble) : Buffer.alloc(0)
  channel.writePacket(
    encodeHandshakeResponse41({ clientFlags, user, authData: first, database, authPluginName: pluginName, connectAttrs, charset, maxPacketSize: response.maxPacketSize, mariadbCapabilities }),
  )
  let answered = pluginName === PLUGIN_NAME
  for (;;) {
    let payload
    try {
      ;({ payload } = await channel.readPacket({ timeoutMs }))
    } catch (err) {
      throw new UpstreamError(`the upstream server went away during the login (${err.code || err.message})`, { outcome: 'upstream-lost' })
    }
    if (payload[0] === 0x00) return { ...channel.release(), ok: payload, clientFlags }
    if (payload[0] === 0xff) {
      const serverError = parseErr(payload)
      if (serverError.errorCode === 1045 && answered) login.refused()
      throw new UpstreamError(`the upstream server refused the login: ${serverError.message}`, { outcome: 'upstream-refused', serverError })
    }
    if (payload[0] === 0xfe && payload.length > 1 && !answered) {
      const request = parseAuthSwitchRequest(payload)
      answered = true
      channel.writePacket(await answer(request.pluginName, request.pluginData))
      continue
    }
    throw new UpstreamError(`the upstream server asked for more than one answer in a login (packet 0x${payload[0].toString(16)})`, { outcome: 'upstream-protocol-error', code: 'ERR_OIDC_UNEXPECTED_REQUEST' })
  }
}

module.exports = { openUpstream, secureUpstream, loginUpstream, UpstreamError }
