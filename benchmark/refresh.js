'use strict'

// Refresh that nobody waits for: a provider that takes 300 ms, tokens that live 8 s with a 5 s
// refresh window, a login every 200 ms for 20 s, through the plugin's token cache (the permissive
// `accept` here reads `exp` as the plugin's does). Only the first login may wait for the provider.

const { performance } = require('node:perf_hooks')
const { inspectIdToken } = require('../main.js')
const { cachedTokenSource } = require('../lib/token-sources.js')
const { record, fmtMs } = require('./report.js')

const PROVIDER_MS = 300
const TOKEN_LIFETIME_S = 8
const REFRESH_WINDOW_S = 5
const LOGIN_EVERY_MS = 200
const RUN_MS = 20_000

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An unsigned JWT-shaped token living `TOKEN_LIFETIME_S` (the cache never checks signatures). */
function mintToken(serial) {
  const now = Math.floor(Date.now() / 1000)
  return `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: 'bench', jti: serial, iat: now, exp: now + TOKEN_LIFETIME_S })}.c2ln`
}

function accept(token) {
  const { claims, expiresAt } = inspectIdToken(token)
  return { expiresAt: expiresAt?.getTime() ?? null, issuedAt: claims.iat * 1000, sub: claims.sub }
}

async function runRefresh() {
  console.log(
    '\n== Refresh: provider %d ms, tokens live %d s, refresh window %d s, a login every %d ms for %d s ==',
    PROVIDER_MS,
    TOKEN_LIFETIME_S,
    REFRESH_WINDOW_S,
    LOGIN_EVERY_MS,
    RUN_MS / 1000,
  )
  let providerCalls = 0
  const getToken = async () => {
    providerCalls++
    await sleep(PROVIDER_MS)
    return mintToken(providerCalls)
  }
  const source = cachedTokenSource(getToken, { refreshBeforeExpirySeconds: REFRESH_WINDOW_S, tokenTimeoutMs: 10_000, accept })
  const context = { user: 'bench', host: 'db.test', port: 3306 }
  const waits = []
  let waited = 0
  const started = performance.now()
  while (performance.now() - started < RUN_MS) {
    const before = performance.now()
    const answer = source(context)
    if (typeof answer?.then === 'function') {
      waited++
      await answer
    }
    waits.push(performance.now() - before)
    await sleep(LOGIN_EVERY_MS)
  }
  const first = waits[0]
  const slowestAfterFirst = Math.max(...waits.slice(1))
  console.log(`${waits.length} logins, ${waited} waited for the provider, ${providerCalls} provider calls`)
  console.log(`first login waited ${fmtMs(first)}; slowest login after the first ${fmtMs(slowestAfterFirst)}`)
  record('refresh', "first login's wait (provider 300 ms)", fmtMs(first), '', null)
  record('refresh', 'slowest login after the first', fmtMs(slowestAfterFirst), '< 5 ms', slowestAfterFirst < 5)
  record('refresh', 'logins that waited for the provider', String(waited), '= 1', waited === 1)
  record('refresh', `provider calls in ${RUN_MS / 1000} s`, String(providerCalls), '', null)
}

module.exports = { runRefresh }
