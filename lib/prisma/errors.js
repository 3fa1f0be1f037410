'use strict'

// mysql2's and this package's errors as the kinds Prisma maps to its P-codes (P2002 unique, P2003
// foreign key, P1000 authentication...). The errno table follows @prisma/adapter-mariadb.
const { isOidcError } = require('../errors.js')

// a token refused for where it would go is a TLS failure; every other OIDC failure is a login failure
const TLS_OIDC_CODES = new Set(['ERR_OIDC_UNVERIFIED_SERVER', 'ERR_OIDC_INSECURE_TRANSPORT'])
const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOENT'])
const CONNECTION_CLOSED = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'ER_SERVER_SHUTDOWN'])

/** The quoted words of a server message: `Duplicate entry '1' for key 'a.b'` → ['1', 'a.b']. */
function quoted(message, quote = "'") {
  const parts = (message ?? '').split(quote)
  const words = []
  for (let i = 1; i < parts.length; i += 2) words.push(parts[i])
  return words
}

function serverError(err) {
  const message = err.sqlMessage ?? err.message ?? 'N/A'
  switch (err.errno) {
    case 1062: {
      // "Duplicate entry 'v' for key 'Table.index'" (MySQL 8 qualifies the key with the table)
      const key = /for key '(.*)'$/.exec(message)?.[1]
      const parts = key?.split('.')
      const index = parts?.at(-1)
      const table = parts && parts.length > 1 ? parts.slice(0, -1).join('.') : undefined
      return { kind: 'UniqueConstraintViolation', constraint: index !== undefined ? { index } : undefined, table }
    }
    case 1451:
    case 1452: {
      // "... CONSTRAINT `Post_authorId_fkey` FOREIGN KEY (`authorId`) REFERENCES ..."
      const field = /FOREIGN KEY \(`([^`]+)`\)/.exec(message)?.[1]
      return { kind: 'ForeignKeyConstraintViolation', constraint: field !== undefined ? { fields: [field] } : undefined }
    }
    case 1263: {
      const index = quoted(message).at(-1)
      return { kind: 'NullConstraintViolation', constraint: index !== undefined ? { index } : undefined }
    }
    case 1364:
    case 1048: {
      const field = quoted(message)[0]
      return { kind: 'NullConstraintViolation', constraint: field !== undefined ? { fields: [field] } : undefined }
    }
    case 1264:
      return { kind: 'ValueOutOfRange', cause: message }
    case 1049:
      return { kind: 'DatabaseDoesNotExist', db: quoted(message).at(-1) }
    case 1007:
      return { kind: 'DatabaseAlreadyExists', db: /database '([^']*)'/.exec(message)?.[1] }
    case 1044:
      return { kind: 'DatabaseAccessDenied', db: quoted(message).at(-1) }
    case 1045:
      return { kind: 'AuthenticationFailed', user: quoted(message)[0] }
    case 1146:
      return { kind: 'TableDoesNotExist', table: quoted(message)[0]?.split('.').pop() }
    case 1054:
      return { kind: 'ColumnNotFound', column: quoted(message)[0] }
    case 1406:
      return { kind: 'LengthMismatch', column: quoted(message)[0] }
    case 1191:
      return { kind: 'MissingFullTextSearchIndex' }
    case 1213:
      return { kind: 'TransactionWriteConflict' }
    case 1040:
    case 1203:
      return { kind: 'TooManyConnections', cause: message }
    default:
      return { kind: 'mysql', code: err.errno, message, state: err.sqlState ?? 'N/A', cause: err.cause?.message }
  }
}

/** An OidcError (mysql2 overwrote its `code`, `oidcCode` kept): its code, never more than its message. */
function oidcError(err, user) {
  const code = err.oidcCode
  const mapped = TLS_OIDC_CODES.has(code) ? { kind: 'TlsConnectionError', reason: err.message } : { kind: 'AuthenticationFailed', user }
  return { ...mapped, originalCode: code, originalMessage: err.message, oidcCode: code }
}

/** What Prisma's DriverAdapterError carries for any error from mysql2 or this package. */
function convertError(err, { user, host, port } = {}) {
  if (isOidcError(err)) return oidcError(err, user)
  if (isOidcError(err?.cause)) return oidcError(err.cause, user)
  if (typeof err?.errno === 'number' && typeof err.sqlState === 'string') {
    return { ...serverError(err), originalCode: String(err.errno), originalMessage: err.sqlMessage ?? err.message }
  }
  const code = typeof err?.code === 'string' ? err.code : undefined
  const original = { originalCode: code, originalMessage: err?.message }
  if (code && NETWORK_UNREACHABLE.has(code)) return { kind: 'DatabaseNotReachable', host, port, ...original }
  if (code && CONNECTION_CLOSED.has(code)) return { kind: 'ConnectionClosed', ...original }
  // mysql2's "Can't add new command when connection is in closed state": it saw the close first
  if (code === undefined && err?.fatal === true) return { kind: 'ConnectionClosed', ...original }
  if (code === 'ETIMEDOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return { kind: 'SocketTimeout', ...original }
  if (code && (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || /CERT|SELF_SIGNED/.test(code) || code === 'HANDSHAKE_SSL_ERROR')) {
    return { kind: 'TlsConnectionError', reason: err.message, ...original }
  }
  return undefined
}

module.exports = { convertError }
