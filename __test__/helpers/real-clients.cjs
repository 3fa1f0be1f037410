'use strict'

// The non-Node clients the proxy spec drives, installed by the test itself when missing, cached
// under $MOC_TOOLS_DIR like the runtimes of scripts/test-runtimes.sh:
//   mariadbCli()  Debian's mariadb command-line client (apt-get install mariadb-client when root)
//   pythonWithPyMySQL()  a venv of its own with PyMySQL from PyPI
//   bunPath()  Bun from the npm registry (scripts/lib/runtime.sh's fetch_runtime)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const TOOLS = process.env.MOC_TOOLS_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mysql-openid-connect-build')
const PYMYSQL_VERSION = '1.2.4'

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? ''}${result.stderr ?? ''}`)
  return result.stdout
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
}

/** apt-get install, as root on Debian only (what CI machines are); elsewhere a clear error. */
function aptInstall(name) {
  const isRoot = process.getuid && process.getuid() === 0
  if (!isRoot || !fs.existsSync('/etc/debian_version')) throw new Error(`${name} is needed: apt-get install ${name}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (spawnSync('apt-get', ['install', '-y', '--no-install-recommends', name], { env, stdio: 'ignore' }).status !== 0) {
    run('apt-get', ['update'], { env })
    run('apt-get', ['install', '-y', '--no-install-recommends', name], { env })
  }
}

function mariadbCli() {
  if (!hasCommand('mariadb')) aptInstall('mariadb-client')
  return 'mariadb'
}

function pythonWithPyMySQL() {
  const venv = path.join(TOOLS, `pymysql-${PYMYSQL_VERSION}`)
  const python = path.join(venv, 'bin', 'python')
  if (!fs.existsSync(path.join(venv, '.ok'))) {
    if (!hasCommand('python3')) aptInstall('python3-venv') // brings python3 itself
    fs.rmSync(venv, { recursive: true, force: true })
    fs.mkdirSync(TOOLS, { recursive: true })
    if (spawnSync('python3', ['-m', 'venv', venv], { stdio: 'ignore' }).status !== 0) {
      // Debian splits venv (and ensurepip) into python3-venv
      fs.rmSync(venv, { recursive: true, force: true })
      aptInstall('python3-venv')
      run('python3', ['-m', 'venv', venv])
    }
    run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `PyMySQL==${PYMYSQL_VERSION}`])
    fs.writeFileSync(path.join(venv, '.ok'), '')
  }
  return python
}

function bunPath() {
  const script = `TOOLS=${JSON.stringify(TOOLS)}; source scripts/lib/runtime.sh; fetch_runtime @oven/bun-linux-x64`
  return run('bash', ['-c', script], { cwd: ROOT }).trim().split('\n').pop()
}

module.exports = { mariadbCli, pythonWithPyMySQL, bunPath }
