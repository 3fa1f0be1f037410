'use strict'

// Google Cloud's metadata server (Compute Engine, GKE, Cloud Run, Cloud Functions) signs an ID token
// for the attached service account. GCE_METADATA_HOST (or GCE_METADATA_IP) points elsewhere, as in
// Google's own libraries (an emulator, a proxy).
const { pluginError } = require('../errors.js')
const { request, statusError, checkTimeout } = require('./http.js')

const DEFAULT_HOST = 'metadata.google.internal'
const IDENTITY_PATH = '/computeMetadata/v1/instance/service-accounts/default/identity'
const WHAT = 'the GCP metadata server'

function metadataOrigin() {
  const host = process.env.GCE_METADATA_IP || process.env.GCE_METADATA_HOST || DEFAULT_HOST
  return /^https?:\/\//.test(host) ? host : `http://${host}`
}

/** `getToken` for a Google Cloud workload: `fromGcpMetadata({ audience: 'my-database' })`. */
function fromGcpMetadata({ audience, timeoutMs, maxResponseBytes } = {}) {
  if (typeof audience !== 'string' || audience === '') {
    throw pluginError('ERR_OIDC_INVALID_ARGUMENT', 'fromGcpMetadata: audience must be a non-empty string (the `aud` the database expects)')
  }
  const timeout = checkTimeout(timeoutMs, 'fromGcpMetadata')
  const getToken = async () => {
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
      timeoutMs: timeout,
      maxBytes: maxResponseBytes,
      what: WHAT,
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
