'use strict'

/**
 * A throwaway MariaDB for tests: `await startMariaDb()` → { host, port, socketPath, user, password,
 * database, close() }, the shape startOidcServer's `backend` takes. `user`/`password` are an
 * administrative login; `database` is a fresh, empty database of this caller's own; close() drops it.
 *
 * One server per test run, not per test: ava runs each spec file in its own process, all children of
 * the ava process. The first caller (under a lock directory named after that parent) spawns a detached
 * keeper (mariadb-keeper.js) that starts mariadbd (--no-defaults, fresh data directory under the OS
 * temp dir, a Unix socket, a random 127.0.0.1 port) and stops it and removes the directory once the ava
 * run has exited, whichever spec finished last and however it ended. Later callers reuse it.
 *
 * MOC_TEST_MYSQL_URL=mysql://admin:password@host:port uses an existing MySQL 8+ / MariaDB 10.6+
 * instead (each caller still gets its own database, dropped by close()).
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const mysql = require('mysql2/promise')

// Covers an apt-get install by the first caller on a fresh machine.
const WAIT_TIMEOUT_MS = 300_000
const POLICY_RC_D = '/usr/sbin/policy-rc.d'
const HOW_TO_INSTALL =
  'MariaDB is needed for these tests: install it (Debian/Ubuntu: sudo apt-get install mariadb-server; ' +
  'npm test does this itself when run as root on Debian), or point the tests at an existing MySQL 8+ / ' +
  'MariaDB 10.6+ with MOC_TEST_MYSQL_URL=mysql://admin:password@127.0.0.1:3306 (an account allowed to ' +
  'create databases and users).'

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
}

/** Installs Debian's mariadb-server when missing and running as root on Debian; else throws how to. */
function ensureMariaDbInstalled() {
  // Debian installs mariadbd in /usr/sbin, which is not on every PATH
  if (!process.env.PATH.split(path.delimiter).includes('/usr/sbin')) process.env.PATH += `${path.delimiter}/usr/sbin`
  if (hasCommand('mariadbd') && hasCommand('mariadb-install-db')) return
  const isRoot = process.getuid && process.getuid() === 0
  if (!isRoot || !fs.existsSync('/etc/debian_version')) throw new Error(HOW_TO_INSTALL)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const run = (args) => spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  // Debian's way to keep a package's service from starting at install: the tests start their own.
  const blockServices = !fs.existsSync(POLICY_RC_D)
  if (blockServices) fs.writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  try {
    let result = run(['install', '-y', '--no-install-recommends', 'mariadb-server'])
    if (result.status !== 0) {
      run(['update'])
      result = run(['install', '-y', '--no-install-recommends', 'mariadb-server'])
    }
    if (result.status !== 0 || !hasCommand('mariadbd')) throw new Error(`apt-get install mariadb-server failed: ${result.stderr}\n${HOW_TO_INSTALL}`)
  } finally {
    if (blockServices) fs.rmSync(POLICY_RC_D, { force: true })
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

// The ava run when this is one of its spec processes, else this process.
function ownerPid() {
  const script = process.argv[1] || ''
  return /ava[\\/]lib[\\/]worker[\\/]base\.js$/.test(script) ? process.ppid : process.pid
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

// Starts the shared server under the lock directory, or waits for the one another spec started.
async function sharedServer({ retried = false } = {}) {
  const owner = ownerPid()
  const uid = process.getuid ? process.getuid() : 0
  const stateDir = path.join(os.tmpdir(), `moc-mariadb-${uid}-${owner}`)
  try {
    fs.mkdirSync(stateDir, { mode: 0o700 }) // atomic: exactly one caller per run gets to start it
    try {
      ensureMariaDbInstalled() // one apt-get at a time: under the lock
    } catch (err) {
      fs.rmSync(stateDir, { recursive: true, force: true }) // the next caller tries (and fails) alike
      throw err
    }
    const keeper = spawn(process.execPath, [path.join(__dirname, 'mariadb-keeper.js'), stateDir, String(owner)], { detached: true, stdio: 'ignore' })
    fs.writeFileSync(path.join(stateDir, 'keeper.pid'), String(keeper.pid))
    keeper.unref()
  } catch (err) {
    if (err.code !== 'EEXIST') throw err
  }
  const deadline = Date.now() + WAIT_TIMEOUT_MS
  for (;;) {
    const ready = readJson(path.join(stateDir, 'ready.json'))
    if (ready) return ready
    const failed = readJson(path.join(stateDir, 'failed.json'))
    if (failed) throw new Error(`the test MariaDB did not start: ${failed.message}`)
    if (!fs.existsSync(stateDir)) return sharedServer({ retried }) // its starter failed: try in its place
    let keeperPid = 0
    try {
      keeperPid = Number(fs.readFileSync(path.join(stateDir, 'keeper.pid'), 'utf8'))
    } catch {} // not written yet: the starter is installing or spawning
    if (keeperPid && !alive(keeperPid) && !retried) {
      // left behind by a killed run whose pid this run now has: start afresh
      fs.rmSync(stateDir, { recursive: true, force: true })
      return sharedServer({ retried: true })
    }
    if (keeperPid && !alive(keeperPid)) throw new Error(`the test MariaDB keeper (pid ${keeperPid}) exited; see ${stateDir}`)
    if (Date.now() > deadline) throw new Error(`the test MariaDB did not start within ${WAIT_TIMEOUT_MS} ms; see ${stateDir}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function serverFromUrl(url) {
  const parsed = new URL(url)
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    socketPath: parsed.searchParams.get('socket') || undefined,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  }
}

/** Resolves to { host, port, socketPath, user, password, database, close() } (see above). */
async function startMariaDb() {
  const server = process.env.MOC_TEST_MYSQL_URL ? serverFromUrl(process.env.MOC_TEST_MYSQL_URL) : await sharedServer()
  const database = `moc_${crypto.randomBytes(6).toString('hex')}`
  const login = server.socketPath ? { socketPath: server.socketPath } : { host: server.host, port: server.port }
  const admin = await mysql.createConnection({ ...login, user: server.user, password: server.password })
  try {
    await admin.query(`CREATE DATABASE \`${database}\``)
  } finally {
    await admin.end()
  }
  let closing = null
  return {
    host: server.host,
    port: server.port,
    socketPath: server.socketPath,
    user: server.user,
    password: server.password,
    database,
    close() {
      closing =
        closing ||
        (async () => {
          const connection = await mysql.createConnection({ ...login, user: server.user, password: server.password })
          try {
            await connection.query(`DROP DATABASE IF EXISTS \`${database}\``)
          } finally {
            await connection.end()
          }
        })()
      return closing
    },
  }
}

module.exports = { startMariaDb, ensureMariaDbInstalled, HOW_TO_INSTALL, alive }

// `node test-server/mariadb.js --install`: npm test installs MariaDB before ava starts (an apt-get can
// outlast ava's per-test timeout); a no-op where it is installed or MOC_TEST_MYSQL_URL names a server.
if (require.main === module && process.argv.includes('--install') && !process.env.MOC_TEST_MYSQL_URL) {
  try {
    ensureMariaDbInstalled()
  } catch (err) {
    console.error(err.message)
    process.exitCode = 1
  }
}
