// Type-checked (tsc --noEmit) against the typings of the installed package: a typo in index.d.ts
// or main.d.ts, or a types entry that npm did not pack, fails here. The tsconfig names no "types":
// Node's types (Buffer) come through the package's own reference to @types/node. npm run test:types
// checks this file against the work tree too, under TypeScript 5.9 and 7.
import {
  authPlugins,
  openidConnectAuthPlugin,
  inspectIdToken,
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
} from 'mysql-openid-connect'
import type { AuthResponseOptions, ParsedAuthResponse } from 'mysql-openid-connect'

const options: AuthResponseOptions = { capability: 1, validate: true }
const response: Buffer = openidConnectAuthResponse('header.payload.signature', options)
const fromBytes: Buffer = openidConnectAuthResponse(new Uint8Array([1, 2, 3]))
const parsed: ParsedAuthResponse = parseOpenidConnectAuthResponse(response)
const capability: number = parsed.capability
const tokenBytes: Buffer = parsed.token
const claims: Record<string, unknown> = inspectIdToken('a.b.c').claims
const expiresAt: Date | null = inspectIdToken('a.b.c').expiresAt

// @ts-expect-error a token is a string or bytes, not a number
openidConnectAuthResponse(42)
// @ts-expect-error capability is a number
openidConnectAuthResponse('a.b.c', { capability: 'one' })
// @ts-expect-error parse takes the response bytes
parseOpenidConnectAuthResponse('text')

const plugins = authPlugins({ tokenFile: '/var/run/secrets/token' })
const plugin = openidConnectAuthPlugin({ token: 'header.payload.signature' })
// @ts-expect-error the options name the token source
openidConnectAuthPlugin()

export { plugin, plugins, capability, claims, expiresAt, fromBytes, tokenBytes }
