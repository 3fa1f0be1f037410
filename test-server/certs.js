'use strict'

// A throwaway TLS identity for 127.0.0.1/localhost, generated once per process (never written to disk).

const selfsigned = require('selfsigned')

let pending = null

function generateCertificate() {
  const now = new Date()
  const notAfter = new Date(now.getTime() + 7 * 24 * 3600 * 1000)
  return selfsigned.generate([{ name: 'commonName', value: 'mysql-openid-connect embedded test server' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // Backdated a minute so a client clock slightly behind still accepts it.
    notBeforeDate: new Date(now.getTime() - 60 * 1000),
    notAfterDate: notAfter,
    extensions: [
      // cA + keyCertSign: OpenSSL then accepts the self-signed cert as its own trust anchor via `ca`.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
}

// Resolves { key, cert } (PEM strings); every caller in the process shares one certificate.
function getSelfSignedCertificate() {
  if (!pending) {
    pending = generateCertificate().then(
      (pems) => ({ key: pems.private, cert: pems.cert }),
      (err) => {
        pending = null // let a later call retry instead of caching the failure
        throw err
      },
    )
  }
  return pending
}

module.exports = { getSelfSignedCertificate }
