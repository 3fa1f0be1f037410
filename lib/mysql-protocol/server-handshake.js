'use strict'

// The server's half of the connection phase, for a program that plays the server to its clients
// (the proxy's local side): the HandshakeV10 it sends and the HandshakeResponse41 it reads, laid
// out by the client's own flags, as every client writes it.

const CLIENT_MYSQL = 0x00000001 // MariaDB: a client that does not set it sends extended flags in the filler
const CLIENT_CONNECT_WITH_DB = 0x00000008
const CLIENT_PROTOCOL_41 = 0x00000200
const CLIENT_SSL = 0x00000800
const CLIENT_SECURE_CONNECTION = 0x00008000
const CLIENT_PLUGIN_AUTH = 0x00080000
const CLIENT_CONNECT_ATTRS = 0x00100000
const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x00200000

class HandshakeParseError extends Error {}

function fail(message) {
  throw new HandshakeParseError(message)
}

function lenencInt(buf, at) {
  const first = buf[at]
  if (first === undefined) fail('truncated length')
  if (first < 0xfb) return { value: first, next: at + 1 }
  const width = first === 0xfc ? 2 : first === 0xfd ? 3 : first === 0xfe ? 8 : 0
  if (width === 0 || at + 1 + width > buf.length) fail('invalid length')
  const value = width === 8 ? Number(buf.readBigUInt64LE(at + 1)) : buf.readUIntLE(at + 1, width)
  return { value, next: at + 1 + width }
}

function nulString(buf, at, encoding = 'utf8') {
  const end = buf.indexOf(0, at)
  if (end < 0) fail('missing NUL terminator')
  return { value: buf.toString(encoding, at, end), next: end + 1 }
}

/**
 * A HandshakeV10 payload. `capabilities` may carry MariaDB's extended flags above bit 31 (a BigInt
 * or a number up to 2^53); they go in the last 4 reserved bytes, as MariaDB sends them.
 */
function encodeServerHandshake({ serverVersion, connectionId, scramble, capabilities, charset, status, authPluginName }) {
  const caps = BigInt(capabilities)
  const low = Number(caps & 0xffffffffn)
  const extended = Number((caps >> 32n) & 0xffffffffn)
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10)
  let at = fixed.writeUInt32LE(connectionId >>> 0, 0)
  at += scramble.copy(fixed, at, 0, 8)
  fixed[at++] = 0
  at = fixed.writeUInt16LE(low & 0xffff, at)
  fixed[at++] = charset
  at = fixed.writeUInt16LE(status, at)
  at = fixed.writeUInt16LE(low >>> 16, at)
  fixed[at++] = scramble.length + 1
  fixed.writeUInt32LE(extended, at + 6)
  return Buffer.concat([
    Buffer.from([10]),
    Buffer.from(`${serverVersion}\0`, 'utf8'),
    fixed,
    scramble.subarray(8),
    Buffer.from([0]),
    Buffer.from(`${authPluginName}\0`, 'latin1'),
  ])
}

/** An SSLRequest: the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL, nothing more. */
function isSslRequest(payload) {
  return payload.length === 32 && (payload.readUInt32LE(0) & CLIENT_SSL) !== 0
}

/**
 * A client's HandshakeResponse41: { capabilities (BigInt, MariaDB's extended flags included),
 * maxPacketSize, charset, user, authData, database, pluginName, attributes (the raw lenenc block) }.
 * Throws HandshakeParseError for anything malformed.
 */
function parseClientHandshake(payload) {
  if (payload.length < 33) fail('handshake response too short')
  const low = payload.readUInt32LE(0)
  if (!(low & CLIENT_PROTOCOL_41)) fail('the client does not speak protocol 4.1')
  const extended = low & CLIENT_MYSQL ? 0 : payload.readUInt32LE(28)
  const maxPacketSize = payload.readUInt32LE(4)
  const charset = payload[8]
  const user = nulString(payload, 32)
  let at = user.next
  let authData
  if (low & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
    const length = lenencInt(payload, at)
    at = length.next + length.value
    authData = payload.subarray(length.next, at)
  } else if (low & CLIENT_SECURE_CONNECTION) {
    if (at >= payload.length) fail('auth data truncated')
    authData = payload.subarray(at + 1, at + 1 + payload[at])
    at += 1 + payload[at]
  } else {
    const data = nulString(payload, at, 'latin1')
    authData = payload.subarray(at, data.next - 1)
    at = data.next
  }
  if (at > payload.length) fail('auth data truncated')
  let database = ''
  if (low & CLIENT_CONNECT_WITH_DB && at < payload.length) {
    const db = nulString(payload, at)
    database = db.value
    at = db.next
  }
  let pluginName = ''
  if (low & CLIENT_PLUGIN_AUTH && at < payload.length) {
    const name = nulString(payload, at, 'latin1')
    pluginName = name.value
    at = name.next
  }
  let attributes = null
  if (low & CLIENT_CONNECT_ATTRS && at < payload.length) {
    const length = lenencInt(payload, at)
    if (length.next + length.value > payload.length) fail('connection attributes truncated')
    attributes = payload.subarray(at, length.next + length.value)
  }
  return {
    capabilities: (BigInt(extended) << 32n) | BigInt(low),
    maxPacketSize,
    charset,
    user: user.value,
    authData,
    database,
    pluginName,
    attributes,
  }
}

/** AuthSwitchRequest: 0xFE, the plugin name, its data (a scramble ends with a NUL, as servers send it). */
function encodeAuthSwitch(pluginName, scramble) {
  return Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${pluginName}\0`, 'latin1'), scramble, Buffer.from([0])])
}

module.exports = { encodeServerHandshake, parseClientHandshake, isSslRequest, encodeAuthSwitch, HandshakeParseError }
