// The proxy (mysql-openid-connect proxy / createProxy) with real clients that cannot load a mysql2
// plugin: Debian's mariadb CLI, mysql2 without the plugin, the mariadb npm driver, PyMySQL, Bun's SQL
// client. Upstream: the embedded OIDC server relaying to a real MariaDB (startMariaDb), over TLS.
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import diagnosticsChannel from 'node:diagnostics_channel'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import mariadb from 'mariadb'

import { createProxy, PROXY_CHANNEL, type ProxyOptions } from '../lib/proxy/index.js'
import { startOidcServer, startOidcProvider, createIdentityProvider, localSocketPath, startMariaDb } from '../test-server/index.js'

// untyped CommonJS helpers, as the other specs load them
const requireFromRoot = createRequire(join(process.cwd(), 'package.json'))
const { mariadbCli, pythonWithPyMySQL, bunPath } = requireFromRoot('./__test__/helpers/real-clients.cjs')
const { createTestPki } = requireFromRoot('./__test__/helpers/pki.cjs')
const { parseProxyArgs } = requireFromRoot('./lib/proxy/cli.js')

const ISSUER = 'https://idp.example.test'
const LOCAL_PASSWORD = 'local-secret-Pa55'
const provider = createIdentityProvider({ issuer: ISSUER, alg: 'RS256' })
const mariaDb = startMariaDb()
const dirs: string[] = []
test.after.always(async () => {
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))
  await (await mariaDb).close()
})
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-proxy-'))
  dirs.push(dir)
  return dir
}

// Every token and secret a test hands out, to prove none reaches a log record or event.
const secrets = new Set<string>([LOCAL_PASSWORD])
const records: any[] = []
const events: any[] = []
diagnosticsChannel.subscribe(PROXY_CHANNEL, (record) => records.push(record))
diagnosticsChannel.subscribe('mysql-openid-connect:token', (event) => events.push(event))
diagnosticsChannel.subscribe('mysql-openid-connect:login', (event) => events.push(event))

async function signToken(claims: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const token = await (await provider).signIdToken({ sub: 'alice', ...claims }, options)
  secrets.add(token)
  return token
}

async function upstreamServer(t: ExecutionContext, options: Record<string, unknown> = {}) {
  const server = await startOidcServer({ identityProviders: [await provider], users: { alice: {} }, tls: true, ...options })
  t.teardown(() => server.close())
  return server
}

async function realUpstream(t: ExecutionContext) {
  return upstreamServer(t, { backend: await mariaDb })
}

async function proxyFor(t: ExecutionContext, server: any, options: Partial<ProxyOptions> = {}) {
  const proxy = await createProxy({
    upstream: { host: server.host, port: server.port },
    ssl: { ca: server.ca },
    getToken: () => signToken(),
    listen: { path: localSocketPath('proxy') },
    localPassword: LOCAL_PASSWORD,
    log: false,
    ...options,
  } as ProxyOptions)
  t.teardown(() => proxy.close({ drainTimeoutMs: 100 }))
  return proxy
}

const socketOf = (proxy: any) => (proxy.address as { path: string }).path

function run(command: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.end(options.input ?? '')
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

test('mysql2 without the plugin logs in through the proxy and works on the real MariaDB as the OIDC account', async (t) => {
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server)
  const { database } = await mariaDb
  const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, database })
  t.teardown(() => connection.destroy())
  await connection.query('CREATE TABLE proxy_mysql2 (id INT PRIMARY KEY, name VARCHAR(20))')
  await connection.query('INSERT INTO proxy_mysql2 VALUES (?, ?), (?, ?)', [1, 'one', 2, 'two'])
  const [rows] = await connection.execute('SELECT name FROM proxy_mysql2 WHERE id > ? ORDER BY id', [0])
  t.deepEqual((rows as any[]).map((row) => row.name), ['one', 'two'])
  const [[who]] = (await connection.query('SELECT CURRENT_USER() AS who')) as any
  t.regex(who.who, /^alice@/)
  // the upstream saw a token login over verified TLS, not a password
  const login = server.authLog.at(-1)!
  t.like(login, { ok: true, user: 'alice', plugin: 'authentication_openid_connect_client', transport: 'tls' })
  // the plugin's own diagnostics events, and the proxy's record once the connection ends
  t.true(events.some((event) => event.event === 'answered' && event.plugin === 'authentication_openid_connect_client' && event.transport === 'tls'))
  const closed = new Promise((resolve) => (connection as any).connection.stream.once('close', resolve))
  await connection.end()
  await closed
  await new Promise((resolve) => setTimeout(resolve, 100))
  const mine = records.filter((record) => record.user === 'alice' && record.bytesFromClient > 100 && record.outcome === 'closed')
  t.true(mine.length >= 1)
  t.true(typeof mine[0].durationMs === 'number' && mine[0].upstreamUser === 'alice' && mine[0].client === 'unix-socket')
})

test('Debian mariadb client: socket and loopback TCP, and a wrong local password is a 1045', async (t) => {
  const cli = mariadbCli()
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server)
  const tcp = await proxyFor(t, server, { listen: { host: '127.0.0.1', port: 0 } })
  const { database } = await mariaDb
  const env = { MYSQL_PWD: LOCAL_PASSWORD }
  const viaSocket = await run(cli, ['--no-defaults', '--socket', socketOf(proxy), '-u', 'alice', database, '-N', '-e', 'CREATE TABLE proxy_cli (v INT); INSERT INTO proxy_cli VALUES (41), (1); SELECT SUM(v) FROM proxy_cli'], { env })
  t.is(viaSocket.code, 0, viaSocket.stderr)
  t.is(viaSocket.stdout.trim(), '42')
  const port = String((tcp.address as any).port)
  const viaTcp = await run(cli, ['--no-defaults', '-h', '127.0.0.1', '-P', port, '-u', 'alice', '-N', '-e', 'SELECT CURRENT_USER()'], { env })
  t.is(viaTcp.code, 0, viaTcp.stderr)
  t.regex(viaTcp.stdout, /^alice@/)
  // a client that starts with mysql_native_password is checked with it
  const native = await run(cli, ['--no-defaults', '--default-auth=mysql_native_password', '--socket', socketOf(proxy), '-u', 'alice', '-N', '-e', 'SELECT 1'], { env })
  t.is(native.code, 0, native.stderr)
  const wrong = await run(cli, ['--no-defaults', '--socket', socketOf(proxy), '-u', 'alice', '-e', 'SELECT 1'], { env: { MYSQL_PWD: 'not-it' } })
  t.is(wrong.code, 1)
  t.regex(wrong.stderr, /ERROR 1045 .*wrong local password/)
})

test('the mariadb npm driver logs in through the proxy', async (t) => {
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server)
  const { database } = await mariaDb
  const connection = await mariadb.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, database, connectTimeout: 30_000 })
  t.teardown(() => connection.destroy())
  const rows = await connection.query('SELECT CURRENT_USER() AS who, 6 * 7 AS answer')
  t.regex(rows[0].who, /^alice@/)
  t.is(Number(rows[0].answer), 42)
  await connection.end()
})

test("Python's PyMySQL logs in through the proxy", async (t) => {
  const python = pythonWithPyMySQL()
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server, { listen: { host: '127.0.0.1', port: 0 } })
  const { database } = await mariaDb
  const script = `
import sys, pymysql
c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='alice', password=sys.argv[2], database=sys.argv[3])
cur = c.cursor()
cur.execute('SELECT CURRENT_USER(), %s', ('via-pymysql',))
print(*cur.fetchone())
c.close()
try:
    pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='alice', password='wrong')
except pymysql.err.OperationalError as e:
    print('refused', e.args[0])
`
  const result = await run(python, ['-c', script, String((proxy.address as any).port), LOCAL_PASSWORD, database])
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /^alice@\S+ via-pymysql$/m)
  t.regex(result.stdout, /^refused 1045$/m)
})

test("Bun's built-in SQL client logs in through the proxy", async (t) => {
  const bun = bunPath()
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server, { listen: { host: '127.0.0.1', port: 0 } })
  const { database } = await mariaDb
  const script = `
const sql = new Bun.SQL({ adapter: 'mysql', hostname: '127.0.0.1', port: Number(process.argv[2]), username: 'alice', password: process.argv[3], database: process.argv[4], ssl: false })
const rows = await sql\`SELECT CURRENT_USER() AS who, \${7} * 6 AS answer\`
console.log(JSON.stringify(rows[0]))
await sql.close()
`
  const dir = tempDir()
  writeFileSync(join(dir, 'bun-client.mjs'), script)
  const result = await run(bun, [join(dir, 'bun-client.mjs'), String((proxy.address as any).port), LOCAL_PASSWORD, database])
  t.is(result.code, 0, result.stderr)
  const row = JSON.parse(result.stdout.trim())
  t.regex(row.who, /^alice@/)
  t.is(Number(row.answer), 42)
})

test('a local client that sends garbage is dropped, and the proxy serves the next one', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server)
  for (const garbage of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]), Buffer.from([0x05, 0, 0, 1, 1, 2, 3, 4, 5])]) {
    const socket = net.connect(socketOf(proxy))
    socket.on('error', () => {})
    const received: Buffer[] = []
    socket.on('data', (chunk) => received.push(chunk))
    socket.write(garbage)
    await new Promise((resolve) => socket.on('close', resolve))
  }
  const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
  await connection.end()
  t.true(records.some((record) => record.outcome === 'local-protocol-error'))
})

test('COM_CHANGE_USER gets a clear error and is never relayed; the connection stays usable', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server)
  const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => connection.destroy())
  const logins = server.authLog.length
  const error = await t.throwsAsync(connection.changeUser({ user: 'mallory', password: LOCAL_PASSWORD }))
  t.regex(error!.message, /COM_CHANGE_USER is not supported through mysql-openid-connect proxy/)
  t.is(server.authLog.length, logins) // the upstream never saw it
  t.false(server.authLog.some((entry) => entry.user === 'mallory'))
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
})

test('500 clients at once all log in and query', async (t) => {
  // upstream over a local socket: 500 TLS handshakes on each side would only measure this machine
  const server = await upstreamServer(t, { tls: false, socketPath: localSocketPath('upstream') })
  const proxy = await proxyFor(t, server, { upstream: { socketPath: server.socketPath! }, ssl: undefined })
  const answers = await Promise.all(
    Array.from({ length: 500 }, async () => {
      const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, connectTimeout: 60_000 })
      try {
        const [[row]] = (await connection.query('SELECT 1')) as any
        return row['1']
      } finally {
        await connection.end()
      }
    }),
  )
  t.is(answers.filter((answer) => Number(answer) === 1).length, 500)
})

test('--max-connections: one client too many gets ERR 1040, the others keep working', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, { maxConnections: 2 })
  const open = await Promise.all([0, 1].map(() => mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })))
  t.teardown(() => open.forEach((connection) => connection.destroy()))
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.is(error.errno, 1040)
  const [[row]] = (await open[1].query('SELECT 1')) as any
  t.is(Number(row['1']), 1)
})

test('an upstream that refuses the connection gives the client an ERR packet and the proxy goes on', async (t) => {
  const closed = net.createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const { port } = closed.address() as net.AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const proxy = await proxyFor(t, { host: '127.0.0.1', port, ca: undefined })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: cannot reach the upstream server \(ECONNREFUSED\)/)
  t.is(error.errno, 2013)
})

test('an upstream session killed mid-query gives that client an error; the other client keeps working', async (t) => {
  const server = await realUpstream(t)
  const proxy = await proxyFor(t, server)
  const db = await mariaDb
  const victim = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  const bystander = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  victim.on('error', () => {})
  t.teardown(() => [victim, bystander].forEach((connection) => connection.destroy()))
  const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as any
  const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password })
  t.teardown(() => admin.destroy())
  const running = victim.query('SELECT SLEEP(20)')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await admin.query(`KILL CONNECTION ${Number(id)}`)
  const error: any = await t.throwsAsync(running)
  // an ERR packet, not a bare close: CR_SERVER_LOST, as MySQL Router reports it
  t.is(error.errno, 2013, error.message)
  const [[row]] = (await bystander.query('SELECT 6 * 7 AS answer')) as any
  t.is(Number(row.answer), 42)
})

test('a token that expires while clients stay connected: they keep working, new logins get a refreshed token', async (t) => {
  const server = await upstreamServer(t)
  const LIFETIME_S = 5
  let fetched = 0
  let firstFetchAt = 0
  const proxy = await proxyFor(t, server, {
    getToken: () => {
      fetched++
      firstFetchAt ||= Date.now()
      return signToken({}, { expiresIn: LIFETIME_S })
    },
    refreshBeforeExpirySeconds: 1,
  })
  const early = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => early.destroy())
  const again = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  await again.end()
  // the second login used the cached token (unless a loaded machine already reached the refresh window)
  if (Date.now() - firstFetchAt < (LIFETIME_S - 1) * 1000) t.is(fetched, 1)
  await new Promise((resolve) => setTimeout(resolve, firstFetchAt + LIFETIME_S * 1000 + 500 - Date.now())) // past exp
  // the server refuses an expired token: this login passing proves the proxy fetched a new one
  const late = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => late.destroy())
  t.true(fetched >= 2)
  for (const connection of [early, late]) {
    const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
    t.is(row['CURRENT_USER()'], 'alice@%')
  }
  t.true(server.authLog.every((entry) => entry.ok))
})

test('the token goes only to a verified upstream: a certificate for another name refuses before sending', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, { ssl: { ca: server.ca, servername: 'not-the-server.example' } })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: /)
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
})

test('local TLS for clients that insist on it', async (t) => {
  const server = await upstreamServer(t)
  const pki = await createTestPki()
  const proxy = await proxyFor(t, server, { listen: { host: '127.0.0.1', port: 0 }, localTls: { key: pki.right.key, cert: pki.right.cert } })
  const connection = await mysql.createConnection({ host: '127.0.0.1', port: (proxy.address as any).port, user: 'alice', password: LOCAL_PASSWORD, ssl: { ca: pki.ca } })
  t.teardown(() => connection.destroy())
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'alice@%')
  t.true((connection as any).connection.stream.encrypted === true)
})

test('options: a non-loopback listen needs the flag and a local password; the socket is 0600', async (t) => {
  const base = { upstream: { host: '127.0.0.1', port: 1 }, tokenFile: '/nonexistent', log: false as const }
  await t.throwsAsync(createProxy({ ...base, listen: { host: '0.0.0.0', port: 0 } }), { message: /not a loopback address/ })
  await t.throwsAsync(createProxy({ ...base, listen: { host: '0.0.0.0', port: 0 }, allowNonLoopback: true }), { message: /needs a localPassword/ })
  const proxy = await createProxy({ ...base, listen: { path: localSocketPath('mode') } })
  t.teardown(() => proxy.close())
  t.is(statSync(socketOf(proxy)).mode & 0o777, 0o600)
})

test.after('no token or password appears in any log record or event', (t) => {
  const text = JSON.stringify([records, events])
  for (const secret of secrets) t.false(text.includes(secret.slice(0, 24)))
})

test('the CLI: SIGTERM lets a running query finish, refuses new clients, logs one JSON line per connection, exits 0', async (t) => {
  const server = await realUpstream(t)
  const dir = tempDir()
  const token = await signToken({}, { expiresIn: 600 })
  writeFileSync(join(dir, 'token'), `${token}\n`)
  writeFileSync(join(dir, 'ca.pem'), server.ca!)
  const socketPath = localSocketPath('cli')
  const child = spawn(process.execPath, [
    join(__dirname, '..', 'bin', 'mysql-openid-connect.js'), 'proxy',
    '--upstream', `${server.host}:${server.port}`, '--ssl-ca', join(dir, 'ca.pem'), '--user', 'alice',
    '--token-file', join(dir, 'token'), '--socket', socketPath, '--local-password-env', 'PROXY_PW',
    '--log-format', 'json', '--drain-timeout', '20',
  ], { env: { ...process.env, PROXY_PW: LOCAL_PASSWORD } })
  t.teardown(() => child.kill('SIGKILL'))
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  while (!/listening on/.test(stderr)) {
    if (child.exitCode !== null) return t.fail(stderr)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // any local user name: --user says who the proxy logs in as
  const connection = await mysql.createConnection({ socketPath, user: 'someone', password: LOCAL_PASSWORD })
  t.teardown(() => connection.destroy())
  const started = Date.now()
  const query = connection.query('SELECT SLEEP(1.5) AS slept, CURRENT_USER() AS who')
  await new Promise((resolve) => setTimeout(resolve, 300))
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  await t.throwsAsync(mysql.createConnection({ socketPath, user: 'alice', password: LOCAL_PASSWORD }))
  const [[row]] = (await query) as any
  t.is(Number(row.slept), 0)
  t.regex(row.who, /^alice@/)
  t.true(Date.now() - started >= 1400)
  t.is(await exited, 0)
  const lines = stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
  const served = lines.find((line) => line.user === 'someone')
  t.like(served, { upstreamUser: 'alice', outcome: 'closed' })
  t.true(served.durationMs >= 1400 && served.bytesToClient > 0 && served.bytesFromClient > 0)
  t.false(stderr.includes(token.slice(0, 24)))
  t.false(stderr.includes(LOCAL_PASSWORD))
})

test('the CLI refuses a secret as a flag value, and names what is missing', async (t) => {
  const cli = join(__dirname, '..', 'bin', 'mysql-openid-connect.js')
  const noSource = await run(process.execPath, [cli, 'proxy', '--upstream', '127.0.0.1:3306', '--socket', '/tmp/x.sock'])
  t.is(noSource.code, 1)
  t.regex(noSource.stderr, /give a token source/)
  const secretFlag = await run(process.execPath, [cli, 'proxy', '--upstream', '127.0.0.1:3306', '--token-file', '/t', '--socket', '/tmp/x.sock', '--local-password', 'hunter2'])
  t.is(secretFlag.code, 1)
  t.regex(secretFlag.stderr, /Unknown option '--local-password'/)
  const unsetEnv = await run(process.execPath, [cli, 'proxy', '--upstream', '127.0.0.1:3306', '--token-file', '/t', '--socket', '/tmp/x.sock', '--local-password-env', 'NOT_SET_ANYWHERE'])
  t.regex(unsetEnv.stderr, /NOT_SET_ANYWHERE is not set/)
  const help = await run(process.execPath, [cli, 'proxy', '--help'])
  t.is(help.code, 0)
  t.regex(help.stdout, /--upstream HOST:PORT/)
})

/** The proxy flags of the README's systemd unit (ExecStart) and Kubernetes sidecar (args). */
function readmeProxyFlags() {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')
  const execStart = /^ExecStart=.* proxy (.*)$/m.exec(readme)![1]
  const systemd = (execStart.match(/"[^"]*"|\S+/g) ?? []).map((arg) => arg.replace(/^"|"$/g, ''))
  const k8sArgs = /args: (\[[^\]]*\])/.exec(readme)![1]
  return { systemd, kubernetes: JSON.parse(k8sArgs) as string[] }
}

test("the README's systemd unit and Kubernetes sidecar run, with this machine's paths and upstream", async (t) => {
  const server = await realUpstream(t)
  const dir = tempDir()
  const token = await signToken({}, { expiresIn: 600 })
  const files: Record<string, string> = {
    '/etc/mysql/ca.pem': server.ca!, '/etc/mysql-ca/ca.pem': server.ca!,
    '/var/run/secrets/tokens/mysql': token, '/etc/mysql-oidc/local-password': `${LOCAL_PASSWORD}\n`,
  }
  const local = (value: string) => {
    if (value === 'db.example.com:3306') return `${server.host}:${server.port}`
    if (value === '/run/mysql-oidc/mysql.sock') return localSocketPath('readme')
    if (value.startsWith('gcloud ')) return `cat ${join(dir, 'token')}` // the program that prints the token
    if (files[value] !== undefined) {
      const file = join(dir, value.replaceAll('/', '_'))
      writeFileSync(file, files[value])
      return file
    }
    return value
  }
  writeFileSync(join(dir, 'token'), token)
  const { systemd, kubernetes } = readmeProxyFlags()
  for (const [name, flags] of Object.entries({ systemd, kubernetes })) {
    const args = flags.map(local)
    const { options } = parseProxyArgs(args) as any
    const proxy = await createProxy({ ...options, log: false })
    t.teardown(() => proxy.close({ drainTimeoutMs: 100 }))
    const password = name === 'systemd' ? LOCAL_PASSWORD : undefined
    const connection = await mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password })
    const [[row]] = (await connection.query('SELECT CURRENT_USER() AS who')) as any
    t.regex(row.who, /^alice@/, name)
    await connection.end()
  }
})

test('a client that leaves while the token is on its way leaves no upstream session behind', async (t) => {
  const server = await upstreamServer(t)
  const proxy = await proxyFor(t, server, {
    getToken: async () => {
      await new Promise((resolve) => setTimeout(resolve, 800))
      return signToken()
    },
  })
  await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD, connectTimeout: 300 }))
  const deadline = Date.now() + 10_000
  while ((proxy.connections > 0 || server.openConnections > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.is(proxy.connections, 0)
  t.is(server.openConnections, 0)
  // the login was given up with the client: no token reached the server
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
})

test('one token per login: an upstream that asks again after the token gets nothing more, the client an error', async (t) => {
  const server = await upstreamServer(t, { fault: 'more-data-after-response' })
  const proxy = await proxyFor(t, server)
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: the upstream server asked for more than one answer/)
  await new Promise((resolve) => setTimeout(resolve, 2500)) // the server waits 2 s for a second answer
  t.is(server.authLog.length, 1)
  t.is(server.authLog[0].secondResponse, false)
})

test('the CLI with an OAuth client-credentials source: the secret from the environment, never in a log line', async (t) => {
  const CLIENT_SECRET = 'oauth-secret-CANARY-8e1f'
  secrets.add(CLIENT_SECRET)
  const provider = await startOidcProvider({ clients: [{ clientId: 'db-client', clientSecret: CLIENT_SECRET }], audience: 'mysql-app', scope: 'db' })
  t.teardown(() => provider.close())
  const server = await startOidcServer({ identityProviders: [{ issuer: provider.issuer, jwks: provider.jwks, audience: 'mysql-app' }], users: { 'db-client': {} } })
  t.teardown(() => server.close())
  const dir = tempDir()
  writeFileSync(join(dir, 'ca.pem'), server.ca!)
  const socketPath = localSocketPath('oauth')
  const child = spawn(process.execPath, [
    join(__dirname, '..', 'bin', 'mysql-openid-connect.js'), 'proxy',
    '--upstream', `${server.host}:${server.port}`, '--ssl-ca', join(dir, 'ca.pem'),
    '--oauth-issuer', provider.issuer, '--oauth-client-id', 'db-client', '--oauth-client-secret-env', 'DB_CLIENT_SECRET', '--oauth-scope', 'db',
    '--socket', socketPath,
  ], { env: { ...process.env, DB_CLIENT_SECRET: CLIENT_SECRET } })
  t.teardown(() => child.kill('SIGKILL'))
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  while (!/listening on/.test(stderr)) {
    if (child.exitCode !== null) return t.fail(stderr)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // no local password: the socket (0600) is the guard
  const connection = await mysql.createConnection({ socketPath, user: 'db-client' })
  const [[row]] = (await connection.query('SELECT CURRENT_USER()')) as any
  t.is(row['CURRENT_USER()'], 'db-client@%')
  await connection.end()
  child.kill('SIGTERM')
  await new Promise((resolve) => child.on('exit', resolve))
  t.regex(stderr, /user=db-client upstreamUser=db-client .*outcome=closed/)
  t.false(stderr.includes(CLIENT_SECRET))
})

test('an upstream that offers no TLS gets no token, unless allowInsecureTransport says so', async (t) => {
  const server = await upstreamServer(t, { mode: 'starrocks', tls: false })
  const proxy = await proxyFor(t, server, { ssl: undefined })
  const error: any = await t.throwsAsync(mysql.createConnection({ socketPath: socketOf(proxy), user: 'alice', password: LOCAL_PASSWORD }))
  t.regex(error.message, /mysql-openid-connect proxy: the upstream server does not offer TLS/)
  t.is(server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
  const optedOut = await proxyFor(t, server, { ssl: undefined, allowInsecureTransport: true })
  const connection = await mysql.createConnection({ socketPath: socketOf(optedOut), user: 'alice', password: LOCAL_PASSWORD })
  t.teardown(() => connection.destroy())
  t.like(server.authLog.at(-1), { ok: true, transport: 'tcp' })
})
