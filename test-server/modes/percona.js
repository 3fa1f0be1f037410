'use strict'

// Percona Server 8.4 / 9.x, `auth_openid_connect` (open source): percona/percona-server
// plugin/auth_openid_connect/src/ — plugin_openid_connect.cc (transport, account string, read),
// id_token.cc (read, get_verifier, verify, verify_audiences), config.cc / jwks.cc / jwk.cc (keys).
// docs/protocol.md#percona-server lists the checks with links.

const { decodeToken, signatureValid, nowSeconds, numericClaim, audiences } = require('../jwt-checks')
const { boundProvider, refuseOptions } = require('./accounts')
const { OIDC_CLIENT_PLUGIN, mysqlAccessDenied, readFramedToken } = require('./wire')

// id_token.cc get_verifier: anything else is "Unsupported algorithm" — no HS256 (the docs say otherwise).
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512']
const KEY_TYPES = ['RSA', 'EC'] // jwk.cc builds PEM keys from RSA and EC JWKs only

module.exports = {
  name: 'percona',
  serverVersion: '8.4.3-3-oidc-embedded',
  defaultAuthPlugin: 'caching_sha2_password',
  clientPlugin: OIDC_CLIENT_PLUGIN,
  // plugin_openid_connect.cc auth_oidc_authenticate: TLS, socket or memory, checked before token.read().
  secureTransport: 'always',
  // mysqld sends what the plugin wrote before its first read: nothing.
  switchData: () => Buffer.alloc(0),
  changeUser: 'switch',
  // config.cc Idp_config::load_keys: a provider's jwks-url is read when the configuration is loaded
  // (start-up, SET GLOBAL) or by the reload UDF, never per login: a key added later is unknown.
  keyDiscovery: 'startup',
  // id_token.cc Id_token::read: capability byte skipped (any value), lenenc length, token; extra bytes ignored.
  readToken: readFramedToken,
  accessDenied: mysqlAccessDenied,

  // IDENTIFIED WITH auth_openid_connect AS '{"identity_provider":"<name>","user":"<sub>"}'
  account(user, options, providers) {
    refuseOptions(options, user, this.name, ['email'], 'Percona has no such account attribute')
    const provider = boundProvider(providers, options, user, this.name)
    for (const key of provider.jwks.keys) {
      if (!KEY_TYPES.includes(key.kty)) throw new TypeError(`percona: provider ${provider.issuer} has a ${key.kty} key; only RSA and EC load`)
    }
    return {
      issuer: provider.issuer,
      keys: provider.jwks.keys,
      audiences: provider.audience === undefined ? undefined : [].concat(provider.audience),
      principal: options.principal !== undefined ? options.principal : user,
    }
  },

  async check(token, account) {
    const decoded = decodeToken(token)
    if (!decoded) return 'malformed token'
    const { header, claims } = decoded
    // Id_token::verify, in its order: issuer, key (by kid, or the only key), algorithm, signature, claims, audience.
    if (claims.iss !== account.issuer) return "iss is not the account's identity provider"
    let key
    if (header.kid !== undefined) {
      key = account.keys.find((k) => k.kid === header.kid)
      if (!key) return 'no key with the token kid'
    } else {
      if (account.keys.length !== 1) return 'no kid and the provider has more than one key'
      key = account.keys[0]
    }
    if (!ALGORITHMS.includes(header.alg)) return `unsupported algorithm ${String(header.alg)}`
    if (!(await signatureValid(token, key, header.alg))) return 'bad signature'
    if (claims.sub !== account.principal) return 'sub does not match the account'
    // jwt-cpp's verifier, leeway 0: each time claim only when present.
    const now = nowSeconds()
    const exp = numericClaim(claims, 'exp')
    if (exp !== undefined && now > exp) return 'token expired'
    const nbf = numericClaim(claims, 'nbf')
    if (nbf !== undefined && now < nbf) return 'token not yet valid (nbf)'
    const iat = numericClaim(claims, 'iat')
    if (iat !== undefined && now < iat) return 'token issued in the future (iat)'
    if (account.audiences) {
      if (claims.aud === undefined) return 'missing audience'
      if (!audiences(claims).some((a) => account.audiences.includes(a))) return 'audience not authorized'
    }
    return null
  },
}
