'use strict'

// What the embedded server sends beyond lib/mysql-protocol (framing, connection-phase packets, shared
// with the package): a text result set. Payloads are Buffers without the 4-byte header.

const wire = require('../lib/mysql-protocol')

const { CLIENT, CHARSET_UTF8MB4_GENERAL_CI, encodeLenencInt, encodeLenencString, encodeOk, encodeEof } = wire
// A client may legitimately send a few MiB (a big token); anything past this is abuse.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

const COLUMN_TYPE = Object.freeze({ LONGLONG: 0x08, VAR_STRING: 0xfd })

// Reassembles the client's packets, refusing messages past MAX_MESSAGE_BYTES.
class PacketReader extends wire.PacketReader {
  constructor() {
    super({ maxMessageBytes: MAX_MESSAGE_BYTES })
  }
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
  readLenencInt: wire.readLenencInt,
  framePackets: wire.framePackets,
  PacketReader,
  encodeHandshakeV10: wire.encodeHandshakeV10,
  isSslRequest: wire.isSslRequest,
  parseHandshakeResponse41: wire.parseHandshakeResponse41,
  parseChangeUser: wire.parseChangeUser,
  encodeOk,
  encodeErr: wire.encodeErr,
  encodeEof,
  encodeAuthSwitchRequest: wire.encodeAuthSwitchRequest,
  encodeAuthMoreData: wire.encodeAuthMoreData,
  encodeTextResultSet,
}
