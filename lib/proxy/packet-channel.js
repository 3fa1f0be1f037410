'use strict'

// Whole packets from a stream during the connection phase, awaited one at a time. Login packets are
// small: a message over MAX_LOGIN_PACKET is hostile, and the connection is dropped before it is kept.

const MAX_LOGIN_PACKET = 1024 * 1024

class PacketChannelError extends Error {}

class PacketChannel {
  constructor(stream) {
    this.stream = stream
    this.buffered = Buffer.alloc(0)
    this.waiter = null
    this.ended = null
    this.onData = (chunk) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
      this.wake()
    }
    this.onEnd = () => {
      this.ended ??= new PacketChannelError('the connection closed during the login')
      this.wake()
    }
    this.onError = (err) => {
      this.ended ??= new PacketChannelError(`the connection failed during the login (${err.code || err.message})`)
      this.wake()
    }
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onError)
  }

  wake() {
    const waiter = this.waiter
    if (!waiter) return
    let packet
    try {
      packet = this.take()
    } catch (err) {
      this.waiter = null
      return waiter.reject(err)
    }
    if (packet) {
      this.waiter = null
      waiter.resolve(packet)
    } else if (this.ended) {
      this.waiter = null
      waiter.reject(this.ended)
    }
  }

  take() {
    if (this.buffered.length < 4) return null
    const size = this.buffered.readUIntLE(0, 3)
    if (size >= MAX_LOGIN_PACKET) throw new PacketChannelError('a login packet over 1 MiB')
    if (this.buffered.length < 4 + size) return null
    const packet = { sequenceId: this.buffered[3], payload: Buffer.from(this.buffered.subarray(4, 4 + size)) }
    this.buffered = this.buffered.subarray(4 + size)
    return packet
  }

  /** The next packet, or a rejection when the stream ends, fails, sends garbage, or `timeoutMs` passes. */
  next(timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null
        reject(new PacketChannelError('timed out waiting for the login'))
      }, timeoutMs)
      const done = (fn) => (value) => {
        clearTimeout(timer)
        fn(value)
      }
      this.waiter = { resolve: done(resolve), reject: done(reject) }
      this.wake()
    })
  }

  write(sequenceId, payload) {
    const header = Buffer.alloc(4)
    header.writeUIntLE(payload.length, 0, 3)
    header[3] = sequenceId & 0xff
    this.stream.write(Buffer.concat([header, payload]))
  }

  /** Stops reading; returns what was received past the last packet (a TLS ClientHello, a first command). */
  detach() {
    this.stream.pause() // nothing may be read and lost before the next owner listens
    this.stream.off('data', this.onData)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onEnd)
    this.stream.off('error', this.onError)
    const rest = this.buffered
    this.buffered = Buffer.alloc(0)
    return rest
  }
}

module.exports = { PacketChannel, PacketChannelError }
