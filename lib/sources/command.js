'use strict'

// The credential-process pattern: a program prints the token on stdout (`gcloud auth
// print-identity-token`, `az account get-access-token --query accessToken -o tsv`, a vault helper).
const { spawn } = require('node:child_process')
const { join } = require('node:path')

const { pluginError } = require('../errors.js')
const { readOptions, MAX_TIMEOUT_MS } = require('../options.js')
const { abortedError, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES } = require('./http.js')

const NAME = 'fromCommand'
// Enough of stderr for its first line; the rest is drained and dropped.
const STDERR_KEPT_BYTES = 4096
const STDERR_LINE_CHARS = 200
// After a clean exit, how long stdout may take to end: a background process the program started may
// hold it open for ever, and the token was printed before the exit anyway.
const EXIT_GRACE_MS = 100
const WINDOWS = process.platform === 'win32'

const OPTIONS = {
  timeoutMs: { type: 'number', min: 1, max: MAX_TIMEOUT_MS, default: DEFAULT_TIMEOUT_MS },
  env: { type: 'object' },
  cwd: { type: 'string' },
  maxOutputBytes: { type: 'number', integer: true, min: 1, default: DEFAULT_MAX_RESPONSE_BYTES },
}

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `${NAME}: ${message}`)
}

function firstLine(text) {
  const line = text.split(/\r?\n/).find((candidate) => candidate.trim() !== '') ?? ''
  return line.trim().slice(0, STDERR_LINE_CHARS)
}

/** Kills a still-running program and every process it started (its process group; on Windows its tree). */
function killAll(child) {
  if (child.pid === undefined) return
  if (WINDOWS) {
    // no process groups: taskkill /T ends the tree; where it cannot run, the program alone
    const taskkill = join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'taskkill.exe')
    const killer = spawn(taskkill, ['/pid', String(child.pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' })
    killer.on('error', () => child.kill())
    killer.on('exit', (code) => code !== 0 && child.kill())
    return
  }
  try {
    // spawned detached, the program leads its own group: -pid reaches its descendants too
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}

/** Runs the program once; resolves its trimmed stdout. Errors tell the exit and stderr, never stdout. */
function run(command, args, { timeoutMs, env, cwd, maxOutputBytes }, signal) {
  const named = `"${command}"`
  if (signal?.aborted) return Promise.reject(abortedError(signal, `${NAME}: ${named}`))
  return new Promise((resolve, reject) => {
    let child
    try {
      // no shell: the arguments reach the program as they are, nothing is interpreted
      child = spawn(command, args, { shell: false, env, cwd, windowsHide: true, detached: !WINDOWS, stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      reject(pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: cannot run ${named} (${err.code || 'error'})`))
      return
    }
    const stdout = []
    let stdoutBytes = 0
    let stderr = ''
    let settled = false
    let exited = false
    let grace
    const onAbort = () => settle(abortedError(signal, `${NAME}: ${named}`))
    const settle = (err, token) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(grace)
      signal?.removeEventListener('abort', onAbort)
      // only a program not yet reaped: its pid (and so its group's id) is surely still ours
      if (!exited) killAll(child)
      child.stdout.destroy()
      child.stderr.destroy()
      if (err) reject(err)
      else resolve(token)
    }
    const timer = setTimeout(() => {
      settle(pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `${NAME}: ${named} did not finish within ${timeoutMs} ms and was killed, with the processes it started`))
    }, timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (err) => {
      const hint = err.code === 'ENOENT' ? ': is it installed and on the PATH?' : ''
      settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: cannot run ${named} (${err.code || 'error'})${hint}`))
    })
    child.stdout.on('data', (chunk) => {
      stdoutBytes += chunk.length
      if (stdoutBytes > maxOutputBytes) {
        settle(pluginError('ERR_OIDC_TOKEN_TOO_LARGE', `${NAME}: ${named} printed more than ${maxOutputBytes} bytes`))
      } else {
        stdout.push(chunk)
      }
    })
    child.stderr.on('data', (chunk) => {
      if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.toString('utf8', 0, STDERR_KEPT_BYTES)
    })
    const finish = () => {
      const token = Buffer.concat(stdout, stdoutBytes).toString('utf8').trim()
      if (token === '') settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ${named} printed no token on stdout`))
      else settle(null, token)
    }
    // settled by the program's exit, not by stdout closing: a process it left behind may hold stdout
    child.on('exit', (code, exitSignal) => {
      exited = true
      if (code !== 0) {
        const how = exitSignal ? `was killed by ${exitSignal}` : `exited with code ${code}`
        const line = firstLine(stderr)
        settle(pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ${named} ${how}${line ? `: ${line}` : ' (nothing on stderr)'}`))
        return
      }
      if (child.stdout.readableEnded) {
        finish()
        return
      }
      // what was printed before the exit is read by now (POSIX) or within moments (Windows)
      child.stdout.once('end', finish)
      grace = setTimeout(finish, EXIT_GRACE_MS)
    })
  })
}

/**
 * `getToken` that runs `command` with `args` (no shell) and takes the token from its stdout:
 * `fromCommand('gcloud', ['auth', 'print-identity-token'])`. Done when the program exits; one still
 * running at `timeoutMs` (default 10 000), or when `context.signal` aborts, is killed with the
 * processes it started. Stdout over `maxOutputBytes` (default 1 MiB) is refused.
 */
function fromCommand(command, args = [], options = undefined) {
  if (typeof command !== 'string' || command === '') throw invalid('command must be a non-empty string')
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw invalid('args must be an array of strings')
  const config = readOptions(options, OPTIONS, `${NAME}: options`)
  const argv = [...args]
  const getToken = (context) => run(command, argv, config, context?.signal)
  return Object.defineProperty(getToken, 'sourceKind', { value: 'command' })
}

module.exports = { fromCommand }
