'use strict'
// Watches every TCP connection this process asks node:net for (fetch's too: undici connects through
// net.connect) and refuses one to a non-loopback address before anything is sent: a test of what must
// never be contacted stays on this machine even when run against code that would contact it.
const net = require('node:net')

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/** Starts watching; `attempts` lists each `host:port` asked for; `restore()` stops. */
function guardConnections() {
  const attempts = []
  const original = net.connect
  net.connect = function guardedConnect(...args) {
    const options = args[0] !== null && typeof args[0] === 'object' ? args[0] : { port: args[0], host: args[1] }
    if (options.path === undefined) {
      const host = options.host ?? 'localhost'
      attempts.push(`${host}:${options.port}`)
      if (!LOOPBACK_HOSTS.has(host)) throw new Error(`connect-guard refused a connection to ${host}, off this machine`)
    }
    return original.apply(this, args)
  }
  return { attempts, restore: () => (net.connect = original) }
}

module.exports = { guardConnections }
