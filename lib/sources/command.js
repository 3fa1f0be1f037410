'use strict'

// The credential-process pattern: a program prints the token on stdout (`gcloud auth
// print-identity-token`, `az account get-access-token --query accessToken -o tsv`, a vault helper).
const { spawn } = require('node:child_process')

const { pluginError } = require('../errors.js')
const { checkTimeout, DEFAULT_MAX_RESPONSE_BYTES } = require('./http.js')

// Enough of stderr for its first line; the rest is drained and dropped.
const STDERR_KEPT_BYTES = 4096
const STDERR_LINE_CHARS = 200

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `fromCommand: ${message}`)
}

function firstLine(text) {
  const line = text.split(/\r?\n/).find((candidate) => candidate.trim() !== '') ?? ''
  return line.trim().slice(0, STDERR_LINE_CHARS)
}

/** Runs the program once; resolves its trimmed stdout. Errors tell the exit and stderr, never stdout. */
function run(command, args, { timeoutMs, env, cwd, maxOutputBytes }) {
  const named = `"${command}"`
  return new Promise((resolve, reject) => {
    let child
    try {
      // no shell: the arguments reach the program as they are, nothing is interpreted
      child = spawn(command, args, { shell: false, env, cwd, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      reject(pluginError('ERR_OIDC_TOKEN_SOURCE', `fromCommand: cannot run ${named} (${err.code || 'error'})`))
      return
    }
    const stdout = []
    let stdoutBytes = 0
    let stderr = ''
    let settled = false
    const settle = (err, token) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      child.stdout.destroy()
      child.stderr.destroy()
      if (err) reject(err)
      else resolve(token)
    }
    const timer = setTimeout(() => {
      settle(pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `fromCommand: ${named} did not finish within ${timeoutMs} ms and was killed`))
    }, timeoutMs)
    child.on('error', (err) => {
      const hint = err.code === 'ENOENT' ? ': is it installed and on the PATH?' : ''
      settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `fromCommand: cannot run ${named} (${err.code || 'error'})${hint}`))
    })
    child.stdout.on('data', (chunk) => {
      stdoutBytes += chunk.length
      if (stdoutBytes > maxOutputBytes) {
        settle(pluginError('ERR_OIDC_TOKEN_TOO_LARGE', `fromCommand: ${named} printed more than ${maxOutputBytes} bytes`))
      } else {
        stdout.push(chunk)
      }
    })
    child.stderr.on('data', (chunk) => {
      if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.toString('utf8', 0, STDERR_KEPT_BYTES)
    })
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
        const line = firstLine(stderr)
        settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `fromCommand: ${named} ${how}${line ? `: ${line}` : ' (nothing on stderr)'}`))
        return
      }
      const token = Buffer.concat(stdout, stdoutBytes).toString('utf8').trim()
      if (token === '') settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `fromCommand: ${named} printed no token on stdout`))
      else settle(null, token)
    })
  })
}

/**
 * `getToken` that runs `command` with `args` (no shell) and takes the token from its stdout:
 * `fromCommand('gcloud', ['auth', 'print-identity-token'])`. A program still running at `timeoutMs`
 * (default 10 000) is killed; stdout over `maxOutputBytes` (default 1 MiB) is refused.
 */
function fromCommand(command, args = [], { timeoutMs, env, cwd, maxOutputBytes = DEFAULT_MAX_RESPONSE_BYTES } = {}) {
  if (typeof command !== 'string' || command === '') throw invalid('command must be a non-empty string')
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw invalid('args must be an array of strings')
  if (env !== undefined && (env === null || typeof env !== 'object')) throw invalid('env must be an object')
  if (cwd !== undefined && typeof cwd !== 'string') throw invalid('cwd must be a string')
  if (!(Number.isInteger(maxOutputBytes) && maxOutputBytes >= 1)) throw invalid('maxOutputBytes must be a positive integer')
  const options = { timeoutMs: checkTimeout(timeoutMs, 'fromCommand'), env, cwd, maxOutputBytes }
  const argv = [...args]
  const getToken = () => run(command, argv, options)
  return Object.defineProperty(getToken, 'sourceKind', { value: 'command' })
}

module.exports = { fromCommand }
