'use strict'

// The MySQL client/server protocol pieces shared by the package and its test server: packet framing
// (split packets over 16 MiB, sequence ids), capability flags, the connection-phase packets, a
// client-side login to a real server, and a packet relay. See index.d.ts for the API.

const constants = require('./constants')
const framing = require('./framing')
const packets = require('./packets')
const { PacketChannel } = require('./channel')
const { connectSocket, connectAndLogin, changeUser, passwordAnswer, runStatement, ServerError } = require('./client-login')
const { startRelay, LOST_SERVER_ERROR } = require('./relay')

module.exports = {
  ...constants,
  ...framing,
  ...packets,
  PacketChannel,
  connectSocket,
  connectAndLogin,
  changeUser,
  passwordAnswer,
  runStatement,
  ServerError,
  startRelay,
  LOST_SERVER_ERROR,
}
