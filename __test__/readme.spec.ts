// Docs that run: every JavaScript block in README.md is either a whole program that runs here, as
// written, in a child process against the embedded server, or marked on its first line with a
// `// fragment: …` comment. A new unmarked block that no test below runs fails the first test.
import test, { type ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import mysql from 'mysql2/promise'
import { startOidcServer, startMariaDb, createIdentityProvider, type OidcServer } from '../test-server/index.js'

const ROOT = join(__dirname, '..')
const FRAGMENT = /\/\/ fragment: \S/

interface Block {
  /** The heading the block is under, backticks removed; `(2)` and on for later blocks under it. */
  id: string
  lang: string
  code: string
  fragment: boolean
}

/** The README's ```js, ```mjs, ```cjs and ```ts blocks (and their long names), in order. */
function readmeBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  const perHeading = new Map<string, number>()
  let heading = '(top)'
  let open: { lang: string; lines: string[] } | null = null
  for (const line of markdown.split('\n')) {
    const fence = /^```\s*(\S*)/.exec(line)
    if (open) {
      if (fence && fence[1] === '') {
        if (open.lang) {
          const count = (perHeading.get(heading) ?? 0) + 1
          perHeading.set(heading, count)
          const code = open.lines.join('\n')
          blocks.push({ id: count === 1 ? heading : `${heading} (${count})`, lang: open.lang, code, fragment: FRAGMENT.test(open.lines[0] ?? '') })
        }
        open = null
      } else open.lines.push(line)
    } else if (fence) {
      const lang = fence[1].toLowerCase()
      open = { lang: /^(js|mjs|cjs|ts|javascript|typescript)$/.test(lang) ? lang : '', lines: [] }
    } else if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '').replaceAll('`', '').trim()
  }
  return blocks
}

const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'))
const byId = new Map(blocks.map((block) => [block.id, block]))

// A user's project: node_modules/mysql-openid-connect is this package (resolved through its
// package.json exports, as installed), next to mysql2 (and tsx, to run a TypeScript block).
const project = mkdtempSync(join(tmpdir(), 'oidc-readme-'))
mkdirSync(join(project, 'node_modules'))
symlinkSync(ROOT, join(project, 'node_modules', 'mysql-openid-connect'), 'junction')
mkdirSync(join(project, 'node_modules', '@prisma'))
for (const dependency of ['mysql2', 'tsx', 'prisma', '@prisma/client', '@prisma/driver-adapter-utils']) symlinkSync(join(ROOT, 'node_modules', dependency), join(project, 'node_modules', dependency), 'junction')
test.after.always(() => rmSync(project, { recursive: true, force: true }))

const providerPromise = createIdentityProvider({ issuer: 'https://idp.example.test', alg: 'RS256' })

/** What a user of the Quick start has: a server, its CA certificate in a file, a token in a file. */
interface World {
  server: OidcServer
  token: string
  dir: string
  env: Record<string, string>
}

async function world(t: ExecutionContext, { expiresIn = 600 } = {}): Promise<World> {
  const idp = await providerPromise
  const server = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} }, tls: true })
  t.teardown(() => server.close())
  const dir = mkdtempSync(join(project, 'run-'))
  const token = await idp.signIdToken({ sub: 'alice', aud: 'mysql' }, { expiresIn })
  writeFileSync(join(dir, 'token'), `${token}\n`)
  writeFileSync(join(dir, 'ca.pem'), server.ca!)
  const env = {
    MYSQL_HOST: server.host!,
    MYSQL_PORT: String(server.port),
    MYSQL_USER: 'alice',
    MYSQL_SSL_CA: join(dir, 'ca.pem'),
    OIDC_TOKEN_FILE: join(dir, 'token'),
  }
  return { server, token, dir, env }
}

/** The file a user would save the block in: .mjs for one with import/export statements, else .cjs. */
function save(dir: string, block: Block): string {
  const esm = block.lang === 'mjs' || (block.lang !== 'cjs' && /^(import|export) /m.test(block.code))
  const extension = /^(ts|typescript)$/.test(block.lang) ? (esm ? '.mts' : '.cts') : esm ? '.mjs' : '.cjs'
  const file = join(dir, `${block.id.replace(/\W+/g, '-')}${extension}`)
  writeFileSync(file, `${block.code}\n`)
  return file
}

interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

/** `node [--require preload] file` in the user's project, with only PATH and `env` set. */
function runNode(t: ExecutionContext, file: string, { env = {}, preload }: { env?: Record<string, string>; preload?: string } = {}) {
  const args = [...(preload ? ['--require', preload] : []), ...(/\.[mc]ts$/.test(file) ? ['--import', 'tsx'] : []), file]
  return new Promise<Outcome>((resolve) => {
    execFile(process.execPath, args, { cwd: project, env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
      t.log(`${file.slice(project.length + 1)}: exit ${code}`)
      resolve({ code, stdout, stderr })
    })
  })
}

/** What the block says it prints: `console.log(...) // <output>`. */
function promisedOutput(block: Block): string[] {
  return [...block.code.matchAll(/^\s*console\.log\(.*\)\s*\/\/ (.+)$/gm)].map((match) => match[1])
}

function succeeded(t: ExecutionContext, block: Block, outcome: Outcome, token?: string) {
  t.is(outcome.code, 0, outcome.stderr)
  t.is(outcome.stderr, '')
  const lines = outcome.stdout.split('\n')
  for (const expected of promisedOutput(block)) t.true(lines.includes(expected), `expected the line ${expected} in:\n${outcome.stdout}`)
  if (token) t.false(outcome.stdout.includes(token.split('.')[2]), 'the output shows the token')
}

function loggedInAsAlice(t: ExecutionContext, server: OidcServer, logins: number) {
  t.is(server.authLog.length, logins)
  for (const entry of server.authLog) {
    t.like(entry, { user: 'alice', ok: true, transport: 'tls', plugin: 'authentication_openid_connect_client' })
  }
}

/**
 * The README's Prisma set-up in a project of its own: its schema.prisma and prisma.config.ts, then
 * `prisma generate` (with a stand-in for the schema engine, which generate does not run and this
 * machine cannot download). Once per run: both Prisma blocks use it.
 */
let prismaProjectPromise: Promise<{ dir: string; output: string }> | undefined
function prismaProject() {
  prismaProjectPromise ??= (async () => {
    const dir = mkdtempSync(join(project, 'prisma-'))
    mkdirSync(join(dir, 'prisma'))
    const schema = /### Prisma 7[\s\S]*?```prisma\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))![1]
    writeFileSync(join(dir, 'prisma', 'schema.prisma'), schema)
    writeFileSync(join(dir, 'prisma.config.ts'), `${byId.get('Prisma 7')!.code}\n`)
    const standIn = join(dir, 'schema-engine-stand-in')
    writeFileSync(standIn, '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    const env = { PATH: process.env.PATH, DATABASE_URL: 'mysql://alice@127.0.0.1:3307/app', PRISMA_SCHEMA_ENGINE_BINARY: standIn, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' }
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(ROOT, 'node_modules/prisma/build/index.js'), 'generate'], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout + stderr))),
    )
    return { dir, output }
  })()
  return prismaProjectPromise
}

/** How each runnable block runs; a block id missing here and not marked as a fragment fails. */
const RUNS: Record<string, (t: ExecutionContext, block: Block) => Promise<void>> = {
  async 'Quick start'(t, block) {
    const { server, token, dir, env } = await world(t)
    succeeded(t, block, await runNode(t, save(dir, block), { env }), token)
    loggedInAsAlice(t, server, 1)
  },

  async 'Quick start (2)'(t, block) {
    const { server, token, dir, env } = await world(t)
    t.true(save(dir, block).endsWith('.mjs'))
    succeeded(t, block, await runNode(t, save(dir, block), { env }), token)
    loggedInAsAlice(t, server, 1)
  },

  // set-up only (the sources fetch at the first login, from places a test has not got): every
  // export and option named exists, since authPlugins() and the sources refuse unknown ones
  async 'Built-in sources'(t, block) {
    const dir = mkdtempSync(join(project, 'run-'))
    succeeded(t, block, await runNode(t, save(dir, block), { env: { ORDERS_CLIENT_SECRET: 'orders-client-secret' } }))
  },

  // preloaded into the Quick start program, as an app's start-up code would be
  async Observability(t, block) {
    const quickStart = byId.get('Quick start')!
    const { server, token, dir, env } = await world(t)
    const outcome = await runNode(t, save(dir, quickStart), { env, preload: save(dir, block) })
    succeeded(t, quickStart, outcome, token)
    t.regex(outcome.stdout, /^token fetched from tokenFile/m)
    loggedInAsAlice(t, server, 1)

    const expired = await world(t, { expiresIn: -3600 })
    const refused = await runNode(t, save(expired.dir, quickStart), { env: expired.env, preload: save(expired.dir, block) })
    t.not(refused.code, 0)
    t.regex(refused.stderr, /^authentication_openid_connect_client refused to send the token: ERR_OIDC_TOKEN_EXPIRED$/m)
    t.false(refused.stderr.includes(expired.token.split('.')[2]))
    t.is(expired.server.authLog.filter((entry) => entry.tokenBytes > 0).length, 0)
  },

  // prisma.config.ts, as `prisma generate` loads it with the README's schema
  async 'Prisma 7'(t) {
    const { dir, output } = await prismaProject()
    t.regex(output, /prisma\.config\.ts/)
    t.regex(output, /Generated Prisma Client/)
    t.true(readFileSync(join(dir, 'generated', 'prisma', 'client.ts'), 'utf8').length > 0)
  },

  // the generated client through PrismaMysql2, an OIDC login to the embedded server relaying to MariaDB
  async 'Prisma 7 (2)'(t, block) {
    const { dir } = await prismaProject()
    const db = await startMariaDb()
    t.teardown(() => db.close())
    const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database })
    // the table `prisma migrate` would create for the README's model
    await admin.query('CREATE TABLE `User` (`id` INTEGER NOT NULL AUTO_INCREMENT, `email` VARCHAR(191) NOT NULL, `name` VARCHAR(191) NULL, UNIQUE INDEX `User_email_key`(`email`), PRIMARY KEY (`id`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci')
    await admin.end()
    const idp = await providerPromise
    const server = await startOidcServer({ mode: 'mysql-enterprise', identityProviders: [idp], users: { alice: {} }, tls: true, backend: db })
    t.teardown(() => server.close())
    const token = await idp.signIdToken({ sub: 'alice', aud: 'mysql' })
    writeFileSync(join(dir, 'token'), `${token}\n`)
    writeFileSync(join(dir, 'ca.pem'), server.ca!)
    const env = { MYSQL_HOST: server.host!, MYSQL_PORT: String(server.port), MYSQL_USER: 'alice', MYSQL_DATABASE: db.database, MYSQL_SSL_CA: join(dir, 'ca.pem'), OIDC_TOKEN_FILE: join(dir, 'token') }
    succeeded(t, block, await runNode(t, save(dir, block), { env }), token)
    t.true(server.authLog.length >= 1)
    for (const entry of server.authLog) t.like(entry, { user: 'alice', ok: true, transport: 'tls', plugin: 'authentication_openid_connect_client' })
  },

  async 'openidConnectAuthResponse(token, options?) → Buffer'(t, block) {
    const dir = mkdtempSync(join(project, 'run-'))
    t.is(promisedOutput(block).length, 1)
    succeeded(t, block, await runNode(t, save(dir, block)))
  },
}

test('every JavaScript block in README.md is run here or marked as a fragment on its first line', (t) => {
  t.true(blocks.length >= 10, `found only ${blocks.length} blocks: is the README parsed?`)
  for (const block of blocks) {
    t.true(block.fragment || block.id in RUNS, `README block under "${block.id}" is neither run by readme.spec.ts nor marked "// fragment: …"`)
    const misplaced = block.code.split('\n').slice(1).find((line) => FRAGMENT.test(line))
    t.is(misplaced, undefined, `README block under "${block.id}": the fragment marker belongs on its first line`)
  }
  for (const id of Object.keys(RUNS)) t.false(byId.get(id)?.fragment ?? true, `readme.spec.ts runs "${id}", which is not an unmarked README block`)
})

for (const [id, runBlock] of Object.entries(RUNS)) {
  const block = byId.get(id)
  if (block && !block.fragment) test(`README "${id}" runs as written`, (t) => runBlock(t, block))
}
