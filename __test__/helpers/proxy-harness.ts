// What the proxy specs share (proxy.spec.ts, proxy-clients.spec.ts): an identity provider, the run's
// MariaDB, an embedded OIDC server per test (alone, or relaying to MariaDB), a proxy in front of it,
// and every token and secret handed out, to prove none reaches a log record or event.
import type { ExecutionContext, TestFn } from 'ava'
import { spawn } from 'node:child_process'
import diagnosticsChannel from 'node:diagnostics_channel'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createProxy, PROXY_CHANNEL, type ProxyOptions } from '../../lib/proxy/index.js'
import { startOidcServer, createIdentityProvider, localSocketPath, startMariaDb } from '../../test-server/index.js'

const ISSUER = 'https://idp.example.test'
export const LOCAL_PASSWORD = 'local-secret-Pa55'
const provider = createIdentityProvider({ issuer: ISSUER, alg: 'RS256' })
export const mariaDb = startMariaDb()
const dirs: string[] = []

/** Registers the spec's hooks: clean-up, and the check that no log record or event holds a secret. */
export function useProxyHarness(test: TestFn) {
  test.after.always(async () => {
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }))
    await (await mariaDb).close()
  })
  test.after('no token or password appears in any log record or event', (t) => {
    const text = JSON.stringify([records, events])
    for (const secret of secrets) t.false(text.includes(secret.slice(0, 24)))
  })
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-proxy-'))
  dirs.push(dir)
  return dir
}

// Every token and secret a test hands out, to prove none reaches a log record or event.
export const secrets = new Set<string>([LOCAL_PASSWORD])
export const records: any[] = []
export const events: any[] = []
diagnosticsChannel.subscribe(PROXY_CHANNEL, (record) => records.push(record))
diagnosticsChannel.subscribe('mysql-openid-connect:token', (event) => events.push(event))
diagnosticsChannel.subscribe('mysql-openid-connect:login', (event) => events.push(event))

export async function signToken(claims: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const token = await (await provider).signIdToken({ sub: 'alice', ...claims }, options)
  secrets.add(token)
  return token
}

export async function upstreamServer(t: ExecutionContext, options: Record<string, unknown> = {}) {
  const server = await startOidcServer({ identityProviders: [await provider], users: { alice: {} }, tls: true, ...options })
  t.teardown(() => server.close())
  return server
}

export async function realUpstream(t: ExecutionContext) {
  return upstreamServer(t, { backend: await mariaDb })
}

export async function proxyFor(t: ExecutionContext, server: any, options: Partial<ProxyOptions> = {}) {
  const proxy = await createProxy({
    upstream: { host: server.host, port: server.port },
    ssl: { ca: server.ca },
    getToken: () => signToken(),
    listen: { path: localSocketPath('proxy') },
    localPassword: LOCAL_PASSWORD,
    log: false,
    ...options,
  } as ProxyOptions)
  t.teardown(() => proxy.close({ drainTimeoutMs: 100 }))
  return proxy
}

export const socketOf = (proxy: any) => (proxy.address as { path: string }).path

export function run(command: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.end(options.input ?? '')
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
