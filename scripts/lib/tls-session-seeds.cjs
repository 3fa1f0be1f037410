'use strict'
// Writes real TLS sessions (what tlsSocket.getSession() returns on this Node, TLS 1.2 and 1.3, as
// the first and the resumed connection saw them) to the directory given, as fuzzing seeds, and the
// same sessions after Node 22's header so both shapes are seeded whatever Node runs this.
const fs = require('node:fs')
const path = require('node:path')
const tls = require('node:tls')
const { createTestPki } = require('../../__test__/helpers/pki.cjs')

async function main(dir) {
  const pki = await createTestPki()
  const server = tls.createServer(pki.right, (socket) => socket.end('x'))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  let n = 0
  const write = (session) => {
    fs.writeFileSync(path.join(dir, `session-${n++}`), session)
    if (session[0] === 0x30) {
      const header = Buffer.concat([Buffer.from('\0nodejs:tls:session:1\0\0\x09localhost', 'latin1'), session])
      fs.writeFileSync(path.join(dir, `session-${n++}`), header)
    }
  }
  for (const version of ['TLSv1.2', 'TLSv1.3']) {
    let session
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve, reject) => {
        const socket = tls.connect({ port: server.address().port, host: '127.0.0.1', ca: pki.ca, session, maxVersion: version, minVersion: version })
        socket.on('session', (s) => (session = s))
        socket.on('data', () => {})
        socket.on('end', () => resolve(write(socket.getSession())))
        socket.on('error', reject)
      })
    }
  }
  server.close()
}

main(process.argv[2]).catch((err) => {
  console.error(err)
  process.exit(1)
})
