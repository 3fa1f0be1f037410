'use strict'

// TiDB's tidb_auth_token (pkg/privilege/privileges/privileges.go, checkAuthTokenClaims) refuses a
// token without `email`, `iat` or `exp`, and one issued more than 15 minutes ago; it answers only
// a bare access-denied, so the plugin checks these first and says which one failed.

const { pluginError } = require('./errors.js')

const TIDB_TOKEN_LIFE_SECONDS = 15 * 60

function missing(claim, why) {
  return pluginError('ERR_OIDC_TOKEN_CLAIM_MISSING', `the ID token has no ${JSON.stringify(claim)} claim: TiDB ${why}`)
}

/**
 * The last moment (ms) TiDB still takes this token: its `exp`, or 15 minutes after `iat` if
 * sooner. Throws when a claim TiDB requires is missing or the token is already too old. Takes
 * what AuthResponder read of the token (`hasEmail` null: `validate: false`, nothing was read).
 */
function tidbFreshness({ expiresAt, issuedAt, hasEmail }) {
  if (hasEmail === null) return expiresAt // validate: false, the token is not read as a JWT
  if (hasEmail !== true) {
    throw missing('email', "compares it with the account's email attribute and refuses a token without it: ask the identity provider for the email claim (scope `email`)")
  }
  if (issuedAt === null) throw missing('iat', 'refuses a token that does not say when it was issued')
  if (expiresAt === null) throw missing('exp', 'refuses a token that does not say when it expires')
  const until = issuedAt + TIDB_TOKEN_LIFE_SECONDS * 1000
  const now = Date.now()
  if (now > until) {
    throw pluginError(
      'ERR_OIDC_TOKEN_TOO_OLD',
      `the ID token was issued ${Math.round((now - issuedAt) / 1000)} s ago, and TiDB refuses tokens issued more than ` +
        `${TIDB_TOKEN_LIFE_SECONDS / 60} minutes ago (iat): get a fresh token; a token file or static token must be ` +
        'renewed at least that often (getToken is refetched in time)',
    )
  }
  return Math.min(expiresAt, until)
}

module.exports = { tidbFreshness, TIDB_TOKEN_LIFE_SECONDS }
