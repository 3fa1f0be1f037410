// fromCommand with real child processes: this Node binary running small scripts with -e.
import test from 'ava'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

import { fromCommand } from '../main.js'

const node = process.execPath
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGkifQ.CANARYSTDOUTsignature42'

async function failure(promise: Promise<unknown>) {
  return promise.then(
    () => ({ oidcCode: 'no error', message: '' }) as any,
    (err) => err,
  )
}

test('the token is the program’s trimmed stdout; arguments reach it as they are, no shell', async (t) => {
  const getToken = fromCommand(node, ['-e', 'process.stdout.write(process.argv.slice(1).join("|") + "\\n\\n")', '$HOME', '`id`; echo hi', '*'])
  t.is(await getToken({}), '$HOME|`id`; echo hi|*')
  t.is(getToken.sourceKind, 'command')
  t.is(await fromCommand(node, ['-e', `console.log(${JSON.stringify(`  ${TOKEN}  `)})`])({}), TOKEN)
})

test('env and cwd are the program’s', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-command-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const script = 'console.log(process.env.TOKEN_FOR_TEST + "@" + process.cwd())'
  t.is(await fromCommand(node, ['-e', script], { env: { TOKEN_FOR_TEST: 'abc' }, cwd: dir })({}), `abc@${realpathSync(dir)}`)
})

test('a failing program: exit code and stderr’s first line, never stdout', async (t) => {
  const script = `console.log(${JSON.stringify(TOKEN)}); console.error("\\nERROR: (gcloud.auth) You do not currently have an active account selected.\\nsecond line"); process.exit(3)`
  const err = await failure(fromCommand(node, ['-e', script])({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(err.message, /exited with code 3: ERROR: \(gcloud\.auth\) You do not currently have an active account selected\./)
  t.false(err.message.includes('second line'))
  for (const text of [err.message, String(err.stack), JSON.stringify(err)]) t.false(text.includes('CANARY'))
  t.is(err.cause, undefined)
  const silent = await failure(fromCommand(node, ['-e', 'process.exit(1)'])({}))
  t.regex(silent.message, /exited with code 1 \(nothing on stderr\)/)
  const empty = await failure(fromCommand(node, ['-e', 'console.log("  ")'])({}))
  t.regex(empty.message, /printed no token/)
})

test('a missing program says so', async (t) => {
  const err = await failure(fromCommand('no-such-token-helper-7f3a', ['print-token'])({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(err.message, /cannot run "no-such-token-helper-7f3a" \(ENOENT\)/)
})

test('a hung program is killed at timeoutMs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-command-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'pid')
  const script = `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`
  const err = await failure(fromCommand(node, ['-e', script], { timeoutMs: 1000 })({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.regex(err.message, /did not finish within 1000 ms and was killed/)
  const pid = Number(readFileSync(pidFile, 'utf8'))
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  // SIGKILL was sent; the exit is reaped within moments
  for (let i = 0; i < 50 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.false(alive(), 'the program still runs')
})

test('stdout beyond maxOutputBytes is refused and the program stopped', async (t) => {
  const script = 'const chunk = "a".repeat(65536); const write = () => process.stdout.write(chunk, write); write()'
  const err = await failure(fromCommand(node, ['-e', script], { maxOutputBytes: 100_000, timeoutMs: 10_000 })({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_TOO_LARGE')
})

test('bad arguments fail at once', (t) => {
  const bad: Array<() => unknown> = [
    () => fromCommand(''),
    () => fromCommand(node, 'print-token' as any),
    () => fromCommand(node, [42 as any]),
    () => fromCommand(node, [], { timeoutMs: 0 }),
    () => fromCommand(node, [], { env: 'PATH=/bin' as any }),
    () => fromCommand(node, [], { maxOutputBytes: 0 }),
  ]
  for (const make of bad) t.is((t.throws(make) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
})

/** True while `pid` runs (a zombie, exited and waiting to be reaped, has stopped running). */
function running(pid: number) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return process.platform !== 'linux'
  }
}

async function stops(pid: number, ms = 2000) {
  for (const end = Date.now() + ms; running(pid) && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 20))
  return !running(pid)
}

/** A script that starts a background node process (its pid written to `pidFile`) with the given stdio. */
function startsBackground(pidFile: string, stdio: string) {
  return (
    `const child = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: ${stdio} });` +
    `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(child.pid)); child.unref();`
  )
}

function killOnTeardown(t: any, pidFile: string) {
  t.teardown(() => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL')
    } catch {}
  })
}

test('a program that prints the token and exits, leaving a process that holds stdout: done at its exit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-command-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'background-pid')
  killOnTeardown(t, pidFile)
  // the background process inherits stdout, as a daemon a credential helper starts may
  const script = `${startsBackground(pidFile, "['ignore', 'inherit', 'ignore']")} console.log(${JSON.stringify(TOKEN)})`
  const started = performance.now()
  const result = await fromCommand(node, ['-e', script], { timeoutMs: 3000 })({}).catch((err) => err.message)
  t.is(result, TOKEN)
  t.true(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`)
})

test.serial('at the timeout, the processes the program started are killed with it', async (t) => {
  t.not(process.platform, 'win32', 'POSIX process groups')
  const dir = mkdtempSync(join(tmpdir(), 'oidc-command-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'background-pid')
  killOnTeardown(t, pidFile)
  const script = `${startsBackground(pidFile, "'ignore'")} setInterval(() => {}, 1000)`
  // room for two Node start-ups on a busy machine before the timeout
  const err = await failure(fromCommand(node, ['-e', script], { timeoutMs: 2000 })({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.true(await stops(Number(readFileSync(pidFile, 'utf8'))), 'the background process still runs')
})

test('context.signal stops the program and its processes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-command-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'background-pid')
  killOnTeardown(t, pidFile)
  const script = `${startsBackground(pidFile, "'ignore'")} setInterval(() => {}, 1000)`
  const controller = new AbortController()
  const pending = failure(fromCommand(node, ['-e', script], { timeoutMs: 5000 })({ signal: controller.signal } as any))
  for (let i = 0; i < 250 && !existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  const abortedAt = performance.now()
  controller.abort()
  const err = await pending
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  t.true(performance.now() - abortedAt < 2000, `went on for ${Math.round(performance.now() - abortedAt)} ms`)
  t.true(await stops(Number(readFileSync(pidFile, 'utf8'))), 'the background process still runs')
})

test('options: own properties only; an unknown key or a wrong type is refused, naming the key', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => fromCommand(node, [], { timeoutMS: 1000 } as any), /unknown option "timeoutMS"/],
    [() => fromCommand(node, [], { maxOutputBytes: 'x' } as any), /options\.maxOutputBytes must be an integer/],
    [() => fromCommand(node, [], { timeoutMs: '5000' } as any), /options\.timeoutMs/],
    [() => fromCommand(node, [], { cwd: 42 } as any), /options\.cwd/],
    [() => fromCommand(node, [], { cwd: '' }), /options\.cwd/],
    [() => fromCommand(node, [], { env: [] } as any), /options\.env/],
    [() => fromCommand(node, [], 'fast' as any), /options must be an object/],
  ]
  for (const [make, message] of cases) {
    const err = t.throws(make, undefined, String(message)) as any
    t.is(err?.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT', String(message))
    t.regex(err?.message ?? '', message)
  }
  // an inherited cwd is not the caller's: the program runs where this process does
  t.notThrows(() => fromCommand(node, [], Object.create({ cwd: 42 })))
})
