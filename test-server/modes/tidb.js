'use strict'

// TiDB, `tidb_auth_token` through mysql_clear_password (open source): pingcap/tidb
// pkg/privilege/privileges/privileges.go (ConnectionVerification, checkAuthTokenClaims),
// pkg/privilege/privileges/tidb_auth_token.go (JWKS, checkSigWithRetry), pkg/server/conn.go.
// docs/protocol.md#tidb lists the checks with links.

const { decodeToken, signatureValid, nowSeconds, numericClaim } = require('../jwt-checks')
const { boundProvider, refuseOptions } = require('./accounts')
const { mysqlAccessDenied } = require('./wire')

const TOKEN_LIFE_SECONDS = 15 * 60 // privileges.go defaultTokenLife

module.exports = {
  name: 'tidb',
  serverVersion: '8.0.11-TiDB-v8.5.0-oidc-embedded',
  defaultAuthPlugin: 'mysql_native_password',
  clientPlugin: 'mysql_clear_password',
  // Not enforced by the server (its docs advise TLS); requireSecureTransport: true emulates require_secure_transport.
  secureTransport: 'optional',
  switchData: (scramble) => Buffer.concat([scramble, Buffer.from([0])]),
  changeUser: 'switch',
  keyDiscovery: null,
  keySource: 'TiDB reads its key set from a file, auth-token-jwks (give jwks)',
  // ConnectionVerification: authentication[:len(authentication)-1] — the last byte goes, NUL or not.
  readToken(payload) {
    if (payload.length === 0) throw Object.assign(new Error('empty authentication'), { code: 'ERR_OIDC_RESPONSE_MALFORMED' })
    return { capability: null, tokenBytes: payload.subarray(0, payload.length - 1) }
  },
  accessDenied: mysqlAccessDenied,

  // CREATE USER alice IDENTIFIED WITH 'tidb_auth_token' REQUIRE TOKEN_ISSUER '<iss>' ATTRIBUTE '{"email": ".."}'
  // identityProvider plays TOKEN_ISSUER (default ""), email the attribute (default ""); the key set is global.
  account(user, options, providers) {
    refuseOptions(options, user, this.name, ['principal'], "TiDB compares sub with the account name")
    const issuer = options.identityProvider !== undefined ? boundProvider(providers, options, user, this.name).issuer : ''
    return { tokenIssuer: issuer, email: options.email !== undefined ? options.email : '', keys: providers.flatMap((p) => p.jwks.keys) }
  },

  async check(token, account, { user }) {
    const decoded = decodeToken(token)
    if (!decoded) return 'Invalid JWT'
    const { header, claims } = decoded
    // jws.Verify(token, jws.WithKeySet(set)): jwx needs the kid, and the key's own alg must be the token's.
    const key = header.kid === undefined ? undefined : account.keys.find((k) => k.kid === header.kid)
    if (!key) return 'verify JWT failed: no key for the token kid'
    if (key.alg !== header.alg) return "verify JWT failed: the key's alg is not the token's"
    if (!(await signatureValid(token, key, header.alg))) return 'verify JWT failed: bad signature'
    // checkAuthTokenClaims, in its order.
    if (claims.sub === undefined) return "lack 'sub'"
    if (claims.sub !== user) return "Wrong 'sub'"
    if (claims.email === undefined) return "lack 'email'"
    if (claims.email !== account.email) return "Wrong 'email'"
    const now = nowSeconds()
    const iat = numericClaim(claims, 'iat')
    if (iat === undefined) return "lack 'iat'"
    if (now > iat + TOKEN_LIFE_SECONDS) return 'the token has been out of its life time'
    if (now < iat) return 'the token is issued at a future time'
    const exp = numericClaim(claims, 'exp')
    if (exp === undefined) return "lack 'exp'"
    if (now > exp) return 'the token has been expired'
    // `iss`, when present, must equal TOKEN_ISSUER — also when that is empty.
    if (claims.iss !== undefined && claims.iss !== account.tokenIssuer) return "Wrong 'iss'"
    if (claims.iss === undefined && account.tokenIssuer !== '') return "lack 'iss'"
    return null
  },
}
