// An inherited property must not switch a security check off, nor pick, through what mysql2 reads,
// where the token goes or what gets printed: another library (or an attacker through one) may have
// written to Object.prototype. Serial, in a file of its own, since the pollution is process-wide
// while it lasts; each test restores the prototype in `finally`.
import test from 'ava'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'
import mysql from 'mysql2/promise'

import { authPlugins } from '../main.js'
import { localSocketPath } from '../test-server/index.js'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const { startHostileServer, switchTo, protocol } = requireFromRoot('./__test__/helpers/hostile-server.cjs')
const { createTestPki, pfxOf } = requireFromRoot('./__test__/helpers/pki.cjs')

const SECRET = 'SECRETSIGNATURExyz'
const TOKEN = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${SECRET}`
const pki = createTestPki()
const attackerPki = createTestPki('attacker CA') // a CA of the attacker's own, and its certificate for 127.0.0.1
test.before(() => Promise.all([pki, attackerPki])) // made before any test pollutes the prototype

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

const socketPath = () => localSocketPath('pollution')

/** A server that switches to the plugin and says OK to whatever comes back; started before any pollution. */
async function oidcServer(t: any, tlsIdentity: unknown, listenPath?: string) {
  const server = await startHostileServer({
    tlsIdentity,
    path: listenPath,
    script: async (peer: any) => {
      peer.send(switchTo('authentication_openid_connect_client'))
      if (await peer.next()) peer.send(protocol.encodeOk())
    },
  })
  t.teardown(() => server.close())
  return server
}

async function login(options: Record<string, unknown>) {
  try {
    const connection = await mysql.createConnection({ user: 'alice', connectTimeout: 5000, ...options })
    await connection.end().catch(() => {})
    return { result: 'connected', message: '' }
  } catch (err: any) {
    return { result: String(err.oidcCode ?? err.code), message: String(err.message) }
  }
}

test.serial('Object.prototype.subjectaltname does not make a certificate that names no host valid, then or once removed', async (t) => {
  const { ca, noHost } = await pki
  const plugins = authPlugins({ token: TOKEN, validate: false })
  const server = await oidcServer(t, noHost)
  const restore = polluted('subjectaltname', 'DNS:localhost, IP Address:127.0.0.1')
  try {
    t.is((await login({ host: '127.0.0.1', port: server.port, ssl: { ca }, authPlugins: plugins })).result, 'ERR_OIDC_UNVERIFIED_SERVER')
  } finally {
    restore()
  }
  // nothing decided while the prototype was polluted is remembered
  t.is((await login({ host: '127.0.0.1', port: server.port, ssl: { ca }, authPlugins: plugins })).result, 'ERR_OIDC_UNVERIFIED_SERVER')
  t.is(server.sightings(SECRET), 0)
})

test.serial("Object.prototype.subject = 'always' does not make the host check read the CN past the certificate's names", async (t) => {
  const { ca, wrongHostLocalCn } = await pki
  const server = await oidcServer(t, wrongHostLocalCn)
  const restore = polluted('subject', 'always')
  try {
    const seen = await login({ host: 'localhost', port: server.port, ssl: { ca }, authPlugins: authPlugins({ token: TOKEN, validate: false }) })
    t.is(seen.result, 'ERR_OIDC_UNVERIFIED_SERVER')
  } finally {
    restore()
  }
  t.is(server.sightings(SECRET), 0)
})

test.serial('Object.prototype.ca does not make the attacker\'s CA trusted (mysql2 with ssl: {})', async (t) => {
  const attacker = await attackerPki
  const server = await oidcServer(t, attacker.right)
  const plugins = authPlugins({ token: TOKEN, validate: false })
  const restore = polluted('ca', attacker.ca)
  let seen
  try {
    seen = await login({ host: '127.0.0.1', port: server.port, ssl: {}, authPlugins: plugins })
  } finally {
    restore()
  }
  t.is(seen.result, 'ERR_OIDC_POLLUTED_OPTIONS')
  t.regex(seen.message, /mysql2 took `ssl\.ca` from Object\.prototype/)
  t.is(server.sightings(SECRET), 0)
})

test.serial("Object.prototype.pfx does not make the attacker's CA trusted, even beside the caller's own ssl.ca", async (t) => {
  const attacker = await attackerPki
  // any key and certificate, with the attacker's CA as an extra certificate, which Node's TLS trusts
  const pfx = await pfxOf(attacker.right, attacker.ca)
  const server = await oidcServer(t, attacker.right)
  const plugins = authPlugins({ token: TOKEN, validate: false })
  const restore = polluted('pfx', pfx)
  let seen
  try {
    seen = await login({ host: '127.0.0.1', port: server.port, ssl: { ca: (await pki).ca }, authPlugins: plugins })
  } finally {
    restore()
  }
  t.is(seen.result, 'ERR_OIDC_POLLUTED_OPTIONS')
  t.regex(seen.message, /mysql2 took `ssl\.pfx` from Object\.prototype/)
  t.is(server.sightings(SECRET), 0)
})

for (const over of ['plain', 'TLS with a certificate for another host'] as const) {
  test.serial(`Object.prototype.socketPath does not send the token to a local socket nobody named (${over} over it)`, async (t) => {
    const { ca, right, wrongHost } = await pki
    const tls = over !== 'plain'
    const named = await oidcServer(t, tls ? right : undefined)
    const listenPath = socketPath()
    const hostile = await oidcServer(t, tls ? wrongHost : undefined, listenPath)
    const options = { host: '127.0.0.1', port: named.port, ...(tls ? { ssl: { ca } } : {}) }
    const restore = polluted('socketPath', listenPath)
    let seen
    try {
      seen = await login({ ...options, authPlugins: authPlugins({ token: TOKEN, validate: false }) })
    } finally {
      restore()
    }
    t.is(seen.result, 'ERR_OIDC_POLLUTED_OPTIONS')
    t.regex(seen.message, /`socketPath`/)
    t.is(hostile.sightings(SECRET) + named.sightings(SECRET), 0)
  })
}

test.serial('Object.prototype.stream does not hand mysql2 a connection nobody asked for', async (t) => {
  const { ca, right, wrongHost } = await pki
  const named = await oidcServer(t, right)
  const listenPath = socketPath()
  const hostile = await oidcServer(t, wrongHost, listenPath)
  const restore = polluted('stream', () => net.connect(listenPath))
  let seen
  try {
    seen = await login({ host: '127.0.0.1', port: named.port, ssl: { ca }, authPlugins: authPlugins({ token: TOKEN, validate: false }) })
  } finally {
    restore()
  }
  t.is(seen.result, 'ERR_OIDC_POLLUTED_OPTIONS')
  t.regex(seen.message, /`stream`/)
  t.is(hostile.sightings(SECRET) + named.sightings(SECRET), 0)
})

for (const key of ['port', 'host', 'uri'] as const) {
  test.serial(`Object.prototype.${key} does not pick the server the token goes to`, async (t) => {
    const { ca, right } = await pki
    // another service on the same machine, with a certificate valid for it
    const other = await oidcServer(t, right)
    const options: Record<string, unknown> = { ssl: { ca }, authPlugins: authPlugins({ token: TOKEN, validate: false }) }
    if (key === 'host') options.port = other.port
    if (key === 'port') options.host = '127.0.0.1'
    const value = { port: String(other.port), host: '127.0.0.1', uri: `mysql://127.0.0.1:${other.port}/` }[key]
    const restore = polluted(key, value)
    let seen
    try {
      seen = await login(options)
    } finally {
      restore()
    }
    t.is(seen.result, 'ERR_OIDC_POLLUTED_OPTIONS')
    t.true(seen.message.includes(`\`${key}\``), seen.message)
    t.is(other.sightings(SECRET), 0)
  })
}

test.serial("control: a polluted key the caller's own option overrides does not stop the login", async (t) => {
  const { ca, right } = await pki
  const server = await oidcServer(t, right)
  const restore = [polluted('host', 'db.attacker.test'), polluted('port', 1), polluted('socketPath', '/nonexistent.sock'), polluted('debug', true)]
  let seen
  try {
    const options = { host: '127.0.0.1', port: server.port, socketPath: undefined, debug: false, ssl: { ca } }
    seen = await login({ ...options, authPlugins: authPlugins({ token: TOKEN, validate: false }) })
  } finally {
    for (const undo of restore) undo()
  }
  t.is(seen.result, 'connected', seen.message)
  t.is(server.sightings(SECRET), 1)
})

test.serial("every key mysql2 or Node's TLS under it reads from Object.prototype is refused by name, in mysql2's own ConnectionConfig", (t) => {
  // mysql2's exports hide it; its own file, by path
  const ConnectionConfig = requireFromRoot(path.join(path.dirname(requireFromRoot.resolve('mysql2')), 'lib', 'connection_config.js'))
  const { checkMysql2Options, CONFIG_KEYS, SSL_KEYS, TLS_KEYS } = requireFromRoot('./lib/mysql2-options.js')
  const inheritedValue: Record<string, unknown> = {
    host: 'db.attacker.test', port: '3307', socketPath: '/tmp/attacker.sock', stream: {}, ssl: { ca: 'attacker' }, debug: true,
    uri: 'mysql://db.attacker.test/', rejectUnauthorized: false, verifyIdentity: true, secureOptions: 0, allowPartialTrustChain: true,
  }
  const ownValues = {
    host: '127.0.0.1', port: 3306, socketPath: undefined, stream: undefined, debug: false,
    ssl: { ca: 'ca', cert: 'cert', key: 'key', passphrase: 'p', ciphers: 'c', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', verifyIdentity: false, rejectUnauthorized: true },
  }
  t.notThrows(() => checkMysql2Options(new ConnectionConfig({ user: 'alice', ssl: {} })), 'nothing polluted')
  const keys = [...CONFIG_KEYS, 'uri', ...SSL_KEYS, 'rejectUnauthorized', ...TLS_KEYS]
  for (const key of keys) {
    const name = CONFIG_KEYS.includes(key) || key === 'uri' ? key : `ssl.${key}`
    const restore = polluted(key, inheritedValue[key] ?? 'x')
    try {
      // as mysql2 makes it from options that leave the key out
      const config = new ConnectionConfig(key === 'ssl' ? { user: 'alice' } : { user: 'alice', ssl: {} })
      const err = t.throws(() => checkMysql2Options(config), undefined, key) as any
      t.is(err?.oidcCode, 'ERR_OIDC_POLLUTED_OPTIONS', key)
      t.true(err?.message.includes(`\`${name}\``), `${key}: ${err?.message}`)
      // the caller's own value wins in mysql2, and then here too (where the caller can give one)
      const ownWins = CONFIG_KEYS.includes(key) || SSL_KEYS.includes(key) || key === 'rejectUnauthorized'
      if (ownWins) t.notThrows(() => checkMysql2Options(new ConnectionConfig({ user: 'alice', ...ownValues, ssl: { ...ownValues.ssl } })), key)
    } finally {
      restore()
    }
  }
  t.true(keys.length >= 25)
})

test.serial('mysql2 debug, from Object.prototype or the caller: the login is refused and stdout never holds the token', async (t) => {
  const fixture = path.join(process.cwd(), '__test__', 'fixtures', 'debug-output.cjs')
  for (const [mode, code] of [['polluted', 'ERR_OIDC_POLLUTED_OPTIONS'], ['own', 'ERR_OIDC_DEBUG_OUTPUT']]) {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [fixture, mode, TOKEN], { timeout: 60_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr })),
    )
    t.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1) || 'null'), { result: code }, stderr)
    t.true(stdout.includes(' <== '), 'mysql2 did print its packets')
    for (const shown of [SECRET, Buffer.from(SECRET).toString('hex')]) t.false(stdout.includes(shown), `${mode}: ${shown}`)
  }
})

test.serial('Object.prototype.default, required, oneOf or max changes no option of the plugin or a token source', async (t) => {
  // lib/options.js reads each rule it checks an option by: an inherited `default` must not fill in an
  // option the caller left out (the plugin's allowInsecureTransport, a source's audience)
  const { fromGitHubActions } = requireFromRoot('./main.js')
  const asked: string[] = []
  const endpoint = await new Promise<import('node:http').Server>((resolve) => {
    const server = requireFromRoot('node:http').createServer((req: any, res: any) => {
      asked.push(req.url)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: TOKEN }))
    })
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
  t.teardown(() => endpoint.close())
  const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(endpoint.address() as any).port}/token`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' }
  Object.assign(process.env, env)
  t.teardown(() => {
    for (const name of Object.keys(env)) delete process.env[name]
  })
  for (const [key, value] of [['default', true], ['default', 'attacker-audience'], ['required', true], ['oneOf', ['x']], ['max', 0]] as Array<[string, unknown]>) {
    const restore = polluted(key, value)
    try {
      const plugins = authPlugins({ token: TOKEN, validate: false, tokenTimeoutMs: 5000 })
      t.deepEqual(await attempt(undefined, { authPlugins: plugins }), { result: 'ERR_OIDC_INSECURE_TRANSPORT', sightings: 0 }, `${key}: ${value}`)
      // (Node's own fetch fails while Object.prototype.required is set: only `default` is asked of a source)
      if (key !== 'default') continue
      asked.length = 0
      t.is(await fromGitHubActions({ timeoutMs: 5000 })({}), TOKEN, `${key}: ${value}`)
      t.deepEqual(asked, ['/token'], `${key}: ${value}: no audience nobody gave`)
    } finally {
      restore()
    }
  }
})
