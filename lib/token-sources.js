'use strict'

const fs = require('node:fs/promises')

const { pluginError } = require('./errors.js')

// A token file may end with a line ending beyond the token limit; anything bigger is not read.
const LINE_ENDING_ALLOWANCE = 2

/** The token from a file, read afresh each time so a rotated file is picked up. */
function fileTokenSource(path, maxTokenBytes) {
  return async () => {
    let handle
    try {
      handle = await fs.open(path, 'r')
      const stat = await handle.stat()
      if (!stat.isFile()) {
        throw pluginError('ERR_OIDC_TOKEN_SOURCE', `tokenFile ${JSON.stringify(path)} is not a regular file`)
      }
      if (stat.size > maxTokenBytes + LINE_ENDING_ALLOWANCE) {
        throw pluginError(
          'ERR_OIDC_TOKEN_TOO_LARGE',
          `tokenFile ${JSON.stringify(path)} is ${stat.size} bytes, over the limit of ${maxTokenBytes} (maxTokenBytes)`,
        )
      }
      return await handle.readFile()
    } catch (err) {
      if (err.oidcCode) throw err
      throw pluginError(
        'ERR_OIDC_TOKEN_SOURCE',
        `cannot read tokenFile ${JSON.stringify(path)} (${err.code || 'error'}): check the path and its permissions`,
      )
    } finally {
      await handle?.close()
    }
  }
}

/** Rejects after `ms` unless `promise` settles first; the timer never keeps the process alive. */
function withTimeout(promise, ms) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `getToken did not answer within ${ms} ms (tokenTimeoutMs)`),
        ),
      ms,
    )
    timer.unref?.()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// Contexts whose tokens are kept at once; past this the oldest is dropped (a plugin usually serves one).
const MAX_CACHED_CONTEXTS = 64

/**
 * Calls `getToken` through a cache per connection context (user, host, port, database, socket): a
 * token is reused until `refreshBeforeExpirySeconds` before its `exp`; concurrent callers for one
 * context share one in-flight call; failures are not cached.
 */
function cachedTokenSource(getToken, { refreshBeforeExpirySeconds, tokenTimeoutMs, accept }) {
  const entries = new Map()
  const fetchToken = async (key, context) => {
    let token
    try {
      token = await getToken(context)
    } catch (err) {
      throw err?.oidcCode ? err : pluginError('ERR_OIDC_TOKEN_SOURCE', 'getToken failed (see error.cause)', err)
    }
    // a token the plugin would refuse is never cached: the next login asks the provider again
    const { expiresAt } = accept(token)
    const entry = entries.get(key)
    if (entry) entry.cached = expiresAt === null ? null : { token, refreshAt: expiresAt - refreshBeforeExpirySeconds * 1000 }
    return token
  }
  return (context) => {
    const { user, host, port, database, socketPath } = context
    const key = JSON.stringify([user, host, port, database, socketPath])
    let entry = entries.get(key)
    if (!entry) {
      if (entries.size >= MAX_CACHED_CONTEXTS) entries.delete(entries.keys().next().value)
      entry = { cached: null, inFlight: null }
      entries.set(key, entry)
    }
    if (entry.cached && Date.now() < entry.cached.refreshAt) return entry.cached.token
    if (!entry.inFlight) {
      entry.inFlight = withTimeout(fetchToken(key, context), tokenTimeoutMs).finally(() => {
        entry.inFlight = null
      })
    }
    return entry.inFlight
  }
}

module.exports = { fileTokenSource, cachedTokenSource }
