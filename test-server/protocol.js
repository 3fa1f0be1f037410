'use strict'

// MySQL client/server protocol pieces the embedded server needs: packet framing, the
// connection-phase packets and a text result set. Payloads are Buffers without the 4-byte header.

const CLIENT = Object.freeze({
  LONG_PASSWORD: 0x00000001,
  FOUND_ROWS: 0x00000002,
  LONG_FLAG: 0x00000004,
  CONNECT_WITH_DB: 0x00000008,
  PROTOCOL_41: 0x00000200,
  SSL: 0x00000800,
  TRANSACTIONS: 0x00002000,
  SECURE_CONNECTION: 0x00008000,
  PLUGIN_AUTH: 0x00080000,
  CONNECT_ATTRS: 0x00100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x00200000,
  DEPRECATE_EOF: 0x01000000,
})

const SERVER_STATUS_AUTOCOMMIT = 0x0002
const CHARSET_UTF8MB4_GENERAL_CI = 45
const MAX_PACKET_PAYLOAD = 0xffffff
// A client may legitimately send a few MiB (a big token); anything past this is abuse.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

const COLUMN_TYPE = Object.freeze({ LONGLONG: 0x08, VAR_STRING: 0xfd })

function encodeLenencInt(value) {
  if (value < 251) return Buffer.from([value])
  if (value < 0x10000) {
    const b = Buffer.alloc(3)
    b[0] = 0xfc
    b.writeUInt16LE(value, 1)
    return b
  }
  if (value < 0x1000000) {
    const b = Buffer.alloc(4)
    b[0] = 0xfd
    b.writeUIntLE(value, 1, 3)
    return b
  }
  const b = Buffer.alloc(9)
  b[0] = 0xfe
  b.writeBigUInt64LE(BigInt(value), 1)
  return b
}

function encodeLenencString(value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')
  return Buffer.concat([encodeLenencInt(bytes.length), bytes])
}

// Returns { value, next } or throws on a truncated or invalid (0xFB/0xFF) length.
function readLenencInt(buf, offset) {
  const first = buf[offset]
  if (first === undefined) throw new Error('truncated length-encoded integer')
  if (first < 251) return { value: first, next: offset + 1 }
  const width = { 0xfc: 2, 0xfd: 3, 0xfe: 8 }[first]
  if (!width) throw new Error(`invalid length-encoded integer prefix 0x${first.toString(16)}`)
  if (offset + 1 + width > buf.length) throw new Error('truncated length-encoded integer')
  const value = width === 8 ? Number(buf.readBigUInt64LE(offset + 1)) : buf.readUIntLE(offset + 1, width)
  return { value, next: offset + 1 + width }
}

function readNulString(buf, offset) {
  const end = buf.indexOf(0, offset)
  if (end < 0) throw new Error('missing NUL terminator')
  return { value: buf.toString('utf8', offset, end), next: end + 1 }
}

// Splits a payload into wire packets; a payload of exactly 16 MiB - 1 gets an empty trailer.
function framePackets(sequenceId, payload) {
  const frames = []
  let seq = sequenceId
  let offset = 0
  for (;;) {
    const size = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset)
    const header = Buffer.alloc(4)
    header.writeUIntLE(size, 0, 3)
    header[3] = seq & 0xff
    frames.push(header, payload.subarray(offset, offset + size))
    seq += 1
    offset += size
    if (size < MAX_PACKET_PAYLOAD) break
  }
  return { bytes: Buffer.concat(frames), nextSequenceId: seq & 0xff }
}

// Reassembles logical packets (joining 16 MiB continuation frames) from a byte stream.
class PacketReader {
  constructor() {
    this.buffered = Buffer.alloc(0)
    this.parts = []
    this.partsBytes = 0
  }

  push(chunk) {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
  }

  // Next complete { sequenceId, payload }, or null when more bytes are needed.
  next() {
    while (this.buffered.length >= 4) {
      const size = this.buffered.readUIntLE(0, 3)
      if (this.buffered.length < 4 + size) return null
      const sequenceId = this.buffered[3]
      const part = this.buffered.subarray(4, 4 + size)
      this.buffered = this.buffered.subarray(4 + size)
      this.partsBytes += size
      if (this.partsBytes > MAX_MESSAGE_BYTES) throw new Error('client packet too large')
      this.parts.push(part)
      if (size === MAX_PACKET_PAYLOAD) continue
      const payload = this.parts.length === 1 ? Buffer.from(part) : Buffer.concat(this.parts)
      this.parts = []
      this.partsBytes = 0
      return { sequenceId, payload }
    }
    return null
  }

  // Bytes received past the last packet (the TLS ClientHello that followed an SSLRequest).
  takeRemaining() {
    const rest = this.buffered
    this.buffered = Buffer.alloc(0)
    return rest
  }
}

function encodeHandshakeV10({ serverVersion, connectionId, scramble, capabilities, authPluginName }) {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10)
  let o = fixed.writeUInt32LE(connectionId, 0)
  o += scramble.copy(fixed, o, 0, 8)
  fixed[o++] = 0 // filler
  o = fixed.writeUInt16LE(capabilities & 0xffff, o)
  fixed[o++] = CHARSET_UTF8MB4_GENERAL_CI
  o = fixed.writeUInt16LE(SERVER_STATUS_AUTOCOMMIT, o)
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

// An SSLRequest is the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set, nothing more.
function isSslRequest(payload) {
  return payload.length === 32 && (payload.readUInt32LE(0) & CLIENT.SSL) !== 0
}

// Parses HandshakeResponse41 laid out by the client's own flags (mysql2 writes by its flags).
function parseHandshakeResponse41(payload) {
  if (payload.length < 33) throw new Error('handshake response too short')
  const clientFlags = payload.readUInt32LE(0)
  if (!(clientFlags & CLIENT.PROTOCOL_41)) throw new Error('client does not speak protocol 4.1')
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
    clientPluginName = readNulString(payload, offset).value
  }
  return { clientFlags, user: user.value, authData, database, clientPluginName }
}

// COM_CHANGE_USER body (after the command byte): user, 1-byte-length auth data, database, charset, plugin.
function parseChangeUser(body, clientFlags) {
  const user = readNulString(body, 0)
  const authLength = body[user.next]
  if (authLength === undefined || user.next + 1 + authLength > body.length) throw new Error('change-user auth data truncated')
  const authData = body.subarray(user.next + 1, user.next + 1 + authLength)
  const database = readNulString(body, user.next + 1 + authLength)
  const pluginAt = database.next + 2
  const clientPluginName = clientFlags & CLIENT.PLUGIN_AUTH && pluginAt < body.length ? readNulString(body, pluginAt).value : ''
  return { clientFlags, user: user.value, authData, database: database.value, clientPluginName }
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

function encodeAuthMoreData(data) {
  return Buffer.concat([Buffer.from([0x01]), data])
}

function encodeColumnDefinition(name, type) {
  const tail = Buffer.alloc(13)
  tail[0] = 0x0c // length of the fixed-size fields
  tail.writeUInt16LE(type === COLUMN_TYPE.LONGLONG ? 63 : CHARSET_UTF8MB4_GENERAL_CI, 1) // 63: binary
  tail.writeUInt32LE(type === COLUMN_TYPE.LONGLONG ? 1 : 288, 3)
  tail[7] = type
  tail.writeUInt16LE(type === COLUMN_TYPE.LONGLONG ? 0x0081 : 0x0001, 8) // NOT_NULL (+BINARY for ints)
  return Buffer.concat([
    encodeLenencString('def'),
    encodeLenencString(''),
    encodeLenencString(''),
    encodeLenencString(''),
    encodeLenencString(name),
    encodeLenencString(''),
    tail,
  ])
}

function encodeTextRow(values) {
  return Buffer.concat(values.map((v) => (v === null ? Buffer.from([0xfb]) : encodeLenencString(v))))
}

// Payloads of a text result set; with DEPRECATE_EOF the column EOF goes and the end is an 0xFE OK.
function encodeTextResultSet(columns, rows, { deprecateEof = false } = {}) {
  const payloads = [encodeLenencInt(columns.length), ...columns.map((c) => encodeColumnDefinition(c.name, c.type))]
  if (!deprecateEof) payloads.push(encodeEof())
  for (const row of rows) payloads.push(encodeTextRow(row))
  payloads.push(deprecateEof ? encodeOk({ header: 0xfe }) : encodeEof())
  return payloads
}

module.exports = {
  CLIENT,
  COLUMN_TYPE,
  encodeLenencInt,
  readLenencInt,
  framePackets,
  PacketReader,
  encodeHandshakeV10,
  isSslRequest,
  parseHandshakeResponse41,
  parseChangeUser,
  encodeOk,
  encodeErr,
  encodeEof,
  encodeAuthSwitchRequest,
  encodeAuthMoreData,
  encodeTextResultSet,
}
