'use strict'

// A raw MySQL-protocol server that plays an attacker's part: it greets (offering TLS when given a
// certificate), upgrades on the client's SSLRequest, reads the handshake response, then hands the
// connection to `script`. It records every byte it reads after TLS, so a test can count how often
// a secret reached it. Built with node:net and node:tls only, on 127.0.0.1.

const net = require('node:net')
const path = require('node:path')
const tls = require('node:tls')

const protocol = require(path.join(__dirname, '..', '..', 'test-server', 'protocol.js'))
const { CLIENT } = protocol

const CAPABILITIES =
  CLIENT.LONG_PASSWORD | CLIENT.LONG_FLAG | CLIENT.CONNECT_WITH_DB | CLIENT.PROTOCOL_41 | CLIENT.TRANSACTIONS |
  CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA

/** A peer's packets, one at a time, over whichever stream is current. */
function makePeer(socket, received, handshakes) {
  const reader = new protocol.PacketReader()
  let stream = socket
  let sequenceId = 0
  let wake = () => {}
  let closed = false
  const onData = (chunk) => (received.push(chunk), reader.push(chunk), wake())
  socket.on('data', onData)
  socket.on('close', () => ((closed = true), wake()))
  return {
    send(payload) {
      const { bytes, nextSequenceId } = protocol.framePackets(sequenceId, payload)
      sequenceId = nextSequenceId
      if (!stream.destroyed) stream.write(bytes)
    },
    async next() {
      for (;;) {
        const packet = reader.next()
        if (packet) return (sequenceId = (packet.sequenceId + 1) & 0xff), packet.payload
        if (closed) return null
        await new Promise((resolve) => (wake = resolve))
      }
    },
    /** Upgrades to TLS in place, as a MySQL server does after an SSLRequest. */
    startTls(secureContext) {
      socket.off('data', onData)
      socket.pause()
      const rest = reader.takeRemaining()
      if (rest.length) socket.unshift(rest)
      stream = new tls.TLSSocket(socket, { isServer: true, secureContext })
      stream.on('error', () => {})
      stream.once('secure', () => handshakes.push({ resumed: stream.isSessionReused() }))
      stream.on('data', onData)
      stream.on('close', () => ((closed = true), wake()))
    },
    hangUp: () => stream.end(),
    destroy: () => stream.destroy(),
  }
}

/**
 * Starts the server; `script(peer, handshakeResponse)` plays each connection after the handshake
 * response. `tlsIdentity` ({ key, cert }) makes it offer TLS; `path` makes it listen on that Unix
 * socket instead of a port on 127.0.0.1. Resolves { port, received, sightings, close }.
 */
async function startHostileServer({ script, tlsIdentity, path: socketPath, authPluginName = 'mysql_native_password' }) {
  const received = []
  const handshakes = []
  const sockets = new Set()
  const secureContext = tlsIdentity ? tls.createSecureContext(tlsIdentity) : null
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    const peer = makePeer(socket, received, handshakes)
    const capabilities = CAPABILITIES | (secureContext ? CLIENT.SSL : 0)
    const scramble = Buffer.alloc(20, 0x2a)
    peer.send(protocol.encodeHandshakeV10({ serverVersion: '8.0.0-hostile', connectionId: 1, scramble, capabilities, authPluginName }))
    ;(async () => {
      let response = await peer.next()
      if (response && secureContext && protocol.isSslRequest(response)) {
        peer.startTls(secureContext)
        response = await peer.next()
      }
      if (response) await script(peer, response)
    })().catch(() => socket.destroy())
  })
  await new Promise((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)))
  return {
    port: socketPath ? undefined : server.address().port,
    received,
    /** One entry per TLS handshake: { resumed } */
    handshakes,
    /** How many times `secret` reached the server (after TLS, as the server read it). */
    sightings: (secret) => Buffer.concat(received).toString('latin1').split(secret).length - 1,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const switchTo = (plugin, data = Buffer.alloc(21, 0x61)) => protocol.encodeAuthSwitchRequest(plugin, data)

module.exports = { startHostileServer, switchTo, protocol }
