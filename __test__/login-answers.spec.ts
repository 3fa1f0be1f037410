// One straight path per login: a token crosses into the native core once (AuthResponder checks it,
// frames it and reads its claims in one call), the token cache's check is the login's, and the claims
// the plugin acts on are the token's own, whatever Object.prototype holds. The native calls are
// counted by wrapping the loaded binding before the package loads it.
import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const binding = requireFromRoot('./index.js')

const calls: Record<string, number> = {}
const count = (owner: any, name: string) => {
  const original = owner[name]
  calls[name] = 0
  owner[name] = function (this: unknown, ...args: unknown[]) {
    calls[name]++
    return original.apply(this, args)
  }
}
for (const name of ['openidConnect', 'clearPassword']) count(binding.AuthResponder.prototype, name)
for (const name of ['openidConnectAuthResponse', 'clearPasswordAuthResponse', 'inspectIdToken']) count(binding, name)
const snapshot = () => ({ ...calls })
const since = (before: Record<string, number>) =>
  Object.fromEntries(Object.entries(calls).filter(([name, n]) => n !== before[name]).map(([name, n]) => [name, n - before[name]]))

// loaded after the binding is wrapped, so lib/core.js takes the wrapped functions
const { authPlugins, openidConnectAuthResponse, parseOpenidConnectAuthResponse } = requireFromRoot('./main.js')
const { AUTH_RESPONSE_OPTIONS } = requireFromRoot('./lib/core.js')

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
function jwt(claims: Record<string, unknown>) {
  return `${b64({ alg: 'RS256' })}.${b64({ sub: 'alice', iss: 'https://idp.test', email: 'a@b.test', iat: now(), exp: now() + 600, ...claims })}.c2lnbmF0dXJl`
}

// a connection whose peer check passes at once: only the token path is measured here
// (with what a login needs of mysql2, lib/mysql2-login.js: a config, a stream, the running command)
async function login(plugins: any, plugin = 'authentication_openid_connect_client') {
  const command = {}
  const connection = { stream: {}, _command: command, config: { user: 'alice', host: 'db.test', port: 3306 } }
  return plugins[plugin]({ connection, command })(Buffer.alloc(20)) as Promise<Buffer> | Buffer
}

test.serial('set-up checks the options without a token; a getToken token crosses once, whatever the number of logins', async (t) => {
  const token = jwt({})
  let before = snapshot()
  const plugins = authPlugins({ getToken: async () => token, allowInsecureTransport: true, capability: 0 })
  t.deepEqual(since(before), {}, 'no throwaway call at set-up')
  before = snapshot()
  const responses = []
  for (let i = 0; i < 3; i++) responses.push(await login(plugins))
  t.deepEqual(since(before), { openidConnect: 1 }, 'checked when fetched, and that answer is every login')
  for (const response of responses) t.deepEqual(response, openidConnectAuthResponse(token, { capability: 0 }))
  // each login gets its own copy: what one caller does to it, the next login never sees
  responses[0].fill(0)
  t.deepEqual(await login(plugins), responses[1])
})

test.serial('a static token is checked at set-up, not again per login; a token file at every login, in one call', async (t) => {
  const token = jwt({})
  let before = snapshot()
  const plugins = authPlugins({ token, allowInsecureTransport: true })
  t.deepEqual(since(before), { openidConnect: 1 })
  before = snapshot()
  await login(plugins)
  await login(plugins)
  t.deepEqual(since(before), {})
  // a Buffer may change in place between logins: checked every time
  const fromBuffer = authPlugins({ token: Buffer.from(token), allowInsecureTransport: true })
  before = snapshot()
  await login(fromBuffer)
  await login(fromBuffer)
  t.deepEqual(since(before), { openidConnect: 2 })
})

test.serial("TiDB: the cache checks in mysql_clear_password's framing, and the other plugin gets its own once", async (t) => {
  const token = jwt({})
  const plugins = authPlugins({ getToken: async () => token, allowInsecureTransport: true, cleartext: true })
  const before = snapshot()
  t.deepEqual(await login(plugins, 'mysql_clear_password'), Buffer.concat([Buffer.from(token), Buffer.from([0])]))
  await login(plugins, 'mysql_clear_password')
  t.deepEqual(since(before), { clearPassword: 1 })
  const framed = await login(plugins)
  await login(plugins)
  t.is(parseOpenidConnectAuthResponse(framed).token.toString(), token)
  t.deepEqual(since(before), { clearPassword: 1, openidConnect: 1 })
})

test.serial('a token checked once is checked again at send time once its exp has passed', async (t) => {
  const exp = now() + 2
  const token = jwt({ exp })
  const plugins = authPlugins({ token, allowInsecureTransport: true, clockSkewSeconds: 0 })
  t.truthy(await login(plugins))
  await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 1100 - Date.now()))
  const err = await (async () => login(plugins))().then(() => null, (e) => e)
  t.is(err?.oidcCode, 'ERR_OIDC_TOKEN_EXPIRED')
})

test('the answer: every claim an own property, null or undefined when the token lacks it; the response as the encoders make it', (t) => {
  const responder = new binding.AuthResponder({ capability: 7 })
  const token = jwt({})
  const answer = responder.openidConnect(token)
  t.deepEqual(Object.keys(answer), ['response', 'expiresAt', 'issuedAt', 'iss', 'sub', 'hasEmail'])
  t.deepEqual(answer.response, binding.openidConnectAuthResponse(token, { capability: 7 }))
  t.deepEqual(responder.clearPassword(token).response, binding.clearPasswordAuthResponse(token))
  t.like(answer, { iss: 'https://idp.test', sub: 'alice', hasEmail: true })
  const bare = responder.openidConnect(`${b64({ alg: 'RS256' })}.${b64({ iss: 5 })}.c2ln`)
  t.deepEqual({ ...bare, response: null }, { response: null, expiresAt: null, issuedAt: null, iss: undefined, sub: undefined, hasEmail: false })
  for (const key of Object.keys(answer)) t.true(Object.hasOwn(bare, key), key)
  const opaque = new binding.AuthResponder({ validate: false }).clearPassword('opaque')
  t.like(opaque, { expiresAt: null, issuedAt: null, hasEmail: null })
})

test('the option names have one source: the core\'s list is the declared AuthResponseOptions, and every declared plugin option is known', (t) => {
  const declared = (file: string, name: string) => {
    const body = readFileSync(path.join(process.cwd(), file), 'utf8').match(new RegExp(`interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`))![1]
    return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((match) => match[1])
  }
  const core = declared('index.d.ts', 'AuthResponseOptions')
  t.deepEqual([...AUTH_RESPONSE_OPTIONS].sort(), [...core].sort())
  const message = t.throws(() => openidConnectAuthResponse('x', { capabilty: 1 }))!.message
  t.true(message.includes(`the options are ${AUTH_RESPONSE_OPTIONS.slice(0, -1).join(', ')} and ${AUTH_RESPONSE_OPTIONS.at(-1)}`), message)
  const plugin = ['PluginOptionsBase', 'StaticTokenOptions', 'TokenFileOptions', 'GetTokenOptions'].flatMap((name) => declared('lib/auth-plugin.d.ts', name))
  t.true(plugin.length >= 8)
  // a key given as undefined is checked for being known, and nothing else
  // and the plugin accepts exactly what is declared: no option known to it is missing from the typings
  const { KNOWN_OPTIONS } = requireFromRoot('./lib/auth-plugin.js')
  t.deepEqual([...KNOWN_OPTIONS].sort(), [...new Set([...core, ...plugin])].sort())
  const source = (key: string) => (key === 'getToken' ? { token: jwt({}) } : { getToken: () => jwt({}) })
  for (const key of [...core, ...plugin]) t.notThrows(() => authPlugins({ ...source(key), [key]: undefined }), key)
  t.is((t.throws(() => authPlugins({ token: 'a.b.c', validate: false, cleartxt: true })) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
})

for (const claim of ['email', 'iat', 'iss', 'sub', 'exp']) {
  test(`Object.prototype.${claim} stands in for no claim of the token (own process)`, async (t) => {
    const at = String(now())
    const run = async (mode: string) => {
      const fixture = path.join(process.cwd(), '__test__/fixtures/polluted-claims.cjs')
      const { stdout } = await promisify(execFile)(process.execPath, [fixture, claim, mode, at], { timeout: 30_000 })
      return JSON.parse(stdout)
    }
    const [clean, polluted] = await Promise.all([run('clean'), run('polluted')])
    t.deepEqual(polluted, clean)
    if (claim === 'email' || claim === 'iat' || claim === 'exp') t.is(clean.tidb, 'ERR_OIDC_TOKEN_CLAIM_MISSING')
    else t.is(clean.tidb, 'accepted')
    t.is(clean.event[claim === 'email' ? 'iss' : claim], claim === 'email' ? 'https://idp.test' : null)
  })
}
