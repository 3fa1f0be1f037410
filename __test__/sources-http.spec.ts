// fromGitHubActions and fromGcpMetadata against node:http servers on 127.0.0.1 that speak the
// documented endpoints, reached through the same environment variables as in the real places.
// Serial: the sources read process.env, which these tests set and restore.
import test, { type ExecutionContext } from 'ava'
import http from 'node:http'

import { fromGcpMetadata, fromGitHubActions } from '../main.js'

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
