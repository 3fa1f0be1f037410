'use strict'

// Runs detached from the test processes: creates a throwaway MariaDB (fresh data directory, Unix
// socket, random loopback port, --no-defaults), writes ready.json for the tests, and stops it and
// deletes everything once the owner process (the ava run, or a lone test process) has exited.
// Usage: node mariadb-keeper.js <stateDir> <ownerPid>

const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const mysql = require('mysql2/promise')
const { alive } = require('./mariadb.js')

const [stateDir, ownerPidText] = process.argv.slice(2)
const ownerPid = Number(ownerPidText)
const OWNER_POLL_MS = 300
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 20_000
const dataDir = path.join(stateDir, 'data')
const socketPath = path.join(stateDir, 'mariadb.sock')
const runAsRoot = process.getuid && process.getuid() === 0
let server = null

function writeJson(name, value) {
  const file = path.join(stateDir, name)
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value), { mode: 0o600 })
  fs.renameSync(`${file}.tmp`, file) // readers never see half a file
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

async function waitUntilServing(admin) {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (server.exitCode !== null) throw new Error(`mariadbd exited with ${server.exitCode}`)
    try {
      const connection = await mysql.createConnection({ socketPath, user: admin.user, password: admin.password })
      await connection.end()
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mariadbd did not accept logins within ${READY_TIMEOUT_MS} ms: ${err.message}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

async function start() {
  const userFlag = runAsRoot ? ['--user=root'] : [] // mariadbd refuses to run as root without it
  // a temporary directory of its own: servers of other runs, started at the same moment, share /tmp
  const tmpDir = path.join(stateDir, 'tmp')
  fs.mkdirSync(tmpDir, { recursive: true })
  const install = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmpDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...userFlag],
    { encoding: 'utf8' },
  )
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.error}`)
  const admin = { user: 'moc_admin', password: crypto.randomBytes(18).toString('base64url') }
  const initFile = path.join(stateDir, 'init.sql')
  fs.writeFileSync(
    initFile,
    `CREATE USER '${admin.user}'@'%' IDENTIFIED BY '${admin.password}';\n` +
      `GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION;\n`,
    { mode: 0o600 },
  )
  const port = await freePort()
  server = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmpDir}`,
      `--socket=${socketPath}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--init-file=${initFile}`,
      `--pid-file=${path.join(stateDir, 'mariadb.pid')}`,
      `--log-error=${path.join(stateDir, 'error.log')}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      '--max-allowed-packet=256M', // the relay tests send a 20 MiB row
      '--innodb-buffer-pool-size=64M',
      '--innodb-flush-log-at-trx-commit=0', // throwaway data: no fsync per commit
      '--skip-innodb-doublewrite',
      ...userFlag,
    ],
    { stdio: 'ignore' },
  )
  await waitUntilServing(admin)
  fs.rmSync(initFile, { force: true })
  writeJson('ready.json', { host: '127.0.0.1', port, socketPath, ...admin })
}

function stopAndRemove() {
  const finish = () => {
    fs.rmSync(stateDir, { recursive: true, force: true })
    process.exit(0)
  }
  if (!server || server.exitCode !== null || server.signalCode !== null) return finish()
  server.once('exit', finish)
  server.kill('SIGTERM')
  setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS).unref()
}

process.on('SIGTERM', stopAndRemove)
process.on('SIGINT', stopAndRemove)
setInterval(() => {
  if (!alive(ownerPid)) stopAndRemove()
}, OWNER_POLL_MS)

start().catch((err) => {
  const log = path.join(stateDir, 'error.log')
  const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : ''
  try {
    writeJson('failed.json', { message: `${err.message}${tail ? `\n${tail}` : ''}` })
  } catch {}
  // keep the failure visible to the waiting tests; the owner watch still removes the directory
  if (server && server.exitCode === null) server.kill('SIGKILL')
})
