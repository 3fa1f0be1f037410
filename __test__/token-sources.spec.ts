// lib/token-sources.js on its own: the tokenFile reader and the getToken cache, with an `accept`
// written here the way the plugin's is (it throws for a token it would not send, else tells its expiry).
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { SignJWT, generateKeyPair } from 'jose'

import { inspectIdToken } from '../main.js'

// lib/ internals are CommonJS without types: loaded from the package root (ava's working directory)
const load = createRequire(`${process.cwd()}/`)
const { fileTokenSource, cachedTokenSource } = load('./lib/token-sources.js')
const { pluginError } = load('./lib/errors.js')

const keyPair = generateKeyPair('RS256')
async function sign(claims: Record<string, unknown> = {}, expiresIn: string | number = '10m') {
  const { privateKey } = await keyPair
  return new SignJWT({ sub: 'svc', ...claims }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(privateKey)
}

/** The plugin's contract: throws (with `oidcCode`) for a token it would refuse now, else its times in ms. */
function accept(token: string | Buffer) {
  const { claims, expiresAt } = inspectIdToken(token)
  if (claims.refuse) throw pluginError('ERR_OIDC_TOKEN_EXPIRED', 'the test refuses this token')
  return { expiresAt: expiresAt?.getTime() ?? null, issuedAt: (claims.iat as number) * 1000, iss: claims.iss, sub: claims.sub }
}

const options = { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 10_000, accept }
const context = { user: 'alice', host: 'db.test', port: 3306, database: 'app', socketPath: undefined }

function tempDir(t: any) {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-sources-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function codeOf(promise: Promise<unknown>) {
  try {
    await promise
  } catch (err: any) {
    return err.oidcCode as string
  }
  return 'no error'
}

test.serial('a FIFO as tokenFile fails fast and never blocks the thread pool', async (t) => {
  const dir = tempDir(t)
  const fifo = join(dir, 'token-fifo')
  execFileSync('mkfifo', [fifo])
  const other = join(dir, 'other')
  writeFileSync(other, 'other file')
  const source = fileTokenSource(fifo, 10_000)
  // more attempts than libuv has threads (4): a blocking open() would hold them all
  const attempts = Array.from({ length: 8 }, () => codeOf(source(context)))
  const otherRead = readFile(other, 'utf8')
  let deadline: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    Promise.all([Promise.all(attempts), otherRead]),
    new Promise<'hung'>((resolve) => (deadline = setTimeout(() => resolve('hung'), 5000))),
  ])
  clearTimeout(deadline)
  // release whatever is stuck in open() on the FIFO (the code before this fix): with a writer, opens return
  let writer: number | undefined
  try {
    writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
  } catch {}
  await Promise.all([...attempts, otherRead])
  if (writer !== undefined) closeSync(writer)
  t.not(outcome, 'hung', 'the FIFO blocked the thread pool')
  t.deepEqual(outcome, [Array(8).fill('ERR_OIDC_TOKEN_SOURCE'), 'other file'])
})

test('a file larger than its size says is read only up to the limit, then refused', async (t) => {
  // /proc files say they are empty and hold kilobytes: like a file that grows between stat and read
  t.true(existsSync('/proc/self/maps'), 'this test needs Linux /proc')
  t.true((await readFile('/proc/self/maps')).length > 102)
  t.is(await codeOf(fileTokenSource('/proc/self/maps', 100)(context)), 'ERR_OIDC_TOKEN_TOO_LARGE')
  const dir = tempDir(t)
  const file = join(dir, 'token')
  const token = await sign()
  writeFileSync(file, `${token}\r\n`)
  t.is((await fileTokenSource(file, token.length)(context)).toString(), `${token}\r\n`)
  writeFileSync(file, `${token}\r\n\n`)
  t.is(await codeOf(fileTokenSource(file, token.length)(context)), 'ERR_OIDC_TOKEN_TOO_LARGE')
})

test('tokenFile errors print the path as written, a Windows path with single backslashes', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'C:\\Users\\svc\\token.jwt')
  const err = (await t.throwsAsync(fileTokenSource(path, 10_000)(context))) as any
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.true(err.message.includes(`tokenFile "${path}"`), err.message)
  t.false(err.message.includes('\\\\'))
  t.regex(err.message, /ENOENT/)
  const folderErr = (await t.throwsAsync(fileTokenSource(dir, 10_000)(context))) as any
  t.is(folderErr.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(folderErr.message, /not a regular file/)
})

test('a token accept refuses is never cached, neither at first nor by a refresh', async (t) => {
  const refused = await sign({ refuse: true })
  const good = await sign({}, '30s') // inside the 60 s window: every login also refreshes it
  const answers = [refused, good, refused]
  let calls = 0
  const source = cachedTokenSource(() => answers[calls++] ?? good, options)
  t.is(await codeOf(source(context)), 'ERR_OIDC_TOKEN_EXPIRED')
  t.is(await source(context), good) // asked again: the refused token was not kept
  t.is(calls, 2)
  t.is(source(context), good) // cached, and a background refresh gets the refused token
  t.is(calls, 3)
  await new Promise((resolve) => setImmediate(resolve))
  t.is(source(context), good) // the valid token is kept
})

test('accept inspects each fetched token once, not at every login', async (t) => {
  const token = await sign({}, '1h')
  let inspected = 0
  const source = cachedTokenSource(() => token, { ...options, accept: (value: string) => (inspected++, accept(value)) })
  await source(context)
  for (let i = 0; i < 100; i++) t.is(source(context), token)
  t.is(inspected, 1)
})

test.serial('a cached token in its last 2 seconds is not sent: the login waits for a fresh one', async (t) => {
  const dying = await sign({}, '30s')
  const fresh = await sign({}, '1h')
  const tokens = [dying, fresh]
  // no background refresh: only the margin can turn the dying token away
  const source = cachedTokenSource(() => tokens.shift(), { ...options, refreshBeforeExpirySeconds: 0 })
  t.is(await source(context), dying)
  const exp = inspectIdToken(dying).expiresAt!.getTime()
  const realNow = Date.now
  const at = (ms: number) => {
    Date.now = () => ms // only around the synchronous call, which reads the clock once
    try {
      return source(context)
    } finally {
      Date.now = realNow
    }
  }
  t.is(at(exp - 2500), dying, 'cached until its last 2 s')
  t.is(await at(exp - 1500), fresh, 'then a fresh one is fetched')
})

test('the shared in-flight fetch holds no login: a login given up on can be collected', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const token = await sign()
  let release: (value: string) => void = () => {}
  const held: unknown[] = []
  // a getToken that keeps its argument while the provider answers, as any async function does
  const source = cachedTokenSource((given: unknown) => (held.push(given), new Promise<string>((resolve) => (release = resolve))), options)
  const refs = (() => {
    const loginContext = { ...context } // made by the plugin for each login
    const connection = { config: context, socket: Buffer.alloc(1024) }
    source(loginContext, connection) // the plugin's call shape; the login then stops waiting
    return [new WeakRef(loginContext), new WeakRef(connection)]
  })()
  // a second login joins the same flight while the first one's objects are gone
  const joined = source({ ...context })
  await new Promise((resolve) => setTimeout(resolve, 10))
  gc()
  t.is(held.length, 1)
  const { signal, ...given } = held[0] as any
  t.deepEqual(given, context)
  t.true(signal instanceof AbortSignal)
  t.is(refs[0].deref(), undefined, "the login's context is still referenced")
  t.is(refs[1].deref(), undefined, 'the connection is still referenced')
  release(token)
  t.is(await joined, token)
})

/** The cache's timers do not hold the process open (a connecting socket does): this stands in for it. */
function keepAlive(t: any) {
  const timer = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(timer))
}

test('getToken calls that never settle do not pile up: at most three, however many logins time out; their signals abort', async (t) => {
  keepAlive(t)
  const signals: AbortSignal[] = []
  // ignores its signal, as a getToken written before context.signal existed does
  const source = cachedTokenSource(({ signal }: { signal: AbortSignal }) => (signals.push(signal), new Promise(() => {})), { ...options, tokenTimeoutMs: 20 })
  for (let i = 0; i < 25; i++) t.is(await codeOf(source(context)), 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  // the first, and two more once each earlier one had ignored its abort for a whole tokenTimeoutMs
  t.is(signals.length, 3)
  for (const signal of signals) {
    t.true(signal.aborted)
    t.is((signal.reason as any)?.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  }
})

test('a provider that hung once, ignoring its signal, does not block the logins after it', async (t) => {
  keepAlive(t)
  const token = await sign()
  let calls = 0
  // the first call hangs for good (a request into a black hole); the provider answers after that
  const source = cachedTokenSource(() => (++calls === 1 ? new Promise<string>(() => {}) : Promise.resolve(token)), { ...options, tokenTimeoutMs: 30 })
  t.is(await codeOf(source(context)), 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  await new Promise((resolve) => setTimeout(resolve, 40)) // a whole tokenTimeoutMs after the abort
  t.is(await source(context), token)
  t.is(calls, 2)
})

test('a login after a timed-out call that is still pending waits for that call, and gets its late token', async (t) => {
  keepAlive(t)
  const token = await sign()
  let calls = 0
  let release: (value: string) => void = () => {}
  const source = cachedTokenSource(() => (calls++, new Promise<string>((resolve) => (release = resolve))), { ...options, tokenTimeoutMs: 50 })
  t.is(await codeOf(source(context)), 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
  const next = source(context)
  release(token)
  t.is(await next, token)
  t.is(calls, 1)
  t.is(source(context), token) // and it is cached
})

test('a tokenFile read is shared while it runs: concurrent logins, one read', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'token')
  const token = await sign()
  writeFileSync(file, token)
  // counted where lib/token-sources.js opens files; only this test's file, as other tests run alongside
  let opens = 0
  const fsPromises = load('node:fs/promises')
  const open = fsPromises.open
  fsPromises.open = (...args: unknown[]) => (args[0] === file && opens++, open(...args))
  t.teardown(() => (fsPromises.open = open))
  const source = fileTokenSource(file, 10_000, 1000)
  const tokens = await Promise.all(Array.from({ length: 8 }, () => source(context)))
  t.deepEqual(tokens.map(String), Array(8).fill(token))
  t.is(opens, 1)
  // after it finished, a login reads afresh (a rotated file is picked up)
  const rotated = await sign({ rotated: true })
  writeFileSync(file, rotated)
  t.is(String(await source(context)), rotated)
  t.is(opens, 2)
})
