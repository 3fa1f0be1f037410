'use strict'

// The floor of the proxy benchmark (see proxy.js), in its own process as the proxy is: bytes piped
// both ways with node:net, nothing read. Prints its port; stops when stdin ends.

const net = require('node:net')
const [host, port] = [process.argv[2], Number(process.argv[3])]

const server = net.createServer((client) => {
  const socket = net.connect(port, host)
  client.setNoDelay(true) // as the proxy does: without it Nagle delays each small reply
  socket.setNoDelay(true)
  client.pipe(socket).pipe(client)
  client.on('error', () => socket.destroy())
  socket.on('error', () => client.destroy())
})
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })))
process.stdin.resume()
process.stdin.once('end', () => process.exit(0))
