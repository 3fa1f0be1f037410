'use strict'

// StarRocks 3.5+, `authentication_jwt` (open source): StarRocks/starrocks fe/fe-core/src/main/java/
// com/starrocks/authentication/ (JWTAuthenticationProvider.java, OpenIdConnectVerifier.java,
// JwkMgr.java) and com/starrocks/mysql/MysqlProto.java (negotiate, changeUser).
// docs/protocol.md#starrocks lists the checks with links.

const { decodeToken, signatureValid, nowSeconds, numericClaim, audiences } = require('../jwt-checks')
const { boundProvider, refuseOptions, allKeys } = require('./accounts')
const { OIDC_CLIENT_PLUGIN, readFramedToken } = require('./wire')

// RSASSAVerifier (nimbus-jose-jwt) takes the RSA signatures only.
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

// principal_field: a top-level claim, or an RFC 6901 JSON pointer when it starts with "/".
function principalOf(claims, field) {
  let value = claims[field]
  if (field.startsWith('/')) {
    value = claims
    for (const part of field.slice(1).split('/')) {
      const name = part.replace(/~1/g, '/').replace(/~0/g, '~')
      value = value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, name) ? value[name] : undefined
    }
  }
  return typeof value === 'string' ? value : null
}

module.exports = {
  name: 'starrocks',
  serverVersion: '8.0.33-starrocks-oidc-embedded',
  defaultAuthPlugin: 'mysql_native_password',
  clientPlugin: OIDC_CLIENT_PLUGIN,
  // No check of its own; ssl_force_secure_transport (requireSecureTransport: true) refuses at negotiate.
  secureTransport: 'optional',
  switchData: (scramble) => Buffer.concat([scramble, Buffer.from([0])]),
  // MysqlProto.changeUser never switches: the COM_CHANGE_USER packet must itself name the
  // account's client plugin and carry its answer (mysql2 names mysql_native_password).
  changeUser: 'packet-plugin-only',
  // JwkMgr.getJwkSet: the account's jwks_url is read again on every login (no cache), so a rotated
  // key works at once and a provider that is down refuses the login.
  keyDiscovery: 'per-login',
  // JWTAuthenticationProvider.readIdToken: capability byte read and ignored, lenenc string; the rest ignored.
  readToken: readFramedToken,
  // ErrorCode.ERR_AUTHENTICATION_FAIL has no host; recent versions send the verifier's reason instead.
  accessDenied: ({ user, passwordUsed, reason }) => reason || `Access denied for user '${user}' (using password: ${passwordUsed ? 'YES' : 'NO'})`,

  // IDENTIFIED WITH authentication_jwt AS '{"jwks_url":..,"principal_field":..,"required_issuer":..,"required_audience":..}'
  // identityProvider: that provider's keys (jwks_url) and its issuer as required_issuer; otherwise every key, no iss check.
  account(user, options, providers, serverOptions) {
    refuseOptions(options, user, this.name, ['principal', 'email'], 'StarRocks compares principal_field with the login name')
    const provider = options.identityProvider !== undefined ? boundProvider(providers, options, user, this.name) : null
    const audience = provider && provider.audience !== undefined ? provider.audience : serverOptions.audience
    return {
      keySources: provider ? [provider] : providers,
      requiredIssuer: provider ? [provider.issuer] : [],
      requiredAudience: audience === undefined ? [] : [].concat(audience),
      principalField: serverOptions.principalField || 'sub',
    }
  },

  // OpenIdConnectVerifier.verify, in its order.
  async check(token, account, { user }) {
    const decoded = decodeToken(token)
    if (!decoded) return 'Invalid serialized unsecured/JWS/JWE object'
    const { header, claims } = decoded
    let keys
    try {
      keys = await allKeys(account.keySources)
    } catch (err) {
      return `Failed to load the JWKS: ${err.message}` // the reason, in authLog and (StarRocks) the client's 1045
    }
    // verifyJWT: jwkSet.getKeyByKeyId(kid) — no kid, no key.
    const key = header.kid === undefined ? undefined : keys.find((k) => k.kid === header.kid)
    if (!key) return `Cannot find public key for kid: ${header.kid === undefined ? 'null' : 'the token kid'}`
    if (key.kty !== 'RSA') return 'the key for the token kid is not an RSA key (jwk.toRSAKey())'
    if (!RSA_ALGORITHMS.includes(header.alg)) return `Unsupported JWS algorithm ${String(header.alg)}`
    if (!(await signatureValid(token, key, header.alg))) return 'JWT with the token kid is invalid'
    const principal = principalOf(claims, account.principalField)
    if (principal === null) return `Can not get specified principal ${account.principalField}`
    // equalsIgnoreCase (Java's, per UTF-16 unit; toUpperCase/toLowerCase is close enough here)
    if (principal.toLowerCase() !== user.toLowerCase()) return `Login name ${user} is not matched to the token's ${account.principalField}`
    const exp = numericClaim(claims, 'exp')
    if (exp !== undefined && exp < nowSeconds()) return 'JWT expired'
    if (account.requiredIssuer.length && !account.requiredIssuer.includes(claims.iss)) return 'Issuer (iss) field is invalid'
    if (account.requiredAudience.length && !audiences(claims).some((a) => account.requiredAudience.includes(a))) {
      return 'Audience (aud) field is invalid'
    }
    return null
  },
}
