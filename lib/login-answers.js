'use strict'

// A token crosses into the native core once: AuthResponder checks it, frames it for the server's
// plugin and reads the claims the plugin acts on, in one call. What it returned is kept per token,
// so a cached getToken token (checked when it was fetched) or a static one (checked at set-up) is
// not checked again at every login; it is reused only while the token is still within its time and
// for the same plugin, else checked afresh, which also says why a token is refused.

const { authResponder } = require('./core.js')
const { PLUGIN_NAME } = require('./errors.js')
const { tidbFreshness } = require('./tidb.js')

// Tokens whose answers are kept at once (the token cache holds at most as many contexts).
const MAX_KEPT = 64

/**
 * `check(token, plugin?)` runs the rules (TiDB's too with `tidbRules`) and returns the facts the
 * token cache and its events use; `response(token, plugin)` is the login's response bytes.
 */
function loginAnswers(coreOptions, tidbRules) {
  const responder = authResponder(coreOptions)
  // strings only: a Buffer may be changed in place between two logins
  const kept = new Map()
  // the framing a token is checked in before a login says which one: TiDB's when its rules are on
  const firstPlugin = tidbRules ? 'mysql_clear_password' : PLUGIN_NAME

  const keep = (token, answer) => {
    const now = Date.now()
    for (const [other, known] of kept) if (!usable(known, now)) kept.delete(other)
    if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value)
    kept.set(token, answer)
  }

  const check = (token, plugin = firstPlugin) => {
    const { response, expiresAt, issuedAt, iss, sub, hasEmail } = responder[plugin](token)
    const usableUntil = tidbRules ? tidbFreshness({ expiresAt, issuedAt, hasEmail }) : expiresAt
    const answer = { plugin, response, expiresAt: usableUntil, issuedAt, iss, sub }
    if (typeof token === 'string') keep(token, answer)
    return answer
  }

  const response = (token, plugin) => {
    const known = typeof token === 'string' ? kept.get(token) : undefined
    const answer = known?.plugin === plugin && usable(known, Date.now()) ? known : check(token, plugin)
    // a copy: whatever the caller does with it, the kept one stays as it was
    return Buffer.from(answer.response)
  }

  return { check, response }
}

/** Within its time: the rules would pass it now as they did (only `exp` and TiDB's window run out). */
function usable(answer, now) {
  return answer.expiresAt === null || now < answer.expiresAt
}

module.exports = { loginAnswers }
