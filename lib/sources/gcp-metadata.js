'use strict'

// Google Cloud's metadata server (Compute Engine, GKE, Cloud Run, Cloud Functions) signs an ID token
// for the attached service account. GCE_METADATA_HOST (or GCE_METADATA_IP) points elsewhere, as in
// Google's own libraries (an emulator, a proxy).
// The one source exempt from the https rule (requireSecureUrl): the metadata server speaks plain http
// on a link-local address only, and is sent no secret.
const { pluginError } = require('../errors.js')
const { readOptions } = require('../options.js')
const { request, statusError, HTTP_OPTIONS } = require('./http.js')

const DEFAULT_HOST = 'metadata.google.internal'
const IDENTITY_PATH = '/computeMetadata/v1/instance/service-accounts/default/identity'
const WHAT = 'the GCP metadata server'
// audience: the `aud` the database expects
const OPTIONS = { ...HTTP_OPTIONS, audience: { type: 'string', required: true } }

function metadataOrigin() {
  const host = process.env.GCE_METADATA_IP || process.env.GCE_METADATA_HOST || DEFAULT_HOST
  return /^https?:\/\//.test(host) ? host : `http://${host}`
}

/** `getToken` for a Google Cloud workload: `fromGcpMetadata({ audience: 'my-database' })`. */
function fromGcpMetadata(options) {
  const { audience, timeoutMs, maxResponseBytes } = readOptions(options, OPTIONS, 'fromGcpMetadata: options')
  const getToken = async (context) => {
    let url
    try {
      url = new URL(IDENTITY_PATH, metadataOrigin())
    } catch {
      throw pluginError('ERR_OIDC_TOKEN_SOURCE', 'fromGcpMetadata: GCE_METADATA_HOST is not a host')
    }
    url.searchParams.set('audience', audience)
    // full: the token carries the google.compute_engine claims (project, zone, instance)
    url.searchParams.set('format', 'full')
    const response = await request(url, {
      headers: { 'metadata-flavor': 'Google' },
      timeoutMs,
      maxBytes: maxResponseBytes,
      what: WHAT,
      signal: context?.signal,
    })
    if (response.status !== 200) throw statusError(response.status, WHAT)
    // the real server says who it is; anything else on that address is not asked twice
    if (response.headers.get('metadata-flavor') !== 'Google') {
      throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${WHAT} answered without the Metadata-Flavor: Google header: not a metadata server`)
    }
    const token = response.body.toString('utf8').trim()
    if (token === '') throw pluginError('ERR_OIDC_TOKEN_SOURCE', `${WHAT} answered an empty token`)
    return token
  }
  return Object.defineProperty(getToken, 'sourceKind', { value: 'gcp-metadata' })
}

module.exports = { fromGcpMetadata }
