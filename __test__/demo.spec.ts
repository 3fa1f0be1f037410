// The README's main command: the demo must log in and print the user, on the embedded server and on a
// "real" server given by environment variables (here an embedded one standing in for it).
import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { startOidcServer, createIdentityProvider } from '../test-server/index.js'

const run = promisify(execFile)
const DEMO = join(__dirname, '..', 'demo', 'index.js')

test('npm run demo logs in to the embedded server and prints CURRENT_USER()', async (t) => {
  const { stdout } = await run(process.execPath, [DEMO], { timeout: 30_000, env: { PATH: process.env.PATH } })
  t.regex(stdout, /mysql2: logged in as alice@%/)
})

test('with MYSQL_HOST, MYSQL_USER and OIDC_TOKEN_FILE it logs in to that server', async (t) => {
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
    PATH: process.env.PATH,
    MYSQL_HOST: server.host,
    MYSQL_PORT: String(server.port),
    MYSQL_USER: 'carol',
    OIDC_TOKEN_FILE: join(dir, 'token'),
    MYSQL_SSL_CA: join(dir, 'ca.pem'),
  }
  const { stdout } = await run(process.execPath, [DEMO], { timeout: 30_000, env })
  t.regex(stdout, /logged in as carol@%/)
  const failed = await t.throwsAsync(run(process.execPath, [DEMO], { timeout: 30_000, env: { ...env, MYSQL_USER: 'mallory' } }))
  t.regex(String((failed as any).stderr), /demo failed: .*Access denied/)
})
