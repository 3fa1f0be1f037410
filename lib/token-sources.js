'use strict'

const fs = require('node:fs/promises')
const { constants } = require('node:fs')
const { performance } = require('node:perf_hooks')

const { pluginError } = require('./errors.js')
const { publishToken } = require('./diagnostics.js')

// A token file may end with a line ending beyond the token limit; anything bigger is not read.
const LINE_ENDING_ALLOWANCE = 2
// O_NONBLOCK: opening a FIFO or a device returns at once instead of holding a libuv thread until a
// writer comes. Windows has no such flag, and no FIFO at a file path.
const OPEN_FLAGS = constants.O_NONBLOCK === undefined ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK

function refuseUnlessRegular(stat, named) {
  if (!stat.isFile()) {
    throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${named} is not a regular file (a folder, FIFO, socket or device)`)
  }
}

function tooLarge(named, maxTokenBytes) {
  return pluginError('ERR_OIDC_TOKEN_TOO_LARGE', `${named} is over the limit of ${maxTokenBytes} bytes (maxTokenBytes)`)
}

/** Reads from the descriptor until EOF or `max` bytes, whichever comes first: never more. */
async function readAtMost(handle, max, sizeHint) {
  let buffer = Buffer.alloc(Math.min(max, Math.max(sizeHint + 1, 1024)))
  let length = 0
  while (length < max) {
    if (length === buffer.length) {
      const bigger = Buffer.alloc(Math.min(max, buffer.length * 2))
      buffer.copy(bigger)
      buffer = bigger
    }
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
    if (bytesRead === 0) break
    length += bytesRead
  }
  return buffer.subarray(0, length)
}

// tokenFile reads in flight, by path and limit, shared by every source: a read on a hung mount (a
// stuck NFS or FUSE server) never returns and holds a libuv thread, so there is one, not one per login
const pendingReads = new Map()

/** Reads the token file once: stat, open, read, close. */
async function readTokenFile(path, limit, named, maxTokenBytes) {
  let handle
  try {
    // stat never blocks, whatever the file is: a FIFO is refused before anything opens it
    refuseUnlessRegular(await fs.stat(path), named)
    handle = await fs.open(path, OPEN_FLAGS)
    const stat = await handle.stat()
    refuseUnlessRegular(stat, named) // the path may have been swapped since the first stat
    if (stat.size > limit) throw tooLarge(named, maxTokenBytes)
    // the size may be stale (a file still being written, a /proc file): one byte more tells
    const token = await readAtMost(handle, limit + 1, stat.size)
    if (token.length > limit) throw tooLarge(named, maxTokenBytes)
    return token
  } catch (err) {
    throw err.oidcCode
      ? err
      : pluginError('ERR_OIDC_TOKEN_SOURCE', `cannot read ${named} (${err.code || 'error'}): check the path and its permissions`)
  } finally {
    await handle?.close()
  }
}

/**
 * The token from a file, read afresh for each login so a rotated file is picked up. A login waits
 * `timeoutMs` at most; one that comes while a read of the file is still running shares it.
 */
function fileTokenSource(path, maxTokenBytes, timeoutMs = 10_000) {
  const limit = maxTokenBytes + LINE_ENDING_ALLOWANCE
  // the path as the user wrote it: JSON.stringify would double a Windows path's backslashes
  const named = `tokenFile "${path}"`
  const key = JSON.stringify([path, limit])
  return async () => {
    const started = performance.now()
    let read = pendingReads.get(key)
    if (!read) {
      read = readTokenFile(path, limit, named, maxTokenBytes)
      pendingReads.set(key, read)
      const forget = () => pendingReads.get(key) === read && pendingReads.delete(key)
      read.then(forget, forget)
    }
    try {
      const token = await withTimeout(read, timeoutMs, named)
      publishToken({ event: 'fetched', source: 'tokenFile', background: false, durationMs: performance.now() - started })
      return token
    } catch (error) {
      publishToken({ event: 'failed', source: 'tokenFile', background: false, durationMs: performance.now() - started, code: error.oidcCode })
      throw error
    }
  }
}

/**
 * Rejects after `ms` unless `promise` settles first, calling `onTimeout(error)` then; the timer never
 * keeps the process alive.
 */
function withTimeout(promise, ms, sourceKind, onTimeout) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const error = pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `${sourceKind} did not answer within ${ms} ms (tokenTimeoutMs)`)
      onTimeout?.(error)
      reject(error)
    }, ms)
    timer.unref?.()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// Contexts whose tokens are kept at once; past this the oldest is dropped (a plugin usually serves one).
const MAX_CACHED_CONTEXTS = 64
// getToken calls per context that ignored their abort and are still pending, beside the current one
const MAX_IGNORED_CALLS = 2
// A cached token in its last moments may expire on the way and be refused on arrival: it is not
// sent in its last 2 s (or last tenth of its life, if shorter); such a login waits for a fresh one
const IN_FLIGHT_MARGIN_MS = 2000

/** Milliseconds before the next background refresh after `failures` failed ones: doubling, capped, jittered. */
function backoffMs(failures, baseMs, maxMs) {
  return Math.min(maxMs, baseMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2)
}

/** The facts the token events carry: who and when, never the token. */
function tokenFacts(facts) {
  const seconds = (ms) => (typeof ms === 'number' ? Math.floor(ms / 1000) : undefined)
  return { iss: facts.iss, sub: facts.sub, iat: seconds(facts.issuedAt), exp: seconds(facts.expiresAt) }
}

/**
 * Calls `getToken` through a cache per connection context (user, host, port, database, socket).
 * A login gets the cached token at once while it is valid (`accept` says until when); inside the last
 * `refreshBeforeExpirySeconds` it also starts one background refresh, so only the first login, and
 * logins after the token really expired, wait for the provider. A failed refresh keeps the valid token
 * and is retried, with backoff, by a later login: no timer runs between logins. Concurrent callers
 * share one in-flight call; failures and tokens `accept` refuses are never cached.
 */
function cachedTokenSource(getToken, options) {
  const { refreshBeforeExpirySeconds, tokenTimeoutMs, retryBaseMs = 1000, retryMaxMs = 30_000 } = options
  const sourceKind = getToken.sourceKind ?? options.sourceKind ?? 'getToken'
  const { accept } = options
  const refreshWindowMs = refreshBeforeExpirySeconds * 1000
  const entries = new Map()

  // The getToken call running for an entry, kept until it settles: a login that timed out aborts its
  // context.signal, and later logins wait for that call rather than pile up new ones beside it. A
  // call still pending a whole tokenTimeoutMs after its abort ignores its signal: the next login
  // starts a fresh one so that a provider that hung once cannot block every login after it, with
  // at most MAX_IGNORED_CALLS of those left pending per context.
  const callFor = (entry) => {
    const current = entry.call
    if (current) {
      const ignoredAbort = current.abortedAt !== undefined && Date.now() - current.abortedAt >= tokenTimeoutMs
      if (!ignoredAbort || entry.ignoredCalls >= MAX_IGNORED_CALLS) return current
      entry.ignoredCalls++
      const settled = () => entry.ignoredCalls--
      current.promise.then(settled, settled)
    }
    const controller = new AbortController()
    const context = Object.freeze({ ...entry.context, signal: controller.signal })
    const call = { controller, abortedAt: undefined, promise: new Promise((resolve) => resolve(getToken(context))) }
    const done = () => {
      if (entry.call === call) entry.call = null
    }
    call.promise.then(done, done)
    entry.call = call
    return call
  }

  const abort = (call, error) => {
    call.abortedAt ??= Date.now()
    call.controller.abort(error)
  }

  const fetchOnce = async (entry) => {
    const call = callFor(entry)
    let token
    try {
      token = await withTimeout(call.promise, tokenTimeoutMs, sourceKind, (error) => abort(call, error))
    } catch (err) {
      throw err?.oidcCode ? err : pluginError('ERR_OIDC_TOKEN_SOURCE', `${sourceKind} failed (see error.cause)`, err)
    }
    return { token, facts: accept(token) } // accept throws for a token the plugin would not send now
  }

  // The shared flight holds only the entry (its own copy of the context): never a login's objects,
  // so a login that is given up on can be collected while the provider is still answering.
  const startFetch = (entry, background) => {
    const started = performance.now()
    const flight = fetchOnce(entry).then(
      ({ token, facts }) => {
        entry.inFlight = null
        entry.failures = 0
        entry.retryAt = 0
        const { expiresAt } = facts
        const margin = Math.min(IN_FLIGHT_MARGIN_MS, Math.max(0, expiresAt - Date.now()) / 10)
        entry.cached =
          typeof expiresAt === 'number' ? { token, expiresAt, refreshAt: expiresAt - refreshWindowMs, sendUntil: expiresAt - margin } : null
        const event = background ? 'refreshed' : 'fetched'
        publishToken({ event, source: sourceKind, background, durationMs: performance.now() - started, ...tokenFacts(facts) })
        return token
      },
      (err) => {
        entry.inFlight = null
        if (background) entry.retryAt = Date.now() + backoffMs(++entry.failures, retryBaseMs, retryMaxMs)
        publishToken({ event: 'failed', source: sourceKind, background, durationMs: performance.now() - started, code: err.oidcCode })
        throw err
      },
    )
    // a background refresh may have no waiter: its failure is recorded above, never an unhandled rejection
    flight.catch(() => {})
    entry.inFlight = flight
    return flight
  }

  const keyOf = ({ user, host, port, database, socketPath }) => JSON.stringify([user, host, port, database, socketPath])

  const source = (context) => {
    const { user, host, port, database, socketPath } = context
    const key = keyOf(context)
    let entry = entries.get(key)
    if (!entry) {
      if (entries.size >= MAX_CACHED_CONTEXTS) entries.delete(entries.keys().next().value)
      const own = Object.freeze({ user, host, port, database, socketPath })
      entry = { context: own, cached: null, inFlight: null, call: null, ignoredCalls: 0, failures: 0, retryAt: 0 }
      entries.set(key, entry)
    }
    const now = Date.now()
    const cached = entry.cached
    if (cached && now < cached.sendUntil) {
      if (now >= cached.refreshAt && !entry.inFlight && now >= entry.retryAt) startFetch(entry, true)
      return cached.token
    }
    entry.cached = null
    return entry.inFlight ?? startFetch(entry, false)
  }

  /**
   * The server refused a login with this cached token (revoked, wrong audience, rotated keys): the
   * next login fetches a new one instead of failing until `exp`. Once per token, so a provider that
   * hands out the same token again is not asked at every login.
   */
  source.forget = (context, token) => {
    const entry = entries.get(keyOf(context))
    if (!entry || entry.cached?.token !== token || entry.forgotten === token) return
    entry.forgotten = token
    entry.cached = null
  }
  return source
}

module.exports = { fileTokenSource, cachedTokenSource }
