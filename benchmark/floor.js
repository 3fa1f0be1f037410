'use strict'

// The benchmark's baselines are native functions that must never ship: they are built with the
// cargo feature `bench-floor` into target/bench-floor (git-ignored), apart from the real build.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const OUT = path.join(ROOT, 'target', 'bench-floor', 'addon')

function loadFloor() {
  console.log('building the bench-floor addon (cargo feature bench-floor, into target/bench-floor) ...')
  // its own target dir: the published build's type-definition cache never sees benchFloor
  const cli = path.join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  const args = ['build', '--platform', '--release', '--features', 'bench-floor', '--target-dir', 'target/bench-floor']
  try {
    execFileSync(process.execPath, [cli, ...args, '--output-dir', OUT, '--no-js', '--dts', 'bench-floor.d.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch (err) {
    process.stderr.write(String(err.stderr ?? ''))
    throw new Error('building the bench-floor addon failed (see above)')
  }
  const addon = fs.readdirSync(OUT).find((name) => name.endsWith('.node'))
  if (!addon) throw new Error(`no .node file in ${OUT}`)
  return require(path.join(OUT, addon))
}

module.exports = { loadFloor }
