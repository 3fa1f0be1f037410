'use strict'

// A throwaway PKI per test run: a CA, a server certificate for 127.0.0.1/localhost, one for
// another host signed by the same CA (what any public CA would issue an attacker for its own
// name), and a self-signed certificate for 127.0.0.1 that no CA vouches for. Never written to disk.

const crypto = require('node:crypto')
const pkijs = require('pkijs')
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

/** `caName`: another PKI's CA needs a name of its own, or OpenSSL looks a certificate's issuer up in the wrong one. */
async function createTestPki(caName = 'mysql-openid-connect test CA') {
  const caPems = await selfsigned.generate(
    [{ name: 'commonName', value: caName }],
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

/** The bytes of a DER object, as the ArrayBuffer pkijs reads. */
const arrayBuffer = (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)

/**
 * A PKCS#12 file (no password) holding `identity` ({ key, cert }) and, as an extra certificate,
 * `caCert`: what Node's TLS loads from `pfx`, trusting every extra certificate as a CA.
 */
async function pfxOf(identity, caCert) {
  pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: crypto.webcrypto }))
  const certBag = (pem) =>
    new pkijs.SafeBag({
      bagId: '1.2.840.113549.1.12.10.1.3',
      bagValue: new pkijs.CertBag({ parsedValue: pkijs.Certificate.fromBER(arrayBuffer(new crypto.X509Certificate(pem).raw)) }),
    })
  const key = crypto.createPrivateKey(identity.key).export({ type: 'pkcs8', format: 'der' })
  const safeBags = [
    new pkijs.SafeBag({ bagId: '1.2.840.113549.1.12.10.1.1', bagValue: pkijs.PrivateKeyInfo.fromBER(arrayBuffer(key)) }),
    certBag(identity.cert),
    certBag(caCert),
  ]
  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: { safeContents: [{ privacyMode: 0, value: new pkijs.SafeContents({ safeBags }) }] },
  })
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } })
  await authenticatedSafe.makeInternalValues({ safeContents: [{}] })
  await pfx.makeInternalValues({ password: new ArrayBuffer(0), iterations: 2048, pbkdf2HashAlgorithm: 'SHA-256', hmacHashAlgorithm: 'SHA-256' })
  return Buffer.from(pfx.toSchema().toBER(false))
}

module.exports = { createTestPki, pfxOf }
