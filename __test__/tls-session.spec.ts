// The peer check reads the server certificate from the TLS session (lib/transport.js), because no
// public Node API has it on a resumed session: fresh and resumed, TLS 1.2 and 1.3, before and after
// session tickets, the native reader finds the very certificate the server proved. Node 20 gives the
// bare session, 22 and later wrap it in a header of their own: TLS_SESSION_RUNTIME runs the probe
// under another node (npm run test:runtimes does, for Node 20, 22, 24 and 26).
import test from 'ava'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
const { certificateOfTlsSession } = requireFromRoot('./lib/core.js')
const RUNTIME = process.env.TLS_SESSION_RUNTIME || process.execPath
const PROBE = path.join(process.cwd(), '__test__/fixtures/tls-session-probe.cjs')

test(`every connection's session yields the certificate the server proved (${process.env.TLS_SESSION_RUNTIME ? RUNTIME : 'this Node'})`, async (t) => {
  const { stdout } = await promisify(execFile)(RUNTIME, [PROBE], { timeout: 60_000 })
  const { runtime, results } = JSON.parse(stdout)
  t.log(`probed under ${runtime}`)
  t.is(results.length, 6)
  for (const seen of results) {
    const where = `${seen.version} connection ${seen.connection}`
    t.is(seen.resumed, seen.connection > 0, `${where}: the later connections resume the first session`)
    t.true(seen.atHandshake.found, `${where}, at the handshake`)
    t.true(seen.afterTickets.found, `${where}, after the session tickets`)
    // why the session is read at all: on a resumed session Node's public API has no certificate
    if (seen.resumed) t.false(seen.atHandshake.publicApi, `${where}: getPeerX509Certificate() has none`)
  }
})

test('bytes that are not a session with a certificate give null, never a throw', (t) => {
  for (const value of [undefined, null, 'session', 42, {}, Buffer.alloc(0), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), Buffer.from('\0nodejs:tls:session:1\0\xff\xff', 'latin1'), new Uint8Array([0x30, 0x00])]) {
    t.is(certificateOfTlsSession(value as any), null, String(value))
  }
})
