// Refresh that nobody waits for: the getToken cache serves a valid token at once and refreshes it
// in the background. Token lifetimes here are in milliseconds: `accept` reports the expiry the test
// gave each token, as the plugin's reports the JWT's.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { SignJWT, generateKeyPair } from 'jose'

import { inspectIdToken } from '../main.js'

// lib/ internals are CommonJS without types: loaded from the package root (ava's working directory)
const load = createRequire(`${process.cwd()}/`)
const { cachedTokenSource } = load('./lib/token-sources.js')

const keyPair = generateKeyPair('RS256')
const lifetimes = new Map<string, number>()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A real signed JWT that the test's `accept` says is valid for `ms` from now. */
async function issue(ms: number, sub = 'svc') {
  const { privateKey } = await keyPair
  const token = await new SignJWT({ sub, iss: 'https://idp.test', jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey)
  lifetimes.set(token, Date.now() + ms)
  return token
}

function accept(token: string) {
  const { claims } = inspectIdToken(token)
  return { expiresAt: lifetimes.get(token) ?? null, issuedAt: (claims.iat as number) * 1000, iss: claims.iss, sub: claims.sub }
}

const context = { user: 'alice', host: 'db.test', port: 3306, database: 'app', socketPath: undefined }
const isPending = (value: unknown) => typeof (value as any)?.then === 'function'

test('only the first login waits; later ones get the cached token at once', async (t) => {
  let calls = 0
  const source = cachedTokenSource(async () => (calls++, issue(60_000)), { refreshBeforeExpirySeconds: 10, tokenTimeoutMs: 5000, accept })
  const first = source(context)
  t.true(isPending(first))
  const token = await first
  for (let i = 0; i < 20; i++) t.is(source(context), token)
  t.is(calls, 1)
})

test('inside the refresh window a login gets the cached token at once and one background refresh starts', async (t) => {
  const tokens: string[] = []
  let calls = 0
  let finishRefresh: () => void = () => {}
  const getToken = async () => {
    calls++
    // the provider answers the first call at once and the refresh only when the test says
    if (tokens.length > 0) await new Promise<void>((resolve) => (finishRefresh = resolve))
    const token = await issue(2000)
    tokens.push(token)
    return token
  }
  const source = cachedTokenSource(getToken, { refreshBeforeExpirySeconds: 1.9, tokenTimeoutMs: 5000, accept })
  const first = await source(context)
  await sleep(150) // now 1.85 s before expiry: inside the 1.9 s window
  for (let i = 0; i < 30; i++) {
    const answer = source(context)
    t.false(isPending(answer), 'a login waited for the refresh')
    t.is(answer, first)
  }
  finishRefresh()
  await sleep(20)
  t.is(calls, 2, 'one refresh for thirty logins')
  t.is(source(context), tokens[1])
})

test('a failed background refresh keeps the valid token, retries with backoff, and fails the login once the token expired', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const providerDown = new Error('identity provider down')
  let calls = 0
  const getToken = async () => {
    if (calls++ === 0) return issue(1500)
    throw providerDown
  }
  const source = cachedTokenSource(getToken, {
    refreshBeforeExpirySeconds: 1.4,
    tokenTimeoutMs: 5000,
    accept,
    retryBaseMs: 300,
    retryMaxMs: 300,
  })
  const token = await source(context)
  await sleep(150) // inside the window
  t.is(source(context), token)
  t.is(calls, 2)
  await sleep(10)
  for (let i = 0; i < 10; i++) t.is(source(context), token) // still valid; the retry waits for its backoff
  t.is(calls, 2)
  await sleep(320) // past the backoff (150 to 300 ms)
  t.is(source(context), token)
  t.is(calls, 3)
  await sleep(1100) // the token expired
  const waiting = source(context)
  t.true(isPending(waiting))
  const err = (await t.throwsAsync(waiting)) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.is(err.cause, providerDown)
  await sleep(20)
  t.deepEqual(unhandled, [])
})

test('an idle source refreshes nothing: no login, no provider call', async (t) => {
  let calls = 0
  const source = cachedTokenSource(async () => (calls++, issue(300)), { refreshBeforeExpirySeconds: 0.25, tokenTimeoutMs: 5000, accept })
  await source(context)
  await sleep(500) // through the refresh window and past the expiry, with no login
  t.is(calls, 1)
  await source(context)
  t.is(calls, 2)
})

test('refreshes are per context: a refresh for alice asks with alice, and bob keeps his token', async (t) => {
  const asked: string[] = []
  const lifetime = { alice: 400, bob: 60_000 } as Record<string, number>
  const source = cachedTokenSource(async ({ user }: { user: string }) => (asked.push(user), issue(lifetime[user], user)), {
    refreshBeforeExpirySeconds: 0.3,
    tokenTimeoutMs: 5000,
    accept,
  })
  const alice = await source(context)
  const bob = await source({ ...context, user: 'bob' })
  await sleep(150)
  t.is(source(context), alice)
  t.is(source({ ...context, user: 'bob' }), bob)
  await sleep(20)
  t.deepEqual(asked, ['alice', 'bob', 'alice'])
  const refreshed = source(context)
  t.not(refreshed, alice)
  t.is(inspectIdToken(refreshed).claims.sub, 'alice')
  t.is(source({ ...context, user: 'bob' }), bob)
})

test('refresh retries are bounded: never more often than the base allows, never rarer than the cap', async (t) => {
  // seen from outside: a provider that always fails during a long-valid token is retried, at most
  // every retryMaxMs, never more often than the base allows
  let calls = 0
  const getToken = async () => {
    if (calls++ === 0) return issue(60_000)
    throw new Error('down')
  }
  const source = cachedTokenSource(getToken, { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 5000, accept, retryBaseMs: 40, retryMaxMs: 80 })
  await source(context)
  const started = Date.now()
  while (Date.now() - started < 1000) {
    source(context)
    await sleep(5)
  }
  // retries 20-40 ms, then 40-80 ms apart: 13 to 27 calls in a second. Without the cap (doubling on:
  // 40, 80, 160, 320, 640 ms) at most 7; without backoff, a call at every login (about 200)
  t.true(calls >= 9 && calls <= 40, `calls: ${calls}`)
})

test('no timer or pending refresh keeps the process alive', (t) => {
  const script = `
    const { cachedTokenSource } = require(${JSON.stringify(join(process.cwd(), 'lib/token-sources.js'))})
    process.on('unhandledRejection', () => { console.log('unhandled rejection'); process.exitCode = 3 })
    const context = { user: 'alice' }
    const accept = (token) => ({ expiresAt: Date.now() + 60_000, issuedAt: null })
    // one source whose refresh never answers (timeout 60 s), one whose refresh fails, one idle
    let hangCalls = 0
    const hanging = cachedTokenSource(() => (hangCalls++ ? new Promise(() => {}) : 'a.b.c'), { refreshBeforeExpirySeconds: 120, tokenTimeoutMs: 60_000, accept })
    let failCalls = 0
    const failing = cachedTokenSource(async () => { if (failCalls++) throw new Error('down'); return 'a.b.c' }, { refreshBeforeExpirySeconds: 120, tokenTimeoutMs: 60_000, accept })
    const idle = cachedTokenSource(() => 'a.b.c', { refreshBeforeExpirySeconds: 1, tokenTimeoutMs: 60_000, accept })
    ;(async () => {
      await hanging(context); hanging(context)
      await failing(context); failing(context)
      await idle(context)
      console.log('logged in', hangCalls, failCalls)
    })()
  `
  const started = Date.now()
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 })
  t.is(child.stderr, '')
  t.is(child.stdout.trim(), 'logged in 2 2')
  t.is(child.status, 0)
  t.true(Date.now() - started < 20_000, 'the process waited for a timer') // the refresh timeout is 60 s
})
