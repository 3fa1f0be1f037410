// The diagnostics_channel events: what a subscriber sees of token fetches, refreshes and failures,
// and that no event carries the token or any piece of it.
import test from 'ava'
import diagnosticsChannel from 'node:diagnostics_channel'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, generateKeyPair } from 'jose'

import { fromCommand, inspectIdToken } from '../main.js'

// lib/ internals are CommonJS without types: loaded from the package root (ava's working directory)
const load = createRequire(`${process.cwd()}/`)
const { cachedTokenSource, fileTokenSource } = load('./lib/token-sources.js')
const { publishLogin, TOKEN_CHANNEL, LOGIN_CHANNEL } = load('./lib/diagnostics.js')

const keyPair = generateKeyPair('RS256')
async function sign(sub: string, expiresIn: string | number) {
  const { privateKey } = await keyPair
  return new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://idp.test').setIssuedAt().setExpirationTime(expiresIn).sign(privateKey)
}

function accept(token: string) {
  const { claims, expiresAt } = inspectIdToken(token)
  return { expiresAt: expiresAt?.getTime() ?? null, issuedAt: (claims.iat as number) * 1000, iss: claims.iss, sub: claims.sub }
}

/** Every event published on `name` while the test runs. */
function record(t: any, name: string) {
  const events: any[] = []
  const listener = (message: unknown) => events.push(message)
  diagnosticsChannel.subscribe(name, listener)
  t.teardown(() => diagnosticsChannel.unsubscribe(name, listener))
  return events
}

/** Every 8-character piece of each token, to look for in what was published. */
function pieces(tokens: string[]) {
  return tokens.flatMap((token) => Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8)))
}

test.serial('token events: fetched, refreshed and failed, with who and when, never the token', async (t) => {
  const events = record(t, TOKEN_CHANNEL)
  const first = await sign('svc-a', '40s') // inside the 60 s window: the next login refreshes it
  const second = await sign('svc-a', '1h')
  const answers: Array<() => string> = [() => first, () => second]
  const source = cachedTokenSource(() => answers.shift()?.() ?? Promise.reject(new Error(`provider echoed ${first}`)), {
    refreshBeforeExpirySeconds: 60,
    tokenTimeoutMs: 5000,
    accept,
  })
  const context = { user: 'alice' }
  t.is(await source(context), first)
  t.is(source(context), first) // answered at once; refresh in the background
  await new Promise((resolve) => setImmediate(resolve))
  t.is(source(context), second)
  const failing = cachedTokenSource(() => Promise.reject(new Error(`provider echoed ${first}`)), { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 5000, accept })
  await t.throwsAsync(failing({ user: 'bob' }))

  t.like(events[0], { event: 'fetched', source: 'getToken', background: false, iss: 'https://idp.test', sub: 'svc-a', exp: inspectIdToken(first).claims.exp })
  t.like(events[1], { event: 'refreshed', source: 'getToken', background: true, sub: 'svc-a', exp: inspectIdToken(second).claims.exp })
  t.like(events[2], { event: 'failed', source: 'getToken', background: false, code: 'ERR_OIDC_TOKEN_SOURCE' })
  t.is(events.length, 3)
  for (const event of events) t.is(typeof event.durationMs, 'number')
  t.is(typeof events[0].iat, 'number')
  const published = JSON.stringify(events)
  for (const piece of pieces([first, second])) t.false(published.includes(piece), piece)
})

test.serial('built-in sources and tokenFile name their kind; their events carry no token either', async (t) => {
  const events = record(t, TOKEN_CHANNEL)
  const token = await sign('svc-b', '1h')
  const command = fromCommand(process.execPath, ['-e', `console.log(${JSON.stringify(token)})`])
  const source = cachedTokenSource(command, { refreshBeforeExpirySeconds: 60, tokenTimeoutMs: 10_000, accept })
  t.is(await source({ user: 'carol' }), token)
  const dir = mkdtempSync(join(tmpdir(), 'oidc-diagnostics-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'token'), token)
  await fileTokenSource(join(dir, 'token'), 10_000)({})
  await t.throwsAsync(fileTokenSource(join(dir, 'missing'), 10_000)({}))
  t.like(events[0], { event: 'fetched', source: 'command', sub: 'svc-b' })
  t.like(events[1], { event: 'fetched', source: 'tokenFile' })
  t.like(events[2], { event: 'failed', source: 'tokenFile', code: 'ERR_OIDC_TOKEN_SOURCE' })
  const published = JSON.stringify(events)
  for (const piece of pieces([token])) t.false(published.includes(piece), piece)
})

test.serial('publishLogin reaches subscribers, and is a no-op without them', (t) => {
  const channel = diagnosticsChannel.channel(LOGIN_CHANNEL)
  t.false(channel.hasSubscribers)
  publishLogin({ event: 'answered', plugin: 'authentication_openid_connect_client', transport: 'tls' })
  const events = record(t, LOGIN_CHANNEL)
  publishLogin({ event: 'refused', plugin: 'mysql_clear_password', transport: 'tcp', code: 'ERR_OIDC_INSECURE_TRANSPORT' })
  t.deepEqual(events, [{ event: 'refused', plugin: 'mysql_clear_password', transport: 'tcp', code: 'ERR_OIDC_INSECURE_TRANSPORT' }])
})

test.serial('real logins publish answered and refused events with plugin, transport and code, never the token', async (t) => {
  const mysql = load('mysql2/promise')
  const { authPlugins } = load('./main.js')
  const { startOidcServer, createIdentityProvider } = load('./test-server/index.js')
  const idp = await createIdentityProvider({ issuer: 'https://idp.events.test', alg: 'RS256' })
  const overTls = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} } })
  const plain = await startOidcServer({ mode: 'starrocks', identityProviders: [idp], users: { alice: {} }, tls: false })
  t.teardown(() => Promise.all([overTls.close(), plain.close()]))
  const token: string = await idp.signIdToken({ sub: 'alice' })
  const events = record(t, LOGIN_CHANNEL)
  const plugins = authPlugins({ getToken: () => token })
  const connection = await mysql.createConnection({ host: overTls.host, port: overTls.port, user: 'alice', ssl: { ca: overTls.ca }, authPlugins: plugins })
  await connection.end()
  await t.throwsAsync(mysql.createConnection({ host: plain.host, port: plain.port, user: 'alice', authPlugins: plugins }))
  t.deepEqual(events, [
    { event: 'answered', plugin: 'authentication_openid_connect_client', transport: 'tls' },
    { event: 'refused', plugin: 'authentication_openid_connect_client', transport: null, code: 'ERR_OIDC_INSECURE_TRANSPORT' },
  ])
  const published = JSON.stringify(events)
  for (const piece of pieces([token])) t.false(published.includes(piece), piece)
})
