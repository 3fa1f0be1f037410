'use strict'

// One record per connection, when it ends: to the `log` option, or a line on stderr (text or JSON),
// and to the `mysql-openid-connect:proxy` diagnostics channel. Records hold who, how long, how much
// and how it ended: never a token, password or packet.

const diagnosticsChannel = require('node:diagnostics_channel')

const PROXY_CHANNEL = 'mysql-openid-connect:proxy'
const proxyChannel = diagnosticsChannel.channel(PROXY_CHANNEL)

// Values that would break a `key=value` line (a user name with a space) are quoted as JSON strings.
const textValue = (value) => (typeof value === 'string' && !/^[\w.:/@[\]-]*$/.test(value) ? JSON.stringify(value) : String(value))

function formatText(record) {
  const fields = Object.entries(record)
    .filter(([key, value]) => value !== undefined && key !== 'time')
    .map(([key, value]) => `${key}=${textValue(value)}`)
  return `${record.time} mysql-openid-connect proxy ${fields.join(' ')}`
}

/** A function that takes one record: calls `log` if given, else writes a line to `stream`. */
function connectionLogger({ log, logFormat }, stream = process.stderr) {
  return (fields) => {
    const record = { time: new Date().toISOString(), ...fields }
    if (proxyChannel.hasSubscribers) proxyChannel.publish(record)
    if (log === false) return
    if (typeof log === 'function') {
      try {
        log(record)
      } catch {
        // a throwing logger must not take a connection down with it
      }
      return
    }
    stream.write(`${logFormat === 'json' ? JSON.stringify(record) : formatText(record)}\n`)
  }
}

module.exports = { PROXY_CHANNEL, connectionLogger }
