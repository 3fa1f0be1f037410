// An inherited property must not switch a security check off: another library (or an attacker
// through one) may have written to Object.prototype. Serial, in a file of its own, since the
// pollution is process-wide while it lasts.
import test from 'ava'
import { createRequire } from 'node:module'
import path from 'node:path'
import mysql from 'mysql2/promise'

import { authPlugins } from '../main.js'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const { startHostileServer, switchTo, protocol } = requireFromRoot('./__test__/helpers/hostile-server.cjs')
const { createTestPki } = requireFromRoot('./__test__/helpers/pki.cjs')

const SECRET = 'SECRETSIGNATURExyz'
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${SECRET}`
const pki = createTestPki()
test.before(() => pki) // made before any test pollutes the prototype

async function attempt(tlsIdentity: unknown, options: Record<string, unknown>) {
  const server = await startHostileServer({
    tlsIdentity,
    script: async (peer: any) => {
      peer.send(switchTo('authentication_openid_connect_client'))
      if (await peer.next()) peer.send(protocol.encodeOk())
    },
  })
  try {
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'alice', ...options })
    await connection.end()
    return { result: 'connected', sightings: server.sightings(SECRET) }
  } catch (err: any) {
    return { result: String(err.oidcCode ?? err.code), sightings: server.sightings(SECRET) }
  } finally {
    await server.close()
  }
}

function polluted(key: string, value: unknown) {
  ;(Object.prototype as any)[key] = value
  return () => delete (Object.prototype as any)[key]
}

for (const key of ['allowInsecureTransport', 'encrypted', 'authorized']) {
  test.serial(`Object.prototype.${key} does not make plain TCP acceptable`, async (t) => {
    const plugins = authPlugins({ token: TOKEN, validate: false })
    const restore = polluted(key, true)
    try {
      t.deepEqual(await attempt(undefined, { authPlugins: plugins }), { result: 'ERR_OIDC_INSECURE_TRANSPORT', sightings: 0 })
    } finally {
      restore()
    }
  })
}

for (const [key, value] of [
  ['allowUnverifiedServer', true],
  ['allowInsecureTransport', true],
  ['servername', 'db.attacker.test'],
] as const) {
  test.serial(`Object.prototype.${key} does not make a certificate for another host acceptable`, async (t) => {
    const { ca, wrongHost } = await pki
    const restore = polluted(key, value)
    try {
      // set-up too runs polluted: options read there must be the caller's own
      const plugins = authPlugins({ token: TOKEN, validate: false })
      t.deepEqual(await attempt(wrongHost, { ssl: { ca }, authPlugins: plugins }), { result: 'ERR_OIDC_UNVERIFIED_SERVER', sightings: 0 })
    } finally {
      restore()
    }
  })
}
