// Which mysql2 the specs run against (scripts/test-mysql2-range.sh swaps in the oldest and newest in
// range), and the few behaviours of mysql2 itself that differ across that range.
import { createRequire } from 'node:module'
import path from 'node:path'

const requireFromRoot = createRequire(path.join(process.cwd(), 'package.json'))
export const mysql2Version: string = requireFromRoot('mysql2/package.json').version

function atLeast(wanted: string) {
  const have = mysql2Version.split('-')[0].split('.').map(Number)
  const want = wanted.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i]
  return true
}

/** mysql2/promise before 3.22.2 rejects with a copy of the error: message, code, errno and sqlState only. */
export const promiseKeepsErrors = atLeast('3.22.2')
/** mysql2 3.22.0 and later refuse a switch to mysql_clear_password unless enabled (older ones send `password`). */
export const refusesCleartextSwitch = atLeast('3.22.0')
/** mysql2 3.24.5 and later resume TLS sessions per host (lib/tls_session_cache.js). */
export const resumesTlsSessions = atLeast('3.24.5')
