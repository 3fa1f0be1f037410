'use strict'

// Pipes MySQL packets unchanged between a logged-in client and server until either side closes.
// It reads frame headers only: to stop before a command the caller wants to handle itself (say
// COM_CHANGE_USER), and to tell a client a proper ERR packet when the server vanishes mid-command.

const { MAX_PACKET_PAYLOAD, COMMAND } = require('./constants')
const { framePackets } = require('./framing')
const { encodeErr } = require('./packets')

// CR_SERVER_LOST, as MySQL Router tells its clients when the server behind it goes away.
const COM_QUIT = COMMAND.QUIT
const LOST_SERVER_ERROR = { errorCode: 2013, sqlState: 'HY000', message: 'Lost connection to the backend server during query' }

// Forwards the frames of one direction and keeps track of where the frame boundaries are.
class FrameForwarder {
  constructor(intercept) {
    this.intercept = intercept // (commandByte) => boolean, at the first frame of a command; or null
    this.pending = Buffer.alloc(0) // bytes of a frame header (and command byte) not yet complete
    this.remaining = 0 // payload bytes of the current frame still to pass
    this.continued = false // the previous frame was full: the next one continues its packet
    this.lastSequenceId = null
    this.lastCommand = null // the first byte of the last command that passed
  }

  get atBoundary() {
    return this.remaining === 0 && this.pending.length === 0 && !this.continued
  }

  // Returns { out: Buffer[], stoppedAt: Buffer | null }: stoppedAt holds the unforwarded bytes from
  // an intercepted command's first frame on.
  push(chunk) {
    const out = []
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    while (data.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, data.length)
        out.push(data.subarray(0, n))
        data = data.subarray(n)
        this.remaining -= n
        continue
      }
      if (data.length < 4) {
        this.pending = Buffer.from(data)
        break
      }
      const size = data.readUIntLE(0, 3)
      const sequenceId = data[3]
      const startsCommand = !this.continued && sequenceId === 0 && size > 0
      if (startsCommand && this.intercept) {
        if (data.length < 5) {
          this.pending = Buffer.from(data)
          break
        }
        if (this.intercept(data[4])) return { out, stoppedAt: Buffer.from(data) }
      }
      if (startsCommand && data.length > 4) this.lastCommand = data[4]
      out.push(data.subarray(0, 4))
      data = data.subarray(4)
      this.remaining = size
      this.continued = size === MAX_PACKET_PAYLOAD
      this.lastSequenceId = sequenceId
    }
    return { out, stoppedAt: null }
  }
}

/**
 * Starts relaying between `client` and `server`, each { stream, buffered? } (bytes already read).
 * Options:
 *   interceptCommand(commandByte) => boolean: stop before this command; then `onIntercept({ client,
 *     server })` gets both sides back as { stream, buffered } (the command's bytes first in
 *     client.buffered) and the caller may start a new relay afterwards.
 *   onEnd(reason): once, after both sides were closed ('client closed' | 'server closed' | 'closed').
 * Returns { close() }: ends both sides.
 */
function startRelay({ client, server, interceptCommand = null, onIntercept = () => {}, onEnd = () => {} }) {
  const up = new FrameForwarder(interceptCommand)
  const down = new FrameForwarder(null)
  let lastFrom = null // 'client' | 'server': who sent the last frame; a server owes a reply after the client's
  let finished = false
  const listeners = []

  const listen = (stream, event, handler) => {
    stream.on(event, handler)
    listeners.push([stream, event, handler])
  }
  const detach = () => {
    for (const [stream, event, handler] of listeners.splice(0)) stream.off(event, handler)
  }

  const forward = (from, to, forwarder, chunk, side) => {
    const { out, stoppedAt } = forwarder.push(chunk)
    if (out.length) {
      lastFrom = side
      if (!to.write(out.length === 1 ? out[0] : Buffer.concat(out))) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    }
    if (stoppedAt) {
      detach()
      client.stream.pause()
      server.stream.pause()
      onIntercept({ client: { stream: client.stream, buffered: stoppedAt }, server: { stream: server.stream, buffered: Buffer.alloc(0) } })
    }
  }

  const finish = (reason) => {
    if (finished) return
    finished = true
    detach()
    client.stream.on('error', () => {}) // late resets after the end are expected
    server.stream.on('error', () => {})
    if (reason === 'server closed' && !client.stream.destroyed) {
      // The server owes the client a reply: say why it will not come, then close.
      if (lastFrom === 'client' && up.lastCommand !== COM_QUIT && down.atBoundary && up.atBoundary) {
        const err = encodeErr(LOST_SERVER_ERROR.errorCode, LOST_SERVER_ERROR.sqlState, LOST_SERVER_ERROR.message)
        client.stream.write(framePackets(((up.lastSequenceId ?? 0) + 1) & 0xff, err).bytes)
      }
      client.stream.end()
    } else {
      client.stream.end()
    }
    server.stream.end()
    // a peer that never answers our FIN must not keep the socket
    setTimeout(() => {
      client.stream.destroy()
      server.stream.destroy()
    }, 1000).unref()
    onEnd(reason)
  }

  listen(client.stream, 'data', (chunk) => forward(client.stream, server.stream, up, chunk, 'client'))
  listen(server.stream, 'data', (chunk) => forward(server.stream, client.stream, down, chunk, 'server'))
  for (const event of ['end', 'close', 'error']) {
    listen(client.stream, event, () => finish('client closed'))
    listen(server.stream, event, () => finish('server closed'))
  }
  client.stream.resume()
  server.stream.resume()
  if (server.buffered && server.buffered.length) forward(server.stream, client.stream, down, server.buffered, 'server')
  if (client.buffered && client.buffered.length) forward(client.stream, server.stream, up, client.buffered, 'client')
  return { close: () => finish('closed') }
}

module.exports = { startRelay, LOST_SERVER_ERROR }
