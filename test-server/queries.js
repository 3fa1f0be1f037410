'use strict'

// The few queries the embedded server answers; it is not a database.

const protocol = require('./protocol')

const UNSUPPORTED_QUERY_MESSAGE =
  'You have an error in your SQL syntax: this embedded server answers only SELECT 1, SELECT CURRENT_USER() and SELECT USER()'

function answerQuery(sql, user, host) {
  const normalized = sql.trim().replace(/;+\s*$/, '').replace(/\s+/g, ' ').toUpperCase()
  const { LONGLONG, VAR_STRING } = protocol.COLUMN_TYPE
  if (normalized === 'SELECT 1') return { columns: [{ name: '1', type: LONGLONG }], rows: [['1']] }
  // Every emulated account is created for any host, hence '%'.
  if (normalized === 'SELECT CURRENT_USER()') return { columns: [{ name: 'CURRENT_USER()', type: VAR_STRING }], rows: [[`${user}@%`]] }
  if (normalized === 'SELECT USER()') return { columns: [{ name: 'USER()', type: VAR_STRING }], rows: [[`${user}@${host}`]] }
  return null
}

module.exports = { answerQuery, UNSUPPORTED_QUERY_MESSAGE }
