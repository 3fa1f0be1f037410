import test from 'ava'
import { inspect } from 'node:util'
import { SignJWT, generateKeyPair } from 'jose'

import {
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
  clearPasswordAuthResponse,
} from '../main.js'

const CANARY = 'CANARYSUBJECTxyz'

async function signedToken(alg: 'RS256' | 'ES256', claims: Record<string, unknown> = {}, expiresIn: string | number = '10m') {
  const { privateKey } = await generateKeyPair(alg)
  return new SignJWT({ sub: CANARY, ...claims })
    .setProtectedHeader({ alg, kid: 'test-key' })
    .setIssuer('https://idp.example.test')
    .setAudience('mysql')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(privateKey)
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const unsigned = (header: unknown, payload: unknown) => `${b64(header)}.${b64(payload)}.c2lnbmF0dXJl`
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** Asserts the call throws `code` and that nothing the user sees quotes a piece of `token`. */
function assertRefused(t: any, call: () => unknown, code: string, token?: string) {
  const err = t.throws(call) as Error & { code: string }
  t.is(err.code, code)
  t.true(err instanceof Error)
  if (token) assertNoPieceOf(t, token, [err.message, String(err.stack), inspect(err)])
  return err
}

function assertNoPieceOf(t: any, token: string, texts: string[]) {
  const pieces = new Set<string>([CANARY, ...token.split('.').filter((p) => p.length >= 12)])
  for (let i = 0; i + 12 <= token.length; i += 4) pieces.add(token.slice(i, i + 12))
  for (const text of texts) for (const piece of pieces) t.false(text.includes(piece), `error text contains a piece of the token: ${piece}`)
}

for (const alg of ['RS256', 'ES256'] as const) {
  test(`a ${alg} token signed by jose round-trips byte-exactly`, async (t) => {
    const token = await signedToken(alg)
    const response = openidConnectAuthResponse(token)
    t.true(Buffer.isBuffer(response))
    const header = token.length <= 250 ? Buffer.from([token.length]) : Buffer.from([0xfc, token.length & 0xff, token.length >> 8])
    t.deepEqual(response, Buffer.concat([Buffer.from([1]), header, Buffer.from(token)]))
    const parsed = parseOpenidConnectAuthResponse(response)
    t.is(parsed.capability, 1)
    t.is(parsed.token.toString(), token)
  })
}

test('the worked example of docs/protocol.md#the-answer-packet', (t) => {
  const expected = Buffer.from('010b6161612e6262622e636363', 'hex')
  t.deepEqual(openidConnectAuthResponse('aaa.bbb.ccc', { validate: false }), expected)
})

test('length header in its 1-, 3- and 4-byte forms', (t) => {
  const sizes: Array<[number, number[]]> = [
    [250, [0xfa]],
    [251, [0xfc, 0xfb, 0x00]],
    [65_535, [0xfc, 0xff, 0xff]],
    [65_536, [0xfd, 0x00, 0x00, 0x01]],
  ]
  for (const [size, header] of sizes) {
    const response = openidConnectAuthResponse('a'.repeat(size), { validate: false, maxTokenBytes: 70_000 })
    t.deepEqual([...response.subarray(1, 1 + header.length)], header, `size ${size}`)
    t.is(response.length, 1 + header.length + size)
    t.is(parseOpenidConnectAuthResponse(response).token.length, size)
  }
})

test('token as string, Buffer or Uint8Array gives the same bytes', async (t) => {
  const token = await signedToken('RS256')
  const fromString = openidConnectAuthResponse(token)
  t.deepEqual(openidConnectAuthResponse(Buffer.from(token)), fromString)
  t.deepEqual(openidConnectAuthResponse(new TextEncoder().encode(token)), fromString)
})

test('surrounding whitespace such as a trailing newline is removed', async (t) => {
  const token = await signedToken('ES256')
  t.deepEqual(openidConnectAuthResponse(`  ${token}\r\n`), openidConnectAuthResponse(token))
})

test('capability byte: default 1, any integer 0-255', (t) => {
  t.is(openidConnectAuthResponse('a', { validate: false })[0], 1)
  t.is(openidConnectAuthResponse('a', { validate: false, capability: 0 })[0], 0)
  t.is(openidConnectAuthResponse('a', { validate: false, capability: 255 })[0], 255)
  for (const capability of [-1, 256, 1.5, Number.NaN, '1', null]) {
    assertRefused(t, () => openidConnectAuthResponse('a', { validate: false, capability } as any), 'ERR_OIDC_INVALID_ARGUMENT')
  }
})

test('every token rule has its code, and no message quotes the token', async (t) => {
  const good = await signedToken('RS256')
  const [h, p, s] = good.split('.')
  const expired = await signedToken('RS256', {}, nowSeconds() - 3600)
  const err = assertRefused(t, () => openidConnectAuthResponse(expired), 'ERR_OIDC_TOKEN_EXPIRED', expired)
  t.regex(err.message, /expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/)
  const notYet = unsigned({ alg: 'RS256' }, { sub: CANARY, nbf: nowSeconds() + 3600 })
  assertRefused(t, () => openidConnectAuthResponse(notYet), 'ERR_OIDC_TOKEN_NOT_YET_VALID', notYet)
  const cases: Array<[string, string]> = [
    ['', 'ERR_OIDC_TOKEN_EMPTY'],
    [' \n', 'ERR_OIDC_TOKEN_EMPTY'],
    [`${h}.${p}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}.${p}.${s}.${s}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}..${s}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}.${p} .${s}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}.${p}\n.${s}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}=.${p}.${s}`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}.${p}.${s}+/`, 'ERR_OIDC_TOKEN_MALFORMED'],
    [unsigned({ alg: 'none' }, { sub: CANARY }), 'ERR_OIDC_TOKEN_MALFORMED'],
    [unsigned({ typ: 'JWT' }, { sub: CANARY }), 'ERR_OIDC_TOKEN_MALFORMED'],
    [unsigned(['RS256'], { sub: CANARY }), 'ERR_OIDC_TOKEN_MALFORMED'],
    [unsigned({ alg: 'RS256' }, `not json ${CANARY}`), 'ERR_OIDC_TOKEN_MALFORMED'],
    [unsigned({ alg: 'RS256' }, { sub: CANARY, exp: CANARY }), 'ERR_OIDC_TOKEN_MALFORMED'],
    [`${h}.${'A'.repeat(10_000)}.${s}`, 'ERR_OIDC_TOKEN_TOO_LARGE'],
  ]
  for (const [token, code] of cases) assertRefused(t, () => openidConnectAuthResponse(token), code, token)
})

test('maxTokenBytes bounds the trimmed token and must fit one packet', async (t) => {
  const token = await signedToken('RS256')
  t.notThrows(() => openidConnectAuthResponse(`${token}\n`, { maxTokenBytes: token.length }))
  assertRefused(t, () => openidConnectAuthResponse(token, { maxTokenBytes: token.length - 1 }), 'ERR_OIDC_TOKEN_TOO_LARGE', token)
  t.notThrows(() => openidConnectAuthResponse('a', { validate: false, maxTokenBytes: 16_777_210 }))
  for (const maxTokenBytes of [0, 16_777_211, 2 ** 32, -5, 1.5, Infinity]) {
    assertRefused(t, () => openidConnectAuthResponse('a', { validate: false, maxTokenBytes }), 'ERR_OIDC_INVALID_ARGUMENT')
  }
})

test('clockSkewSeconds widens the expiry check', async (t) => {
  const token = await signedToken('RS256', {}, nowSeconds() - 100)
  assertRefused(t, () => openidConnectAuthResponse(token), 'ERR_OIDC_TOKEN_EXPIRED', token)
  t.notThrows(() => openidConnectAuthResponse(token, { clockSkewSeconds: 300 }))
  for (const clockSkewSeconds of [-1, Number.NaN, Infinity, '30']) {
    assertRefused(t, () => openidConnectAuthResponse(token, { clockSkewSeconds } as any), 'ERR_OIDC_INVALID_ARGUMENT', token)
  }
})

test('validate: false drops the JWT rules but never emptiness, whitespace or size', (t) => {
  t.notThrows(() => openidConnectAuthResponse('opaque-token', { validate: false }))
  assertRefused(t, () => openidConnectAuthResponse('\n', { validate: false }), 'ERR_OIDC_TOKEN_EMPTY')
  assertRefused(t, () => openidConnectAuthResponse('opaque token', { validate: false }), 'ERR_OIDC_TOKEN_MALFORMED', 'opaque token')
  assertRefused(t, () => openidConnectAuthResponse('a'.repeat(10_001), { validate: false }), 'ERR_OIDC_TOKEN_TOO_LARGE')
  assertRefused(t, () => openidConnectAuthResponse('a', { validate: 'no' } as any), 'ERR_OIDC_INVALID_ARGUMENT')
})

test('wrong types are an error with a code, never a crash', (t) => {
  const wrong: unknown[] = [42, null, undefined, {}, [], Symbol('x'), () => 1, 10n, true, new Uint16Array(4), new ArrayBuffer(4)]
  for (const token of wrong) {
    const err = assertRefused(t, () => openidConnectAuthResponse(token as any), 'ERR_OIDC_INVALID_ARGUMENT')
    t.regex(err.message, /token must be a string, Buffer or Uint8Array/)
  }
  for (const options of [5, 'x', true, () => 1]) {
    assertRefused(t, () => openidConnectAuthResponse('a', options as any), 'ERR_OIDC_INVALID_ARGUMENT')
  }
  for (const input of ['010b', 42, null, undefined, {}]) {
    assertRefused(t, () => parseOpenidConnectAuthResponse(input as any), 'ERR_OIDC_INVALID_ARGUMENT')
    assertRefused(t, () => inspectIdToken(input as any), input === '010b' ? 'ERR_OIDC_TOKEN_MALFORMED' : 'ERR_OIDC_INVALID_ARGUMENT')
  }
})

test('a 50 MB string is refused quickly as too large', (t) => {
  const huge = `${'A'.repeat(50 * 1024 * 1024)}.${CANARY}.x`
  const err = assertRefused(t, () => openidConnectAuthResponse(huge), 'ERR_OIDC_TOKEN_TOO_LARGE')
  t.false(err.message.includes(CANARY))
  assertRefused(t, () => openidConnectAuthResponse(huge, { validate: false, maxTokenBytes: 16_777_210 }), 'ERR_OIDC_TOKEN_TOO_LARGE')
})

test('the decoder refuses bad framing', (t) => {
  const bad: Array<[number[], RegExp]> = [
    [[], /empty/],
    [[1], /cut short/],
    [[1, 0xfb], /0xFB/],
    [[1, 0xff], /0xFF/],
    [[1, 0xfc, 0x05], /cut short/],
    [[1, 5, 0x61], /says 5 bytes but only 1 follow/],
    [[1, 1, 0x61, 0x62], /1 unexpected bytes/],
  ]
  for (const [bytes, message] of bad) {
    const err = assertRefused(t, () => parseOpenidConnectAuthResponse(Buffer.from(bytes)), 'ERR_OIDC_RESPONSE_MALFORMED')
    t.regex(err.message, message)
  }
  t.deepEqual(parseOpenidConnectAuthResponse(new Uint8Array([0, 0])), { capability: 0, token: Buffer.alloc(0) })
})

test('a raw, unframed token is refused by the decoder the way StarRocks misreads it', async (t) => {
  const token = await signedToken('RS256')
  const err = assertRefused(t, () => parseOpenidConnectAuthResponse(Buffer.from(`\x01${token}`)), 'ERR_OIDC_RESPONSE_MALFORMED', token)
  t.regex(err.message, /follow the 101-byte token/)
})

test('inspectIdToken decodes header, claims and expiry without verifying', async (t) => {
  const token = await signedToken('ES256', { preferred_username: 'alice' })
  const info = inspectIdToken(token)
  t.is(info.header.alg, 'ES256')
  t.is(info.header.kid, 'test-key')
  t.is(info.claims.sub, CANARY)
  t.is(info.claims.preferred_username, 'alice')
  t.true(info.expiresAt instanceof Date)
  t.is(info.expiresAt!.getTime(), (info.claims.exp as number) * 1000)
  t.is(inspectIdToken(unsigned({ alg: 'RS256' }, { sub: 'x' })).expiresAt, null)
  // an expired token still inspects: inspection is for logging, not for deciding
  const expired = await signedToken('RS256', {}, nowSeconds() - 10)
  t.true(inspectIdToken(expired).expiresAt!.getTime() < Date.now())
  assertRefused(t, () => inspectIdToken('not-a-jwt'), 'ERR_OIDC_TOKEN_MALFORMED', 'not-a-jwt')
})

test('clearPasswordAuthResponse: the token then NUL, under the same rules', async (t) => {
  const token = await signedToken('RS256')
  t.deepEqual(clearPasswordAuthResponse(`${token}\n`), Buffer.concat([Buffer.from(token), Buffer.from([0])]))
  const expired = await signedToken('RS256', {}, nowSeconds() - 3600)
  assertRefused(t, () => clearPasswordAuthResponse(expired), 'ERR_OIDC_TOKEN_EXPIRED', expired)
})
