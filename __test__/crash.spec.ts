// Nothing a server or a token source does may crash the app. Each scenario runs in a child process
// with no 'uncaughtException' or 'unhandledRejection' handlers (see fixtures/crash-scenarios.cjs):
// an error the package lets escape kills that process, and the test fails on its exit code.
import test from 'ava'
import { execFile } from 'node:child_process'
import path from 'node:path'

import { promiseKeepsErrors } from './helpers/mysql2-version.js'

const FIXTURE = path.join(process.cwd(), '__test__', 'fixtures', 'crash-scenarios.cjs')

function runScenario(name: string, nodeArgs: string[] = []) {
  return new Promise<{ code: number | null; result: any; stderr: string }>((resolve) => {
    execFile(process.execPath, [...nodeArgs, FIXTURE, name], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as any).code ?? null) : 0
      const last = stdout.trim().split('\n').at(-1) ?? ''
      let result: any = null
      try {
        result = JSON.parse(last)
      } catch {}
      resolve({ code: typeof code === 'number' ? code : null, result, stderr })
    })
  })
}

for (const [scenario, oidcCode] of [
  ['changeuser-tokenfile-expired', 'ERR_OIDC_TOKEN_EXPIRED'],
  ['changeuser-gettoken-throws', 'ERR_OIDC_TOKEN_SOURCE'],
]) {
  test(`changeUser whose token source fails rejects with its code; the process lives (${scenario})`, async (t) => {
    const { code, result, stderr } = await runScenario(scenario)
    t.is(code, 0, stderr)
    // mysql2/promise before 3.22.2 hands on a copy without `fatal`
    t.like(result, promiseKeepsErrors ? { oidcCode, fatal: true } : { oidcCode })
  })
}

for (const scenario of ['hangup-then-reject', 'hangup-then-timeout', 'hangup-then-reject-pool', 'hangup-then-timeout-pool']) {
  test(`the server hangs up while getToken is pending, then it fails: no crash (${scenario})`, async (t) => {
    const { code, result, stderr } = await runScenario(scenario)
    t.is(code, 0, stderr)
    t.true(Array.isArray(result) && result.length > 0)
    for (const attempt of result) t.is(attempt.code, 'PROTOCOL_CONNECTION_LOST')
  })
}

test('logins abandoned while a shared getToken hangs are released when mysql2 closes them', async (t) => {
  const { code, result, stderr } = await runScenario('abandoned-logins', ['--expose-gc'])
  t.is(code, 0, stderr)
  t.is(result.abandoned, 40)
  t.is(result.stillReachable, 0, 'a pending fetch kept closed connections alive')
})

for (const scenario of ['ok-before-token-reject', 'ok-before-token-timeout', 'ok-before-token-late']) {
  test(`a server that says OK before the token is ready: no crash and no late token (${scenario})`, async (t) => {
    const { code, result, stderr } = await runScenario(scenario)
    t.is(code, 0, stderr)
    t.deepEqual(result, { connected: true, sightings: 0 })
  })
}
