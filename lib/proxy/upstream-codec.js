'use strict'

// Client-side connection-phase packets (TEMPORARY: to be replaced by lib/mysql-protocol once it lands).

const CLIENT = Object.freeze({
  MYSQL: 0x1,
  CONNECT_WITH_DB: 0x8,
  COMPRESS: 0x20,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  SECURE_CONNECTION: 0x8000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  ZSTD_COMPRESSION: 0x4000000,
  SSL_VERIFY_SERVER_CERT: 0x40000000,
  REMEMBER_OPTIONS: 0x80000000,
})

function parseServerGreeting(p) {
  if (p[0] !== 10) throw new Error(`protocol version ${p[0]}`)
  const versionEnd = p.indexOf(0, 1)
  if (versionEnd < 0 || versionEnd + 31 > p.length) throw new Error('truncated')
  const serverVersion = p.toString('utf8', 1, versionEnd)
  let at = versionEnd + 1
  const connectionId = p.readUInt32LE(at)
  const part1 = p.subarray(at + 4, at + 12)
  at += 13
  let low = p.readUInt16LE(at)
  const charset = p[at + 2]
  const status = p.readUInt16LE(at + 3)
  low |= p.readUInt16LE(at + 5) << 16
  const dataLength = p[at + 7]
  const extended = low & CLIENT.MYSQL ? 0 : p.readUInt32LE(at + 14)
  at += 18
  const part2Length = Math.max(13, dataLength - 8)
  const part2 = p.subarray(at, Math.min(p.length, at + part2Length))
  at += part2Length
  const nameEnd = p.indexOf(0, at)
  const authPluginName = at < p.length ? p.toString('latin1', at, nameEnd < 0 ? p.length : nameEnd) : ''
  const scramble = Buffer.concat([part1, part2[part2.length - 1] === 0 ? part2.subarray(0, -1) : part2])
  return { serverVersion, connectionId, capabilities: (BigInt(extended) << 32n) | BigInt(low >>> 0), charset, status, scramble, authPluginName }
}

function lenenc(n) {
  if (n < 251) return Buffer.from([n])
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8])
  const b = Buffer.alloc(4)
  b[0] = 0xfd
  b.writeUIntLE(n, 1, 3)
  return b
}

function encodeClientHandshake({ capabilities, maxPacketSize, charset, user, authData = Buffer.alloc(0), database, pluginName, attributes }) {
  const caps = BigInt(capabilities)
  const low = Number(caps & 0xffffffffn)
  const head = Buffer.alloc(32)
  head.writeUInt32LE(low >>> 0, 0)
  head.writeUInt32LE(maxPacketSize >>> 0, 4)
  head[8] = charset
  if (!(low & CLIENT.MYSQL)) head.writeUInt32LE(Number(caps >> 32n) >>> 0, 28)
  const parts = [head, Buffer.from(`${user ?? ''}\0`, 'utf8'), lenenc(authData.length), authData]
  if (low & CLIENT.CONNECT_WITH_DB) parts.push(Buffer.from(`${database ?? ''}\0`, 'utf8'))
  parts.push(Buffer.from(`${pluginName}\0`, 'latin1'))
  if (low & CLIENT.CONNECT_ATTRS) parts.push(attributes ?? Buffer.from([0]))
  return Buffer.concat(parts)
}

module.exports = { CLIENT, parseServerGreeting, encodeClientHandshake }
