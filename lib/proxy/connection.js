'use strict'

// One local client's life: upstream greeting, local login, upstream login with the token, then the
// relay (lib/mysql-protocol's) until either side ends, and one log record at the end. Every failure
// the client can be told of reaches it as a MySQL ERR packet, never as a silent close.

const { performance } = require('node:perf_hooks')
const { COMMAND, encodeErr, framePackets, startRelay } = require('../mysql-protocol')
const { acceptLocalLogin, LocalLoginError } = require('./local-login.js')
const { openUpstream, secureUpstream, loginUpstream, UpstreamError } = require('./upstream.js')

const CHANGE_USER_ERROR = 'COM_CHANGE_USER is not supported through mysql-openid-connect proxy: the proxy logs in with its own token; open a new connection instead'

function describeClient(socket) {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix-socket'
}

function sendErr(stream, sequenceId, errorCode, sqlState, message) {
  if (stream.destroyed || stream.writableEnded) return
  stream.end(framePackets(sequenceId, encodeErr(errorCode, sqlState, `mysql-openid-connect proxy: ${message}`)).bytes)
}

class ProxyConnection {
  constructor(socket, proxy) {
    this.socket = socket
    this.proxy = proxy
    this.started = performance.now()
    this.record = { client: describeClient(socket), user: undefined, upstreamUser: undefined }
    this.stats = { bytesFromClient: 0, bytesToClient: 0 }
    this.relay = null
    this.lastFrom = 'server'
    this.lastActivity = Date.now()
    this.outcome = null
    this.upstreamChannel = null
    socket.on('error', () => {}) // a reset client is an outcome, not a crash
  }

  async run() {
    const { config } = this.proxy
    const local = { channel: null }
    // a client that leaves during the login takes the upstream login with it, token or not
    const onClientGone = () => this.upstreamChannel?.destroy()
    this.socket.once('close', onClientGone)
    try {
      const opened = await openUpstream(config.upstream, config.connectTimeoutMs)
      this.upstreamChannel = opened.channel
      if (this.socket.destroyed) throw new UpstreamError('the client left', { outcome: 'client-closed' })
      // the upstream TLS handshake and the local login run side by side; the token waits for both
      const secured = secureUpstream(opened, config)
      secured.catch(() => {}) // reported below, after the local login
      const { response } = await acceptLocalLogin(this.socket, {
        greeting: opened.greeting,
        verifier: this.proxy.verifier,
        localTlsContext: this.proxy.localTlsContext,
        timeoutMs: config.connectTimeoutMs,
      }, local)
      await secured
      this.record.user = response.user
      const user = config.user ?? response.user
      this.record.upstreamUser = user
      const login = await loginUpstream(opened, response, { ...config, loginFor: this.proxy.loginFor, user, timeoutMs: config.connectTimeoutMs })
      if (local.channel.stream.destroyed || login.stream.destroyed) {
        // one side left while the token was on its way: nothing to relay, nothing may stay open
        login.stream.destroy()
        return this.finish(local.channel.stream.destroyed ? 'client-closed' : 'upstream-closed')
      }
      // the upstream's OK (status, session state) goes to the client with the local sequence id
      local.channel.writePacket(login.ok)
      this.socket.off('close', onClientGone)
      const client = local.channel.release()
      this.startRelay(client, { stream: login.stream, buffered: login.buffered })
    } catch (err) {
      this.record.user ??= local.user
      this.fail(err, local.channel)
    }
  }

  startRelay(client, server) {
    this.countBytes(client.stream, server.stream)
    this.relay = startRelay({
      client,
      server,
      interceptCommand: (command) => command === COMMAND.CHANGE_USER,
      onIntercept: (sides) => this.refuseChangeUser(sides),
      onEnd: (reason) => this.finish(reason === 'server closed' && !this.quit ? 'upstream-closed' : 'closed'),
    })
  }

  countBytes(clientStream, serverStream) {
    if (this.counting) return
    this.counting = true
    clientStream.on('data', (chunk) => {
      this.stats.bytesFromClient += chunk.length
      // COM_QUIT (01 00 00 00 01): the server closing next is the normal end, not a lost upstream
      if (chunk.length === 5 && chunk.readUInt32LE(0) === 1 && chunk[4] === COMMAND.QUIT) this.quit = true
      this.lastFrom = 'client'
      this.lastActivity = Date.now()
    })
    serverStream.on('data', (chunk) => {
      this.stats.bytesToClient += chunk.length
      this.lastFrom = 'server'
      this.lastActivity = Date.now()
    })
  }

  /** COM_CHANGE_USER would log the upstream session in as someone else: answered here, never relayed. */
  refuseChangeUser({ client, server }) {
    const size = client.buffered.readUIntLE(0, 3)
    if (client.buffered.length < 4 + size) {
      // the whole packet is needed to know where the next one starts: a client that splits it is closed
      return this.finish('change-user-refused', () => sendErr(client.stream, 1, 1235, '42000', CHANGE_USER_ERROR))
    }
    client.stream.write(framePackets(1, encodeErr(1235, '42000', CHANGE_USER_ERROR)).bytes)
    this.relay = null
    this.startRelay({ stream: client.stream, buffered: client.buffered.subarray(4 + size) }, server)
  }

  fail(err, localChannel) {
    const sequenceId = localChannel ? localChannel.sequenceId : 0
    const stream = localChannel?.stream ?? this.socket // the TLS stream once the client upgraded
    let outcome = 'error'
    if (err instanceof LocalLoginError || err instanceof UpstreamError) {
      outcome = err.outcome
      const serverError = err.serverError
      if (serverError) sendErr(stream, sequenceId, serverError.errorCode, serverError.sqlState, serverError.message)
      else if (err instanceof LocalLoginError) sendErr(stream, sequenceId, err.errorCode, err.sqlState, err.message)
      else sendErr(stream, sequenceId, 2013, 'HY000', err.message)
      this.record.code = err.oidcCode
      this.record.message = err.message
    } else {
      sendErr(stream, sequenceId, 2013, 'HY000', 'internal error')
      this.record.message = String(err?.message ?? err)
    }
    this.upstreamChannel?.destroy()
    setTimeout(() => this.socket.destroy(), 1000).unref()
    this.finish(outcome)
  }

  finish(outcome, before) {
    if (this.outcome) return
    before?.()
    this.outcome = outcome
    this.relay?.close()
    this.upstreamChannel?.stream?.destroy?.()
    this.proxy.connectionEnded(this, {
      ...this.record,
      durationMs: Math.round(performance.now() - this.started),
      bytesFromClient: this.stats.bytesFromClient,
      bytesToClient: this.stats.bytesToClient,
      outcome,
    })
  }

  /** Quiet: the server had the last word and nothing moved for `ms` (no command is running). */
  isQuiet(ms) {
    return this.relay !== null && this.lastFrom === 'server' && Date.now() - this.lastActivity >= ms
  }

  close() {
    if (this.relay) this.relay.close()
    else this.socket.destroy()
  }
}

module.exports = { ProxyConnection }
