'use strict'

// Values between mysql2 and Prisma's driver-adapter interface: column types from mysql2's column
// definitions, rows as Prisma reads them, and Prisma's arguments as mysql2 sends them.

// mysql2's wire type codes (mysql2/lib/constants/types.js), fixed by the protocol
const TYPE = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  VECTOR: 0xf2,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
}
const UNSIGNED_FLAG = 0x20
const ENUM_FLAG = 0x100
const BINARY_CHARSET = 63
const MAX_SIGNED_64 = (1n << 63n) - 1n

/** Prisma's ColumnType for one mysql2 field (ColumnTypeEnum from @prisma/driver-adapter-utils). */
function columnType(field, T) {
  switch (field.columnType) {
    case TYPE.TINY:
    case TYPE.SHORT:
    case TYPE.INT24:
    case TYPE.YEAR:
    case TYPE.NULL:
      return T.Int32
    case TYPE.LONG:
      // INT UNSIGNED reaches 4 294 967 295: past Int32
      return field.flags & UNSIGNED_FLAG ? T.Int64 : T.Int32
    case TYPE.LONGLONG:
      return T.Int64
    case TYPE.FLOAT:
      return T.Float
    case TYPE.DOUBLE:
      return T.Double
    case TYPE.TIMESTAMP:
    case TYPE.DATETIME:
      return T.DateTime
    case TYPE.DATE:
    case TYPE.NEWDATE:
      return T.Date
    case TYPE.TIME:
      return T.Time
    case TYPE.DECIMAL:
    case TYPE.NEWDECIMAL:
      return T.Numeric
    case TYPE.JSON:
      return T.Json
    case TYPE.ENUM:
      return T.Enum
    case TYPE.BIT:
    case TYPE.GEOMETRY:
    case TYPE.VECTOR:
      return T.Bytes
    case TYPE.VARCHAR:
    case TYPE.VAR_STRING:
    case TYPE.STRING:
    case TYPE.SET:
    case TYPE.TINY_BLOB:
    case TYPE.MEDIUM_BLOB:
    case TYPE.LONG_BLOB:
    case TYPE.BLOB:
      // MariaDB's JSON is a LONGTEXT whose extended metadata (mysql2 ≥ 3.23 asks for it) says json
      if (field.extendedFormat === 'json') return T.Json
      // binary vs text by character set, whatever the column type (BLOB and TEXT share a code)
      if (field.characterSet === BINARY_CHARSET) return T.Bytes
      // an ENUM column comes as STRING with the ENUM flag
      return field.flags & ENUM_FLAG ? T.Enum : T.Text
    default:
      throw new Error(`Unsupported column type: ${field.columnType}`)
  }
}

/**
 * A column that may be MariaDB's JSON (a LONGTEXT with a json_valid check) read over a connection
 * that did not get MariaDB's extended metadata (a proxy in between): a text BLOB of a real table.
 */
function mayBeMariaDbJson(field, type, T) {
  return type === T.Text && field.columnType >= TYPE.TINY_BLOB && field.columnType <= TYPE.BLOB && field.extendedFormat === undefined && field.orgTable !== '' && field.schema !== ''
}

/** The columns a table's json_valid(`column`) checks name: MariaDB's JSON columns. */
function jsonColumnsOf(checkClauses) {
  const columns = new Set()
  for (const clause of checkClauses) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(clause).trim())
    if (match) columns.add(match[1].replaceAll('``', '`'))
  }
  return columns
}

/** A DATETIME/TIMESTAMP as mysql2 gives it with dateStrings ('YYYY-MM-DD HH:MM:SS[.ffffff]'), as ISO in UTC. */
function dateTimeValue(text) {
  // a DATETIME with a zero time may come as the date alone
  if (text.length === 10) return `${text}T00:00:00+00:00`
  return `${text.slice(0, 10)}T${text.slice(11)}+00:00`
}

/**
 * Rows in place (mysql2 gave arrays): DATETIME/TIMESTAMP as ISO strings in UTC (the session runs in
 * UTC); everything else is already as Prisma reads it (DECIMAL and BIGINT as strings, dates as text).
 */
function convertRows(rows, fields) {
  const dateTimeColumns = []
  for (let i = 0; i < fields.length; i++) {
    const type = fields[i].columnType
    if (type === TYPE.DATETIME || type === TYPE.TIMESTAMP) dateTimeColumns.push(i)
  }
  if (dateTimeColumns.length === 0) return rows
  for (const row of rows) {
    for (const i of dateTimeColumns) {
      const value = row[i]
      if (typeof value === 'string') row[i] = dateTimeValue(value)
    }
  }
  return rows
}

/** mysql2's typeCast: GEOMETRY as its raw bytes (SRID and WKB), as the reference adapter returns it. */
function geometryAsBytes(field, next) {
  return field.type === 'GEOMETRY' ? field.buffer() : next()
}

/** Whether a result (or any of a CALL's results) has a GEOMETRY column. */
function hasGeometry(fields) {
  if (!Array.isArray(fields)) return false
  return fields.some((field) => (Array.isArray(field) ? hasGeometry(field) : field?.columnType === TYPE.GEOMETRY))
}

const pad2 = (n) => (n < 10 ? `0${n}` : String(n))
const pad3 = (n) => String(n).padStart(3, '0')

function formatDate(date) {
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`
}

function formatTime(date) {
  const ms = date.getUTCMilliseconds()
  return `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}${ms ? `.${pad3(ms)}` : ''}`
}

/** A Date argument as the column's type takes it, in UTC. */
function formatTemporal(date, dbType) {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date argument')
  switch (dbType) {
    case 'TIME':
    case 'TIME2':
      return formatTime(date)
    case 'DATE':
    case 'NEWDATE':
      return formatDate(date)
    default:
      return `${formatDate(date)} ${formatTime(date)}`
  }
}

/**
 * One argument as mysql2 sends it. `integer` builds a typed 64-bit parameter for the binary
 * protocol (mysql2 sends a plain number as a DOUBLE, which MySQL 8.0.22+ refuses for LIMIT ?), or is
 * undefined for the text protocol, where a BigInt is written as its digits.
 */
function convertArg(arg, argType, integer) {
  if (arg === null || arg === undefined) return null
  switch (argType.scalarType) {
    case 'bigint':
    case 'int':
      if (typeof arg === 'string' || typeof arg === 'bigint' || (typeof arg === 'number' && Number.isSafeInteger(arg))) {
        const value = BigInt(arg)
        if (!integer) return value
        return value > MAX_SIGNED_64 ? integer.unsigned(value) : integer(value)
      }
      return arg
    case 'datetime':
      if (typeof arg === 'string') return formatTemporal(new Date(arg), argType.dbType)
      break
    case 'bytes':
      if (typeof arg === 'string') return Buffer.from(arg, 'base64')
      break
  }
  if (arg instanceof Date) return formatTemporal(arg, argType.dbType)
  if (ArrayBuffer.isView(arg) && !Buffer.isBuffer(arg)) return Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
  return arg
}

function convertArgs(args, argTypes, integer) {
  const values = new Array(args.length)
  for (let i = 0; i < args.length; i++) values[i] = convertArg(args[i], argTypes[i] ?? { scalarType: 'unknown' }, integer)
  return values
}

module.exports = { columnType, convertRows, convertArgs, geometryAsBytes, hasGeometry, formatTemporal, mayBeMariaDbJson, jsonColumnsOf }
