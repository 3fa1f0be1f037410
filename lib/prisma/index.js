'use strict'

// PrismaMysql2: a Prisma 7 driver adapter on a mysql2 pool, so a PrismaClient can log in with any
// mysql2 option (authPlugins with an OIDC token, ssl, socketPath...). Mirrors @prisma/adapter-mariadb
// (driver glue here, values in conversion.js, errors in errors.js). mysql2 and
// @prisma/driver-adapter-utils are loaded at construction, so users without Prisma never need them.
const { pluginError } = require('../errors.js')
const { columnType, convertRows, convertArgs, geometryAsBytes, hasGeometry, mayBeMariaDbJson, jsonColumnsOf } = require('./conversion.js')
const { convertError } = require('./errors.js')

const ADAPTER_NAME = 'mysql-openid-connect'
const ISOLATION_LEVELS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'])
const SAVEPOINT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
// the protocol's limit on placeholders in one prepared statement
const MAX_BIND_VALUES = 65535
// per connection: the server's max_prepared_stmt_count (16 382 by default) is shared by all of them
const DEFAULT_MAX_PREPARED_STATEMENTS = 256
// what the conversions rely on, whatever the caller's pool options say
const REQUIRED_POOL_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  jsonStrings: true,
  decimalNumbers: false,
  namedPlaceholders: false,
  typeCast: true,
  timezone: 'Z',
}
// statements remembered as returning GEOMETRY or not (Prisma's are few and repeat)
const GEOMETRY_SQL_LIMIT = 4096
const POOL_ONLY_OPTIONS = ['waitForConnections', 'connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit']
const ADAPTER_OPTIONS = new Set(['schema', 'useTextProtocol', 'shadowDatabase'])

function missing(name, install) {
  return pluginError('ERR_OIDC_MISSING_DEPENDENCY', `PrismaMysql2 needs ${name}: ${install}`)
}

function loadDependencies() {
  let utils, mysql2
  try {
    utils = require('@prisma/driver-adapter-utils')
  } catch {
    throw missing('the @prisma/driver-adapter-utils package (version 7, as your prisma)', 'npm install @prisma/driver-adapter-utils')
  }
  try {
    mysql2 = require('mysql2')
  } catch {
    throw missing('the mysql2 package (3.24 or later)', 'npm install mysql2')
  }
  // typed integer parameters (3.24) and MariaDB's extended column metadata (3.23)
  if (typeof mysql2.TypedParameter?.LONGLONG !== 'function') throw missing('mysql2 3.24 or later', 'npm install mysql2@latest')
  return { utils, mysql2 }
}

function invalid(message) {
  return pluginError('ERR_OIDC_INVALID_ARGUMENT', `PrismaMysql2: ${message}`)
}

/** mysql2's options for a config that is pool options, a connection URL, or pool options with `uri`. */
function poolOptions(config) {
  if (typeof config === 'string') return { uri: config }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw invalid('the first argument must be mysql2 pool options or a connection URL')
  }
  return { ...config }
}

function databaseOf(options) {
  if (options.uri) {
    try {
      const name = decodeURIComponent(new URL(options.uri).pathname.slice(1))
      if (name) return name
    } catch {
      // mysql2 reports a bad URL when the pool connects
    }
  }
  return typeof options.database === 'string' ? options.database : undefined
}

/** Promise around mysql2's callback API (its promise wrapper adds a layer per call). */
function run(client, method, query, values) {
  return new Promise((resolve, reject) => {
    client[method](query, values, (err, result, fields) => (err ? reject(err) : resolve({ result, fields })))
  })
}

class Mysql2Queryable {
  provider = 'mysql'
  adapterName = ADAPTER_NAME

  constructor(client, context) {
    this.client = client
    this.context = context
  }

  async queryRaw(query) {
    let { result, fields } = await this.performIO(query)
    if (!Array.isArray(result)) {
      // INSERT/UPDATE/DELETE sent as a query: no columns, the id it inserted
      return { columnNames: [], columnTypes: [], rows: [], lastInsertId: result?.insertId === undefined ? undefined : String(result.insertId) }
    }
    // a CALL answers with several result sets: Prisma reads the first
    if (Array.isArray(fields?.[0])) {
      result = result[0]
      fields = fields[0]
    }
    const T = this.context.utils.ColumnTypeEnum
    fields ??= []
    const columnTypes = fields.map((field) => columnType(field, T))
    if (this.context.jsonColumns) await this.findMariaDbJson(fields, columnTypes, T)
    return { columnNames: fields.map((field) => field.name), columnTypes, rows: convertRows(result, fields) }
  }

  /** MariaDB's JSON columns from its catalog, once per table, when the connection lacks the extended metadata that says so. */
  async findMariaDbJson(fields, columnTypes, T) {
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]
      if (!mayBeMariaDbJson(field, columnTypes[i], T)) continue
      const key = `${field.schema}.${field.orgTable}`
      let columns = this.context.jsonColumns.get(key)
      if (!columns) {
        const query = { sql: 'SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?', rowsAsArray: true }
        columns = run(this.client, 'query', query, [field.schema, field.orgTable]).then(
          ({ result }) => jsonColumnsOf(result.map((row) => row[0])),
          // a catalog we may not read: text, as mysql2 gave it; asked again next time
          () => {
            this.context.jsonColumns.delete(key)
            return new Set()
          },
        )
        this.context.jsonColumns.set(key, columns)
      }
      if ((await columns).has(field.orgName)) columnTypes[i] = T.Json
    }
  }

  async executeRaw(query) {
    const { result } = await this.performIO(query)
    return result?.affectedRows ?? 0
  }

  async performIO(query) {
    const { useTextProtocol, integer, geometrySql } = this.context
    try {
      const values = convertArgs(query.args, query.argTypes, useTextProtocol ? undefined : integer)
      const request = { sql: query.sql, rowsAsArray: true }
      // mysql2's typeCast wraps every value of every row (3x slower), and only GEOMETRY needs it: a
      // statement gets it until one run shows it returns no GEOMETRY column
      const geometry = geometrySql.get(query.sql)
      if (geometry !== false) request.typeCast = geometryAsBytes
      const outcome = await run(this.client, useTextProtocol ? 'query' : 'execute', request, values)
      if (geometry === undefined) {
        if (geometrySql.size >= GEOMETRY_SQL_LIMIT) geometrySql.clear()
        geometrySql.set(query.sql, hasGeometry(outcome.fields))
      }
      return outcome
    } catch (err) {
      throw this.adapterError(err)
    }
  }

  /** Runs a statement of ours (BEGIN, SAVEPOINT...) in the text protocol. */
  async command(sql) {
    try {
      return await run(this.client, 'query', sql, undefined)
    } catch (err) {
      throw this.adapterError(err)
    }
  }

  adapterError(err) {
    const payload = convertError(err, this.context.login)
    return payload ? new this.context.utils.DriverAdapterError(payload) : err
  }
}

class Mysql2Transaction extends Mysql2Queryable {
  // Prisma calls commit()/rollback() and we send COMMIT/ROLLBACK: a failed one then ends the
  // connection here instead of returning it to the pool mid-transaction
  options = { usePhantomQuery: true }
  #open = true

  commit() {
    return this.#finish('COMMIT')
  }

  rollback() {
    return this.#finish('ROLLBACK')
  }

  async #finish(sql) {
    if (!this.#open) return
    this.#open = false
    try {
      await this.command(sql)
    } catch (err) {
      // the server may still hold the transaction: this connection must not serve anyone again
      this.client.destroy()
      throw err
    }
    this.client.release()
  }

  async createSavepoint(name) {
    return this.command(`SAVEPOINT ${savepoint(name)}`)
  }

  async rollbackToSavepoint(name) {
    return this.command(`ROLLBACK TO SAVEPOINT ${savepoint(name)}`)
  }

  async releaseSavepoint(name) {
    return this.command(`RELEASE SAVEPOINT ${savepoint(name)}`)
  }
}

function savepoint(name) {
  if (typeof name !== 'string' || !SAVEPOINT_NAME.test(name)) throw invalid(`savepoint names are identifiers, not ${JSON.stringify(String(name))}`)
  return name
}

class PrismaMysql2Adapter extends Mysql2Queryable {
  #connectionInfo
  #connectionOptions

  constructor(pool, context, { connectionInfo, connectionOptions }) {
    super(pool, context)
    this.#connectionInfo = connectionInfo
    this.#connectionOptions = connectionOptions
  }

  getConnectionInfo() {
    return this.#connectionInfo
  }

  /** Several statements, on a connection of their own (the pool's run one statement per call). */
  async executeScript(script) {
    const connection = this.context.mysql2.createConnection({ ...this.#connectionOptions, multipleStatements: true })
    // a failed login is reported through the query below; this keeps it from being thrown as an event too
    connection.on('error', () => {})
    // a script may change tables: what is known of their columns is learnt again
    this.context.jsonColumns?.clear()
    this.context.geometrySql.clear()
    try {
      await run(connection, 'query', script, undefined)
    } catch (err) {
      throw this.adapterError(err)
    } finally {
      connection.destroy()
    }
  }

  async startTransaction(isolationLevel) {
    const { DriverAdapterError } = this.context.utils
    if (isolationLevel !== undefined && !ISOLATION_LEVELS.has(isolationLevel)) {
      throw new DriverAdapterError({ kind: 'InvalidIsolationLevel', level: String(isolationLevel) })
    }
    const connection = await new Promise((resolve, reject) => {
      this.client.getConnection((err, conn) => (err ? reject(this.adapterError(err)) : resolve(conn)))
    })
    const transaction = new Mysql2Transaction(connection, this.context)
    try {
      if (isolationLevel) await transaction.command(`SET TRANSACTION ISOLATION LEVEL ${isolationLevel}`)
      await transaction.command('BEGIN')
    } catch (err) {
      connection.destroy()
      throw err
    }
    return transaction
  }

  dispose() {
    return new Promise((resolve, reject) => this.client.end((err) => (err ? reject(err) : resolve())))
  }

  underlyingDriver() {
    return this.client
  }
}

/** The factory a PrismaClient takes as `adapter`: `new PrismaMysql2(poolOptionsOrUrl, adapterOptions?)`. */
class PrismaMysql2 {
  provider = 'mysql'
  adapterName = ADAPTER_NAME
  #dependencies
  #config
  #options
  #capabilities = new Map()

  constructor(config, options = {}) {
    this.#dependencies = loadDependencies()
    this.#config = poolOptions(config)
    if (options === null || typeof options !== 'object') throw invalid('adapter options must be an object')
    for (const key of Object.keys(options)) {
      if (!ADAPTER_OPTIONS.has(key)) throw invalid(`unknown adapter option ${JSON.stringify(key)} (mysql2's options go in the first argument)`)
    }
    if (options.schema !== undefined && typeof options.schema !== 'string') throw invalid('schema must be a string')
    if (options.useTextProtocol !== undefined && typeof options.useTextProtocol !== 'boolean') throw invalid('useTextProtocol must be a boolean')
    const shadow = options.shadowDatabase
    if (shadow !== undefined && typeof shadow !== 'string' && (shadow === null || typeof shadow !== 'object')) {
      throw invalid('shadowDatabase must be a database name, a connection URL or mysql2 pool options')
    }
    this.#options = { ...options }
  }

  connect() {
    return this.#open(this.#config, this.#options.schema)
  }

  /** The shadow database Prisma's migration tooling compares against: same login, another database. */
  connectToShadowDb() {
    const shadow = this.#options.shadowDatabase
    if (shadow === undefined) throw invalid('connectToShadowDb needs the shadowDatabase adapter option')
    if (typeof shadow === 'object') return this.#open({ ...this.#config, ...poolOptions(shadow) })
    if (shadow.includes('://')) return this.#open({ ...this.#config, uri: shadow })
    if (this.#config.uri === undefined) return this.#open({ ...this.#config, database: shadow }, shadow)
    const url = new URL(this.#config.uri)
    url.pathname = `/${encodeURIComponent(shadow)}`
    return this.#open({ ...this.#config, uri: url.toString() }, shadow)
  }

  async #open(config, schema) {
    const { mysql2, utils } = this.#dependencies
    const connectionOptions = { ...config, ...REQUIRED_POOL_OPTIONS, maxPreparedStatements: config.maxPreparedStatements ?? DEFAULT_MAX_PREPARED_STATEMENTS }
    const pool = mysql2.createPool(connectionOptions)
    // every session in UTC, so TIMESTAMP reads and writes do not depend on the server's zone
    pool.on('connection', (connection) => {
      connection.query("SET time_zone = '+00:00'", (err) => err && connection.destroy())
    })
    for (const key of POOL_ONLY_OPTIONS) delete connectionOptions[key]
    const database = schema ?? databaseOf(config)
    const context = {
      mysql2,
      utils,
      integer: mysql2.TypedParameter.LONGLONG,
      geometrySql: new Map(),
      useTextProtocol: this.#options.useTextProtocol === true,
      login: { user: config.user, host: config.host, port: config.port },
    }
    const server = await this.#probe(pool, database)
    if (server?.mariaDbWithoutExtendedMetadata) context.jsonColumns = new Map()
    const connectionInfo = { schemaName: database, maxBindValues: MAX_BIND_VALUES, supportsRelationJoins: server?.supportsRelationJoins ?? false }
    return new PrismaMysql2Adapter(pool, context, { connectionInfo, connectionOptions })
  }

  /**
   * What the server is: relation joins need LATERAL and JSON aggregation as Prisma writes them (MySQL
   * 8.0.13 and later, no MariaDB); MariaDB reached without its extended metadata (through a proxy)
   * needs its catalog to tell JSON from LONGTEXT.
   */
  async #probe(pool, key) {
    if (this.#capabilities.has(key)) return this.#capabilities.get(key)
    let server
    try {
      const connection = await new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))))
      try {
        const { result } = await run(connection, 'query', { sql: 'SELECT VERSION()', rowsAsArray: true }, undefined)
        const version = result[0][0]
        const mariaDb = /mariadb/i.test(String(version))
        server = { supportsRelationJoins: relationJoinsSupported(version), mariaDbWithoutExtendedMetadata: mariaDb && connection._mariadbExtendedMetadata !== true }
      } finally {
        connection.release()
      }
    } catch {
      // the first query reports why the server cannot be used; a later connect() asks again
      return undefined
    }
    this.#capabilities.set(key, server)
    return server
  }
}

function relationJoinsSupported(version) {
  if (typeof version !== 'string' || /mariadb/i.test(version)) return false
  const [major, minor, patch] = version.split(/[.-]/, 3).map((part) => Number.parseInt(part, 10))
  return major > 8 || (major === 8 && (minor > 0 || (minor === 0 && patch >= 13)))
}

module.exports = { PrismaMysql2, relationJoinsSupported }
