// The one publish script: the release workflow and `npm run release:rehearse` both run it.
//
//   node scripts/release.mjs pack --artifacts DIR --out DIR [--stub ABI,...]
//     Stages every package of package.json "napi.targets" (npm/<abi>/package.json plus the files it
//     lists, taken from DIR/bindings-<triple>/, the layout of the workflow's build artifacts) and the
//     main package (what `npm pack` takes from the work tree, plus one optionalDependency per target
//     pinned to the version: what `napi prepublish` writes), and packs each into a tarball in --out.
//     Refuses, before packing anything, when a platform package is incomplete or its version is not
//     the main package's. --stub packs the named platform packages without their binary, marked
//     "rehearsalStub": only for the rehearsal's local registry (this machine cannot build msvc).
//
//   node scripts/release.mjs publish --tarballs DIR [--registry URL] [--dry-run] [--provenance]
//                                    [--tag TAG] [--expect-version V]
//     Publishes exactly the tarballs in DIR with `npm publish <tarball>`: the platform packages
//     first, the main package last. Before publishing anything it checks that the set is whole (one
//     main package; a tarball with its binary for every optionalDependency, at the pinned version;
//     nothing else) and refuses stubs unless the registry is on loopback. A version already on the
//     registry with the same integrity is skipped, so a publish cut short can be run again.
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const say = (msg) => process.stderr.write(`release: ${msg}\n`)
class Refusal extends Error {}
const refuse = (msg) => {
  throw new Refusal(msg)
}

const execFileAsync = promisify(execFile)
const npm = (args, opts = {}) => execFileSync('npm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const writeJson = (file, value) => fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n')

async function targets(pkg) {
  const { parseTriple } = await import('@napi-rs/cli')
  return pkg.napi.targets.map((triple) => ({ triple, abi: parseTriple(triple).platformArchABI }))
}

async function pack({ artifacts, out, stub }) {
  if (!artifacts || !out) refuse('pack needs --artifacts DIR and --out DIR')
  const main = readJson(path.join(ROOT, 'package.json'))
  const stubs = new Set(stub ? stub.split(',') : [])
  const plans = []
  const problems = []
  for (const { triple, abi } of await targets(main)) {
    const dir = path.join(ROOT, 'npm', abi)
    const manifest = readJson(path.join(dir, 'package.json'))
    if (manifest.name !== `${main.name}-${abi}`) problems.push(`npm/${abi}/package.json is named ${manifest.name}`)
    if (manifest.version !== main.version) {
      problems.push(`npm/${abi} is at ${manifest.version}, the main package at ${main.version} (npm version moves them together)`)
    }
    const from = path.join(artifacts, `bindings-${triple}`)
    const missing = manifest.files.filter((f) => !fs.existsSync(path.join(from, f)))
    // a stub only where asked for and the binary is missing: a built target is always packed whole
    const isStub = stubs.delete(abi) && missing.length > 0
    if (missing.length && !isStub) problems.push(`${manifest.name} is incomplete: no ${missing.join(', ')} in ${from}`)
    plans.push({ abi, dir, manifest, from, stub: isStub })
  }
  if (stubs.size) problems.push(`--stub names no target: ${[...stubs].join(', ')}`)
  for (const f of ['index.js', 'index.d.ts']) if (!fs.existsSync(path.join(ROOT, f))) problems.push(`no ${f} (npm run build generates it)`)
  if (problems.length) refuse(`nothing packed or published:\n  ${problems.join('\n  ')}`)

  fs.mkdirSync(out, { recursive: true })
  const stage = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR || '/tmp'), 'moc-release-'))
  try {
    const tarballs = []
    for (const plan of plans) {
      const to = path.join(stage, plan.abi)
      fs.mkdirSync(to)
      const manifest = { ...plan.manifest }
      if (plan.stub) manifest.rehearsalStub = true
      writeJson(path.join(to, 'package.json'), manifest)
      if (fs.existsSync(path.join(plan.dir, 'README.md'))) fs.copyFileSync(path.join(plan.dir, 'README.md'), path.join(to, 'README.md'))
      if (!plan.stub) for (const f of manifest.files) fs.copyFileSync(path.join(plan.from, f), path.join(to, f))
      tarballs.push(packDir(to, out))
    }
    // the main package: what npm pack takes from the work tree, with the pins napi prepublish writes
    const to = path.join(stage, 'main')
    const listed = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT }))[0].files
    for (const { path: f } of listed) {
      fs.mkdirSync(path.dirname(path.join(to, f)), { recursive: true })
      fs.copyFileSync(path.join(ROOT, f), path.join(to, f))
    }
    const manifest = readJson(path.join(to, 'package.json'))
    manifest.optionalDependencies = Object.fromEntries(plans.map((p) => [p.manifest.name, main.version]))
    writeJson(path.join(to, 'package.json'), manifest)
    tarballs.push(packDir(to, out))
    for (const t of tarballs) console.log(t)
    say(`packed ${tarballs.length} tarballs of ${main.name}@${main.version} into ${out}${plans.some((p) => p.stub) ? ` (stubs without a binary: ${plans.filter((p) => p.stub).map((p) => p.abi).join(', ')})` : ''}`)
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
}

function packDir(dir, out) {
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: dir }))
  return path.join(out, filename)
}

// what a tarball holds: its package.json and its file list, read with tar (no dependencies)
function inspect(file) {
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }))
  const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''))
  const integrity = 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64')
  return { file, manifest, files, integrity }
}

function checkSet(dir, registry, expectVersion) {
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).map((f) => inspect(path.join(dir, f)))
  const mains = all.filter((t) => t.manifest.optionalDependencies)
  const problems = []
  if (mains.length !== 1) refuse(`nothing published: want one main package (with optionalDependencies) in ${dir}, found ${mains.length}`)
  const [main] = mains
  if (expectVersion && main.manifest.version !== expectVersion) {
    refuse(`nothing published: the main tarball is ${main.manifest.version}, the release is ${expectVersion} (the tag)`)
  }
  const byName = new Map(all.filter((t) => t !== main).map((t) => [t.manifest.name, t]))
  for (const [name, pin] of Object.entries(main.manifest.optionalDependencies)) {
    const t = byName.get(name)
    if (!t) {
      problems.push(`no tarball for ${name}@${pin}, which ${main.manifest.name}@${main.manifest.version} depends on`)
      continue
    }
    byName.delete(name)
    if (t.manifest.version !== pin || pin !== main.manifest.version) problems.push(`${name} is ${t.manifest.version}, pinned ${pin}, main ${main.manifest.version}`)
    const missing = (t.manifest.files ?? []).filter((f) => !t.files.includes(f))
    if (t.manifest.rehearsalStub) {
      if (!isLoopback(registry)) problems.push(`${name} is a rehearsal stub without its binary: never published to ${registry}`)
    } else if (missing.length) {
      problems.push(`${name} is incomplete: no ${missing.join(', ')}`)
    }
  }
  for (const name of byName.keys()) problems.push(`${name} is not an optionalDependency of the main package`)
  if (problems.length) refuse(`nothing published:\n  ${problems.join('\n  ')}`)
  return [...all.filter((t) => t !== main).sort((a, b) => a.manifest.name.localeCompare(b.manifest.name)), main]
}

function isLoopback(registry) {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(registry).hostname)
}

// what the registry holds of a package: { version: integrity }, empty when it has none
async function publishedIntegrity(registry, name) {
  const url = new URL(name.replace('/', '%2f'), registry.endsWith('/') ? registry : registry + '/')
  let res
  // a kept-alive connection the registry closed meanwhile fails once: ask again on a new one
  for (let attempt = 1; !res; attempt++) {
    res = await fetch(url, { headers: { accept: 'application/vnd.npm.install-v1+json' } }).catch((err) => {
      if (attempt >= 3) throw err
    })
  }
  if (res.status === 404) return {}
  if (!res.ok) refuse(`${registry} answered ${res.status} for ${name}`)
  const { versions = {} } = await res.json()
  return Object.fromEntries(Object.entries(versions).map(([v, m]) => [v, m.dist?.integrity]))
}

async function publish({ tarballs, registry, 'dry-run': dryRun, provenance, tag, 'expect-version': expectVersion }) {
  if (!tarballs) refuse('publish needs --tarballs DIR')
  registry ||= process.env.npm_config_registry || 'https://registry.npmjs.org/'
  const ordered = checkSet(tarballs, registry, expectVersion)
  say(`publishing ${ordered.length} packages to ${registry}${dryRun ? ' (dry run)' : ''}`)
  const publishOne = async (t) => {
    const id = `${t.manifest.name}@${t.manifest.version}`
    const published = (await publishedIntegrity(registry, t.manifest.name))[t.manifest.version]
    if (published && published !== t.integrity) refuse(`${id} is already on ${registry} with other contents (${published}): not republished`)
    if (published) return say(`${id} is already published with these contents: skipped`)
    const args = ['publish', t.file, '--registry', registry, '--access', 'public', '--ignore-scripts']
    if (provenance) args.push('--provenance')
    if (dryRun) args.push('--dry-run')
    if (tag) args.push('--tag', tag)
    const { stdout, stderr } = await execFileAsync('npm', args, { encoding: 'utf8' }).catch((err) => {
      throw new Refusal(`npm publish ${id} failed:\n${err.stderr || err.message}`)
    })
    process.stderr.write(stderr + stdout)
    say(`${dryRun ? 'would publish' : 'published'} ${id}`)
  }
  // the platform packages side by side, every one of them before the main package that pins them
  const main = ordered.pop()
  const results = await Promise.allSettled(ordered.map(publishOne))
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message)
  if (failed.length) refuse(`${main.manifest.name} not published, ${failed.length} platform package(s) failed (run again: published ones are skipped):\n${failed.join('\n')}`)
  await publishOne(main)
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    artifacts: { type: 'string' },
    out: { type: 'string' },
    stub: { type: 'string' },
    tarballs: { type: 'string' },
    registry: { type: 'string' },
    'dry-run': { type: 'boolean' },
    provenance: { type: 'boolean' },
    tag: { type: 'string' },
    'expect-version': { type: 'string' },
  },
})
try {
  if (positionals[0] === 'pack') await pack(values)
  else if (positionals[0] === 'publish') await publish(values)
  else refuse('usage: node scripts/release.mjs pack --artifacts DIR --out DIR | publish --tarballs DIR [--registry URL] [--dry-run] [--provenance]')
} catch (err) {
  if (!(err instanceof Refusal)) throw err
  say(`refused: ${err.message}`)
  process.exit(1)
}
