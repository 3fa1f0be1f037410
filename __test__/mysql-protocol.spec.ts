// lib/mysql-protocol on its own: framing at the 16 MiB boundary, the connection-phase packets, the
// client login against servers written here (caching_sha2_password's fast, full-over-TLS and RSA
// paths, which MariaDB lacks; a silent server; a refusing one), and the relay fed a byte at a time.
import test, { type ExecutionContext } from 'ava'
import { createHash, generateKeyPairSync, privateDecrypt, constants as cryptoConstants, randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { createRequire } from 'node:module'

const require = createRequire(__filename)
const wire = require('../lib/mysql-protocol')
const { getSelfSignedCertificate } = require('../test-server/certs')
const { verifyNativePassword } = require('../test-server/native-password')

const { CLIENT, MAX_PACKET_PAYLOAD } = wire
const CLIENT_FLAGS = CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.CONNECT_ATTRS | CLIENT.SSL
const sha256 = (...parts: Buffer[]) => parts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest()
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ b[i % b.length]))

test('framing: split at 16 MiB - 1 with an empty trailer when exactly full, sequence ids wrap, reassembly from any chunking', (t) => {
  for (const size of [0, 1, MAX_PACKET_PAYLOAD - 1, MAX_PACKET_PAYLOAD, MAX_PACKET_PAYLOAD + 1]) {
    const payload = randomBytes(size)
    const { bytes, nextSequenceId } = wire.framePackets(254, payload)
    const frames = Math.floor(size / MAX_PACKET_PAYLOAD) + 1
    t.is(bytes.length, size + 4 * frames, `size ${size}`)
    t.is(nextSequenceId, (254 + frames) & 0xff)
    const reader = new wire.PacketReader()
    for (let offset = 0; offset < bytes.length; offset += 3_000_001) reader.push(bytes.subarray(offset, offset + 3_000_001))
    const packet = reader.next()
    t.true(packet.payload.equals(payload))
    t.is(packet.sequenceId, (254 + frames - 1) & 0xff)
    t.is(reader.next(), null)
  }
  const reader = new wire.PacketReader({ maxMessageBytes: 10 })
  reader.push(wire.framePackets(0, Buffer.alloc(11)).bytes)
  t.throws(() => reader.next(), { message: /too large/ })
})

test('connection-phase packets: what encode writes, parse reads back', (t) => {
  const scramble = randomBytes(20)
  const greeting = wire.parseHandshakeV10(
    wire.encodeHandshakeV10({ serverVersion: '8.4.0-test', connectionId: 7, scramble, capabilities: 0x81fff7fe, authPluginName: 'caching_sha2_password', charset: 255, statusFlags: 2 }),
  )
  t.deepEqual(greeting, { serverVersion: '8.4.0-test', connectionId: 7, scramble, capabilities: 0x81fff7fe, charset: 255, statusFlags: 2, authPluginName: 'caching_sha2_password' })

  const connectAttrs = Buffer.concat([Buffer.from([8]), wire.encodeLenencString('_os'), wire.encodeLenencString('x')])
  const fields = { user: 'ada', authData: randomBytes(32), database: 'app', connectAttrs, charset: 45 }
  for (const clientFlags of [CLIENT_FLAGS | CLIENT.CONNECT_WITH_DB, (CLIENT_FLAGS | CLIENT.CONNECT_WITH_DB) & ~CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA]) {
    const response = wire.parseHandshakeResponse41(wire.encodeHandshakeResponse41({ ...fields, clientFlags, authPluginName: 'mysql_native_password' }))
    t.like(response, { clientFlags, user: 'ada', database: 'app', clientPluginName: 'mysql_native_password', charset: 45 })
    t.true(response.authData.equals(fields.authData))
    t.true(response.connectAttrs.equals(connectAttrs))
  }
  const changeUser = wire.encodeChangeUser({ ...fields, authData: fields.authData.subarray(0, 20), clientFlags: CLIENT_FLAGS, authPluginName: 'x' })
  t.is(changeUser[0], wire.COMMAND.CHANGE_USER)
  t.like(wire.parseChangeUser(changeUser.subarray(1), CLIENT_FLAGS), { user: 'ada', database: 'app', charset: 45, clientPluginName: 'x' })
  t.true(wire.isSslRequest(wire.encodeSslRequest({ clientFlags: CLIENT_FLAGS })))
  t.deepEqual(wire.parseErr(wire.encodeErr(1045, '28000', 'no')), { errorCode: 1045, sqlState: '28000', message: 'no' })
  t.deepEqual(wire.parseAuthSwitchRequest(wire.encodeAuthSwitchRequest('p', Buffer.from('data\0'))), { pluginName: 'p', pluginData: Buffer.from('data\0') })
})

/** A one-connection server running `serve(channel, socket)`; resolves to its port. */
async function fakeServer(t: ExecutionContext, serve: (socket: net.Socket) => Promise<void> | void) {
  const listener = net.createServer((socket) => {
    socket.on('error', () => {})
    Promise.resolve(serve(socket)).catch(() => socket.destroy())
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => listener.close())
  return (listener.address() as net.AddressInfo).port
}

// A caching_sha2_password server: `cached` says whether fast auth knows the account.
function cachingSha2Server(t: ExecutionContext, { password, cached, identity, rsa }: { password: string; cached: boolean; identity?: { key: string; cert: string }; rsa?: ReturnType<typeof generateKeyPairSync> }) {
  const seen: string[] = []
  return {
    seen,
    port: fakeServer(t, async (socket) => {
      let channel = new wire.PacketChannel(socket)
      const scramble = Buffer.from(randomBytes(20).map((b) => (b % 127) + 1))
      const capabilities = (CLIENT_FLAGS & ~CLIENT.SSL) | (identity ? CLIENT.SSL : 0) | CLIENT.CONNECT_WITH_DB
      channel.writePacket(wire.encodeHandshakeV10({ serverVersion: '8.4.0', connectionId: 1, scramble, capabilities, authPluginName: 'caching_sha2_password' }))
      let packet = await channel.readPacket()
      if (wire.isSslRequest(packet.payload)) {
        const { stream, buffered } = channel.release()
        if (buffered.length) stream.unshift(buffered)
        const secure = new tls.TLSSocket(stream as net.Socket, { isServer: true, secureContext: tls.createSecureContext(identity) })
        await new Promise((resolve) => secure.once('secure', resolve))
        const sequenceId = channel.sequenceId
        channel = new wire.PacketChannel(secure)
        channel.sequenceId = sequenceId
        packet = await channel.readPacket()
        seen.push('tls')
      }
      const response = wire.parseHandshakeResponse41(packet.payload)
      const stored = sha256(sha256(Buffer.from(password)))
      const fastOk = sha256(xor(response.authData, sha256(stored, scramble))).equals(stored)
      const ok = () => channel.writePacket(wire.encodeOk())
      const deny = () => channel.writePacket(wire.encodeErr(1045, '28000', 'Access denied'))
      if (cached) {
        seen.push('fast')
        channel.writePacket(wire.encodeAuthMoreData(Buffer.from([fastOk ? 0x03 : 0x04])))
        return fastOk ? ok() : deny()
      }
      channel.writePacket(wire.encodeAuthMoreData(Buffer.from([0x04]))) // perform full authentication
      let answer = (await channel.readPacket()).payload
      if (answer.length === 1 && answer[0] === 0x02) {
        seen.push('key requested')
        channel.writePacket(wire.encodeAuthMoreData(Buffer.from(rsa!.publicKey.export({ type: 'spki', format: 'pem' }) as string)))
        const decrypted = privateDecrypt({ key: rsa!.privateKey, oaepHash: 'sha1', padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING }, (await channel.readPacket()).payload)
        answer = xor(decrypted, scramble)
      } else seen.push('clear')
      return answer.equals(Buffer.from(`${password}\0`)) ? ok() : deny()
    }),
  }
}

test('passwordAnswer logs in with caching_sha2_password: fast auth, full auth in clear over TLS, full auth by RSA over plain TCP', async (t) => {
  const identity = await getSelfSignedCertificate()
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const login = async (server: ReturnType<typeof cachingSha2Server>, password: string, useTls: boolean) => {
    const result = await wire.connectAndLogin({
      host: '127.0.0.1',
      port: await server.port,
      user: 'ada',
      database: 'app',
      clientFlags: CLIENT_FLAGS,
      answer: wire.passwordAnswer(password),
      tls: useTls ? { ca: identity.cert } : null,
    })
    result.channel.destroy()
    return result
  }
  const fast = cachingSha2Server(t, { password: 'pässword', cached: true })
  t.is((await login(fast, 'pässword', false)).ok[0], 0x00)
  t.deepEqual(fast.seen, ['fast'])
  const wrong = cachingSha2Server(t, { password: 'pässword', cached: true })
  t.like(await t.throwsAsync(login(wrong, 'other', false)), { name: 'ServerError', errorCode: 1045, sqlState: '28000' })

  const overTls = cachingSha2Server(t, { password: 'pw', cached: false, identity })
  const secured = await login(overTls, 'pw', true)
  t.true(secured.secure)
  t.true((secured.clientFlags & CLIENT.SSL) !== 0)
  t.deepEqual(overTls.seen, ['tls', 'clear'])

  const overTcp = cachingSha2Server(t, { password: 'pw', cached: false, rsa })
  await login(overTcp, 'pw', false)
  t.deepEqual(overTcp.seen, ['key requested'], 'no password in clear over plain TCP')
})

test('connectAndLogin: a silent server times out, a greeting ERR is a ServerError, a native-password switch is answered', async (t) => {
  const silent = await fakeServer(t, () => {})
  const started = Date.now()
  t.like(await t.throwsAsync(wire.connectAndLogin({ host: '127.0.0.1', port: silent, user: 'a', clientFlags: CLIENT_FLAGS, answer: () => null, timeoutMs: 200 })), { code: 'ETIMEDOUT' })
  t.true(Date.now() - started < 2000)

  const busy = await fakeServer(t, (socket) => void socket.end(wire.framePackets(0, wire.encodeErr(1040, '08004', 'Too many connections')).bytes))
  t.like(await t.throwsAsync(wire.connectAndLogin({ host: '127.0.0.1', port: busy, user: 'a', clientFlags: CLIENT_FLAGS, answer: () => null })), { errorCode: 1040, message: 'Too many connections' })

  const switching = await fakeServer(t, async (socket) => {
    const channel = new wire.PacketChannel(socket)
    channel.writePacket(wire.encodeHandshakeV10({ serverVersion: '5.5.5-10.11', connectionId: 1, scramble: randomBytes(20), capabilities: CLIENT_FLAGS & ~CLIENT.SSL, authPluginName: 'client_ed25519' }))
    await channel.readPacket()
    const scramble = Buffer.from(randomBytes(20).map((b) => (b % 127) + 1))
    channel.writePacket(wire.encodeAuthSwitchRequest('mysql_native_password', Buffer.concat([scramble, Buffer.from([0])])))
    const { payload } = await channel.readPacket()
    channel.writePacket(verifyNativePassword(scramble, 'pw', payload) ? wire.encodeOk() : wire.encodeErr(1045, '28000', 'denied'))
  })
  const answered: string[] = []
  const answer = wire.passwordAnswer('pw')
  const login = await wire.connectAndLogin({
    host: '127.0.0.1',
    port: switching,
    user: 'a',
    clientFlags: CLIENT_FLAGS,
    answer: (plugin: string, data: Buffer, context: any) => (answered.push(`${plugin}:${context.stage}`), plugin === 'client_ed25519' ? Buffer.alloc(0) : answer(plugin, data, context)),
  })
  login.channel.destroy()
  t.deepEqual(answered, ['client_ed25519:initial', 'mysql_native_password:switch'])
})

/** A connected socket pair over loopback: [client end, server end]. */
async function socketPair(t: ExecutionContext): Promise<[net.Socket, net.Socket]> {
  let accepted!: (socket: net.Socket) => void
  const other = new Promise<net.Socket>((resolve) => (accepted = resolve))
  const listener = net.createServer((socket) => accepted(socket))
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const socket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
  const pair: [net.Socket, net.Socket] = [socket, await other]
  listener.close()
  t.teardown(() => pair.forEach((s) => s.destroy()))
  return pair
}

/** A relay between two socket pairs: the test plays the client on `client`, the server on `server`. */
async function relayed(t: ExecutionContext, options: Record<string, unknown> = {}) {
  const [client, relayClientSide] = await socketPair(t)
  const [relayServerSide, server] = await socketPair(t)
  const relay = wire.startRelay({ client: { stream: relayClientSide }, server: { stream: relayServerSide }, ...options })
  return { client, server, relay }
}

const collect = (socket: net.Socket) => {
  const chunks: Buffer[] = []
  socket.on('data', (chunk) => chunks.push(chunk))
  return () => Buffer.concat(chunks)
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 100))

test('relay: bytes pass unchanged both ways; fed a byte at a time, it still stops exactly before COM_CHANGE_USER', async (t) => {
  let intercepted: any = null
  const { client, server } = await relayed(t, { interceptCommand: (command: number) => command === wire.COMMAND.CHANGE_USER, onIntercept: (sides: any) => (intercepted = sides) })
  const atServer = collect(server)
  const atClient = collect(client)
  const query = wire.framePackets(0, Buffer.concat([Buffer.from([wire.COMMAND.QUERY]), randomBytes(MAX_PACKET_PAYLOAD + 10)])).bytes
  client.write(query)
  const reply = wire.framePackets(1, randomBytes(300)).bytes
  server.write(reply)
  const changeUser = wire.framePackets(0, wire.encodeChangeUser({ clientFlags: CLIENT_FLAGS, user: 'bob' })).bytes
  const ping = wire.framePackets(0, Buffer.from([wire.COMMAND.PING])).bytes
  for (const byte of Buffer.concat([wire.framePackets(0, Buffer.from([wire.COMMAND.PING])).bytes, changeUser, ping])) {
    client.write(Buffer.from([byte]))
    await new Promise((resolve) => setImmediate(resolve))
  }
  await settle()
  t.true(atServer().equals(Buffer.concat([query, ping])), 'the query (split over two frames) and the first ping, nothing after')
  t.true(atClient().equals(reply))
  t.truthy(intercepted)
  // what the relay read of COM_CHANGE_USER is handed over; the rest still waits in the socket
  const rest = collect(intercepted.client.stream)
  intercepted.client.stream.resume()
  await settle()
  t.true(Buffer.concat([intercepted.client.buffered, rest()]).equals(Buffer.concat([changeUser, ping])))
})

test('relay: a server that closes while the client waits gives the client ERR 2013 with the next sequence id; after its reply, just the close', async (t) => {
  const waiting = await relayed(t)
  const atClient = collect(waiting.client)
  waiting.client.write(wire.framePackets(0, Buffer.from([wire.COMMAND.QUERY, 0x31])).bytes)
  await settle()
  waiting.server.destroy()
  await new Promise((resolve) => waiting.client.once('close', resolve))
  const reader = new wire.PacketReader()
  reader.push(atClient())
  const packet = reader.next()
  t.is(packet.sequenceId, 1)
  t.like(wire.parseErr(packet.payload), { errorCode: 2013, sqlState: 'HY000' })

  const answered = await relayed(t)
  const atClient2 = collect(answered.client)
  answered.client.write(wire.framePackets(0, Buffer.from([wire.COMMAND.QUERY, 0x31])).bytes)
  await settle()
  answered.server.end(wire.framePackets(1, wire.encodeOk()).bytes)
  await new Promise((resolve) => answered.client.once('close', resolve))
  t.true(atClient2().equals(wire.framePackets(1, wire.encodeOk()).bytes))
})
