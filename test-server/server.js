'use strict'

// One Connection per client socket, walking greeting -> (TLS) -> auth switch -> token check ->
// commands. The emulated servers differ only in the MODES table.

const crypto = require('node:crypto')
const path = require('node:path')
const tls = require('node:tls')
const protocol = require('./protocol')
const { verifyIdToken, ASYMMETRIC_ALGS } = require('./identity-provider')
const { answerQuery, UNSUPPORTED_QUERY_MESSAGE } = require('./queries')
const { verifyNativePassword } = require('./native-password')

const OIDC_CLIENT_PLUGIN = 'authentication_openid_connect_client'
// switchTo: the client plugin named in the AuthSwitchRequest; algorithms: signatures the server accepts.
const modeSettings = (serverVersion, defaultAuthPlugin, switchTo, algorithms) => ({ serverVersion, defaultAuthPlugin, switchTo, algorithms })
const MODES = {
  'mysql-enterprise': modeSettings('9.1.0-oidc-embedded', 'caching_sha2_password', OIDC_CLIENT_PLUGIN, ['RS256']),
  percona: modeSettings('8.4.3-3-oidc-embedded', 'caching_sha2_password', OIDC_CLIENT_PLUGIN, ['RS256', 'RS384', 'RS512', 'ES256', 'HS256']),
  starrocks: modeSettings('8.0.33-starrocks-oidc-embedded', 'mysql_native_password', OIDC_CLIENT_PLUGIN, ASYMMETRIC_ALGS),
  // TiDB's tidb_auth_token: the bare JWT, then a NUL, through mysql_clear_password.
  tidb: modeSettings('8.0.11-TiDB-v8.5.0-oidc-embedded', 'mysql_native_password', 'mysql_clear_password', [
    'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512',
  ]),
}
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
const SECOND_RESPONSE_WAIT_MS = 1000
const SLOW_HANDSHAKE_MS = 2000

// The core decoder is the package's own build output; load it only when a token arrives.
let coreDecoder = null
function decodeOidcAuthResponse(payload) {
  if (!coreDecoder) coreDecoder = require(path.join(__dirname, '..', 'main.js')).parseOpenidConnectAuthResponse
  return coreDecoder(payload)
}

// MySQL's scrambles avoid NUL (some clients treat them as C strings): bytes 1..127.
function makeScramble() {
  return Buffer.from(crypto.randomBytes(20).map((b) => (b % 127) + 1))
}

class Connection {
  constructor(server, socket) {
    this.server = server
    this.config = server.config
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
    stream.on('data', (chunk) => this.onData(chunk))
    stream.on('error', () => this.destroy()) // client resets are normal in tests; nothing to report
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
    this.capabilities = BASE_CAPABILITIES | (this.server.secureContext ? CLIENT.SSL : 0)
    this.state = 'handshake-response'
    this.send(protocol.encodeHandshakeV10({
      serverVersion: this.config.modeSettings.serverVersion,
      connectionId: this.connectionId,
      scramble: this.scramble,
      capabilities: this.capabilities,
      authPluginName: this.config.modeSettings.defaultAuthPlugin,
    }))
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
    this.user = response.user
    this.database = response.database // what the ORMs' DATABASE() and schema probes see
    this.clientFlags = response.clientFlags
    this.clientPluginName = response.clientPluginName
    if (this.fault === 'drop-after-handshake') {
      this.logAuth({ plugin: null, capability: null, tokenBytes: 0, reason: 'drop-after-handshake fault' })
      return this.destroy()
    }
    if (!Object.prototype.hasOwnProperty.call(this.config.users, response.user)) {
      this.authEntry = this.logAuth({ plugin: null, capability: null, tokenBytes: 0 })
      return this.deny('unknown user')
    }
    if (this.config.users[response.user].password !== undefined) return this.onNativePassword(response)
    const { switchTo } = this.config.modeSettings
    this.state = 'auth-response'
    if (this.fault === 'malformed-auth-switch') return this.send(protocol.encodeAuthSwitchRequest(null))
    const huge = this.fault === 'huge-auth-switch'
    const pluginData = huge ? Buffer.alloc(1024 * 1024, 0x41) : Buffer.concat([this.scramble, Buffer.from([0])])
    this.send(protocol.encodeAuthSwitchRequest(switchTo, pluginData))
  }

  // A password account (a baseline for benchmarks): mysql_native_password in the handshake response.
  onNativePassword(response) {
    this.authEntry = this.logAuth({ plugin: 'mysql_native_password', capability: null, tokenBytes: 0 })
    const { password } = this.config.users[response.user]
    if (response.clientPluginName !== 'mysql_native_password') return this.deny('expected mysql_native_password')
    if (!verifyNativePassword(this.scramble, password, response.authData)) return this.deny('wrong password')
    this.authEntry.ok = true
    this.state = 'command'
    this.send(protocol.encodeOk())
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

  onAuthResponse(payload) {
    const plugin = this.config.modeSettings.switchTo
    let capability = null
    let tokenBytes
    try {
      if (plugin === 'mysql_clear_password') {
        tokenBytes = payload[payload.length - 1] === 0 ? payload.subarray(0, -1) : payload
      } else {
        const decoded = decodeOidcAuthResponse(payload)
        capability = decoded.capability
        tokenBytes = decoded.token
      }
    } catch (err) {
      const malformed = err && err.code === 'ERR_OIDC_RESPONSE_MALFORMED'
      // A load failure of main.js (no native build yet) is kept for debugging; it holds no token.
      this.authEntry = this.logAuth({ plugin, capability, tokenBytes: 0, ...(malformed ? {} : { detail: String(err && err.message) }) })
      return this.deny(malformed ? 'malformed auth response' : 'auth response decoder unavailable')
    }
    this.authEntry = this.logAuth({ plugin, capability, tokenBytes: tokenBytes.length })
    this.token = tokenBytes.toString('utf8')
    if (this.fault === 'error-packet') return this.deny('error-packet fault')
    if (this.fault === 'more-data-after-response') {
      this.authEntry.secondResponse = false
      this.state = 'second-auth-response'
      this.later(SECOND_RESPONSE_WAIT_MS, () => this.finishAuth())
      return this.send(protocol.encodeAuthMoreData(Buffer.from([0x01])))
    }
    this.finishAuth()
  }

  finishAuth() {
    if (this.state === 'authenticating') return // the second-response timer and packet both land here
    this.state = 'authenticating'
    if (this.config.requireSecureTransport && this.transport === 'tcp') return this.deny('insecure transport')
    const token = this.token
    this.token = null // nothing keeps the token past its check
    this.busy = true
    verifyIdToken(token, {
      providers: this.config.providers,
      algorithms: this.config.modeSettings.algorithms,
      audience: this.config.audience,
      principalField: this.config.principalField,
      expectedPrincipal: this.config.mode === 'starrocks' ? this.user : this.config.users[this.user].principal,
    })
      .catch(() => ({ ok: false, reason: 'token check failed' }))
      .then((result) => {
        this.busy = false
        if (this.closed) return
        if (!result.ok) return this.deny(result.reason)
        this.authEntry.ok = true
        this.state = 'command'
        this.send(protocol.encodeOk())
        this.drain()
      })
  }

  deny(reason) {
    this.token = null
    if (this.authEntry) this.authEntry.reason = reason
    this.state = 'denied'
    this.send(protocol.encodeErr(1045, '28000', `Access denied for user '${this.user}'@'${this.host}' (${reason})`))
    this.stream.end()
  }

  onCommand(payload) {
    const command = payload[0]
    if (command === 0x01) return this.stream.end() // COM_QUIT
    if (command === 0x0e || command === 0x02 || command === 0x1f) return this.send(protocol.encodeOk()) // PING, INIT_DB, RESET
    // COM_CHANGE_USER: a new login on this connection, through the same auth switch
    if (command === 0x11) return this.onHandshakeResponse(protocol.parseChangeUser(payload.subarray(1), this.clientFlags))
    if (command !== 0x03) return this.send(protocol.encodeErr(1047, '08S01', 'Unknown command'))
    const session = { user: this.user, host: this.host, database: this.database, serverVersion: this.config.modeSettings.serverVersion }
    const result = answerQuery(payload.subarray(1).toString('utf8'), session)
    if (!result) return this.send(protocol.encodeErr(1064, '42000', UNSUPPORTED_QUERY_MESSAGE))
    if (result.ok) return this.send(protocol.encodeOk())
    const deprecateEof = (this.clientFlags & this.capabilities & CLIENT.DEPRECATE_EOF) !== 0
    for (const p of protocol.encodeTextResultSet(result.columns, result.rows, { deprecateEof })) this.send(p)
  }

  destroy() {
    if (this.closed) return
    this.closed = true
    this.token = null
    if (this.authEntry && !this.authEntry.ok && this.authEntry.reason === null) this.authEntry.reason = 'closed before auth finished'
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.stream.destroy()
    this.rawSocket.destroy()
    this.server.connections.delete(this)
  }
}

module.exports = { Connection, MODES, FAULTS, OIDC_CLIENT_PLUGIN }
