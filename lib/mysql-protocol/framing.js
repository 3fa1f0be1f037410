'use strict'

// Packet framing: a logical packet is split into frames of at most 16 MiB - 1 payload bytes, each
// with a 3-byte length and a 1-byte sequence id; a frame of exactly 16 MiB - 1 means "continued".
// Also the length-encoded integers and strings used inside packets.

const { MAX_PACKET_PAYLOAD } = require('./constants')

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

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

function readNulString(buf, offset, encoding = 'utf8') {
  const end = buf.indexOf(0, offset)
  if (end < 0) throw new Error('missing NUL terminator')
  return { value: buf.toString(encoding, offset, end), next: end + 1 }
}

// Splits a payload into wire frames; a payload of exactly 16 MiB - 1 gets an empty trailer.
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
  constructor({ maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES } = {}) {
    this.maxMessageBytes = maxMessageBytes
    this.buffered = Buffer.alloc(0)
    this.parts = []
    this.partsBytes = 0
  }

  push(chunk) {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
  }

  // Next complete { sequenceId, payload } (sequenceId of its last frame), or null when more bytes are needed.
  next() {
    while (this.buffered.length >= 4) {
      const size = this.buffered.readUIntLE(0, 3)
      if (this.buffered.length < 4 + size) return null
      const sequenceId = this.buffered[3]
      const part = this.buffered.subarray(4, 4 + size)
      this.buffered = this.buffered.subarray(4 + size)
      this.partsBytes += size
      if (this.partsBytes > this.maxMessageBytes) throw new Error('packet too large')
      this.parts.push(part)
      if (size === MAX_PACKET_PAYLOAD) continue
      const payload = this.parts.length === 1 ? Buffer.from(part) : Buffer.concat(this.parts)
      this.parts = []
      this.partsBytes = 0
      return { sequenceId, payload }
    }
    return null
  }

  // Bytes received past the last packet (the TLS ClientHello after an SSLRequest, or a relay's start).
  takeRemaining() {
    const rest = this.buffered
    this.buffered = Buffer.alloc(0)
    return rest
  }
}

module.exports = { encodeLenencInt, encodeLenencString, readLenencInt, readNulString, framePackets, PacketReader }
