'use strict'

// GitHub Actions' OIDC token: the runner gives a job with `permissions: id-token: write` a request URL
// and a bearer token in its environment; the endpoint answers `{ "value": "<JWT>" }`.
const { pluginError } = require('../errors.js')
const { readOptions } = require('../options.js')
const { request, statusError, requireSecureUrl, HTTP_OPTIONS } = require('./http.js')

const NAME = 'fromGitHubActions'
const WHAT = 'the GitHub Actions OIDC endpoint'
const OPTIONS = { ...HTTP_OPTIONS, audience: { type: 'string' } }

/** `getToken` for a GitHub Actions job: `fromGitHubActions({ audience: 'my-database' })`. */
function fromGitHubActions(options) {
  const { audience, timeoutMs, maxResponseBytes } = readOptions(options, OPTIONS, `${NAME}: options`)
  const getToken = async (context) => {
    // read at each call: the variables are the job's, and only exist inside one
    const requestUrl = process.env.ACTIONS_ID_TOKEN_REQUEST_URL
    const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
    if (!requestUrl || !requestToken) {
      throw pluginError(
        'ERR_OIDC_TOKEN_SOURCE',
        `${NAME}: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: ` +
          'run inside a GitHub Actions job whose workflow grants `permissions: id-token: write`',
      )
    }
    let url
    try {
      url = new URL(requestUrl)
    } catch {
      throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${NAME}: ACTIONS_ID_TOKEN_REQUEST_URL is not a URL`)
    }
    // the request token is a bearer secret: never over plain http off this machine
    requireSecureUrl(url, `${NAME}: ACTIONS_ID_TOKEN_REQUEST_URL`)
    if (audience !== undefined) url.searchParams.set('audience', audience)
    const response = await request(url, {
      headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' },
      timeoutMs,
      maxBytes: maxResponseBytes,
      what: WHAT,
      signal: context?.signal,
    })
    if (response.status !== 200) {
      throw statusError(response.status, WHAT, response.status === 403 ? 'check `permissions: id-token: write`' : '')
    }
    let value
    try {
      value = JSON.parse(response.body.toString('utf8')).value
    } catch {}
    if (typeof value !== 'string' || value === '') {
      throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${WHAT} answered without a token (no string \`value\` in its JSON)`)
    }
    return value
  }
  return Object.defineProperty(getToken, 'sourceKind', { value: 'github-actions' })
}

module.exports = { fromGitHubActions }
