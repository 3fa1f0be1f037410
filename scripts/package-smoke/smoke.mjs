// ESM smoke test of the installed package (see smoke.cjs).
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import * as mod from 'mysql-openid-connect'
import {
  openidConnectAuthResponse,
  parseOpenidConnectAuthResponse,
  inspectIdToken,
} from 'mysql-openid-connect'

const require = createRequire(import.meta.url)
const { checkLoaded, exercise } = require('./smoke-common.cjs')

if (typeof openidConnectAuthResponse !== 'function' || typeof parseOpenidConnectAuthResponse !== 'function' || typeof inspectIdToken !== 'function') {
  throw new Error('named ESM imports of the binding functions are missing')
}
exercise(mod, 'import')
checkLoaded(require.cache, fileURLToPath(import.meta.resolve('mysql-openid-connect')), 'import')
