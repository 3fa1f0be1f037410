'use strict'

// Node's fetch, with a deadline and a bounded body, for the HTTP token sources. Errors name the
// endpoint's origin and the status, never a header, the body or the query (which may hold an audience).

const { pluginError } = require('../errors.js')
const { isLoopbackHost } = require('../loopback.js')
const { MAX_TIMEOUT_MS } = require('../options.js')

const DEFAULT_TIMEOUT_MS = 10_000
// A token endpoint's answer: a JWT and a little JSON around it. Anything bigger is not read.
const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20

/** Reads a response body, refusing (and cancelling) one larger than `maxBytes`. */
async function readBounded(response, maxBytes, what) {
  const declared = Number(response.headers.get('content-length'))
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw pluginError('ERR_OIDC_TOKEN_TOO_LARGE', `${what} answered ${declared} bytes, over the limit of ${maxBytes}`)
  }
  const chunks = []
  let length = 0
  if (response.body) {
    for await (const chunk of response.body) {
      length += chunk.length
      if (length > maxBytes) {
        // leaving the loop early cancels the stream and so the connection
        throw pluginError('ERR_OIDC_TOKEN_TOO_LARGE', `${what} answered more than ${maxBytes} bytes`)
      }
      chunks.push(chunk)
    }
  }
  return Buffer.concat(chunks, length)
}

/**
 * The rule for every URL a source sends a secret to (a client secret, a signed assertion, a runner's
 * request token): https, or plain http to a loopback address only (127.0.0.0/8, [::1], localhost).
 * Checked before anything connects; throws `code` otherwise.
 */
function requireSecureUrl(url, what, code = 'ERR_OIDC_INSECURE_TRANSPORT') {
  const { protocol, hostname } = url instanceof URL ? url : new URL(url)
  if (protocol === 'https:' || (protocol === 'http:' && isLoopbackHost(hostname))) return
  throw pluginError(code, `${what} must be an https URL (plain http only to 127.0.0.0/8, [::1] or localhost), not ${protocol}//${hostname}`)
}

/** What a source rejects with once `context.signal` aborted: the plugin's own timeout error, or ours. */
function abortedError(signal, what) {
  if (signal.reason?.oidcCode) return signal.reason
  return pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `${what}: the call was cancelled (context.signal aborted)`)
}

/** Maps fetch's failures (abort, refused connection, DNS) to our codes, without the request's details. */
function requestError(err, what, timeoutMs, callerSignal) {
  if (err?.oidcCode) return err
  if (callerSignal?.aborted) return abortedError(callerSignal, what)
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return pluginError('ERR_OIDC_TOKEN_SOURCE_TIMEOUT', `${what} did not answer within ${timeoutMs} ms`)
  }
  const reason = err?.cause?.code ?? err?.code ?? err?.name ?? 'error'
  return pluginError('ERR_OIDC_TOKEN_SOURCE', `${what} could not be reached (${reason})`)
}

/**
 * One request: `{ status, headers, body }` with the whole body as a Buffer, or an ERR_OIDC_* error.
 * Redirects are not followed: no token endpoint needs one, and a redirect must not carry a secret header.
 */
async function request(url, { method = 'GET', headers, body, timeoutMs = DEFAULT_TIMEOUT_MS, maxBytes = DEFAULT_MAX_RESPONSE_BYTES, what, signal }) {
  try {
    const response = await fetch(url, { method, headers, body, signal: withDeadline(signal, timeoutMs), redirect: 'manual' })
    return { status: response.status, headers: response.headers, body: await readBounded(response, maxBytes, what) }
  } catch (err) {
    throw requestError(err, what, timeoutMs, signal)
  }
}

/** A signal that aborts at `timeoutMs` or with the caller's `signal`, whichever comes first. */
function withDeadline(signal, timeoutMs) {
  const deadline = AbortSignal.timeout(timeoutMs)
  return signal ? AbortSignal.any([signal, deadline]) : deadline
}

/** The non-2xx answer as an error: the status only, since a body may echo what was sent. */
function statusError(status, what, hint = '') {
  return pluginError('ERR_OIDC_TOKEN_SOURCE', `${what} answered HTTP ${status}${hint ? `: ${hint}` : ''}`)
}

// The options every HTTP source takes, for lib/options.js
const HTTP_OPTIONS = {
  timeoutMs: { type: 'number', min: 1, max: MAX_TIMEOUT_MS, default: DEFAULT_TIMEOUT_MS },
  maxResponseBytes: { type: 'number', integer: true, min: 1, default: DEFAULT_MAX_RESPONSE_BYTES },
}

module.exports = {
  request,
  readBounded,
  requestError,
  statusError,
  requireSecureUrl,
  abortedError,
  HTTP_OPTIONS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
}
