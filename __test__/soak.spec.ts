// Soak: 10 000 authentications through mysql2 pools and this package's plugin against the embedded
// server, with faults injected on both sides: the server drops the connection mid-handshake, sends
// a malformed or huge auth switch, answers ERR, asks for more data, or greets late; the identity
// provider is slow now and then and fails one call in ten. Nothing may hang or leak, every failure
// must be a clear error, and the pool must be healthy at the end.
//
// Transport: 1 000 authentications go over TLS (~4.6 ms each here, client and server sharing two
// cores) and 9 000 over a Unix socket (~2 ms; a named pipe on Windows), which the plugin also counts
// as secure: all 10 000 over TLS would take about 50 s alone, too long next to the other test files.
import test, { type ExecutionContext } from 'ava'
import { createRequire } from 'node:module'
import path from 'node:path'
import mysql from 'mysql2/promise'
import type { Pool, PoolOptions } from 'mysql2/promise'

import { authPlugins } from '../main.js'

type OidcServer = { host?: string; port?: number; socketPath?: string; ca?: string; openConnections: number; close(): Promise<void> }
type AuthLogEntry = { ok: boolean; reason: string | null }
const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const testServer = requireFromRoot('./test-server/index.js')

const ATTEMPT_TIMEOUT_MS = 15_000
const CONNECTION_LIMIT = 32
const ISSUER = 'https://idp.example.test'

// Faults are on during the soak and off for the final health check.
const faults = { on: true }

// Server faults by connection number: about one connection in eight meets one.
function serverFault(connectionNumber: number): string | undefined {
  if (!faults.on) return undefined
  if (connectionNumber % 1000 === 7) return 'slow-handshake' // 2 s late greeting
  if (connectionNumber % 250 === 3) return 'huge-auth-switch' // 1 MiB of plugin data
  return ({ 1: 'drop-after-handshake', 2: 'malformed-auth-switch', 3: 'error-packet', 4: 'more-data-after-response' } as Record<number, string>)[
    connectionNumber % 32
  ]
}

// What a failed attempt may end with; anything else is not a clear error.
const EXPECTED_FAILURES: Record<string, RegExp> = {
  PROTOCOL_CONNECTION_LOST: /Connection lost: The server closed the connection/,
  // the bare refusal a real server sends; the fault's name is only in server.authLog
  ER_ACCESS_DENIED_ERROR: /^Access denied for user 'alice'@'[^']+' \(using password: YES\)$/,
  ERR_OIDC_TOKEN_SOURCE: /^authentication_openid_connect_client: getToken failed \(see error.cause\) \[ERR_OIDC_TOKEN_SOURCE\]$/,
  ERR_OIDC_TOKEN_SOURCE_TIMEOUT: /getToken did not answer within 250 ms \(tokenTimeoutMs\) \[ERR_OIDC_TOKEN_SOURCE_TIMEOUT\]$/,
  ERR_OIDC_UNEXPECTED_REQUEST: /asked for authentication_openid_connect_client data a second time \[ERR_OIDC_UNEXPECTED_REQUEST\]$/,
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A provider that answers after a few ms, now and then too late, and fails one call in ten. */
function flakyProvider(tokens: string[]) {
  const stats = { calls: 0, failed: 0, slow: 0 }
  const getToken = async () => {
    const call = ++stats.calls
    const slow = faults.on && call % 50 === 25 // from call 25: background refresh makes fewer calls than logins
    if (slow) stats.slow++
    await new Promise((resolve) => setTimeout(resolve, slow ? 300 : 1 + (call % 3)))
    // the first call fails too: with background refresh, only a login without a valid token sees a failure
    if (faults.on && (call === 1 || call % 10 === 0)) {
      stats.failed++
      throw new Error('identity provider unavailable')
    }
    return tokens[call % tokens.length]
  }
  return { getToken, stats }
}

/** `count` authentications, each a new physical connection that runs SELECT 1 and is destroyed. */
async function hammer(pool: Pool, count: number, token: string) {
  const failures = new Map<string, number>()
  let ok = 0
  let started = 0
  const unclear: string[] = []
  const worker = async () => {
    while (started < count) {
      started++
      try {
        const connection = await withTimeout(pool.getConnection(), ATTEMPT_TIMEOUT_MS, 'getConnection')
        try {
          await withTimeout(connection.query('SELECT 1'), ATTEMPT_TIMEOUT_MS, 'SELECT 1')
          ok++
        } finally {
          connection.destroy() // the next attempt must authenticate anew
        }
      } catch (err: any) {
        const code: string = err?.oidcCode ?? err?.code ?? 'NO_CODE'
        failures.set(code, (failures.get(code) ?? 0) + 1)
        const message = String(err?.message)
        const clear = EXPECTED_FAILURES[code]?.test(message) && !message.includes(token.split('.')[2])
        if (!clear && unclear.length < 5) unclear.push(`${code}: ${message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECTION_LIMIT }, worker))
  return { ok, failures, unclear }
}

async function waitFor(condition: () => boolean, ms: number) {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return condition()
}

// Handles ava and tsx keep for themselves are counted before, so only new ones show.
function resourceCounts() {
  const counts: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

async function soak(t: ExecutionContext, transport: 'tls' | 'unix', count: number) {
  faults.on = true
  const idp = await testServer.createIdentityProvider({ issuer: ISSUER })
  const tokens: string[] = await Promise.all(Array.from({ length: 8 }, () => idp.signIdToken({ sub: 'alice' })))
  const socketPath: string = testServer.localSocketPath('oidc-soak')
  const before = resourceCounts()
  const server: OidcServer & { authLog: AuthLogEntry[] } = await testServer.startOidcServer({
    identityProviders: [idp],
    users: { alice: {} },
    fault: serverFault,
    ...(transport === 'unix' ? { socketPath, tls: false } : {}),
  })
  t.teardown(() => server.close())
  const where = transport === 'unix' ? { socketPath } : { host: server.host, port: server.port, ssl: { ca: server.ca } }
  const provider = flakyProvider(tokens)
  // refreshBeforeExpirySeconds past the tokens' 10 minutes: logins keep a background refresh going
  const plugins = authPlugins({ getToken: provider.getToken, tokenTimeoutMs: 250, refreshBeforeExpirySeconds: 3600 })
  const options: PoolOptions = { ...where, user: 'alice', connectTimeout: 10_000, authPlugins: plugins, connectionLimit: CONNECTION_LIMIT }
  const pool = mysql.createPool(options)
  let poolClosed = false
  t.teardown(() => (poolClosed ? undefined : pool.end()))

  const started = Date.now()
  const { ok, failures, unclear } = await hammer(pool, count, tokens[0])
  const seconds = (Date.now() - started) / 1000
  const failed = [...failures.values()].reduce((a, b) => a + b, 0)
  t.log(`${transport}: ${count} authentications in ${seconds.toFixed(1)} s: ${ok} ok, failures ${JSON.stringify(Object.fromEntries(failures))}; provider ${JSON.stringify(provider.stats)}`)

  t.deepEqual(unclear, [], 'every failure is one of the expected, clear errors')
  t.is(ok + failed, count)
  t.true(ok > count * 0.6, `most attempts succeed (${ok})`)
  for (const code of ['PROTOCOL_CONNECTION_LOST', 'ER_ACCESS_DENIED_ERROR', 'ERR_OIDC_TOKEN_SOURCE', 'ERR_OIDC_UNEXPECTED_REQUEST']) {
    t.true((failures.get(code) ?? 0) > 0, `the ${code} fault was met`)
  }
  t.true(provider.stats.failed > 0 && provider.stats.slow > 0)

  // the pool is healthy: with the faults off, every slot answers at once
  faults.on = false
  const finals = await withTimeout(
    Promise.allSettled(Array.from({ length: CONNECTION_LIMIT }, () => pool.query('SELECT 1'))),
    ATTEMPT_TIMEOUT_MS,
    'the final queries',
  )
  faults.on = true
  t.deepEqual(finals.map((result) => result.status), Array(CONNECTION_LIMIT).fill('fulfilled'))

  await withTimeout(pool.end(), ATTEMPT_TIMEOUT_MS, 'pool.end()')
  poolClosed = true
  t.true(await waitFor(() => server.openConnections === 0, 5000), `server connections left: ${server.openConnections}`)
  t.true(server.authLog.filter((entry) => entry.ok).length >= ok + CONNECTION_LIMIT, 'the server saw every login the client did')
  t.true(server.authLog.every((entry) => entry.ok || entry.reason !== null), 'every failed login has a reason')
  await server.close()
  // no socket, server or timer of ours outlives the soak
  t.true(await waitFor(() => JSON.stringify(resourceCounts()) === JSON.stringify(before), 5000), `${JSON.stringify(before)} -> ${JSON.stringify(resourceCounts())}`)
}

test.serial('soak over TLS: 1 000 authentications with faults', (t) => soak(t, 'tls', 1000))
test.serial('soak over a Unix socket: 9 000 authentications with faults', (t) => soak(t, 'unix', 9000))
