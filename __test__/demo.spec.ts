// The README's main command: the demo must log in and print the user, on the embedded server and on a
// "real" server given by environment variables (here an embedded one standing in for it).
// DEMO_RUNTIME runs the demo with another runtime (a node, bun or deno executable; `npm run
// test:runtimes` does it for Node 20-26, Bun and Deno); by default the one running this file.
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'

import { startOidcServer, createIdentityProvider } from '../test-server/index.js'

const execFileAsync = promisify(execFile)
// ava runs each spec from the project root; no __dirname, which an ES module (Deno's view of a .ts) lacks
const DEMO = join(process.cwd(), 'demo', 'index.js')
const RUNTIME = process.env.DEMO_RUNTIME || process.execPath
const RUNTIME_NAME = basename(RUNTIME).replace(/\.exe$/i, '')
// deno runs a script only through `deno run`, with permissions (-A: net, read, env, ffi for the addon)
const DEMO_ARGS = RUNTIME_NAME === 'deno' ? ['run', '-A', DEMO] : [DEMO]
// Deno keeps its cache under HOME; the demo's environment is otherwise only what the test gives it
const BASE_ENV = { PATH: process.env.PATH, ...(RUNTIME_NAME === 'deno' && process.env.HOME && { HOME: process.env.HOME }) }
const runDemo = (env: Record<string, string | undefined>) => execFileAsync(RUNTIME, DEMO_ARGS, { timeout: 30_000, env: { ...BASE_ENV, ...env } })

test(`npm run demo logs in to the embedded server and prints CURRENT_USER() (${RUNTIME_NAME})`, async (t) => {
  const { stdout } = await runDemo({})
  // a real OpenID provider issued the token by client credentials; the server found its keys by discovery
  t.regex(stdout, /identity provider \(oidc-provider\) at http:\/\/127\.0\.0\.1:\d+/)
  t.regex(stdout, /client credentials gave an RS256 token for sub=alice/)
  t.regex(stdout, /mysql2: logged in as alice@%/)
})

test(`with MYSQL_HOST, MYSQL_USER and OIDC_TOKEN_FILE it logs in to that server (${RUNTIME_NAME})`, async (t) => {
  const idp = await createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })
  const server = await startOidcServer({ identityProviders: [idp], users: { carol: {} } })
  const dir = mkdtempSync(join(tmpdir(), 'oidc-demo-'))
  t.teardown(async () => {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  writeFileSync(join(dir, 'token'), `${await idp.signIdToken({ sub: 'carol' })}\n`)
  writeFileSync(join(dir, 'ca.pem'), server.ca!)
  const env = {
    MYSQL_HOST: server.host,
    MYSQL_PORT: String(server.port),
    MYSQL_USER: 'carol',
    OIDC_TOKEN_FILE: join(dir, 'token'),
    MYSQL_SSL_CA: join(dir, 'ca.pem'),
  }
  const { stdout } = await runDemo(env)
  t.regex(stdout, /logged in as carol@%/)
  const failed = await t.throwsAsync(runDemo({ ...env, MYSQL_USER: 'mallory' }))
  t.regex(String((failed as any).stderr), /demo failed: .*Access denied/)
})
