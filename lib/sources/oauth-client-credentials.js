'use strict'

// The OAuth 2.0 client-credentials grant against any OpenID provider, found through discovery, with
// openid-client (an optional peer dependency, loaded at the first token).
const { pluginError } = require('../errors.js')
const { readBounded, requestError, checkTimeout, DEFAULT_MAX_RESPONSE_BYTES } = require('./http.js')

const NAME = 'fromOAuthClientCredentials'
const WHAT = 'the OpenID provider'
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])
const DESCRIPTION_CHARS = 200

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

/** The issuer as a URL: https, or http on loopback only (a provider on this machine, for development). */
function issuerUrl(issuer) {
  let url
  try {
    url = new URL(issuer)
  } catch {
    throw invalid('issuer must be the provider URL, e.g. https://login.example.com/realms/app')
  }
  const loopback = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !loopback) throw invalid('issuer must be an https URL (plain http only on 127.0.0.1, [::1] or localhost)')
  return { url, loopback }
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

/**
 * `getToken` for a workload with its own OAuth client: `fromOAuthClientCredentials({ issuer, clientId,
 * clientSecret, scope })`. Sends the access token (a JWT, as providers issue for a resource) or, with
 * `use: 'id_token'`, the ID token when the provider returns one.
 */
function fromOAuthClientCredentials(options = {}) {
  const { issuer, clientId, clientSecret, privateKey, scope, resource, use = 'access_token', timeoutMs } = options
  const { maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES } = options
  const { url, loopback } = issuerUrl(issuer)
  if (typeof clientId !== 'string' || clientId === '') throw invalid('clientId must be a non-empty string')
  if ((clientSecret === undefined) === (privateKey === undefined)) throw invalid('give clientSecret or privateKey (one of them)')
  if (clientSecret !== undefined && (typeof clientSecret !== 'string' || clientSecret === '')) throw invalid('clientSecret must be a non-empty string')
  if (privateKey !== undefined && (privateKey === null || typeof privateKey !== 'object')) throw invalid('privateKey must be a CryptoKey or { key, kid }')
  if (scope !== undefined && typeof scope !== 'string') throw invalid('scope must be a string')
  const resources = resource === undefined ? [] : [resource].flat()
  if (!resources.every((value) => typeof value === 'string' && value !== '')) throw invalid('resource must be a URI string or an array of them')
  if (use !== 'access_token' && use !== 'id_token') throw invalid("use must be 'access_token' or 'id_token'")
  const timeout = checkTimeout(timeoutMs, NAME)
  checkInstalled()

  const boundedFetch = async (target, init) => {
    const response = await fetch(target, init)
    const body = await readBounded(response, maxResponseBytes, WHAT)
    return new Response(body.length === 0 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
  let configuration = null // the discovered provider, kept; forgotten after a failure so the next call retries
  const discover = async (client) => {
    const authentication = clientSecret !== undefined ? client.ClientSecretBasic(clientSecret) : client.PrivateKeyJwt(privateKey)
    return client.discovery(url, clientId, undefined, authentication, {
      [client.customFetch]: boundedFetch,
      timeout: timeout / 1000,
      execute: loopback ? [client.allowInsecureRequests] : [],
    })
  }

  const getToken = async () => {
    let tokens
    try {
      const client = await import('openid-client')
      configuration ??= discover(client)
      let config
      try {
        config = await configuration
      } catch (err) {
        configuration = null
        throw err
      }
      const parameters = new URLSearchParams()
      if (scope !== undefined) parameters.set('scope', scope)
      for (const value of resources) parameters.append('resource', value)
      tokens = await client.clientCredentialsGrant(config, parameters)
    } catch (err) {
      throw grantError(err, timeout)
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
