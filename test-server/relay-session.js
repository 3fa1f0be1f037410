'use strict'

// The embedded server's side of a backend session: once a login (or COM_CHANGE_USER) passed the
// mode's checks, log in to the backend as that account and relay packets until either side closes.
// COM_CHANGE_USER is taken out of the relay so the mode checks the new account first.

const wire = require('../lib/mysql-protocol')
const { backendErrorPacket } = require('./backend')

// After a login passed the mode's checks: a backend session for it (or, on COM_CHANGE_USER, a change
// of the existing one), its OK to the client, then the relay. A backend refusal or silence ends the
// client's session with an ERR packet.
async function openBackendSession(connection) {
  const { backend } = connection.server
  let login = connection.backendLogin
  try {
    let ok
    if (login) {
      const { stream, buffered } = connection.backendSide
      login.channel = new wire.PacketChannel(stream, { buffered })
      ok = await backend.changeUser(login, connection.request)
    } else {
      login = await backend.login(connection.request)
      connection.backendLogin = login
      ok = login.ok
    }
    if (connection.closed) return login.channel.destroy()
    connection.send(ok)
    relay(connection, login.channel.release())
  } catch (err) {
    if (connection.closed) return
    if (connection.authEntry) connection.authEntry.backendError = err.message
    connection.send(backendErrorPacket(err))
    connection.state = 'denied'
    connection.stream.end()
    if (login) login.channel.destroy()
  }
}

// Relays between the client and `serverSide` ({ stream, buffered }) until either closes.
function relay(connection, serverSide) {
  connection.state = 'relay'
  connection.busy = false
  connection.stopReading()
  connection.backendSide = serverSide
  connection.relay = wire.startRelay({
    client: { stream: connection.stream, buffered: connection.reader.takeRemaining() },
    server: serverSide,
    interceptCommand: (command) => command === wire.COMMAND.CHANGE_USER,
    onIntercept: ({ client, server }) => {
      connection.relay = null
      connection.backendSide = server
      connection.state = 'command'
      connection.startReading()
      connection.onData(client.buffered)
    },
    onEnd: () => connection.forget(),
  })
}

module.exports = { openBackendSession, relay }
