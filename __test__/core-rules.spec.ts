import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { SignJWT, generateKeyPair } from 'jose'

import {
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  clearPasswordAuthResponse,
} from '../main.js'

const MAIN = join(__dirname, '..', 'main.js')
const CANARY = 'CANARYSUBJECTxyz'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const jwt = (header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl') => `${b64(header)}.${b64(payload)}.${signature}`
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** Asserts the call throws `code` and that nothing the user sees quotes a piece of `token`. */
function assertRefused(t: any, call: () => unknown, code: string, token?: string) {
  const err = t.throws(call) as Error & { code: string }
  t.is(err.code, code)
  if (token) {
    const pieces = new Set<string>([CANARY])
    for (let i = 0; i + 12 <= token.length; i += 4) pieces.add(token.slice(i, i + 12))
    for (const text of [err.message, String(err.stack), inspect(err)]) {
      for (const piece of pieces) t.false(text.includes(piece), `error text contains a piece of the token: ${piece}`)
    }
  }
  return err
}

/** Runs `body` in a fresh node with `core` loaded: a crash there fails this test instead of ava. */
function runIsolated(body: string) {
  const script = `'use strict'\nconst core = require(${JSON.stringify(MAIN)})\n${body}`
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })
}

test('JavaScript that shrinks the caller bytes mid-call (a replaced Buffer.allocUnsafe, an options getter) cannot crash or corrupt a result', (t) => {
  const child = runIsolated(`
    const SIZE = 1 << 20
    const TOKEN = SIZE - 5
    const original = Buffer.allocUnsafe
    let shrink = () => {}
    Buffer.allocUnsafe = function (size) { shrink(); return original.call(Buffer, size) }
    function resizable(fill) {
      const memory = new ArrayBuffer(SIZE, { maxByteLength: 64 << 20 })
      const bytes = new Uint8Array(memory)
      fill(bytes)
      shrink = () => memory.resize(0)
      return bytes
    }
    const summary = (buffer) => ({ length: buffer.length, head: [...buffer.subarray(0, 5)], tail: [...buffer.subarray(-2)],
      body: buffer.subarray(5, -1).every((b) => b === 0x61) })
    const options = { validate: false, maxTokenBytes: 16777210 }
    const results = {}
    results.auth = summary(core.openidConnectAuthResponse(resizable((b) => b.fill(0x61)), options))
    results.clear = summary(core.clearPasswordAuthResponse(resizable((b) => b.fill(0x61)), options))
    const response = resizable((b) => { b.fill(0x61); b.set([7, 0xfd, TOKEN & 0xff, (TOKEN >> 8) & 0xff, TOKEN >> 16]) })
    const parsed = core.parseOpenidConnectAuthResponse(response)
    results.parse = { capability: parsed.capability, length: parsed.token.length, body: parsed.token.every((b) => b === 0x61) }
    // a getter runs before the token is read, so it sees (and can only shrink) the bytes before the copy
    const token = resizable((b) => b.fill(0x61))
    try {
      core.openidConnectAuthResponse(token, { get validate() { shrink(); return false } })
    } catch (err) { results.getter = err.code }
    process.stdout.write(JSON.stringify(results))
  `)
  t.is(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(JSON.parse(child.stdout), {
    auth: { length: 1 + 4 + (1 << 20), head: [1, 0xfd, 0x00, 0x00, 0x10], tail: [0x61, 0x61], body: true },
    clear: { length: (1 << 20) + 1, head: [0x61, 0x61, 0x61, 0x61, 0x61], tail: [0x61, 0x00], body: true },
    parse: { capability: 7, length: (1 << 20) - 5, body: true },
    getter: 'ERR_OIDC_TOKEN_EMPTY',
  })
})

test('validation and inspection agree: invalid UTF-8 in an unused claim is refused by both', (t) => {
  const header = b64({ alg: 'RS256' })
  const payload = Buffer.concat([Buffer.from(`{"sub":"${CANARY}","note":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
  const token = `${header}.${payload.toString('base64url')}.c2lnbmF0dXJl`
  const sent = assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_MALFORMED', token)
  t.regex(sent.message, /payload is not UTF-8/)
  const inspected = assertRefused(t, () => inspectIdToken(token), 'ERR_OIDC_TOKEN_MALFORMED', token)
  t.is(inspected.message, sent.message)
})

test('validation and inspection agree: nesting 300 deep in header or payload is refused by both, 32 deep is read', (t) => {
  // `levels` arrays around a number
  const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`
  const deepHeader = `${b64(`{"alg":"RS256","x":${deep(300)}}`)}.${b64({ sub: CANARY })}.c2lnbmF0dXJl`
  const deepPayload = `${b64({ alg: 'RS256' })}.${b64(`{"sub":"${CANARY}","x":${deep(300)}}`)}.c2lnbmF0dXJl`
  for (const [token, part] of [[deepHeader, 'header'], [deepPayload, 'payload']]) {
    const sent = assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_MALFORMED', token)
    t.is(sent.message, `authentication_openid_connect_client: the ID token's ${part} nests objects and arrays more than 32 deep [ERR_OIDC_TOKEN_MALFORMED]`)
    t.is(assertRefused(t, () => inspectIdToken(token), 'ERR_OIDC_TOKEN_MALFORMED', token).message, sent.message)
  }
  // the payload object is level 1, so 31 levels of arrays inside it are still a token, 32 are not
  const deepest = `${b64({ alg: 'RS256' })}.${b64(`{"x":${deep(31)}}`)}.c2lnbmF0dXJl`
  t.notThrows(() => openidConnectAuthResponse(deepest))
  t.is(JSON.stringify(inspectIdToken(deepest).claims), `{"x":${deep(31)}}`)
  const tooDeep = `${b64({ alg: 'RS256' })}.${b64(`{"x":${deep(32)}}`)}.c2lnbmF0dXJl`
  assertRefused(t, () => openidConnectAuthResponse(tooDeep), 'ERR_OIDC_TOKEN_MALFORMED')
  assertRefused(t, () => inspectIdToken(tooDeep), 'ERR_OIDC_TOKEN_MALFORMED')
})

test('duplicate keys (two exp, two alg, nested twins) are refused by both', (t) => {
  const later = nowSeconds() + 600
  const cases: Array<[string, RegExp]> = [
    [`${b64(`{"alg":"RS256","alg":"none"}`)}.${b64({ sub: CANARY })}.c2lnbmF0dXJl`, /header has "alg" twice/],
    [`${b64({ alg: 'RS256' })}.${b64(`{"sub":"${CANARY}","exp":1,"exp":${later}}`)}.c2lnbmF0dXJl`, /payload has "exp" twice/],
    [`${b64({ alg: 'RS256' })}.${b64(`{"sub":"${CANARY}","o":{"${CANARY}":1,"${CANARY}":2}}`)}.c2lnbmF0dXJl`, /payload has a key twice/],
  ]
  for (const [token, message] of cases) {
    t.regex(assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_MALFORMED', token).message, message)
    t.regex(assertRefused(t, () => inspectIdToken(token), 'ERR_OIDC_TOKEN_MALFORMED', token).message, message)
  }
})

test('a __proto__ key is an own property of header, claims and nested objects, never their prototype', (t) => {
  const token = `${b64('{"alg":"RS256","__proto__":{"kid":"forged"}}')}.${b64(
    '{"sub":"alice","__proto__":{"email":"x"},"address":{"__proto__":{"country":"forged"}},"list":[{"__proto__":{"a":1}}]}',
  )}.c2lnbmF0dXJl`
  const { header, claims } = inspectIdToken(token)
  for (const object of [header, claims, claims.address as object, (claims.list as object[])[0]]) {
    t.is(Object.getPrototypeOf(object), Object.prototype)
    t.true(Object.hasOwn(object, '__proto__'))
  }
  t.is(claims.email, undefined)
  t.is(header.kid, undefined)
  t.is((claims.address as any).country, undefined)
  t.deepEqual(Object.getOwnPropertyDescriptor(claims, '__proto__'), { value: { email: 'x' }, writable: true, enumerable: true, configurable: true })
  t.is(JSON.stringify(claims), '{"sub":"alice","__proto__":{"email":"x"},"address":{"__proto__":{"country":"forged"}},"list":[{"__proto__":{"a":1}}]}')
})

test('a setter on Object.prototype or Array.prototype never sees inspected claims', (t) => {
  const seen: unknown[] = []
  const trap = { set(value: unknown) { seen.push(value) }, configurable: true }
  let claims: Record<string, unknown>
  // only the call runs with the traps in place: assertions build arrays of their own
  Object.defineProperty(Object.prototype, 'sub', trap)
  Object.defineProperty(Array.prototype, '0', trap)
  try {
    claims = inspectIdToken(jwt({ alg: 'RS256' }, { sub: 'alice', roles: ['admin'] })).claims
  } finally {
    delete (Object.prototype as any).sub
    delete (Array.prototype as any)[0]
  }
  t.is(seen.length, 0)
  t.is(claims.sub, 'alice')
  t.deepEqual(claims.roles, ['admin'])
})

test('an unknown option key throws ERR_OIDC_INVALID_ARGUMENT naming it, in both encoders', (t) => {
  const token = jwt({ alg: 'RS256' }, { sub: CANARY, exp: nowSeconds() + 600 })
  for (const encode of [openidConnectAuthResponse, clearPasswordAuthResponse]) {
    for (const options of [{ capabilty: 1 }, { validate: true, maxTokenByte: 5 }, { capabilty: undefined }]) {
      const err = assertRefused(t, () => encode(token, options as any), 'ERR_OIDC_INVALID_ARGUMENT', token)
      t.regex(err.message, /unknown option "(capabilty|maxTokenByte)": the options are capability, maxTokenBytes, validate and clockSkewSeconds/)
    }
    t.regex(assertRefused(t, () => encode(token, [] as any), 'ERR_OIDC_INVALID_ARGUMENT', token).message, /options must be an object, got an array/)
    t.notThrows(() => encode(token, { capability: 1, maxTokenBytes: 10_000, validate: true, clockSkewSeconds: 5 }))
    t.notThrows(() => encode(token, { capability: undefined, validate: undefined }))
  }
})

test('options are own properties only: an inherited validate: false does not turn validation off', (t) => {
  const expired = jwt({ alg: 'RS256' }, { sub: CANARY, exp: nowSeconds() - 3600 })
  for (const encode of [openidConnectAuthResponse, clearPasswordAuthResponse]) {
    assertRefused(t, () => encode(expired, Object.create({ validate: false })), 'ERR_OIDC_TOKEN_EXPIRED', expired)
    const codes: unknown[] = []
    // only the calls run with Object.prototype polluted
    ;(Object.prototype as any).validate = false
    try {
      for (const options of [{}, undefined]) {
        try {
          encode(expired, options)
          codes.push('accepted')
        } catch (err) {
          codes.push((err as { code?: unknown }).code)
        }
      }
    } finally {
      delete (Object.prototype as any).validate
    }
    t.deepEqual(codes, ['ERR_OIDC_TOKEN_EXPIRED', 'ERR_OIDC_TOKEN_EXPIRED'])
    t.notThrows(() => encode(expired, { validate: false }))
  }
})

test('a pasted JSON token response is refused with a hint to pass its id_token field', async (t) => {
  const { privateKey } = await generateKeyPair('RS256')
  const idToken = await new SignJWT({ sub: CANARY }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('10m').sign(privateKey)
  for (const pasted of [JSON.stringify({ id_token: idToken, token_type: 'Bearer' }), `{ "access_token": "x", "id_token": "${idToken}" }\n`]) {
    for (const call of [() => openidConnectAuthResponse(pasted), () => inspectIdToken(pasted), () => clearPasswordAuthResponse(Buffer.from(pasted))]) {
      const err = assertRefused(t, call, 'ERR_OIDC_TOKEN_MALFORMED', idToken)
      t.is(err.message, 'authentication_openid_connect_client: the ID token looks like a JSON token response, not a token: pass its "id_token" field [ERR_OIDC_TOKEN_MALFORMED]')
    }
  }
})

test('an alg none token with an empty signature is called unsigned, not "signature is empty"', (t) => {
  const token = `${b64({ alg: 'none' })}.${b64({ sub: CANARY })}.`
  const err = assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_MALFORMED', token)
  t.regex(err.message, /unsigned \(alg "none"\)/)
  t.notRegex(err.message, /signature is empty/)
  // a signed alg with a missing signature is still described as such
  const cut = `${b64({ alg: 'RS256' })}.${b64({ sub: CANARY })}.`
  t.regex(assertRefused(t, () => openidConnectAuthResponse(cut), 'ERR_OIDC_TOKEN_MALFORMED', cut).message, /signature is empty/)
})

test('an iat in the future beyond clockSkewSeconds is refused: this clock is behind, sync it', (t) => {
  const issued = (ahead: number) => jwt({ alg: 'RS256' }, { sub: CANARY, iat: nowSeconds() + ahead, exp: nowSeconds() + 3600 })
  const ahead = issued(120)
  for (const encode of [openidConnectAuthResponse, clearPasswordAuthResponse]) {
    const err = assertRefused(t, () => encode(ahead), 'ERR_OIDC_TOKEN_NOT_YET_VALID', ahead)
    t.regex(err.message, /issued in the future/)
    t.regex(err.message, /this machine's clock is behind the identity provider's by about 1[12]\d s/)
    t.regex(err.message, /Percona Server refuses any token whose iat is in the future: sync this machine's clock \(NTP\)/)
  }
  t.notThrows(() => openidConnectAuthResponse(issued(10)))
  t.notThrows(() => openidConnectAuthResponse(ahead, { clockSkewSeconds: 300 }))
  assertRefused(t, () => openidConnectAuthResponse(issued(5), { clockSkewSeconds: 0 }), 'ERR_OIDC_TOKEN_NOT_YET_VALID')
  t.notThrows(() => openidConnectAuthResponse(issued(-60)))
  for (const iat of ['now', null, true, [1]]) {
    const token = jwt({ alg: 'RS256' }, { sub: CANARY, iat })
    t.regex(assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_MALFORMED', token).message, /"iat" is not a number/)
  }
  t.notThrows(() => openidConnectAuthResponse(issued(120), { validate: false }))
})
