// The token goes only to an authenticated peer. A hostile server (node:net + node:tls, on
// 127.0.0.1) holds a certificate from a CA the client trusts but for another host, or one no CA
// vouches for, or sits behind a stream mysql2 was handed; real mysql2 connects as users configure
// it, and the server counts how often the token reached it. A fresh CA per run (helpers/pki.cjs).
import test, { type ExecutionContext } from 'ava'
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import net from 'node:net'
import tls from 'node:tls'
import path from 'node:path'
import mysql from 'mysql2/promise'

import { authPlugins, oidcCodeOf } from '../main.js'
import { resumesTlsSessions } from './helpers/mysql2-version.js'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const { startHostileServer, switchTo, protocol } = requireFromRoot('./__test__/helpers/hostile-server.cjs')
const { createTestPki } = requireFromRoot('./__test__/helpers/pki.cjs')

const PLUGIN = 'authentication_openid_connect_client'
const SECRET = 'SECRETSIGNATURExyz'
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${SECRET}` // no exp: never cached
const pki = createTestPki()

type Identity = 'right' | 'wrongHost' | 'noHost' | 'untrusted'

/** A server that switches to the OIDC plugin, reads the answer and says OK. */
async function oidcServer(t: ExecutionContext, identity: Identity | null) {
  const tlsIdentity = identity ? (await pki)[identity] : undefined
  const server = await startHostileServer({
    tlsIdentity,
    script: async (peer: any) => {
      peer.send(switchTo(PLUGIN))
      if (await peer.next()) peer.send(protocol.encodeOk())
    },
  })
  t.teardown(() => server.close())
  return server
}

async function outcome(options: Record<string, unknown>) {
  try {
    const connection = await mysql.createConnection({ host: '127.0.0.1', user: 'alice', connectTimeout: 5000, ...options })
    await connection.end().catch(() => {})
    return { result: 'connected' }
  } catch (err: any) {
    return { result: String(oidcCodeOf(err) ?? err?.code), message: String(err?.message) }
  }
}

const plugins = (extra: Record<string, unknown> = {}) => authPlugins({ token: TOKEN, validate: false, ...extra })

test('control: a server with a certificate for the host it was reached by gets the token once', async (t) => {
  const server = await oidcServer(t, 'right')
  t.like(await outcome({ port: server.port, ssl: { ca: (await pki).ca }, authPlugins: plugins() }), { result: 'connected' })
  t.is(server.sightings(SECRET), 1)
  // and by name: localhost is in the certificate too
  t.like(await outcome({ host: 'localhost', port: server.port, ssl: { ca: (await pki).ca }, authPlugins: plugins() }), { result: 'connected' })
})

test("a certificate from the trusted CA for another host does not get the token (mysql2's ssl: { ca } alone)", async (t) => {
  const server = await oidcServer(t, 'wrongHost')
  const seen = await outcome({ port: server.port, ssl: { ca: (await pki).ca }, authPlugins: plugins() })
  t.is(seen.result, 'ERR_OIDC_UNVERIFIED_SERVER')
  t.regex(seen.message!, /not valid for "127\.0\.0\.1"/)
  t.regex(seen.message!, /servername/)
  t.regex(seen.message!, /allowUnverifiedServer: true/)
  t.is(server.sightings(SECRET), 0)
})

test("a resumed TLS session is held to the same host check (mysql2 reuses sessions per host)", async (t) => {
  for (const [identity, expected, sightings] of [
    ['wrongHost', 'ERR_OIDC_UNVERIFIED_SERVER', 0],
    ['right', 'connected', 3],
  ] as const) {
    const server = await oidcServer(t, identity)
    const ssl = { ca: (await pki).ca }
    for (let i = 0; i < 3; i++) t.is((await outcome({ port: server.port, ssl, authPlugins: plugins() })).result, expected, `${identity} #${i}`)
    t.is(server.sightings(SECRET), sightings)
    const resumed = server.handshakes.slice(1).every((h: any) => h.resumed)
    if (resumesTlsSessions) t.true(resumed, 'the later connections resumed the first session')
  }
})

test("MySQL's auto-generated certificate names no host: refused, and the message says what to do", async (t) => {
  const server = await oidcServer(t, 'noHost')
  const seen = await outcome({ port: server.port, ssl: { ca: (await pki).ca }, authPlugins: plugins() })
  t.is(seen.result, 'ERR_OIDC_UNVERIFIED_SERVER')
  t.regex(seen.message!, /auto-generated certificate names no host/)
  t.is(server.sightings(SECRET), 0)
})

test('rejectUnauthorized: false lets mysql2 talk to a self-signed server, but the token stays home', async (t) => {
  const server = await oidcServer(t, 'untrusted')
  const seen = await outcome({ port: server.port, ssl: { rejectUnauthorized: false }, authPlugins: plugins() })
  t.is(seen.result, 'ERR_OIDC_UNVERIFIED_SERVER')
  t.regex(seen.message!, /certificate chain is not verified/)
  t.regex(seen.message!, /ssl: \{ ca \}/)
  t.is(server.sightings(SECRET), 0)
})

test('the opt-outs: ssl.servername names the certificate, allowUnverifiedServer accepts the risk', async (t) => {
  const server = await oidcServer(t, 'wrongHost')
  const ca = (await pki).ca
  t.like(await outcome({ port: server.port, ssl: { ca, servername: 'db.attacker.test' }, authPlugins: plugins() }), { result: 'connected' })
  t.like(await outcome({ port: server.port, ssl: { ca }, authPlugins: plugins({ allowUnverifiedServer: true }) }), { result: 'connected' })
  const selfSigned = await oidcServer(t, 'untrusted')
  const seen = await outcome({ port: selfSigned.port, ssl: { rejectUnauthorized: false }, authPlugins: plugins({ allowUnverifiedServer: true }) })
  t.is(seen.result, 'connected')
  t.is(server.sightings(SECRET) + selfSigned.sightings(SECRET), 3)
})

test('a stream handed to mysql2 is judged as what it is: TCP, whatever socketPath says', async (t) => {
  const server = await oidcServer(t, null)
  const stream = net.connect(server.port, '127.0.0.1')
  const seen = await outcome({ stream, socketPath: '/var/run/mysqld/mysqld.sock', authPlugins: plugins() })
  t.is(seen.result, 'ERR_OIDC_INSECURE_TRANSPORT')
  t.is(server.sightings(SECRET), 0)
})

test('the old password mode is refused at set-up, and a server switching to sha256_password recovers nothing', async (t) => {
  // what the README used to say: no source, the token in `password`
  const err = t.throws(() => (authPlugins as any)()) as any
  t.is(err.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
  // the attack it allowed: a plain-TCP server switches to sha256_password, sends its own RSA key and
  // decrypts what mysql2 sends with the connection's password
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  const recovered: string[] = []
  const server = await startHostileServer({
    script: async (peer: any) => {
      const scramble = Buffer.alloc(20, 0x2b)
      peer.send(switchTo('sha256_password', Buffer.concat([scramble, Buffer.from([0])])))
      await peer.next() // the client asks for the key
      peer.send(protocol.encodeAuthMoreData(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }))))
      const encrypted = await peer.next()
      if (!encrypted) return
      const stage = crypto.privateDecrypt({ key: privateKey, oaepHash: 'sha1' }, encrypted)
      recovered.push(Buffer.from(stage.map((b, i) => b ^ scramble[i % 20])).toString('utf8').replace(/\0$/, ''))
      peer.send(protocol.encodeOk())
    },
  })
  t.teardown(() => server.close())
  // with a token source the password is unset: the attacker decrypts whatever mysql2 makes of that
  await outcome({ port: server.port, authPlugins: plugins() })
  t.is(recovered.length, 1, 'the attack ran')
  t.false(recovered[0].includes(SECRET))
  t.is(server.sightings(SECRET), 0)
})

test("the host check gives Node's checkServerIdentity verdicts: IPs against IP SANs, names against DNS SANs, else the CN", async (t) => {
  const { hostMismatch } = requireFromRoot('./lib/transport.js')
  const selfsigned = requireFromRoot('selfsigned')
  const certificates: Record<string, [string, unknown[] | null]> = {
    dnsAndIp: ['db.local.test', [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }]],
    noSan: ['db.example.test', null],
    ipSanOnly: ['db.example.test', [{ type: 7, ip: '127.0.0.1' }]],
    wildcard: ['x', [{ type: 2, value: '*.example.test' }]],
    wildcardTooWide: ['x', [{ type: 2, value: '*.test' }]],
    wildcardIdn: ['x', [{ type: 2, value: '*.xn--bcher-kva.example' }]],
    sanNotCn: ['other.example.test', [{ type: 2, value: 'db.example.test' }]],
    ipv6: ['x', [{ type: 7, ip: '::1' }]],
    partialWildcard: ['x', [{ type: 2, value: 'b*z.example.test' }]],
  }
  const names = ['127.0.0.1', '10.0.0.1', '::1', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', 'localhost.', 'db.local.test',
    'db.example.test', 'DB.Example.Test.', 'a.example.test', 'a.b.example.test', 'example.test', 'other.example.test',
    'a.test', 'a.xn--bcher-kva.example', 'buzz.example.test', 'x']
  let accepted = 0
  for (const [label, [commonName, altNames]] of Object.entries(certificates)) {
    // selfsigned adds a SAN of the CN to a certificate with no extensions: give it one of another kind
    const extensions = [{ name: 'basicConstraints', cA: false }, ...(altNames ? [{ name: 'subjectAltName', altNames }] : [])]
    const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], { keyType: 'ec', curve: 'P-256', extensions })
    const certificate = new crypto.X509Certificate(pems.cert)
    t.is(certificate.subjectAltName, altNames ? certificate.subjectAltName : undefined, label)
    for (const name of names) {
      const ours = hostMismatch(certificate.raw, name) === null
      const node = tls.checkServerIdentity(name, certificate.toLegacyObject()) === undefined
      t.is(ours, node, `${label} for ${name}`)
      if (ours) accepted++
    }
  }
  t.is(accepted, 21, 'the matrix holds names that match, not only ones that do not')
})
