'use strict'

// The OAuth 2.0 client-credentials grant against any OpenID provider, found through discovery, with
// openid-client (an optional peer dependency, loaded at the first token).
const { AsyncLocalStorage } = require('node:async_hooks')

const { pluginError } = require('../errors.js')
const { readOptions } = require('../options.js')
const { readBounded, requestError, requireSecureUrl, abortedError, HTTP_OPTIONS } = require('./http.js')

const NAME = 'fromOAuthClientCredentials'
const WHAT = 'the OpenID provider'
const DESCRIPTION_CHARS = 200

const OPTIONS = {
  ...HTTP_OPTIONS,
  issuer: { type: 'string', required: true, check: checkIssuer },
  clientId: { type: 'string', required: true },
  clientSecret: { type: 'string' },
  // a CryptoKey, or { key, kid }
  privateKey: { type: 'object' },
  scope: { type: 'any', check: (value) => (typeof value === 'string' ? undefined : 'must be a string') },
  resource: { type: 'any', check: checkResource },
  use: { oneOf: ['access_token', 'id_token'], default: 'access_token' },
}

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `${NAME}: ${message}`)
}

function checkInstalled() {
  try {
    require.resolve('openid-client')
  } catch {
    throw pluginError('ERR_OIDC_MISSING_DEPENDENCY', `${NAME} needs the openid-client package (version 6): npm install openid-client`)
  }
}

/** The issuer: a URL, https or http on loopback only (a provider on this machine, for development). */
function checkIssuer(issuer) {
  let url
  try {
    url = new URL(issuer)
  } catch {
    return 'must be the provider URL, e.g. https://login.example.com/realms/app'
  }
  requireSecureUrl(url, `${NAME}: options.issuer`, 'ERR_OIDC_INVALID_ARGUMENT')
}

function checkResource(resource) {
  const values = [resource].flat()
  if (!values.every((value) => typeof value === 'string' && value !== '')) return 'must be a URI string or an array of them'
}

/** openid-client's failures without their causes (which hold the request and response). */
function grantError(err, timeoutMs) {
  if (err?.oidcCode) return err
  // openid-client wraps what our fetch threw (a body over the limit) as its cause
  if (err?.cause?.oidcCode) return err.cause
  if (err?.code === 'OAUTH_TIMEOUT' || err?.code === 'OAUTH_ABORT' || err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return requestError({ name: 'TimeoutError' }, WHAT, timeoutMs)
  }
  // an OAuth error answer, in the body or (a refused client) in a WWW-Authenticate challenge
  const oauth = typeof err?.error === 'string' ? err : Array.isArray(err?.cause) ? err.cause[0]?.parameters : undefined
  if (typeof oauth?.error === 'string') {
    const description = typeof oauth.error_description === 'string' ? `: ${oauth.error_description.slice(0, DESCRIPTION_CHARS)}` : ''
    const status = typeof err.status === 'number' ? `HTTP ${err.status}, ` : ''
    return pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ${WHAT} refused the client-credentials grant (${status}${oauth.error}${description})`)
  }
  // fetch's own failure (refused, reset, DNS), possibly wrapped
  const fetchFailure = [err, err?.cause].find((candidate) => candidate instanceof TypeError && candidate.cause)
  if (fetchFailure) return requestError(fetchFailure, WHAT, timeoutMs)
  const message = String(err?.message ?? err).slice(0, DESCRIPTION_CHARS)
  return pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ${err?.code ? `${err.code}: ` : ''}${message}`)
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function unlessAborted(promise, signal) {
  if (!signal) return promise
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal, NAME))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * `getToken` for a workload with its own OAuth client: `fromOAuthClientCredentials({ issuer, clientId,
 * clientSecret, scope })`. Sends the access token (a JWT, as providers issue for a resource) or, with
 * `use: 'id_token'`, the ID token when the provider returns one.
 */
function fromOAuthClientCredentials(options) {
  const config = readOptions(options, OPTIONS, `${NAME}: options`)
  const { issuer, clientId, clientSecret, privateKey, scope, use, timeoutMs, maxResponseBytes } = config
  if ((clientSecret === undefined) === (privateKey === undefined)) throw invalid('give clientSecret or privateKey (one of them)')
  const resources = config.resource === undefined ? [] : [config.resource].flat()
  const url = new URL(issuer)
  checkInstalled()

  // the calling getToken's context.signal, seen by the fetches openid-client makes for it
  const callSignal = new AsyncLocalStorage()
  const boundedFetch = async (target, init) => {
    // every endpoint, also those the discovery document names, gets the secret or the signed assertion
    requireSecureUrl(new URL(target), `${NAME}: ${WHAT}'s endpoint`)
    const signal = callSignal.getStore()
    // never followed, whatever openid-client asks: a redirect's target would escape the rule above
    const request = { ...init, redirect: 'manual' }
    if (signal) request.signal = init?.signal ? AbortSignal.any([init.signal, signal]) : signal
    const response = await fetch(target, request)
    const body = await readBounded(response, maxResponseBytes, WHAT)
    return new Response(body.length === 0 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
  let configuration = null // the discovered provider, kept; forgotten after a failure so the next call retries
  const discover = async (client) => {
    const authentication = clientSecret !== undefined ? client.ClientSecretBasic(clientSecret) : client.PrivateKeyJwt(privateKey)
    return client.discovery(url, clientId, undefined, authentication, {
      [client.customFetch]: boundedFetch,
      timeout: timeoutMs / 1000,
      // openid-client's own https rule; boundedFetch applies ours (http to loopback only) to every request
      execute: url.protocol === 'http:' ? [client.allowInsecureRequests] : [],
    })
  }

  const getToken = (context) => {
    const signal = context?.signal
    if (signal?.aborted) return Promise.reject(abortedError(signal, NAME))
    return callSignal.run(signal, () => grant(signal))
  }
  const grant = async (signal) => {
    let tokens
    try {
      const client = await import('openid-client')
      if (!configuration) {
        // shared by every call: outside any one call's signal (bounded by timeoutMs), so a call whose
        // signal aborts stops waiting for it without failing the others that wait too
        const discovery = callSignal.exit(() => discover(client))
        discovery.catch(() => configuration === discovery && (configuration = null))
        configuration = discovery
      }
      const provider = await unlessAborted(configuration, signal)
      const parameters = new URLSearchParams()
      if (scope !== undefined) parameters.set('scope', scope)
      for (const value of resources) parameters.append('resource', value)
      tokens = await client.clientCredentialsGrant(provider, parameters)
    } catch (err) {
      throw signal?.aborted ? abortedError(signal, NAME) : grantError(err, timeoutMs)
    }
    const token = tokens[use]
    if (typeof token !== 'string' || token === '') {
      throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ${WHAT} returned no ${use} for the client-credentials grant`)
    }
    if (token.split('.').length !== 3) {
      throw pluginError(
        'ERR_OIDC_TOKEN_SOURCE',
        `${NAME}: the ${use} is not a JWT: configure the provider to issue JWT access tokens for this client (often through a resource indicator, \`resource\`)`,
      )
    }
    return token
  }
  return Object.defineProperty(getToken, 'sourceKind', { value: 'oauth-client-credentials' })
}

module.exports = { fromOAuthClientCredentials }
