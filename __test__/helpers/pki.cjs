'use strict'

// A throwaway PKI per test run: a CA, a server certificate for 127.0.0.1/localhost, one for
// another host signed by the same CA (what any public CA would issue an attacker for its own
// name), and a self-signed certificate for 127.0.0.1 that no CA vouches for. Never written to disk.

const selfsigned = require('selfsigned')

const options = (extensions, ca) => ({
  keyType: 'ec',
  curve: 'P-256',
  algorithm: 'sha256',
  notBeforeDate: new Date(Date.now() - 60_000),
  notAfterDate: new Date(Date.now() + 24 * 3600_000),
  extensions,
  ...(ca ? { ca } : {}),
})

const serverExtensions = (altNames) => [
  { name: 'basicConstraints', cA: false, critical: true },
  { name: 'keyUsage', digitalSignature: true, critical: true },
  { name: 'extKeyUsage', serverAuth: true },
  ...(altNames ? [{ name: 'subjectAltName', altNames }] : []),
]

async function issue(commonName, altNames, ca) {
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], options(serverExtensions(altNames), ca))
  return { key: pems.private, cert: pems.cert }
}

async function createTestPki() {
  const caPems = await selfsigned.generate(
    [{ name: 'commonName', value: 'mysql-openid-connect test CA' }],
    options([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]),
  )
  const ca = { key: caPems.private, cert: caPems.cert }
  const localhost = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
  ]
  return {
    ca: ca.cert,
    right: await issue('db.local.test', localhost, ca),
    wrongHost: await issue('db.attacker.test', [{ type: 2, value: 'db.attacker.test' }], ca),
    // a subject CN that OpenSSL's host check reads only when told to (its ALWAYS_CHECK_SUBJECT flag)
    wrongHostLocalCn: await issue('localhost', [{ type: 2, value: 'db.attacker.test' }], ca),
    // MySQL's auto-generated certificates name no host at all
    noHost: await issue('MySQL_Server_9.1.0_Auto_Generated_Server_Certificate', null, ca),
    untrusted: await issue('db.local.test', localhost, null),
  }
}

module.exports = { createTestPki }
