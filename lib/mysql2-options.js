'use strict'

// mysql2 reads its options with plain property reads, and Node's TLS reads more from the objects
// mysql2 hands it: a key written to Object.prototype becomes an option nobody gave (`ca` or `pfx`
// trusts another CA, `socketPath` or `port` connects elsewhere, `debug` prints the token). Each
// login checks a fixed list of keys, one Object.hasOwn each; more only if Object.prototype has one.

const { pluginError } = require('./errors.js')

const PROTO = Object.prototype

// Copied by mysql2's ConnectionConfig from the caller's options into own properties of
// `connection.config`: one that came from Object.prototype is the very same value there.
const CONFIG_KEYS = ['host', 'port', 'socketPath', 'stream', 'ssl', 'debug']
// Read by mysql2 from `config.ssl` (the caller's own object) to build the TLS context and connect
const SSL_KEYS = ['ca', 'cert', 'key', 'passphrase', 'ciphers', 'minVersion', 'maxVersion', 'verifyIdentity']
// Read by Node's tls.createSecureContext and tls.connect from the objects mysql2 builds, which never
// set them: any value they see is Object.prototype's. A PFX's extra certificates become trusted CAs.
const TLS_KEYS = [
  'pfx',
  'allowPartialTrustChain',
  'secureProtocol',
  'secureOptions',
  'sigalgs',
  'ecdhCurve',
  'privateKeyEngine',
  'privateKeyIdentifier',
  'clientCertEngine',
  'pskCallback',
  'enableTrace',
]

/** Object.prototype's own value for `key`: `undefined` if none, NOT_A_VALUE for a getter or setter. */
const NOT_A_VALUE = Symbol('accessor')
function prototypeValue(key) {
  if (!Object.hasOwn(PROTO, key)) return undefined
  const descriptor = Object.getOwnPropertyDescriptor(PROTO, key)
  return descriptor && 'value' in descriptor ? descriptor.value : NOT_A_VALUE
}

/** Whether mysql2 made `config[key]` out of Object.prototype's value, as ConnectionConfig does. */
function configFromPrototype(config, key) {
  const inherited = prototypeValue(key)
  if (inherited === undefined) return false
  if (inherited === NOT_A_VALUE) return true
  const value = config[key]
  if (value === inherited) return true
  // a string port is parsed; a string ssl names a mysql2 profile, whose CAs (Amazon RDS's) are no attacker's
  return key === 'port' && typeof inherited === 'string' && value === Number.parseInt(inherited, 10)
}

/** The names of the options mysql2 (or Node's TLS under it) took from Object.prototype. */
function pollutedOptions(config) {
  let found = null
  const add = (name) => (found ??= []).push(name)
  for (const key of CONFIG_KEYS) if (configFromPrototype(config, key)) add(key)
  // a `uri` fills host, port, user, password and database; the config keeps no trace of whose it was
  if (prototypeValue('uri')) add('uri')
  const ssl = config.ssl
  if (ssl !== null && typeof ssl === 'object') {
    for (const key of SSL_KEYS) {
      const inherited = prototypeValue(key)
      if (inherited !== undefined && !Object.hasOwn(ssl, key) && (inherited === NOT_A_VALUE || ssl[key] === inherited)) {
        add(`ssl.${key}`)
      }
    }
    // mysql2 writes rejectUnauthorized onto ssl itself, so an inherited false ends up as its own
    if (prototypeValue('rejectUnauthorized') === false && ssl.rejectUnauthorized === false) add('ssl.rejectUnauthorized')
    for (const key of TLS_KEYS) if (prototypeValue(key) !== undefined) add(`ssl.${key}`)
  }
  return found
}

const plural = (names) => (names.length === 1 ? 'it' : 'them')

/**
 * Throws unless mysql2 connected the way its caller asked: with no option taken from a polluted
 * Object.prototype, and without `debug`, which prints every packet, the token included.
 */
function checkMysql2Options(config) {
  if (config === null || typeof config !== 'object') return
  const polluted = pollutedOptions(config)
  if (polluted) {
    const names = polluted.map((name) => `\`${name}\``).join(', ')
    throw pluginError(
      'ERR_OIDC_POLLUTED_OPTIONS',
      `refused to send the ID token: mysql2 took ${names} from Object.prototype, not from your options. Code in ` +
        `this process wrote ${plural(polluted)} there (prototype pollution, often a merge of untrusted JSON), and ` +
        `${plural(polluted)} decide${polluted.length === 1 ? 's' : ''} where mysql2 connects, which certificates ` +
        'it trusts, or what it prints. Find what sets Object.prototype and stop it (a setter on ' +
        `Object.prototype that calls console.trace() shows who); until then no token is sent`,
    )
  }
  if (config.debug) {
    throw pluginError(
      'ERR_OIDC_DEBUG_OUTPUT',
      "refused to send the ID token while mysql2's `debug` is on: it prints every packet in hex to stdout, the " +
        'token included. Turn `debug` off for connections that log in with a token',
    )
  }
}

module.exports = { checkMysql2Options, CONFIG_KEYS, SSL_KEYS, TLS_KEYS }
