'use strict'

// The connection-phase and generic reply packets, as payloads (Buffers without the 4-byte frame header).

const { CLIENT, SERVER_STATUS_AUTOCOMMIT, CHARSET_UTF8MB4_GENERAL_CI } = require('./constants')
const { encodeLenencInt, readLenencInt, readNulString } = require('./framing')

const MAX_PACKET_SIZE = 0x40000000 // what the client tells the server it accepts: 1 GiB, the protocol maximum

function encodeHandshakeV10({ serverVersion, connectionId, scramble, capabilities, authPluginName, charset = CHARSET_UTF8MB4_GENERAL_CI, statusFlags = SERVER_STATUS_AUTOCOMMIT }) {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10)
  let o = fixed.writeUInt32LE(connectionId, 0)
  o += scramble.copy(fixed, o, 0, 8)
  fixed[o++] = 0 // filler
  o = fixed.writeUInt16LE(capabilities & 0xffff, o)
  fixed[o++] = charset
  o = fixed.writeUInt16LE(statusFlags, o)
  o = fixed.writeUInt16LE(capabilities >>> 16, o)
  fixed[o++] = scramble.length + 1 // auth-plugin-data length, counting the NUL after part 2
  return Buffer.concat([
    Buffer.from([10]),
    Buffer.from(`${serverVersion}\0`, 'utf8'),
    fixed, // its last 10 bytes stay zero: reserved
    scramble.subarray(8),
    Buffer.from([0]),
    Buffer.from(`${authPluginName}\0`, 'latin1'),
  ])
}

/** Parses a server's greeting; throws on anything but protocol version 10. */
function parseHandshakeV10(payload) {
  if (payload[0] !== 10) throw new Error(`unsupported handshake protocol version ${payload[0]}`)
  const version = readNulString(payload, 1)
  let o = version.next
  if (o + 31 > payload.length) throw new Error('handshake too short')
  const connectionId = payload.readUInt32LE(o)
  const scramble1 = payload.subarray(o + 4, o + 12)
  o += 13
  let capabilities = payload.readUInt16LE(o)
  const charset = payload[o + 2]
  const statusFlags = payload.readUInt16LE(o + 3)
  capabilities = (capabilities | (payload.readUInt16LE(o + 5) << 16)) >>> 0
  const authDataLength = payload[o + 7]
  o += 8 + 10
  let scramble2 = Buffer.alloc(0)
  if (capabilities & CLIENT.SECURE_CONNECTION) {
    const length = Math.max(13, authDataLength - 8)
    scramble2 = payload.subarray(o, o + length)
    o += length
    if (scramble2[scramble2.length - 1] === 0) scramble2 = scramble2.subarray(0, -1)
  }
  let authPluginName = ''
  if (capabilities & CLIENT.PLUGIN_AUTH && o < payload.length) {
    const end = payload.indexOf(0, o)
    authPluginName = payload.toString('latin1', o, end < 0 ? payload.length : end)
  }
  return { serverVersion: version.value, connectionId, scramble: Buffer.concat([scramble1, scramble2]), capabilities, charset, statusFlags, authPluginName }
}

function encodeConnectionHeader(clientFlags, charset, maxPacketSize) {
  const head = Buffer.alloc(32)
  head.writeUInt32LE(clientFlags >>> 0, 0)
  head.writeUInt32LE(maxPacketSize, 4)
  head[8] = charset
  return head
}

/** An SSLRequest: the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set. */
function encodeSslRequest({ clientFlags, charset = CHARSET_UTF8MB4_GENERAL_CI, maxPacketSize = MAX_PACKET_SIZE }) {
  return encodeConnectionHeader(clientFlags | CLIENT.SSL, charset, maxPacketSize)
}

function isSslRequest(payload) {
  return payload.length === 32 && (payload.readUInt32LE(0) & CLIENT.SSL) !== 0
}

function encodeAuthData(clientFlags, authData) {
  if (clientFlags & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) return Buffer.concat([encodeLenencInt(authData.length), authData])
  if (clientFlags & CLIENT.SECURE_CONNECTION) return Buffer.concat([Buffer.from([authData.length]), authData])
  return Buffer.concat([authData, Buffer.from([0])])
}

/**
 * HandshakeResponse41 laid out by `clientFlags`. `connectAttrs` is the raw attribute block as
 * parseHandshakeResponse41 returns it (length prefix included), sent when CONNECT_ATTRS is set.
 */
function encodeHandshakeResponse41({ clientFlags, user, authData = Buffer.alloc(0), database = '', authPluginName = '', connectAttrs, charset = CHARSET_UTF8MB4_GENERAL_CI, maxPacketSize = MAX_PACKET_SIZE }) {
  const parts = [encodeConnectionHeader(clientFlags, charset, maxPacketSize), Buffer.from(`${user}\0`, 'utf8'), encodeAuthData(clientFlags, authData)]
  if (clientFlags & CLIENT.CONNECT_WITH_DB) parts.push(Buffer.from(`${database}\0`, 'utf8'))
  if (clientFlags & CLIENT.PLUGIN_AUTH) parts.push(Buffer.from(`${authPluginName}\0`, 'latin1'))
  if (clientFlags & CLIENT.CONNECT_ATTRS) parts.push(connectAttrs || Buffer.from([0]))
  return Buffer.concat(parts)
}

// Parses HandshakeResponse41 laid out by the client's own flags (mysql2 writes by its flags).
function parseHandshakeResponse41(payload) {
  if (payload.length < 33) throw new Error('handshake response too short')
  const clientFlags = payload.readUInt32LE(0)
  if (!(clientFlags & CLIENT.PROTOCOL_41)) throw new Error('client does not speak protocol 4.1')
  const maxPacketSize = payload.readUInt32LE(4)
  const charset = payload[8]
  let offset = 32
  const user = readNulString(payload, offset)
  offset = user.next
  let authData
  if (clientFlags & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    const len = readLenencInt(payload, offset)
    authData = payload.subarray(len.next, len.next + len.value)
    offset = len.next + len.value
  } else if (clientFlags & CLIENT.SECURE_CONNECTION) {
    authData = payload.subarray(offset + 1, offset + 1 + payload[offset])
    offset += 1 + payload[offset]
  } else {
    const data = readNulString(payload, offset)
    authData = payload.subarray(offset, data.next - 1)
    offset = data.next
  }
  if (offset > payload.length) throw new Error('handshake response auth data truncated')
  let database = ''
  if (clientFlags & CLIENT.CONNECT_WITH_DB && offset < payload.length) {
    const db = readNulString(payload, offset)
    database = db.value
    offset = db.next
  }
  let clientPluginName = ''
  if (clientFlags & CLIENT.PLUGIN_AUTH && offset < payload.length) {
    const plugin = readNulString(payload, offset)
    clientPluginName = plugin.value
    offset = plugin.next
  }
  let connectAttrs
  if (clientFlags & CLIENT.CONNECT_ATTRS && offset < payload.length) {
    const len = readLenencInt(payload, offset)
    connectAttrs = payload.subarray(offset, len.next + len.value)
  }
  return { clientFlags, maxPacketSize, charset, user: user.value, authData, database, clientPluginName, connectAttrs }
}

/** COM_CHANGE_USER, laid out by the flags the connection logged in with. */
function encodeChangeUser({ clientFlags, user, authData = Buffer.alloc(0), database = '', authPluginName = '', connectAttrs, charset = CHARSET_UTF8MB4_GENERAL_CI }) {
  const auth = clientFlags & CLIENT.SECURE_CONNECTION ? Buffer.concat([Buffer.from([authData.length]), authData]) : Buffer.concat([authData, Buffer.from([0])])
  const charsetBytes = Buffer.alloc(2)
  charsetBytes.writeUInt16LE(charset, 0)
  const parts = [Buffer.from([0x11]), Buffer.from(`${user}\0`, 'utf8'), auth, Buffer.from(`${database}\0`, 'utf8'), charsetBytes]
  if (clientFlags & CLIENT.PLUGIN_AUTH) parts.push(Buffer.from(`${authPluginName}\0`, 'latin1'))
  if (clientFlags & CLIENT.CONNECT_ATTRS) parts.push(connectAttrs || Buffer.from([0]))
  return Buffer.concat(parts)
}

// COM_CHANGE_USER body (after the command byte): user, 1-byte-length auth data, database, charset, plugin, attributes.
function parseChangeUser(body, clientFlags) {
  const user = readNulString(body, 0)
  const authLength = body[user.next]
  if (authLength === undefined || user.next + 1 + authLength > body.length) throw new Error('change-user auth data truncated')
  const authData = body.subarray(user.next + 1, user.next + 1 + authLength)
  const database = readNulString(body, user.next + 1 + authLength)
  const charset = database.next + 2 <= body.length ? body.readUInt16LE(database.next) : CHARSET_UTF8MB4_GENERAL_CI
  const pluginAt = database.next + 2
  let clientPluginName = ''
  let connectAttrs
  if (clientFlags & CLIENT.PLUGIN_AUTH && pluginAt < body.length) {
    const plugin = readNulString(body, pluginAt)
    clientPluginName = plugin.value
    if (clientFlags & CLIENT.CONNECT_ATTRS && plugin.next < body.length) {
      const len = readLenencInt(body, plugin.next)
      connectAttrs = body.subarray(plugin.next, len.next + len.value)
    }
  }
  return { clientFlags, user: user.value, authData, database: database.value, charset, clientPluginName, connectAttrs }
}

function encodeOk({ affectedRows = 0, insertId = 0, status = SERVER_STATUS_AUTOCOMMIT, warnings = 0, header = 0x00 } = {}) {
  const tail = Buffer.alloc(4)
  tail.writeUInt16LE(status, 0)
  tail.writeUInt16LE(warnings, 2)
  return Buffer.concat([Buffer.from([header]), encodeLenencInt(affectedRows), encodeLenencInt(insertId), tail])
}

function encodeErr(errorCode, sqlState, message) {
  const head = Buffer.alloc(3)
  head[0] = 0xff
  head.writeUInt16LE(errorCode, 1)
  return Buffer.concat([head, Buffer.from(`#${sqlState}`, 'ascii'), Buffer.from(message, 'utf8')])
}

/** { errorCode, sqlState, message } of an ERR packet (protocol 4.1 layout, SQL state optional). */
function parseErr(payload) {
  if (payload[0] !== 0xff || payload.length < 3) throw new Error('not an error packet')
  const errorCode = payload.readUInt16LE(1)
  const hasState = payload[3] === 0x23 // '#'
  return {
    errorCode,
    sqlState: hasState ? payload.toString('ascii', 4, 9) : 'HY000',
    message: payload.toString('utf8', hasState ? 9 : 3),
  }
}

function encodeEof(status = SERVER_STATUS_AUTOCOMMIT, warnings = 0) {
  const b = Buffer.alloc(5)
  b[0] = 0xfe
  b.writeUInt16LE(warnings, 1)
  b.writeUInt16LE(status, 3)
  return b
}

// `pluginName` null leaves out the NUL terminator (a deliberately malformed request for fault tests).
function encodeAuthSwitchRequest(pluginName, pluginData) {
  const name = pluginName === null ? Buffer.from('authentication_openid_connect_client', 'latin1') : Buffer.from(`${pluginName}\0`, 'latin1')
  return Buffer.concat([Buffer.from([0xfe]), name, pluginName === null ? Buffer.alloc(0) : pluginData])
}

/** { pluginName, pluginData } of an AuthSwitchRequest (0xFE); the data as sent (password plugins' scrambles end in a NUL). */
function parseAuthSwitchRequest(payload) {
  const name = readNulString(payload, 1, 'latin1')
  return { pluginName: name.value, pluginData: payload.subarray(name.next) }
}

function encodeAuthMoreData(data) {
  return Buffer.concat([Buffer.from([0x01]), data])
}

module.exports = {
  encodeHandshakeV10,
  parseHandshakeV10,
  encodeSslRequest,
  isSslRequest,
  encodeHandshakeResponse41,
  parseHandshakeResponse41,
  encodeChangeUser,
  parseChangeUser,
  encodeOk,
  encodeErr,
  parseErr,
  encodeEof,
  encodeAuthSwitchRequest,
  parseAuthSwitchRequest,
  encodeAuthMoreData,
}
