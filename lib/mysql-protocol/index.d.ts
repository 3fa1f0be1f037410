// The MySQL client/server protocol pieces shared by the package and its test server.
// Payloads are Buffers without the 4-byte frame header.
import type { Duplex } from 'node:stream'
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'

export declare const CLIENT: Readonly<Record<
  | 'LONG_PASSWORD' | 'FOUND_ROWS' | 'LONG_FLAG' | 'CONNECT_WITH_DB' | 'NO_SCHEMA' | 'COMPRESS' | 'ODBC'
  | 'LOCAL_FILES' | 'IGNORE_SPACE' | 'PROTOCOL_41' | 'INTERACTIVE' | 'SSL' | 'IGNORE_SIGPIPE' | 'TRANSACTIONS'
  | 'RESERVED' | 'SECURE_CONNECTION' | 'MULTI_STATEMENTS' | 'MULTI_RESULTS' | 'PS_MULTI_RESULTS' | 'PLUGIN_AUTH'
  | 'CONNECT_ATTRS' | 'PLUGIN_AUTH_LENENC_CLIENT_DATA' | 'CAN_HANDLE_EXPIRED_PASSWORDS' | 'SESSION_TRACK'
  | 'DEPRECATE_EOF' | 'OPTIONAL_RESULTSET_METADATA' | 'ZSTD_COMPRESSION_ALGORITHM' | 'QUERY_ATTRIBUTES',
  number
>>
export declare const COMMAND: Readonly<Record<
  'QUIT' | 'INIT_DB' | 'QUERY' | 'PING' | 'CHANGE_USER' | 'STMT_PREPARE' | 'STMT_EXECUTE' | 'STMT_CLOSE' | 'RESET_CONNECTION',
  number
>>
export declare const SERVER_STATUS_AUTOCOMMIT: number
export declare const CHARSET_UTF8MB4_GENERAL_CI: number
/** 16 MiB - 1: a frame this full is continued by the next one. */
export declare const MAX_PACKET_PAYLOAD: number

export declare function encodeLenencInt(value: number): Buffer
export declare function encodeLenencString(value: string | Buffer): Buffer
export declare function readLenencInt(buf: Buffer, offset: number): { value: number; next: number }
export declare function readNulString(buf: Buffer, offset: number, encoding?: BufferEncoding): { value: string; next: number }
/** Frames a payload (split at 16 MiB - 1, empty trailer when exactly full) from `sequenceId` on. */
export declare function framePackets(sequenceId: number, payload: Buffer): { bytes: Buffer; nextSequenceId: number }

export interface Packet {
  /** The sequence id of the packet's last frame. */
  sequenceId: number
  payload: Buffer
}
/** Reassembles logical packets from a byte stream; next() throws past maxMessageBytes (default 64 MiB). */
export declare class PacketReader {
  constructor(options?: { maxMessageBytes?: number })
  push(chunk: Buffer): void
  next(): Packet | null
  takeRemaining(): Buffer
}

export interface HandshakeV10 {
  serverVersion: string
  connectionId: number
  /** 20 bytes for the password plugins (both parts, without the NUL). */
  scramble: Buffer
  capabilities: number
  charset: number
  statusFlags: number
  authPluginName: string
  /** MariaDB's own flags (the last 4 reserved bytes), when CLIENT_MYSQL (LONG_PASSWORD) is unset; else 0. */
  mariadbCapabilities: number
}
export declare function encodeHandshakeV10(
  fields: Omit<HandshakeV10, 'charset' | 'statusFlags' | 'mariadbCapabilities'> & { charset?: number; statusFlags?: number; mariadbCapabilities?: number },
): Buffer
export declare function parseHandshakeV10(payload: Buffer): HandshakeV10

export interface HandshakeResponse41 {
  clientFlags: number
  maxPacketSize: number
  charset: number
  /** MariaDB's client flags (the last 4 filler bytes), when CLIENT_MYSQL (LONG_PASSWORD) is unset; else 0. */
  mariadbCapabilities: number
  user: string
  authData: Buffer
  database: string
  clientPluginName: string
  /** The raw attribute block, length prefix included (send it on unchanged). */
  connectAttrs?: Buffer
}
export declare function encodeSslRequest(fields: { clientFlags: number; charset?: number; maxPacketSize?: number; mariadbCapabilities?: number }): Buffer
export declare function isSslRequest(payload: Buffer): boolean
export declare function encodeHandshakeResponse41(fields: {
  clientFlags: number
  user: string
  authData?: Buffer
  database?: string
  authPluginName?: string
  connectAttrs?: Buffer
  charset?: number
  maxPacketSize?: number
  mariadbCapabilities?: number
}): Buffer
export declare function parseHandshakeResponse41(payload: Buffer): HandshakeResponse41
/** A whole COM_CHANGE_USER packet (command byte included). */
export declare function encodeChangeUser(fields: {
  clientFlags: number
  user: string
  authData?: Buffer
  database?: string
  authPluginName?: string
  connectAttrs?: Buffer
  charset?: number
}): Buffer
/** Parses a COM_CHANGE_USER body (after the command byte). */
export declare function parseChangeUser(body: Buffer, clientFlags: number): Omit<HandshakeResponse41, 'maxPacketSize' | 'mariadbCapabilities'>

export declare function encodeOk(fields?: { affectedRows?: number; insertId?: number; status?: number; warnings?: number; header?: number }): Buffer
export declare function encodeErr(errorCode: number, sqlState: string, message: string): Buffer
export declare function parseErr(payload: Buffer): { errorCode: number; sqlState: string; message: string }
export declare function encodeEof(status?: number, warnings?: number): Buffer
/** `pluginName` null: a deliberately malformed request (no NUL), for fault tests. */
export declare function encodeAuthSwitchRequest(pluginName: string | null, pluginData?: Buffer): Buffer
export declare function parseAuthSwitchRequest(payload: Buffer): { pluginName: string; pluginData: Buffer }
export declare function encodeAuthMoreData(data: Buffer): Buffer

/** A socket seen as packets, with the running sequence id. */
export declare class PacketChannel {
  constructor(stream: Duplex, options?: { buffered?: Buffer; maxMessageBytes?: number })
  stream: Duplex
  /** The sequence id the next writePacket uses; set to 0 before a new command. */
  sequenceId: number
  /** Rejects when the peer closes or errs, or (code ETIMEDOUT) says nothing for timeoutMs. */
  readPacket(options?: { timeoutMs?: number }): Promise<Packet>
  writePacket(payload: Buffer): void
  /** Client side, after an SSLRequest went out. */
  upgradeToTls(options: TlsConnectionOptions): Promise<Duplex>
  /** Stops reading; the socket and the bytes received but not read, for a relay. */
  release(): { stream: Duplex; buffered: Buffer }
  destroy(): void
}

export interface AnswerContext {
  /** 'initial': the greeting's plugin; 'switch': an AuthSwitchRequest; 'more': AuthMoreData (data without the 0x01). */
  stage: 'initial' | 'switch' | 'more'
  /** TLS or a local socket: where a password or token may go in clear. */
  secure: boolean
  /** The current plugin's data from the greeting or the last switch (password plugins: 20 bytes + NUL). */
  scramble: Buffer
  handshake: HandshakeV10
}
/** What to send for `pluginName` given the server's `data`; null sends nothing (wait for the server). */
export type Answer = (pluginName: string, data: Buffer, context: AnswerContext) => Buffer | null | Promise<Buffer | null>

export interface Login {
  channel: PacketChannel
  handshake: HandshakeV10
  /** The flags sent: the requested ones minus what the server lacks (and COMPRESS), SSL when TLS was used. */
  clientFlags: number
  /** MariaDB's flags sent: the requested ones the server offers. */
  mariadbCapabilities: number
  secure: boolean
  /** The server's final OK packet. */
  ok: Buffer
}
export interface LoginOptions {
  host?: string
  port?: number
  socketPath?: string
  user: string
  database?: string
  clientFlags: number
  /** MariaDB's client flags to ask for (sent only where the server offers them and CLIENT_MYSQL is unset). */
  mariadbCapabilities?: number
  answer: Answer
  connectAttrs?: Buffer
  charset?: number
  /** tls.connect options (servername defaults to host); null or absent: no TLS. */
  tls?: TlsConnectionOptions | null
  /** Connect, and each reply while logging in (default 10 s). */
  timeoutMs?: number
}
/** An ERR packet from the server. */
export declare class ServerError extends Error {
  errorCode: number
  sqlState: string
}
/** Connects and logs in; rejects with ServerError on a refusal, an Error with a code (ETIMEDOUT, ECONNREFUSED, ...) otherwise. */
/** A TCP or Unix-socket connection with Nagle off; rejects with the socket's error, or ETIMEDOUT after `timeoutMs`. */
export declare function connectSocket(options: { host?: string; port?: number; socketPath?: string; timeoutMs: number }): Promise<import('node:net').Socket>
export declare function connectAndLogin(options: LoginOptions): Promise<Login>
/** COM_CHANGE_USER on a channel connectAndLogin opened; resolves to the OK payload. */
export declare function changeUser(login: Login, options: { user: string; database?: string; answer: Answer; connectAttrs?: Buffer; charset?: number; timeoutMs?: number }): Promise<Buffer>
/** mysql_native_password, caching_sha2_password (fast; full auth in clear only when secure, else RSA), mysql_clear_password (secure only). */
export declare function passwordAnswer(password: string): Answer
/** One COM_QUERY without a result set (DDL, GRANT, SET); resolves to the OK payload. */
export declare function runStatement(channel: PacketChannel, sql: string, options?: { timeoutMs?: number }): Promise<Buffer>

export interface RelaySide {
  stream: Duplex
  /** Bytes already read from the stream, to be relayed first. */
  buffered?: Buffer
}
/**
 * Pipes packets unchanged both ways until either side closes, then ends the other. A server that
 * closes while the client waits for its reply makes the client get ERR 2013 (LOST_SERVER_ERROR).
 * interceptCommand: stop before a command (its first byte) and hand both sides to onIntercept, the
 * command's bytes first in client.buffered; the caller may start a new relay afterwards.
 */
export declare function startRelay(options: {
  client: RelaySide
  server: RelaySide
  interceptCommand?: ((commandByte: number) => boolean) | null
  onIntercept?: (sides: { client: Required<RelaySide>; server: Required<RelaySide> }) => void
  onEnd?: (reason: 'client closed' | 'server closed' | 'closed') => void
}): { close(): void }
export declare const LOST_SERVER_ERROR: { errorCode: number; sqlState: string; message: string }
