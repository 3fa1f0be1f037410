'use strict'

// One Connection per client socket, walking greeting -> (TLS) -> auth switch -> token check ->
// commands. What differs between the emulated servers is all in modes/<mode>.js; this file only
// follows the order a MySQL-protocol server goes in (docs/protocol.md#the-exchange).

const crypto = require('node:crypto')
const tls = require('node:tls')
const protocol = require('./protocol')
const MODES = require('./modes')
const { OIDC_CLIENT_PLUGIN } = require('./modes/wire')
const { answerQuery, UNSUPPORTED_QUERY_MESSAGE } = require('./queries')
const { verifyNativePassword } = require('./native-password')
const { openBackendSession, relay } = require('./relay-session')

const FAULTS = [
  'drop-after-handshake',
  'malformed-auth-switch',
  'huge-auth-switch',
  'error-packet',
  'more-data-after-response',
  'slow-handshake',
]
const { CLIENT } = protocol
// No SESSION_TRACK: mysql2 would then expect session-state fields in every OK packet.
const BASE_CAPABILITIES =
  CLIENT.LONG_PASSWORD | CLIENT.FOUND_ROWS | CLIENT.LONG_FLAG | CLIENT.CONNECT_WITH_DB | CLIENT.PROTOCOL_41 |
  CLIENT.TRANSACTIONS | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  CLIENT.CONNECT_ATTRS | CLIENT.DEPRECATE_EOF
const SECOND_RESPONSE_WAIT_MS = 2000 // generous: a loaded CI machine must not make a prompt answer look late
const SLOW_HANDSHAKE_MS = 2000

// MySQL's scrambles avoid NUL (some clients treat them as C strings): bytes 1..127.
function makeScramble() {
  return Buffer.from(crypto.randomBytes(20).map((b) => (b % 127) + 1))
}

class Connection {
  constructor(server, socket) {
    this.server = server
    this.config = server.config
    this.mode = server.config.modeSettings
    this.rawSocket = socket
    this.stream = socket
    this.transport = server.config.socketPath ? 'unix' : 'tcp'
    this.host = this.transport === 'unix' ? 'localhost' : socket.remoteAddress
    this.reader = new protocol.PacketReader()
    this.sequenceId = 0
    this.state = 'greeting'
    this.busy = false
    this.closed = false
    this.timers = new Set()
    this.connectionId = server.nextConnectionId++
    this.scramble = makeScramble()
    // a fault chooser picks per connection (1, 2, ...); an unknown name is a test bug: refuse loudly
    this.fault = typeof this.config.fault === 'function' ? this.config.fault(this.connectionId) : this.config.fault
    this.attach(socket)
    socket.on('close', () => this.destroy())
    if (this.fault !== undefined && !FAULTS.includes(this.fault)) {
      this.logAuth({ plugin: null, capability: null, tokenBytes: 0, reason: `unknown fault ${this.fault}` })
      return this.destroy()
    }
    if (this.fault === 'slow-handshake') this.later(SLOW_HANDSHAKE_MS, () => this.sendGreeting())
    else this.sendGreeting()
  }

  attach(stream) {
    this.onClientData = (chunk) => this.onData(chunk)
    stream.on('data', this.onClientData)
    stream.on('error', () => this.destroy()) // client resets are normal in tests; nothing to report
  }

  // While a relay to a backend owns the client's bytes.
  stopReading() {
    this.stream.off('data', this.onClientData)
  }

  startReading() {
    this.stream.on('data', this.onClientData)
    this.stream.resume()
  }

  later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!this.closed) fn()
    }, ms)
    timer.unref()
    this.timers.add(timer)
    return timer
  }

  send(payload) {
    if (this.closed) return
    const { bytes, nextSequenceId } = protocol.framePackets(this.sequenceId, payload)
    this.sequenceId = nextSequenceId
    this.stream.write(bytes)
  }

  sendGreeting() {
    const { backend } = this.server
    const withTls = Boolean(this.server.secureContext)
    // in front of a backend: what it offers, so the relayed packets read the same on both ends
    this.capabilities = backend ? backend.greetingCapabilities(withTls) : BASE_CAPABILITIES | (withTls ? CLIENT.SSL : 0)
    this.state = 'handshake-response'
    this.send(protocol.encodeHandshakeV10({
      serverVersion: backend ? backend.serverVersion : this.mode.serverVersion,
      connectionId: this.connectionId,
      scramble: this.scramble,
      capabilities: this.capabilities,
      authPluginName: this.mode.defaultAuthPlugin,
      ...(backend ? { charset: backend.charset, statusFlags: backend.statusFlags } : {}),
    }))
  }

  // A login (or COM_CHANGE_USER) passed: OK, or with a backend, a session there as this account.
  accept() {
    this.loggedIn = { user: this.user, account: this.account }
    if (!this.server.backend) {
      this.state = 'command'
      return this.send(protocol.encodeOk())
    }
    this.state = 'backend-login'
    this.busy = true
    openBackendSession(this)
  }

  onData(chunk) {
    this.reader.push(chunk)
    this.drain()
  }

  // Handles buffered packets in order; pauses while an async token check is under way.
  drain() {
    while (!this.busy && !this.closed) {
      let packet
      try {
        packet = this.reader.next()
      } catch {
        return this.destroy()
      }
      if (!packet) return
      this.sequenceId = (packet.sequenceId + 1) & 0xff
      try {
        this.handlePacket(packet.payload)
      } catch {
        this.destroy() // unparseable client packets end the connection, like a real server
      }
    }
  }

  handlePacket(payload) {
    switch (this.state) {
      case 'handshake-response':
        if (protocol.isSslRequest(payload)) return this.upgradeToTls()
        return this.onHandshakeResponse(protocol.parseHandshakeResponse41(payload))
      case 'auth-response':
        return this.onAuthResponse(payload)
      case 'second-auth-response':
        this.authEntry.secondResponse = true
        return this.finishAuth()
      case 'command':
        return this.onCommand(payload)
      default:
        return this.destroy() // a packet while greeting or after an auth failure
    }
  }

  upgradeToTls() {
    if (!this.server.secureContext || this.transport === 'tls') return this.destroy() // TLS twice is a protocol error
    this.rawSocket.removeAllListeners('data')
    this.rawSocket.pause()
    // Bytes already read past the SSLRequest are the ClientHello: give them back to the socket,
    // TLSSocket feeds a wrapped socket's buffered data into the TLS engine.
    const rest = this.reader.takeRemaining()
    if (rest.length) this.rawSocket.unshift(rest)
    const secure = new tls.TLSSocket(this.rawSocket, { isServer: true, secureContext: this.server.secureContext })
    this.server.sockets.add(secure)
    secure.on('close', () => this.server.sockets.delete(secure))
    this.stream = secure
    this.transport = 'tls'
    this.attach(secure)
  }

  onHandshakeResponse(response) {
    this.request = response // what a backend session is opened with
    this.user = response.user
    this.database = response.database // what the ORMs' DATABASE() and schema probes see
    this.clientFlags = response.clientFlags
    this.clientPluginName = response.clientPluginName
    this.passwordUsed = response.authData.length > 0
    if (this.fault === 'drop-after-handshake') {
      this.logAuth({ plugin: null, capability: null, tokenBytes: 0, reason: 'drop-after-handshake fault' })
      return this.destroy()
    }
    if (!Object.prototype.hasOwnProperty.call(this.config.accounts, response.user)) {
      this.authEntry = this.logAuth({ plugin: null, capability: null, tokenBytes: 0 })
      return this.deny('unknown user')
    }
    this.account = this.config.accounts[response.user]
    if (this.account.password !== undefined) return this.onNativePassword(response)
    // MySQL Enterprise and Percona check the transport before their plugin reads: no switch at all.
    if (this.config.requireSecureTransport && this.transport === 'tcp') {
      this.authEntry = this.logAuth({ plugin: null, capability: null, tokenBytes: 0 })
      return this.deny('insecure transport: TLS or a socket is required, checked before any auth switch')
    }
    this.state = 'auth-response'
    if (this.fault === 'malformed-auth-switch') return this.send(protocol.encodeAuthSwitchRequest(null))
    const pluginData = this.fault === 'huge-auth-switch' ? Buffer.alloc(1024 * 1024, 0x41) : this.mode.switchData(this.scramble)
    this.send(protocol.encodeAuthSwitchRequest(this.mode.clientPlugin, pluginData))
  }

  // A password account (a baseline for benchmarks): mysql_native_password in the handshake response.
  onNativePassword(response) {
    this.authEntry = this.logAuth({ plugin: 'mysql_native_password', capability: null, tokenBytes: 0 })
    const { password } = this.account
    if (response.clientPluginName !== 'mysql_native_password') return this.deny('expected mysql_native_password')
    if (!verifyNativePassword(this.scramble, password, response.authData)) return this.deny('wrong password')
    this.authEntry.ok = true
    this.accept()
  }

  logAuth(fields) {
    const entry = {
      user: this.user,
      host: this.host,
      mode: this.config.mode,
      clientPlugin: this.clientPluginName,
      transport: this.transport,
      secure: this.transport !== 'tcp',
      ok: false,
      reason: null,
      ...fields,
    }
    this.server.authLog.push(entry)
    return entry
  }

  // The client's answer to the switch: the mode reads the token out of it (framed, or clear + NUL).
  onAuthResponse(payload) {
    const plugin = this.mode.clientPlugin
    this.passwordUsed = payload.length > 0
    let read
    try {
      read = this.mode.readToken(payload)
    } catch (err) {
      const malformed = err && err.code === 'ERR_OIDC_RESPONSE_MALFORMED'
      // A load failure of main.js (no native build yet) is kept for debugging; it holds no token.
      this.authEntry = this.logAuth({ plugin, capability: null, tokenBytes: 0, ...(malformed ? {} : { detail: String(err && err.message) }) })
      return this.deny(malformed ? 'malformed auth response' : 'auth response decoder unavailable')
    }
    this.authEntry = this.logAuth({ plugin, capability: read.capability, tokenBytes: read.tokenBytes.length })
    this.token = read.tokenBytes.toString('utf8')
    if (this.fault === 'error-packet') return this.deny('error-packet fault')
    if (this.fault === 'more-data-after-response') {
      this.authEntry.secondResponse = false
      this.state = 'second-auth-response'
      this.later(SECOND_RESPONSE_WAIT_MS, () => this.finishAuth())
      return this.send(protocol.encodeAuthMoreData(Buffer.from([0x01])))
    }
    this.finishAuth()
  }

  finishAuth({ keepOpenOnDenial = false } = {}) {
    if (this.state === 'authenticating') return // the second-response timer and packet both land here
    this.state = 'authenticating'
    const token = this.token
    this.token = null // nothing keeps the token past its check
    this.busy = true
    Promise.resolve()
      .then(() => this.mode.check(token, this.account.settings, { user: this.user }))
      .catch(() => 'token check failed')
      .then((reason) => {
        this.busy = false
        if (this.closed) return
        if (reason) {
          this.deny(reason, { keepOpen: keepOpenOnDenial, fromTokenCheck: true })
        } else {
          this.authEntry.ok = true
          this.accept()
        }
        this.drain()
      })
  }

  // ERR 1045 28000 in the mode's words; the reason itself goes to the server's log (authLog) only,
  // as the real servers keep theirs (StarRocks alone sends its verifier's reason, see modes/starrocks.js).
  deny(reason, { keepOpen = false, fromTokenCheck = false } = {}) {
    this.token = null
    if (this.authEntry) this.authEntry.reason = reason
    const shown = { user: this.user, host: this.host, passwordUsed: this.passwordUsed, reason: fromTokenCheck ? reason : null }
    const message = this.mode.accessDenied(shown)
    this.send(protocol.encodeErr(1045, '28000', message))
    if (keepOpen && this.loggedIn) {
      // the session goes on as the user it was before (StarRocks' failed COM_CHANGE_USER)
      this.user = this.loggedIn.user
      this.account = this.loggedIn.account
      this.state = 'command'
      if (this.backendSide) relay(this, this.backendSide) // the backend session never changed
      return
    }
    this.state = 'denied'
    this.stream.end()
  }

  // StarRocks: no switch; only a COM_CHANGE_USER that names the client plugin and carries its answer logs in.
  changeUserWithoutSwitch(request) {
    const plugin = this.mode.clientPlugin
    this.user = request.user
    this.request = request
    this.passwordUsed = request.authData.length > 0
    this.authEntry = this.logAuth({ plugin: null, clientPlugin: request.clientPluginName, capability: null, tokenBytes: 0, changeUser: true })
    const account = Object.prototype.hasOwnProperty.call(this.config.accounts, request.user) ? this.config.accounts[request.user] : null
    if (!account) return this.deny('unknown user', { keepOpen: true })
    if (account.password !== undefined || request.clientPluginName.toLowerCase() !== plugin.toLowerCase()) {
      return this.deny(`COM_CHANGE_USER names ${request.clientPluginName || 'no plugin'}, not ${plugin}: no auth switch`, { keepOpen: true })
    }
    let read
    try {
      read = this.mode.readToken(request.authData)
    } catch {
      return this.deny('malformed auth response', { keepOpen: true })
    }
    Object.assign(this.authEntry, { plugin, capability: read.capability, tokenBytes: read.tokenBytes.length })
    this.account = account
    this.token = read.tokenBytes.toString('utf8')
    this.finishAuth({ keepOpenOnDenial: true })
  }

  onCommand(payload) {
    const command = payload[0]
    if (command === 0x01) return this.stream.end() // COM_QUIT
    if (command === 0x0e || command === 0x02 || command === 0x1f) return this.send(protocol.encodeOk()) // PING, INIT_DB, RESET
    if (command === 0x11) {
      // COM_CHANGE_USER: a new login on this connection, as the mode's server does it
      const request = protocol.parseChangeUser(payload.subarray(1), this.clientFlags)
      if (this.mode.changeUser === 'packet-plugin-only') return this.changeUserWithoutSwitch(request)
      return this.onHandshakeResponse(request)
    }
    if (command !== 0x03) return this.send(protocol.encodeErr(1047, '08S01', 'Unknown command'))
    const session = { user: this.user, host: this.host, database: this.database, serverVersion: this.config.modeSettings.serverVersion }
    const result = answerQuery(payload.subarray(1).toString('utf8'), session)
    if (!result) return this.send(protocol.encodeErr(1064, '42000', UNSUPPORTED_QUERY_MESSAGE))
    if (result.ok) return this.send(protocol.encodeOk())
    const deprecateEof = (this.clientFlags & this.capabilities & CLIENT.DEPRECATE_EOF) !== 0
    for (const p of protocol.encodeTextResultSet(result.columns, result.rows, { deprecateEof })) this.send(p)
  }

  // The relay ended: it closes both sockets itself, letting its last packets (an ERR) go out first.
  forget() {
    this.relay = null
    this.backendSide = null
    this.destroy({ keepSockets: true })
  }

  destroy({ keepSockets = false } = {}) {
    if (this.closed) return
    this.closed = true
    if (this.relay) this.relay.close()
    if (this.backendSide) this.backendSide.stream.destroy()
    this.token = null
    if (this.authEntry && !this.authEntry.ok && this.authEntry.reason === null) this.authEntry.reason = 'closed before auth finished'
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    if (!keepSockets) {
      this.stream.destroy()
      this.rawSocket.destroy()
    }
    this.server.connections.delete(this)
  }
}

module.exports = { Connection, MODES, FAULTS, OIDC_CLIENT_PLUGIN }
