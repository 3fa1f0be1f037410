// fromCommand with real child processes: this Node binary running small scripts with -e.
import test from 'ava'
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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
