// fromGitHubActions and fromGcpMetadata against node:http servers on 127.0.0.1 that speak the
// documented endpoints, reached through the same environment variables as in the real places.
// Serial: the sources read process.env, which these tests set and restore.
import test, { type ExecutionContext } from 'ava'
import http from 'node:http'
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'

import { fromGcpMetadata, fromGitHubActions } from '../main.js'

const { guardConnections } = createRequire(`${process.cwd()}/`)('./__test__/helpers/connect-guard.cjs')

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.CANARYSIGNATUREvalue123'
const REQUEST_TOKEN = 'runner-request-token-CANARY-8c1d'

type Seen = { url: URL; headers: http.IncomingHttpHeaders }

async function serve(t: ExecutionContext, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    seen.push({ url: new URL(req.url!, 'http://x'), headers: req.headers })
    answer(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (server.closeAllConnections(), new Promise((resolve) => server.close(() => resolve(undefined)))))
  return { origin: `http://127.0.0.1:${(server.address() as any).port}`, seen }
}

function setEnv(t: ExecutionContext, values: Record<string, string | undefined>) {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]))
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
  apply(values)
  t.teardown(() => apply(saved))
}

async function failure(promise: Promise<unknown>) {
  const err: any = await promise.then(
    () => ({ oidcCode: 'no error', message: '' }),
    (caught) => caught,
  )
  return err as Error & { oidcCode: string }
}

const githubRunner = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value: JWT }))

test.serial('GitHub Actions: the request URL with &audience=, the bearer request token, the JSON value', async (t) => {
  const { origin, seen } = await serve(t, (req, res) => githubRunner(res))
  setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/_apis/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN })
  const getToken = fromGitHubActions({ audience: 'mysql://db.example:3306' })
  t.is(await getToken({}), JWT)
  t.is(seen[0].url.pathname, '/_apis/token')
  t.is(seen[0].url.searchParams.get('api-version'), '2.0')
  t.is(seen[0].url.searchParams.get('audience'), 'mysql://db.example:3306')
  t.is(seen[0].headers.authorization, `Bearer ${REQUEST_TOKEN}`)
  t.is(getToken.sourceKind, 'github-actions')
  // without an audience the URL is used as it is
  await fromGitHubActions()({})
  t.false(seen[1].url.searchParams.has('audience'))
})

test.serial('GitHub Actions: missing variables say what the workflow lacks', async (t) => {
  setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined })
  const err = await failure(fromGitHubActions({ audience: 'db' })({}))
  t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(err.message, /ACTIONS_ID_TOKEN_REQUEST_URL/)
  t.regex(err.message, /permissions: id-token: write/)
})

test.serial('GitHub Actions: a refusal, a body without value, a huge or slow answer: errors without secrets', async (t) => {
  let mode = 'forbidden'
  const { origin } = await serve(t, (req, res) => {
    if (mode === 'forbidden') res.writeHead(403).end(`{"message":"echo ${REQUEST_TOKEN}"}`)
    else if (mode === 'no-value') res.end('{"count":0}')
    else if (mode === 'huge') res.end(JSON.stringify({ value: 'a'.repeat(2 << 20) }))
    else if (mode === 'redirect') res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end()
    // slow: never answers
  })
  setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN })
  const texts: string[] = []
  const expected: Record<string, string> = {
    forbidden: 'ERR_OIDC_TOKEN_SOURCE',
    'no-value': 'ERR_OIDC_TOKEN_SOURCE',
    huge: 'ERR_OIDC_TOKEN_TOO_LARGE',
    redirect: 'ERR_OIDC_TOKEN_SOURCE',
    slow: 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT',
  }
  for (const [name, code] of Object.entries(expected)) {
    mode = name
    const err = await failure(fromGitHubActions({ audience: 'db', timeoutMs: 300 })({}))
    t.is(err.oidcCode, code, name)
    texts.push(err.message, String(err.stack))
  }
  t.regex(texts[0], /HTTP 403/)
  for (const text of texts) t.false(text.includes('CANARY'), text)
})

test.serial('GitHub Actions: a redirect is not followed: the request token goes to the URL given and nowhere else', async (t) => {
  // the place a redirect points to would answer with a token: only never asking it passes
  const elsewhere = await serve(t, (req, res) => githubRunner(res))
  let status = 302
  const { origin } = await serve(t, (req, res) => res.writeHead(status, { location: `${elsewhere.origin}/token` }).end())
  setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/token`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN })
  for (status of [301, 302, 303, 307, 308]) {
    const err = await failure(fromGitHubActions({ audience: 'db', timeoutMs: 2000 })({}))
    t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE', String(status))
    t.regex(err.message, new RegExp(`HTTP ${status}`))
  }
  t.deepEqual(elsewhere.seen, [])
})

test.serial('GCP metadata: the identity path, audience and format=full, Metadata-Flavor both ways, GCE_METADATA_HOST', async (t) => {
  const { origin, seen } = await serve(t, (req, res) => res.writeHead(200, { 'metadata-flavor': 'Google', 'content-type': 'application/text' }).end(JWT))
  setEnv(t, { GCE_METADATA_HOST: origin.replace('http://', ''), GCE_METADATA_IP: undefined })
  const getToken = fromGcpMetadata({ audience: 'https://db.example/mysql' })
  t.is(await getToken({}), JWT)
  t.is(seen[0].url.pathname, '/computeMetadata/v1/instance/service-accounts/default/identity')
  t.is(seen[0].url.searchParams.get('audience'), 'https://db.example/mysql')
  t.is(seen[0].url.searchParams.get('format'), 'full')
  t.is(seen[0].headers['metadata-flavor'], 'Google')
  t.is(getToken.sourceKind, 'gcp-metadata')
  setEnv(t, { GCE_METADATA_HOST: origin }) // with a scheme, as Google's libraries also accept
  t.is(await getToken({}), JWT)
})

test.serial('GCP metadata: a server that is not the metadata server, or refuses, is an error', async (t) => {
  let flavor = true
  const { origin } = await serve(t, (req, res) => (flavor ? res.writeHead(404, { 'metadata-flavor': 'Google' }).end('not found') : res.end(JWT)))
  setEnv(t, { GCE_METADATA_HOST: origin.replace('http://', ''), GCE_METADATA_IP: undefined })
  const refused = await failure(fromGcpMetadata({ audience: 'db' })({}))
  t.is(refused.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(refused.message, /HTTP 404/)
  flavor = false
  const impostor = await failure(fromGcpMetadata({ audience: 'db' })({}))
  t.is(impostor.oidcCode, 'ERR_OIDC_TOKEN_SOURCE')
  t.regex(impostor.message, /Metadata-Flavor/)
  t.false(impostor.message.includes('CANARY'))
})

test('options are checked at once', (t) => {
  t.is((t.throws(() => fromGcpMetadata({} as any)) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
  t.is((t.throws(() => fromGitHubActions({ audience: '' })) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
  t.is((t.throws(() => fromGitHubActions({ timeoutMs: -1 })) as any).oidcCode, 'ERR_OIDC_INVALID_ARGUMENT')
})

test.serial('GitHub Actions: the request token goes over https or plain http to loopback only; nothing else is connected to', async (t) => {
  const guard = guardConnections()
  t.teardown(guard.restore)
  const { origin, seen } = await serve(t, (req, res) => githubRunner(res))
  const { port } = new URL(origin)
  // TEST-NET-1, a private address and a name: plain http off this machine, refused before any connection
  for (const host of ['192.0.2.1', '10.0.0.1', 'runner.example.test', '127.0.0.1.example.test']) {
    setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: `http://${host}:${port}/_apis/token`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN })
    const err = await failure(fromGitHubActions({ audience: 'db' })({}))
    t.is(err.oidcCode, 'ERR_OIDC_INSECURE_TRANSPORT', host)
    t.regex(err.message, /https/)
    t.false(err.message.includes('CANARY'))
  }
  t.deepEqual(guard.attempts, [])
  t.is(seen.length, 0)
  // loopback is this machine: allowed, and the guard does see fetch's connections
  setEnv(t, { ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/_apis/token` })
  t.is(await fromGitHubActions()({}), JWT)
  t.deepEqual(guard.attempts, [`127.0.0.1:${port}`])
})

test.serial('GitHub Actions and GCP metadata: context.signal aborts the request', async (t) => {
  let arrived = () => {}
  let closed = 0
  // never answers: only the source's own timeoutMs (5 s) or the signal ends the request
  const { origin } = await serve(t, (req) => (req.socket.once('close', () => closed++), arrived()))
  setEnv(t, {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/_apis/token`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    GCE_METADATA_HOST: origin.replace('http://', ''),
    GCE_METADATA_IP: undefined,
  })
  const sources = [fromGitHubActions({ timeoutMs: 5000 }), fromGcpMetadata({ audience: 'db', timeoutMs: 5000 })]
  for (const [index, getToken] of sources.entries()) {
    const controller = new AbortController()
    const request = new Promise<void>((resolve) => (arrived = resolve))
    const pending = failure(getToken({ signal: controller.signal } as any))
    await request
    const abortedAt = performance.now()
    controller.abort()
    const err = await pending
    t.is(err.oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT', getToken.sourceKind)
    t.true(performance.now() - abortedAt < 2000, `${getToken.sourceKind} went on for ${Math.round(performance.now() - abortedAt)} ms`)
    // the connection is closed, not left to the server
    for (let i = 0; i < 100 && closed <= index; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    t.is(closed, index + 1)
  }
  // a signal aborted before the call: nothing is asked
  const before = new AbortController()
  before.abort()
  t.is((await failure(fromGitHubActions()({ signal: before.signal } as any))).oidcCode, 'ERR_OIDC_TOKEN_SOURCE_TIMEOUT')
})

test('options: own properties only; an unknown key or a wrong type is refused, naming the key', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => fromGitHubActions({ maxResponseBytes: 'x' } as any), /options\.maxResponseBytes must be an integer/],
    [() => fromGitHubActions({ maxResponseBytes: 0 }), /maxResponseBytes/],
    [() => fromGitHubActions({ maxResponseBytes: 1.5 }), /maxResponseBytes/],
    [() => fromGitHubActions({ timeoutMS: 1000 } as any), /unknown option "timeoutMS"/],
    [() => fromGitHubActions({ timeoutMs: 2 ** 31 }), /timeoutMs/],
    [() => fromGitHubActions({ timeoutMs: NaN }), /timeoutMs/],
    [() => fromGitHubActions('db' as any), /options must be an object/],
    [() => fromGcpMetadata({ audience: 'db', maxResponseBytes: 'x' } as any), /maxResponseBytes/],
    [() => fromGcpMetadata({ audience: 'db', timeoutMS: 1000 } as any), /unknown option "timeoutMS"/],
    // an inherited audience is not the caller's
    [() => fromGcpMetadata(Object.create({ audience: 'db' })), /audience is required/],
  ]
  for (const [make, message] of cases) {
    const err = t.throws(make, undefined, String(message)) as any
    t.is(err?.oidcCode, 'ERR_OIDC_INVALID_ARGUMENT', String(message))
    t.regex(err?.message ?? '', message)
  }
})
