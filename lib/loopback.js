'use strict'

// Which hosts are this machine: the token sources send secrets over plain http only there, and the
// proxy listens elsewhere only when told to. Pure JavaScript, so the sources load without the binary.
const { BlockList, isIP } = require('node:net')

// 127.0.0.0/8 and ::1: traffic that never leaves the machine
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** A loopback host: an address in 127.0.0.0/8 or ::1 (bracketed or not, IPv4-mapped too), or localhost. */
function isLoopbackHost(hostname) {
  if (hostname === 'localhost') return true
  const address = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  const family = isIP(address)
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

module.exports = { isLoopbackHost }
