'use strict'

// The statements the embedded server answers: what ORMs and query builders send when they connect,
// with plausible results, and SELECT CURRENT_USER() for the tests. It is not a database: anything
// else is ER_PARSE_ERROR (1064).

const protocol = require('./protocol')

const { LONGLONG, VAR_STRING } = protocol.COLUMN_TYPE

const UNSUPPORTED_QUERY_MESSAGE =
  'You have an error in your SQL syntax: this embedded server answers only the start-up statements of common ORMs, ' +
  'SELECT 1, SELECT CURRENT_USER() and SELECT USER()'

// Single values a SELECT may name, alone and optionally aliased (`SELECT VERSION() AS version`).
// Keys are upper case without spaces; `session` is { user, host, database, serverVersion }.
const VALUES = {
  // MikroORM's connection check at init: `select 1`
  1: { type: LONGLONG, value: () => '1' },
  // Sequelize 6 and 7 authenticate(): `SELECT 1+1 AS result`
  '1+1': { type: LONGLONG, value: () => '2' },
  // Knex (once per instance), MikroORM and TypeORM: `select version() as version`; Sequelize 6 and 7:
  // `SELECT VERSION() as \`version\``
  'VERSION()': { type: VAR_STRING, value: (session) => session.serverVersion },
  // TypeORM: `SELECT DATABASE() AS \`db_name\``; NULL when the client chose no database
  'DATABASE()': { type: VAR_STRING, value: (session) => session.database || null },
  // The tests' own questions. Every emulated account is created for any host, hence '%'.
  'CURRENT_USER()': { type: VAR_STRING, value: (session) => `${session.user}@%` },
  'USER()': { type: VAR_STRING, value: (session) => `${session.user}@${session.host}` },
}

const ok = () => ({ ok: true })
const oneValue = (name, type, value) => ({ columns: [{ name, type }], rows: [[value]] })

// [pattern over the statement with runs of whitespace made one space, answer(match, session)].
const STATEMENTS = [
  // Sequelize 6 and 7 on every new connection: SET time_zone = '+00:00'. Session settings the
  // server need not keep: every SET is accepted.
  [/^SET\s/i, ok],
  // MikroORM's ensureDatabase at init: the database the client connected to is the one that exists.
  [
    /^SELECT 1 FROM information_schema\.schemata WHERE schema_name = '([^']*)'$/i,
    (match, session) => ({ columns: [{ name: '1', type: LONGLONG }], rows: session.database && match[1] === session.database ? [['1']] : [] }),
  ],
  // SELECT <value> [AS alias]: the column is named by the alias, else by the expression as sent.
  [
    /^SELECT (.+?)(?: AS (?:`([^`]+)`|'([^']+)'|"([^"]+)"|(\w+)))?$/i,
    (match, session) => {
      const known = VALUES[match[1].replace(/\s+/g, '').toUpperCase()]
      if (!known) return null
      const alias = match[2] || match[3] || match[4] || match[5]
      return oneValue(alias || match[1], known.type, known.value(session))
    },
  ],
]

/**
 * Returns { columns, rows } for a result set, { ok: true } for an OK packet, or null (unsupported).
 * `session`: { user, host, database, serverVersion }.
 */
function answerQuery(sql, session) {
  const statement = sql.trim().replace(/;+\s*$/, '').replace(/\s+/g, ' ')
  for (const [pattern, answer] of STATEMENTS) {
    const match = pattern.exec(statement)
    if (match) return answer(match, session)
  }
  return null
}

module.exports = { answerQuery, UNSUPPORTED_QUERY_MESSAGE }
