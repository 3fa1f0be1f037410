'use strict'

// Who is at the other end: the token is a bearer credential, so it goes only to a peer that is
// authenticated (TLS with a verified chain and host name, or a local socket), judged by the stream
// mysql2 really uses and by own properties only, so neither a stale config nor a polluted
// Object.prototype can vouch for a connection.

const { X509Certificate } = require('node:crypto')
const net = require('node:net')
const tls = require('node:tls')

const { PLUGIN_NAME, pluginError } = require('./errors.js')
const { hiddenTlsError } = require('./mysql2-login.js')
const { checkMysql2Options } = require('./mysql2-options.js')
const { certificateOfTlsSession } = require('./core.js')

/** `object[key]` if it is the object's own property, else undefined. */
function own(object, key) {
  return object !== null && typeof object === 'object' && Object.hasOwn(object, key) ? object[key] : undefined
}

/**
 * A Unix socket or Windows named pipe. Node and Deno name that handle `Pipe`/`PipeWrap` (and TCP's
 * `TCP`/`TCPWrap`); where the handle says nothing (Bun), a live socket with no peer address and no
 * port of its own is one. A closed or unconnected socket has no address either: it must be open.
 */
function isLocalSocket(socket) {
  if (!(socket instanceof net.Socket) || socket instanceof tls.TLSSocket) return false
  const handle = socket._handle?.constructor?.name
  if (handle === 'Pipe' || handle === 'PipeWrap') return true
  if (handle === 'TCP' || handle === 'TCPWrap') return false
  if (!socket._handle || socket.readyState !== 'open' || socket.destroyed !== false) return false
  if (socket.remoteAddress !== undefined) return false
  try {
    return typeof socket.address()?.port !== 'number'
  } catch {
    return false
  }
}

/** The socket under a TLS stream (what `tls.connect({ socket })` wrapped), if any. */
function socketUnder(stream) {
  const parent = own(stream, '_parent')
  return parent instanceof net.Socket ? parent : null
}

const FIX_CHAIN =
  'pass the CA that signed the server certificate in mysql2\'s `ssl: { ca }` (and leave `rejectUnauthorized` on)'
const FIX_HOST =
  'connect with the host name the certificate names, or set `ssl.servername` to a name it contains; a MySQL ' +
  'auto-generated certificate names no host at all: give the server a certificate issued for its name, or ' +
  'connect over a local socket (`socketPath`)'
const OPT_OUT = 'If you accept that any server on the path may receive the token, set `allowUnverifiedServer: true`.'

const via = (pluginName) => (pluginName === PLUGIN_NAME ? '' : ` through ${pluginName}`)

/** The name the certificate must be valid for: `ssl.servername` if the user set one, else the host. */
function expectedServerName(config) {
  const servername = own(own(config, 'ssl'), 'servername')
  if (typeof servername === 'string' && servername !== '') return servername
  const host = own(config, 'host')
  return typeof host === 'string' && host !== '' ? host : 'localhost'
}

/**
 * The DER of the certificate the peer proved, as the TLS session records it. Node's own copy is gone
 * once the server sends session tickets, and a resumed handshake sends none at all (no public API
 * has it then, Node 20 to 26); the session (OpenSSL's SSL_SESSION, whose `peer` field holds the
 * certificate the server proved when the session began) keeps it, and the native core reads it.
 */
function peerCertificateDer(stream) {
  try {
    return certificateOfTlsSession(stream.getSession()) ?? stream.getPeerX509Certificate()?.raw ?? null
  } catch {
    return null // unreadable: treated as no certificate, which refuses
  }
}

// Parsing a certificate costs a few hundred µs, a pool logs in to the same server again and again,
// and the verdict depends on nothing but the certificate and the name: keep the last few.
const hostVerdicts = new Map()
const MAX_HOST_VERDICTS = 64

/**
 * The two fields tls.checkServerIdentity reads (`subject.CN`, `subjectaltname`), the certificate's
 * own, on objects with no prototype: the legacy object inherits from Object.prototype, which could
 * supply a `subjectaltname` that a certificate without one (MySQL's auto-generated) lacks.
 * (X509Certificate#checkHost reads flags through Object.prototype, and in Deno ignores case and
 * wildcards and reads the CN despite DNS SANs.)
 */
function identityOf(certificate) {
  const legacy = certificate.toLegacyObject()
  const subject = Object.assign(Object.create(null), own(legacy, 'subject'))
  return { __proto__: null, subject, subjectaltname: own(legacy, 'subjectaltname') }
}

/** Why the certificate is not valid for `name` (Node's own rules), or null when it is. */
function hostMismatch(der, name) {
  const key = `${name}\n${der.toString('latin1')}`
  let verdict = hostVerdicts.get(key)
  if (verdict === undefined) {
    const mismatch = tls.checkServerIdentity(name, identityOf(new X509Certificate(der)))
    verdict = mismatch ? mismatch.reason : null
    if (hostVerdicts.size >= MAX_HOST_VERDICTS) hostVerdicts.delete(hostVerdicts.keys().next().value)
    hostVerdicts.set(key, verdict)
  }
  return verdict
}

/** Why a TLS peer is not authenticated, or null when it is. */
function unverifiedReason(stream, config) {
  if (own(stream, 'authorized') !== true) {
    const why = stream.authorizationError ? ` (${stream.authorizationError.code || stream.authorizationError})` : ''
    return `the server's certificate chain is not verified${why}: ${FIX_CHAIN}`
  }
  const name = expectedServerName(config)
  const der = peerCertificateDer(stream)
  if (!der) return `the server's certificate could not be read to check it against ${JSON.stringify(name)}`
  let mismatch
  try {
    mismatch = hostMismatch(der, name)
  } catch {
    return `the server's certificate could not be read to check it against ${JSON.stringify(name)}`
  }
  if (mismatch) return `the server's certificate is not valid for ${JSON.stringify(name)} (${mismatch}): ${FIX_HOST}`
  return null
}

/**
 * A Windows pipe name such as `\\\\dbhost\\pipe\\MySQL` reaches another machine over SMB: only
 * `\\\\.\\pipe\\…` (or `\\\\?\\pipe\\…`) is this machine's own. On other systems a socket path is local.
 */
function isThisMachinesPipe(config, platform = process.platform) {
  if (platform !== 'win32') return true
  const path = own(config, 'socketPath')
  return typeof path === 'string' && /^[\\/]{2}[.?][\\/]pipe[\\/]/i.test(path)
}

/**
 * Throws unless the token may go to this connection's peer: a local socket, or TLS whose chain and
 * host name verify, reached with mysql2 options that are the caller's own and without `debug`;
 * `allowUnverifiedServer` relaxes the TLS checks, `allowInsecureTransport` all transport checks.
 */
function checkPeer(connection, options, pluginName) {
  const config = own(connection, 'config')
  // no opt-out covers this: polluted options are nothing the caller chose
  checkMysql2Options(config)
  if (options.allowInsecureTransport === true) return 'allowed-insecure'
  const stream = own(connection, 'stream')
  if (isLocalSocket(stream) && isThisMachinesPipe(config)) return 'local-socket'
  if (stream instanceof tls.TLSSocket && own(stream, 'encrypted') === true) {
    if (isLocalSocket(socketUnder(stream)) && isThisMachinesPipe(config)) return 'local-socket'
    if (options.allowUnverifiedServer === true) return 'tls-unverified'
    const reason = unverifiedReason(stream, config)
    if (!reason) return 'tls'
    throw pluginError('ERR_OIDC_UNVERIFIED_SERVER', `refused to send the ID token: ${reason}. ${OPT_OUT}`)
  }
  // TLS was asked for and mysql2 would not have gone on without it: the stream is not the one in use
  if (own(config, 'ssl')) throw hiddenTlsError()
  throw pluginError(
    'ERR_OIDC_INSECURE_TRANSPORT',
    `refused to send the ID token over an unencrypted connection${via(pluginName)}: turn on TLS with mysql2's \`ssl\` ` +
      "option (for example `ssl: { ca: fs.readFileSync('ca.pem') }`), or connect over a local socket with " +
      '`socketPath`. Only on a network you trust completely, set `allowInsecureTransport: true`.',
  )
}

module.exports = { checkPeer, own, isThisMachinesPipe, hostMismatch }
