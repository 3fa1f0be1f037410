'use strict'

// The command phase: bytes relayed unchanged both ways, with only the 4-byte packet headers read on
// the way (no copy), so the proxy knows where packets begin. It needs that for three things: to stop
// COM_CHANGE_USER (which would make the proxy's login someone else's), to put a well-formed ERR
// packet in front of the client when the upstream dies, and to tell when a connection is quiet.

const COM_CHANGE_USER = 0x11
const COM_QUIT = 0x01

/** Follows packet boundaries in one direction's byte stream. */
class PacketWalker {
  constructor() {
    this.remaining = 0 // payload bytes left in the current packet
    this.lastSequenceId = 0
  }

  get atBoundary() {
    return this.remaining === 0
  }
}

/**
 * Relays `client` <-> `upstream` until either ends. `hooks`: onChangeUser(sequenceId) when a client
 * sends COM_CHANGE_USER (the packet is dropped, not relayed), onUpstreamLost() when the upstream
 * ends without the client having quit, onEnd(), counts bytes in `stats`.
 */
function relayPackets(client, upstream, { onChangeUser, onUpstreamLost, onEnd, stats }) {
  const fromClient = new PacketWalker()
  const fromServer = new PacketWalker()
  let carry = null // a client header whose command byte has not arrived yet
  let dropping = 0 // bytes of a COM_CHANGE_USER still to drop
  let quit = false
  let ended = false
  const state = { lastFrom: 'server', lastActivity: Date.now(), fromClient, fromServer }

  const end = (why) => {
    if (ended) return
    ended = true
    onEnd(why)
  }

  const pipe = (from, to, chunkHandler) => {
    from.on('data', (chunk) => {
      const out = chunkHandler(chunk)
      if (out && out.length && !to.destroyed && !to.write(out)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    })
  }

  // client -> upstream: headers walked; a COM_CHANGE_USER is cut out of the stream
  pipe(client, upstream, (chunk) => {
    stats.bytesFromClient += chunk.length
    state.lastFrom = 'client'
    state.lastActivity = Date.now()
    if (carry) {
      chunk = Buffer.concat([carry, chunk])
      carry = null
    }
    const kept = []
    let keptFrom = 0
    let at = 0
    while (at < chunk.length) {
      if (dropping > 0) {
        const n = Math.min(dropping, chunk.length - at)
        dropping -= n
        at += n
        keptFrom = at
        if (dropping === 0) onChangeUser((fromClient.lastSequenceId + 1) & 0xff)
        continue
      }
      if (fromClient.remaining > 0) {
        const n = Math.min(fromClient.remaining, chunk.length - at)
        fromClient.remaining -= n
        at += n
        continue
      }
      // a header (or part of one): everything before it is safe to pass on
      const left = chunk.length - at
      if (left < 4 || (left === 4 && chunk[at + 3] === 0 && chunk.readUIntLE(at, 3) > 0)) {
        // a command's header without its command byte: keep it until the byte comes
        if (at > keptFrom) kept.push(chunk.subarray(keptFrom, at))
        carry = Buffer.from(chunk.subarray(at))
        keptFrom = at = chunk.length
        break
      }
      const size = chunk.readUIntLE(at, 3)
      const sequenceId = chunk[at + 3]
      fromClient.lastSequenceId = sequenceId
      fromServer.lastSequenceId = sequenceId
      if (sequenceId === 0 && size > 0 && chunk[at + 4] === COM_CHANGE_USER) {
        if (at > keptFrom) kept.push(chunk.subarray(keptFrom, at))
        dropping = 4 + size
        continue
      }
      if (sequenceId === 0 && size === 1 && chunk[at + 4] === COM_QUIT) quit = true
      fromClient.remaining = size
      at += 4
    }
    if (keptFrom < at) kept.push(chunk.subarray(keptFrom, at))
    return kept.length === 1 ? kept[0] : Buffer.concat(kept)
  })

  // upstream -> client: headers walked, bytes passed on as they came
  pipe(upstream, client, (chunk) => {
    stats.bytesToClient += chunk.length
    state.lastFrom = 'server'
    state.lastActivity = Date.now()
    let at = 0
    while (at < chunk.length) {
      if (fromServer.remaining > 0) {
        const n = Math.min(fromServer.remaining, chunk.length - at)
        fromServer.remaining -= n
        at += n
        continue
      }
      if (fromServer.headerPart) {
        const need = 4 - fromServer.headerPart.length
        const part = Buffer.concat([fromServer.headerPart, chunk.subarray(at, at + need)])
        at += Math.min(need, chunk.length - at)
        if (part.length < 4) {
          fromServer.headerPart = part
          continue
        }
        fromServer.headerPart = null
        fromServer.remaining = part.readUIntLE(0, 3)
        fromServer.lastSequenceId = fromClient.lastSequenceId = part[3]
        continue
      }
      if (chunk.length - at < 4) {
        fromServer.headerPart = Buffer.from(chunk.subarray(at))
        at = chunk.length
        continue
      }
      fromServer.remaining = chunk.readUIntLE(at, 3)
      fromServer.lastSequenceId = fromClient.lastSequenceId = chunk[at + 3]
      at += 4
    }
    return chunk
  })

  client.on('close', () => {
    upstream.destroy()
    end('client-closed')
  })
  client.on('error', () => {})
  upstream.on('error', () => {})
  upstream.on('close', () => {
    if (!quit && !ended && !client.destroyed) onUpstreamLost(fromServer.atBoundary && !fromServer.headerPart ? (fromServer.lastSequenceId + 1) & 0xff : null)
    client.end()
    end(quit ? 'client-quit' : 'upstream-closed')
  })
  return state
}

module.exports = { relayPackets }
