'use strict'

// MySQL Enterprise 9.1+, server plugin `authentication_openid_connect` (closed source). What it
// checks comes from the reference manual ("OpenID Connect Pluggable Authentication"), MySQL Shell's
// docs and the client in mysql/mysql-server libmysql/authentication_openid_connect_client/;
// docs/protocol.md#mysql-enterprise lists them with links.

const { decodeToken, signatureValid, nowSeconds, numericClaim } = require('../jwt-checks')
const { boundProvider, refuseOptions } = require('./accounts')
const { OIDC_CLIENT_PLUGIN, mysqlAccessDenied, readFramedToken } = require('./wire')

module.exports = {
  name: 'mysql-enterprise',
  serverVersion: '9.1.0-oidc-embedded',
  defaultAuthPlugin: 'caching_sha2_password',
  clientPlugin: OIDC_CLIENT_PLUGIN,
  // TLS, a socket or shared memory is checked before the plugin reads: over plain TCP no switch, just 1045.
  secureTransport: 'always',
  // The server plugin reads first, so the AuthSwitchRequest carries no plugin data.
  switchData: () => Buffer.alloc(0),
  changeUser: 'switch', // COM_CHANGE_USER goes through the same plugin (a new auth switch)
  keyDiscovery: null,
  keySource: 'MySQL Enterprise takes one RSA key in authentication_openid_connect_configuration (give publicJwk)',
  readToken: readFramedToken,
  accessDenied: mysqlAccessDenied,

  // CREATE USER ... IDENTIFIED WITH 'authentication_openid_connect' AS
  //   '{"identity_provider":"<name>","user":"<sub>"}'; the provider is one name and ONE RSA key.
  account(user, options, providers) {
    refuseOptions(options, user, this.name, ['email'], 'MySQL Enterprise has no such account attribute')
    const provider = boundProvider(providers, options, user, this.name)
    const keys = provider.publicJwk ? [provider.publicJwk] : provider.jwks.keys
    if (keys.length !== 1 || keys[0].kty !== 'RSA') {
      throw new TypeError(`mysql-enterprise: provider ${provider.issuer} needs exactly one RSA key (publicJwk, or a JWKS of one RSA key)`)
    }
    return { issuer: provider.issuer, key: keys[0], principal: options.principal !== undefined ? options.principal : user }
  },

  async check(token, account) {
    const decoded = decodeToken(token)
    if (!decoded) return 'malformed token'
    const { header, claims } = decoded
    if (header.alg !== 'RS256') return `unsupported algorithm ${String(header.alg)} (RS256 only)`
    if (claims.iss !== account.issuer) return "iss is not the account's identity provider"
    // One key per provider: no key set, `kid` is neither needed nor looked at.
    if (!(await signatureValid(token, account.key, 'RS256'))) return 'bad signature'
    if (claims.sub !== account.principal) return 'sub does not match the account'
    const exp = numericClaim(claims, 'exp')
    if (exp === undefined) return 'missing exp'
    if (nowSeconds() >= exp) return 'token expired'
    return null
  },
}
