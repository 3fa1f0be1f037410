// The proxy with real clients that cannot load a mysql2 plugin: mysql2 without the plugin, Debian's
// mariadb CLI, the mariadb npm driver, PyMySQL, Bun's SQL client; and the CLI as users run it
// (SIGTERM, JSON log, secrets, an OAuth source, the README's systemd and Kubernetes examples).
// Upstream: the embedded OIDC server relaying to a real MariaDB (startMariaDb), over TLS.
import test from 'ava'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import mariadb from 'mariadb'

import { createProxy } from '../lib/proxy/index.js'
import { startOidcServer, startOidcProvider, localSocketPath } from '../test-server/index.js'
import { useProxyHarness, LOCAL_PASSWORD, mariaDb, records, events, secrets, signToken, realUpstream, proxyFor, socketOf, run, tempDir } from './helpers/proxy-harness.js'

// untyped CommonJS helpers, as the other specs load them
const requireFromRoot = createRequire(join(process.cwd(), 'package.json'))
const { mariadbCli, pythonWithPyMySQL, bunPath } = requireFromRoot('./__test__/helpers/real-clients.cjs')
const { parseProxyArgs } = requireFromRoot('./lib/proxy/cli.js')

useProxyHarness(test)

test('mysql2 without the plugin logs in through the proxy and works on the real MariaDB as the OIDC account', async (t) => {
  const server = await realUpstream(t)
  const logged: any[] = []
  const proxy = await proxyFor(t, server, { log: (record) => logged.push(record) })
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
  t.is(logged.length, 1)
  t.like(logged[0], { user: 'alice', upstreamUser: 'alice', client: 'unix-socket', outcome: 'closed' })
  t.true(logged[0].durationMs >= 0 && logged[0].bytesFromClient > 100 && logged[0].bytesToClient > 100)
  t.true(records.includes(logged[0])) // the same record on the mysql-openid-connect:proxy channel
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
