'use strict'

// A socket seen as MySQL packets: read the next logical packet (with a deadline), write packets with
// the running sequence id, upgrade to TLS in place, and hand the socket plus unread bytes over to a relay.

const tls = require('node:tls')
const { framePackets, PacketReader } = require('./framing')

class PacketChannel {
  /** `stream`: a connected net.Socket or tls.TLSSocket; `buffered`: bytes already read from it. */
  constructor(stream, { buffered, maxMessageBytes } = {}) {
    this.reader = new PacketReader({ maxMessageBytes })
    if (buffered && buffered.length) this.reader.push(buffered)
    this.sequenceId = 0
    this.waiter = null
    this.failure = null
    this.attach(stream)
  }

  attach(stream) {
    this.stream = stream
    this.onData = (chunk) => {
      this.reader.push(chunk)
      this.wake()
    }
    this.onEnd = () => this.fail(new Error('connection closed by peer'))
    this.onError = (err) => this.fail(err)
    stream.on('data', this.onData)
    stream.on('end', this.onEnd)
    stream.on('close', this.onEnd)
    stream.on('error', this.onError)
    stream.resume() // a relay that stopped pauses the socket
  }

  detach() {
    this.stream.off('data', this.onData)
    this.stream.off('end', this.onEnd)
    this.stream.off('close', this.onEnd)
    this.stream.off('error', this.onError)
  }

  fail(err) {
    if (!this.failure) this.failure = err
    this.wake()
  }

  wake() {
    const waiter = this.waiter
    if (!waiter) return
    this.waiter = null
    waiter()
  }

  /** Next { sequenceId, payload }; rejects when the peer closes, errs or says nothing for `timeoutMs`. */
  async readPacket({ timeoutMs = 0 } = {}) {
    const deadline = timeoutMs ? Date.now() + timeoutMs : 0
    for (;;) {
      const packet = this.reader.next() // throws on an oversized packet
      if (packet) {
        this.sequenceId = (packet.sequenceId + 1) & 0xff
        return packet
      }
      if (this.failure) throw this.failure
      await new Promise((resolve, reject) => {
        let timer = null
        if (deadline) {
          timer = setTimeout(() => {
            this.waiter = null
            const err = new Error(`no reply within ${timeoutMs} ms`)
            err.code = 'ETIMEDOUT'
            reject(err)
          }, Math.max(0, deadline - Date.now()))
        }
        this.waiter = () => {
          if (timer) clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** Writes one logical packet (split into frames as needed) with the running sequence id. */
  writePacket(payload) {
    const { bytes, nextSequenceId } = framePackets(this.sequenceId, payload)
    this.sequenceId = nextSequenceId
    this.stream.write(bytes)
  }

  /** Client side: after an SSLRequest went out, wraps the socket in TLS (tls.connect options). */
  async upgradeToTls(options) {
    this.detach()
    const secure = tls.connect({ ...options, socket: this.stream })
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve)
      secure.once('error', reject)
    })
    this.attach(secure)
    return secure
  }

  /** Stops reading; returns { stream, buffered } (bytes received but not read) for whoever goes on. */
  release() {
    this.detach()
    this.stream.pause() // bytes that arrive from now on wait in the socket for its next reader
    if (this.reader.parts.length) throw new Error('release() in the middle of a split packet')
    return { stream: this.stream, buffered: this.reader.takeRemaining() }
  }

  destroy() {
    this.detach()
    this.stream.destroy()
  }
}

module.exports = { PacketChannel }
