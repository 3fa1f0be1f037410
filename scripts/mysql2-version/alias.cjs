'use strict'

// Preloaded (NODE_OPTIONS=--require) by scripts/test-mysql2-range.sh: every `mysql2` and `mysql2/...`
// that the tests, the test server and their child processes load, by require or by import, resolves
// to the copy installed in $MYSQL2_UNDER_TEST instead of the project's own node_modules/mysql2.
const Module = require('node:module')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const root = process.env.MYSQL2_UNDER_TEST
if (!root) throw new Error('MYSQL2_UNDER_TEST must name the folder whose node_modules holds the mysql2 under test')
const isMysql2 = (request) => request === 'mysql2' || request.startsWith('mysql2/')

const resolveFilename = Module._resolveFilename
Module._resolveFilename = function (request, parent, isMain, options) {
  if (isMysql2(request)) return resolveFilename.call(this, request, parent, isMain, { paths: [root] })
  return resolveFilename.call(this, request, parent, isMain, options)
}
Module.register(pathToFileURL(path.join(__dirname, 'alias-hooks.mjs')), { data: { root } })
