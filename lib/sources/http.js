'use strict'

// Node's fetch, with a deadline and a bounded body, for the HTTP token sources. Errors name the
// endpoint's origin and the status, never a header, the body or the query (which may hold an audience).
const { pluginError } = require('../errors.js')

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

/** Maps fetch's failures (abort, refused connection, DNS) to our codes, without the request's details. */
function requestError(err, what, timeoutMs) {
  if (err?.oidcCode) return err
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
async function request(url, { method = 'GET', headers, body, timeoutMs = DEFAULT_TIMEOUT_MS, maxBytes = DEFAULT_MAX_RESPONSE_BYTES, what }) {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetch(url, { method, headers, body, signal, redirect: 'manual' })
    return { status: response.status, headers: response.headers, body: await readBounded(response, maxBytes, what) }
  } catch (err) {
    throw requestError(err, what, timeoutMs)
  }
}

/** The non-2xx answer as an error: the status only, since a body may echo what was sent. */
function statusError(status, what, hint = '') {
  return pluginError('ERR_OIDC_TOKEN_SOURCE', `${what} answered HTTP ${status}${hint ? `: ${hint}` : ''}`)
}

/** Checks a timeout option given to a source. */
function checkTimeout(value, name) {
  if (value !== undefined && !(Number.isFinite(value) && value >= 1)) {
    throw pluginError('ERR_OIDC_INVALID_ARGUMENT', `${name}: timeoutMs must be a finite number, 1 or more`)
  }
  return value ?? DEFAULT_TIMEOUT_MS
}

module.exports = { request, readBounded, requestError, statusError, checkTimeout, DEFAULT_MAX_RESPONSE_BYTES }
