// Every error the package throws is recognisable: an OidcError with oidcCode, from the direct
// functions as from the plugin, with the plugin and the code each named once.
import test from 'ava'
import { execFile } from 'node:child_process'
import { inspect } from 'node:util'

import {
  authPlugins,
  clearPasswordAuthResponse,
  inspectIdToken,
  isOidcError,
  OidcError,
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
} from '../main.js'

const once = (text: string, part: string) => text.split(part).length - 1

test('the direct functions throw OidcErrors with oidcCode, the plugin and the code named once', (t) => {
  const cases: Array<[() => unknown, string]> = [
    [() => openidConnectAuthResponse(''), 'ERR_OIDC_TOKEN_EMPTY'],
    [() => openidConnectAuthResponse('a.b.c', { capability: 300 }), 'ERR_OIDC_INVALID_ARGUMENT'],
    [() => clearPasswordAuthResponse('not a jwt'), 'ERR_OIDC_TOKEN_MALFORMED'],
    [() => parseOpenidConnectAuthResponse(Buffer.alloc(0)), 'ERR_OIDC_RESPONSE_MALFORMED'],
    [() => inspectIdToken(42 as any), 'ERR_OIDC_INVALID_ARGUMENT'],
    [() => (authPlugins as any)({ tokn: 'x' }), 'ERR_OIDC_INVALID_ARGUMENT'],
  ]
  for (const [call, code] of cases) {
    const err = t.throws(call) as any
    t.true(err instanceof OidcError, code)
    t.true(isOidcError(err))
    t.is(err.name, 'OidcError')
    t.is(err.code, code)
    t.is(err.oidcCode, code)
    t.is(once(err.message, 'authentication_openid_connect_client'), 1, err.message)
    t.is(once(err.message, code), 1, err.message)
    t.true(inspect(err).includes(code))
  }
})

test('isOidcError tells our errors from others, including a copy from another install of the package', (t) => {
  t.false(isOidcError(new Error('x')))
  t.false(isOidcError(Object.assign(new Error('x'), { oidcCode: 'ERR_OIDC_TOKEN_EMPTY' })))
  t.false(isOidcError(null))
  t.false(isOidcError('ERR_OIDC_TOKEN_EMPTY'))
  // another copy of the package has its own class; the shared symbol brand still recognises it
  const foreign = Object.defineProperty(new Error('x'), Symbol.for('mysql-openid-connect.OidcError'), { value: true })
  t.true(isOidcError(foreign))
})

test('no binary for this platform: loading the package throws an OidcError (ERR_OIDC_NO_BINARY) naming the platform', async (t) => {
  // napi-rs's loader takes this path instead of looking for a binary; a path that does not exist fails it
  const script = `
    try { require('./main.js'); console.log('null') } catch (err) {
      const { OidcError, isOidcError } = require('./lib/errors.js')
      console.log(JSON.stringify({ name: err.name, code: err.code, oidcCode: err.oidcCode, ours: err instanceof OidcError && isOidcError(err),
        message: err.message, cause: err.cause instanceof Error }))
    }`
  const env = { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '/nonexistent/mysql-openid-connect.node' }
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { cwd: process.cwd(), env }, (err, out) => (err ? reject(err) : resolve(out))),
  )
  const err = JSON.parse(stdout)
  t.like(err, { name: 'OidcError', code: 'ERR_OIDC_NO_BINARY', oidcCode: 'ERR_OIDC_NO_BINARY', ours: true, cause: true })
  t.is(once(err.message, 'authentication_openid_connect_client'), 1, err.message)
  t.is(once(err.message, 'ERR_OIDC_NO_BINARY'), 1, err.message)
  t.regex(err.message, /detected \S+ \(Node\.js v/)
})
