// test-server/mariadb.js: one throwaway MariaDB per test run, a database per caller, and nothing left
// behind once the run that started it has ended.
import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'

import { startMariaDb } from '../test-server/index.js'

const run = promisify(execFile)
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('callers in a run share one server, each with a database of its own that close() drops', async (t) => {
  const [first, second] = await Promise.all([startMariaDb(), startMariaDb()])
  t.is(first.port, second.port)
  t.not(first.database, second.database)
  const admin = await mysql.createConnection({ socketPath: first.socketPath, user: first.user, password: first.password })
  t.teardown(() => admin.end())
  const databases = async () => ((await admin.query('SHOW DATABASES')) as any)[0].map((row: any) => row.Database)
  t.true((await databases()).includes(first.database))
  await first.close()
  await second.close()
  t.false((await databases()).includes(first.database))
  t.false((await databases()).includes(second.database))
})

test('a process that starts it and exits leaves no server, keeper or data directory behind', async (t) => {
  if (process.env.MOC_TEST_MYSQL_URL) return t.pass('an existing server is used: nothing is started')
  // outside ava, the process itself owns its server: the keeper ends it once the process has gone
  const script = `
    const { startMariaDb } = require(${JSON.stringify(require.resolve('../test-server/mariadb.js'))})
    const fs = require('node:fs'), path = require('node:path')
    startMariaDb().then((db) => {
      const dir = path.dirname(db.socketPath)
      const pids = { keeper: Number(fs.readFileSync(path.join(dir, 'keeper.pid'), 'utf8')), server: Number(fs.readFileSync(path.join(dir, 'mariadb.pid'), 'utf8')) }
      console.log(JSON.stringify({ dir, ...pids }))
      process.exit(0) // without close(): the keeper must clean up anyway
    })`
  const { stdout } = await run(process.execPath, ['-e', script], { timeout: 120_000 })
  const { dir, keeper, server } = JSON.parse(stdout)
  t.true(keeper > 0 && server > 0) // startMariaDb resolved: the server had created the child's database
  for (let i = 0; i < 300 && (alive(keeper) || alive(server) || existsSync(dir)); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.false(alive(server), 'mariadbd stopped')
  t.false(alive(keeper), 'keeper exited')
  t.false(existsSync(dir), 'data directory removed')
})
