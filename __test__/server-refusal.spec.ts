// A token the server refuses (revoked, wrong audience, keys rotated at the provider) is not kept:
// the next login asks the provider again instead of failing until the token's exp. Real mysql2
// against the embedded server (Percona, which checks `aud`), over TLS.
import test from 'ava'
import mysql from 'mysql2/promise'

import { authPlugins } from '../main.js'
import { startOidcServer, createIdentityProvider } from '../test-server/index.js'

async function setUp(t: any, users: Record<string, object> = { alice: {}, bob: {} }) {
  const idp = await createIdentityProvider({ issuer: 'https://idp.refusal.test', alg: 'RS256' })
  const server = await startOidcServer({ mode: 'percona', identityProviders: [{ ...idp, audience: 'mysql' }], users })
  t.teardown(() => server.close())
  const options = { host: server.host, port: server.port, ssl: { ca: server.ca } }
  return { idp, server, options }
}

async function login(options: Record<string, unknown>) {
  try {
    const connection = await mysql.createConnection(options)
    await connection.end()
    return 'ok'
  } catch (err: any) {
    return String(err.code)
  }
}

test('a cached token the server refuses is dropped: the next login fetches a new one', async (t) => {
  const { idp, options } = await setUp(t)
  const tokens = [await idp.signIdToken({ sub: 'alice', aud: 'other' }, { expiresIn: 3600 }), await idp.signIdToken({ sub: 'alice', aud: 'mysql' })]
  let calls = 0
  const plugins = authPlugins({ getToken: () => tokens[Math.min(calls++, 1)] })
  t.is(await login({ ...options, user: 'alice', authPlugins: plugins }), 'ER_ACCESS_DENIED_ERROR')
  t.is(await login({ ...options, user: 'alice', authPlugins: plugins }), 'ok')
  t.is(await login({ ...options, user: 'alice', authPlugins: plugins }), 'ok')
  t.is(calls, 2, 'one refetch after the refusal, then the good token is cached')
})

test('a provider that hands out the same refused token again is not asked at every login', async (t) => {
  const { idp, options } = await setUp(t)
  const refused = await idp.signIdToken({ sub: 'alice', aud: 'other' }, { expiresIn: 3600 })
  let calls = 0
  const plugins = authPlugins({ getToken: () => (calls++, refused) })
  for (let i = 0; i < 4; i++) t.is(await login({ ...options, user: 'alice', authPlugins: plugins }), 'ER_ACCESS_DENIED_ERROR')
  t.is(calls, 2)
})

test('changeUser refused by the server drops that user\'s cached token too', async (t) => {
  const { idp, options } = await setUp(t)
  let bobCalls = 0
  const plugins = authPlugins({
    getToken: async ({ user }) => {
      if (user !== 'bob') return idp.signIdToken({ sub: user, aud: 'mysql' })
      return idp.signIdToken({ sub: 'bob', aud: bobCalls++ === 0 ? 'other' : 'mysql' })
    },
  })
  const connection = await mysql.createConnection({ ...options, user: 'alice', authPlugins: plugins })
  t.teardown(() => connection.destroy())
  const err = (await t.throwsAsync(connection.changeUser({ user: 'bob' }))) as any
  t.is(err.code, 'ER_ACCESS_DENIED_ERROR')
  t.is(await login({ ...options, user: 'bob', authPlugins: plugins }), 'ok')
  t.is(bobCalls, 2)
})
