// npm run test:types: the typings as a consumer's compiler sees them, under TypeScript 5.9 and 7.
//   1. __test__/tsconfig.json (the specs and __test__/types.ts, in this repo);
//   2. every consumer project here (a folder with a tsconfig.json) and scripts/package-smoke, each
//      copied to a temporary directory whose node_modules holds what a Node project installs:
//      mysql-openid-connect (a symlink to this repo, so resolved through its package.json "exports"
//      as an installed copy is), @types/node, mysql2 and jose. A file a tsconfig lists that the folder lacks
//      is a copy of __test__/types.ts (consumer.cts, consumer.mts, consumer.ts). The tsconfigs name
//      no "types" (nodenext-types-none: an empty list), so Node's types must come from the package;
//      TypeScript's own lib.*.d.ts are not checked there (--skipDefaultLibCheck): not ours, and they
//      doubled TypeScript 5.9's time; our typings, @types/node, mysql2 and jose are (skipLibCheck false);
//   3. require() and import() of the package give exactly the values __test__/types.ts lists
//      (so this needs `npm run build` first, as `npm test` does).
// Takes about 45 s of CPU, four fifths of it TypeScript 5.9 (7 is 5-10x faster): about 25 s on 2
// free cores, 45 s on 2 cores shared with other work (load 5). TYPES_JOBS sets how many compilers
// run at once (default 2), KEEP_TMP=1 keeps the temporary directories.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '../..')
const CONSUMER = path.join(ROOT, '__test__/types.ts')
const INSTALLED = { 'mysql-openid-connect': ROOT, '@types/node': dep('@types/node'), mysql2: dep('mysql2'), jose: dep('jose') }

function dep(name) {
  return path.dirname(require.resolve(`${name}/package.json`))
}

const COMPILERS = ['typescript', 'typescript-7'].map((pkg) => {
  const dir = dep(pkg)
  return { name: `tsc ${require(`${pkg}/package.json`).version}`, bin: path.join(dir, 'bin/tsc') }
})

const projects = [
  ...fs
    .readdirSync(HERE, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, dir: path.join(HERE, entry.name), packageJson: {} })),
  // as scripts/test-package.sh installs it: an ES module app
  { name: 'package-smoke', dir: path.join(ROOT, 'scripts/package-smoke'), only: ['tsconfig.json', 'smoke.ts'], packageJson: { type: 'module' } },
]

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'moc-types-'))

/** The project as a consumer's directory: its files, the shared consumer source, a package.json, node_modules. */
function materialize(project) {
  const dir = path.join(TMP, project.name)
  fs.mkdirSync(dir)
  for (const file of project.only ?? fs.readdirSync(project.dir)) fs.cpSync(path.join(project.dir, file), path.join(dir, file), { recursive: true })
  const { files } = JSON.parse(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'))
  for (const file of files) if (!fs.existsSync(path.join(dir, file))) fs.copyFileSync(CONSUMER, path.join(dir, file))
  const packageJson = { name: `consumer-${project.name}`, version: '1.0.0', private: true, ...project.packageJson }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(packageJson, null, 2) + '\n')
  for (const [name, target] of Object.entries(INSTALLED)) {
    const link = path.join(dir, 'node_modules', name)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(target, link, 'junction')
  }
  return { label: `${project.name} (${files.join(', ')})`, cwd: dir, flags: ['--skipDefaultLibCheck'] }
}

async function check(compiler, target) {
  const started = performance.now()
  try {
    await run(process.execPath, [compiler.bin, '-p', 'tsconfig.json', '--noEmit', ...(target.flags ?? [])], { cwd: target.cwd, maxBuffer: 16 << 20 })
    return { ok: true, line: `${compiler.name}  ${target.label}`, started }
  } catch (err) {
    return { ok: false, line: `${compiler.name}  ${target.label}`, started, output: `${err.stdout}${err.stderr}`.trim() || err.message }
  }
}

/** The values the package exports at run time, against the list in __test__/types.ts. */
async function checkExports() {
  const listed = /const valueExports = \[([^\]]*)\]/.exec(fs.readFileSync(CONSUMER, 'utf8'))
  if (!listed) return { ok: false, line: 'exports', output: 'no `const valueExports = [...]` in __test__/types.ts' }
  const want = [...listed[1].matchAll(/'([^']+)'/g)].map((m) => m[1]).sort()
  let cjs, esm
  try {
    cjs = Object.keys(require('mysql-openid-connect')).sort()
    esm = Object.keys(await import('mysql-openid-connect')).filter((name) => name !== 'default').sort()
  } catch (err) {
    return { ok: false, line: 'exports', output: `loading the package failed (npm run build first?): ${err.message}` }
  }
  const same = (got) => JSON.stringify(got) === JSON.stringify(want)
  if (same(cjs) && same(esm)) return { ok: true, line: `exports: require() and import() give the ${want.length} values types.ts lists` }
  return { ok: false, line: 'exports', output: `types.ts lists ${want.join(', ')}\nrequire() gives ${cjs.join(', ')}\nimport() gives ${esm.join(', ')}` }
}

async function main() {
  const targets = [{ label: '__test__/tsconfig.json', cwd: path.join(ROOT, '__test__') }, ...projects.map(materialize)]
  const jobs = COMPILERS.flatMap((compiler) => targets.map((target) => () => check(compiler, target)))
  const results = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await jobs[i]()
      results[i].seconds = (performance.now() - results[i].started) / 1000
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.max(1, Number(process.env.TYPES_JOBS) || 2) }, worker))
  results.push(await checkExports())
  for (const r of results) {
    const time = r.seconds === undefined ? '' : `  ${r.seconds.toFixed(1)} s`
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.line}${time}`)
    if (!r.ok) console.log(r.output.replace(/^/gm, '     '))
  }
  const failed = results.filter((r) => !r.ok).length
  console.log(`test:types: ${failed ? `${failed} failed` : 'all passed'} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  if (process.env.KEEP_TMP === '1') console.log(`kept ${TMP}`)
  else fs.rmSync(TMP, { recursive: true, force: true })
  process.exitCode = failed ? 1 : 0
}

await main()
