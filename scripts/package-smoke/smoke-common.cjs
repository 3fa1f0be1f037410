'use strict'
const assert = require('node:assert/strict')
const path = require('node:path')

const expectBinding = process.env.SMOKE_EXPECT_BINDING
if (!expectBinding) throw new Error('set SMOKE_EXPECT_BINDING to the binding that must load (linux-x64-gnu, wasm32-wasi, ...)')
const appDir = process.cwd()

function b64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

// A well-formed, unexpired (unsigned for real) ID token: the addon checks its form, not its signature.
const now = Math.floor(Date.now() / 1000)
const token = [
  b64url({ alg: 'RS256', typ: 'JWT', kid: 'smoke' }),
  b64url({ iss: 'https://idp.example', sub: 'smoke-user', aud: 'mysql', iat: now, exp: now + 3600 }),
  Buffer.from('not-a-real-signature').toString('base64url'),
].join('.')

function exercise(mod, how) {
  const wanted = ['openidConnectAuthResponse', 'parseOpenidConnectAuthResponse', 'inspectIdToken', 'clearPasswordAuthResponse', 'authPlugins', 'openidConnectAuthPlugin']
  for (const name of wanted) {
    assert.equal(typeof mod[name], 'function', `${how}: export ${name} is a ${typeof mod[name]}`)
  }

  const response = mod.openidConnectAuthResponse(token)
  assert.ok(Buffer.isBuffer(response), `${how}: openidConnectAuthResponse returns a Buffer`)
  assert.equal(response[0], 1, `${how}: default capability byte is 1`)
  assert.equal(response[1], token.length, `${how}: one-byte length prefix`)
  assert.equal(response.subarray(2).toString(), token, `${how}: token bytes follow the length`)

  const parsed = mod.parseOpenidConnectAuthResponse(response)
  assert.equal(parsed.capability, 1)
  assert.equal(Buffer.from(parsed.token).toString(), token, `${how}: parse round-trips the token`)

  const info = mod.inspectIdToken(token)
  assert.equal(info.claims.sub, 'smoke-user', `${how}: inspectIdToken reads the claims`)
  assert.equal(info.header.alg, 'RS256')
  assert.ok(info.expiresAt instanceof Date, `${how}: expiresAt is a Date`)

  assert.throws(
    () => mod.openidConnectAuthResponse('not a token'),
    (err) => err instanceof Error && /^ERR_OIDC_/.test(String(err.code)),
    `${how}: a malformed token throws an ERR_OIDC_* error`,
  )
}

/* global Bun, Deno */
// The smoke tests also run under Bun and Deno (npm run test:runtimes)
function runtime() {
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`
  if (typeof Deno !== 'undefined') return `deno ${Deno.version.deno}`
  return `node ${process.version}`
}

// The package, its binding and everything they loaded come from this directory (its node_modules,
// or Yarn Plug'n'Play's .yarn/), never from the source tree. Each package manager lays packages out
// its own way (npm and Bun flat, pnpm under node_modules/.pnpm/, Yarn PnP in zip files and
// .yarn/unplugged/), but always in a directory node_modules/<package name>/.
function checkLoaded(cache, entry, how) {
  const files = Object.keys(cache)
  for (const f of files) {
    assert.ok(f.startsWith(appDir + path.sep), `${how}: ${f} was loaded from outside ${appDir}`)
  }
  const inPackage = (file, name, base) =>
    file.startsWith(appDir + path.sep) && file.endsWith(path.join(path.sep + 'node_modules', name, base))
  const expectedEntry = how === 'import' ? 'main.mjs' : 'main.js'
  assert.ok(inPackage(entry, 'mysql-openid-connect', expectedEntry), `${how}: mysql-openid-connect resolved to ${entry}`)

  const natives = files.filter((f) => f.endsWith('.node'))
  const wasi = files.filter((f) => f.includes(`${path.sep}mysql-openid-connect-wasm32-wasi${path.sep}`))
  let loaded
  if (expectBinding === 'wasm32-wasi') {
    assert.deepEqual(natives, [], `${how}: no native addon is loaded when WASI is forced`)
    assert.ok(wasi.length > 0, `${how}: the wasm32-wasi package is loaded`)
    loaded = wasi.find((f) => f.endsWith('.cjs')) ?? wasi[0]
  } else {
    assert.equal(natives.length, 1, `${how}: exactly one native addon loaded (${natives.join(', ')})`)
    loaded = natives[0]
    const pkg = `mysql-openid-connect-${expectBinding}`
    assert.ok(inPackage(loaded, pkg, `mysql-openid-connect.${expectBinding}.node`), `${how}: ${loaded} is not the ${expectBinding} binary from its platform package ${pkg}`)
  }
  console.log(`smoke ${how}: ok (${runtime()} ${process.platform}-${process.arch}, binding ${path.relative(appDir, loaded)})`)
}

module.exports = { checkLoaded, exercise }
