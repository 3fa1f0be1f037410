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
  oidcCodeOf,
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

test('oidcCodeOf finds our code on our errors and on the copies mysql2/promise made before 3.22.2', (t) => {
  const ours = t.throws(() => openidConnectAuthResponse('')) as any
  t.is(oidcCodeOf(ours), 'ERR_OIDC_TOKEN_EMPTY')
  // what mysql2/promise 3.22.1 rejected with: a fresh Error given the message, code, errno and sqlState
  const copy = Object.assign(new Error(), { message: ours.message, code: 'AUTH_SWITCH_PLUGIN_ERROR', errno: undefined, sqlState: undefined })
  t.is(oidcCodeOf(copy), 'ERR_OIDC_TOKEN_EMPTY')
  // a plugin that threw at once keeps its own code through mysql2, and so in the copy
  t.is(oidcCodeOf(Object.assign(new Error(), { message: ours.message, code: 'ERR_OIDC_TOKEN_EMPTY' })), 'ERR_OIDC_TOKEN_EMPTY')
  // mysql2 rewrote `code`, kept our error: oidcCode is read
  t.is(oidcCodeOf(Object.assign(new Error('x'), { oidcCode: 'ERR_OIDC_TOKEN_SOURCE', code: 'AUTH_SWITCH_PLUGIN_ERROR' })), 'ERR_OIDC_TOKEN_SOURCE')
})

test('oidcCodeOf says nothing for errors we did not cause, a server passing off its message as ours among them', (t) => {
  // a server's error packet carries an errno: its text is the server's, whatever it says
  const forged = Object.assign(new Error('authentication_openid_connect_client: fine [ERR_OIDC_INSECURE_TRANSPORT]'), {
    errno: 1045,
    code: 'ER_ACCESS_DENIED_ERROR',
    sqlState: '28000',
  })
  t.is(oidcCodeOf(forged), undefined)
  t.is(oidcCodeOf(new Error('Connection lost: The server closed the connection.')), undefined)
  t.is(oidcCodeOf(Object.assign(new Error('x'), { code: 'ERR_OIDC_TOKEN_EMPTY' })), undefined, 'a bare code is anybody\'s')
  t.is(oidcCodeOf(new Error('no code [ERR_OIDC_TOKEN_EMPTY]')), undefined, 'our messages start with the plugin name')
  // mysql2's Error for an ERR packet between commands: the server's text, its numeric code, no errno
  const between = Object.assign(new Error('authentication_openid_connect_client: fine [ERR_OIDC_TOKEN_EXPIRED]'), { code: 1045, fatal: true })
  t.is(oidcCodeOf(between), undefined, 'our text with a code that is not ours nor the plugin failure\'s')
  const otherCode = Object.assign(new Error('authentication_openid_connect_client: fine [ERR_OIDC_TOKEN_EXPIRED]'), { code: 'ERR_OIDC_TOKEN_EMPTY' })
  t.is(oidcCodeOf(otherCode), undefined, 'a code that disagrees with the message')
  for (const value of [undefined, null, 'ERR_OIDC_TOKEN_EMPTY', 42, {}]) t.is(oidcCodeOf(value), undefined)
  // an inherited oidcCode is not the error's own
  const polluted = Object.create({ oidcCode: 'ERR_OIDC_TOKEN_EMPTY' })
  t.is(oidcCodeOf(polluted), undefined)
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
