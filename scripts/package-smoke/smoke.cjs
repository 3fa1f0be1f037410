// CommonJS smoke test of the installed package: run from the directory it was installed into.
//   SMOKE_EXPECT_BINDING  the binding that must load: a platform name (linux-x64-gnu, ...) or wasm32-wasi
'use strict'
const { checkLoaded, exercise } = require('./smoke-common.cjs')

const mod = require('mysql-openid-connect')
exercise(mod, 'require')
checkLoaded(require.cache, require.resolve('mysql-openid-connect'), 'require')
