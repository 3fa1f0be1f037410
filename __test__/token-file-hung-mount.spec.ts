// A tokenFile on a hung mount (a stuck NFS or FUSE server), for real: a FUSE file system
// (fixtures/hung-fs.c, built here with libfuse3) whose reads never return. The plugin runs in a child
// process (fixtures/hung-token-file-client.cjs) so this one can always take the mount away. Linux, as
// root; installs libfuse3-dev, pkg-config and gcc with apt-get when they are missing.
import test, { type ExecutionContext } from 'ava'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const TOKEN_TIMEOUT_MS = 500
const FIXTURES = join(process.cwd(), '__test__', 'fixtures')

function has(command: string, args: string[]) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0
}

/** Makes sure FUSE can be used here, installing the build tools when root; throws what is missing. */
function fusePrerequisites() {
  if (process.platform !== 'linux') throw new Error('this test needs Linux FUSE: it mounts a file system whose reads hang')
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it mounts a FUSE file system (run the suite as root, as CI does)')
  if (!existsSync('/dev/fuse')) throw new Error('this test needs /dev/fuse (FUSE in the kernel, and the device in this container)')
  const ready = () => has('pkg-config', ['--exists', 'fuse3']) && has('cc', ['--version'])
  if (ready()) return
  const apt = (args: string[]) => execFileSync('apt-get', args, { stdio: 'pipe', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  const packages = ['install', '-y', '-qq', '--no-install-recommends', 'libfuse3-dev', 'pkg-config', 'gcc', 'libc6-dev']
  try {
    apt(packages)
  } catch {
    apt(['update', '-qq'])
    apt(packages)
  }
  if (!ready()) throw new Error('apt-get installed libfuse3-dev, pkg-config and gcc, yet pkg-config or cc still fail')
}

function mounted(path: string) {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === path)
}

function exited(child: ChildProcess, ms: number) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode)
  return new Promise<number | string | null>((resolve) => {
    const timer = setTimeout(() => resolve('still running'), ms)
    child.once('exit', (code, signal) => (clearTimeout(timer), resolve(code ?? signal)))
  })
}

function linesOf(child: ChildProcess) {
  const lines: string[] = []
  let rest = ''
  child.stdout!.on('data', (chunk) => {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop()!
    lines.push(...parts)
  })
  return lines
}

async function until(condition: () => boolean, ms: number) {
  for (const end = Date.now() + ms; !condition() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 20))
  return condition()
}

/** Builds and mounts the hung file system; the teardown unmounts it whatever happened. */
async function mountHungFs(t: ExecutionContext, dir: string) {
  const binary = join(dir, 'hung-fs')
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).trim().split(/\s+/)
  execFileSync('cc', ['-O1', '-o', binary, join(FIXTURES, 'hung-fs.c'), ...flags], { stdio: 'pipe' })
  const mountpoint = join(dir, 'mnt')
  mkdirSync(mountpoint)
  const fs = spawn(binary, [mountpoint], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  fs.stderr!.on('data', (chunk) => (stderr += chunk))
  t.teardown(async () => {
    if (fs.exitCode === null && fs.signalCode === null) {
      fs.kill('SIGTERM')
      if ((await exited(fs, 5000)) === 'still running') fs.kill('SIGKILL')
    }
    if (mounted(mountpoint)) spawnSync('umount', ['-l', mountpoint])
  })
  const requests = linesOf(fs)
  if (!(await until(() => requests.includes('mounted') || fs.exitCode !== null, 10_000))) throw new Error('hung-fs did not mount within 10 s')
  if (!requests.includes('mounted')) throw new Error(`hung-fs could not mount (exit ${fs.exitCode}): ${stderr.trim()}`)
  return { fs, mountpoint, requests }
}

test('a tokenFile whose read never returns: the login times out, one read in all, the thread pool and the exit stay free', async (t) => {
  fusePrerequisites()
  const dir = mkdtempSync(join(tmpdir(), 'oidc-hung-mount-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { fs, mountpoint, requests } = await mountHungFs(t, dir)
  const otherFile = join(dir, 'other')
  writeFileSync(otherFile, 'other file')

  const args = [join(FIXTURES, 'hung-token-file-client.cjs'), join(mountpoint, 'token'), otherFile, join(dir, 'socket'), String(TOKEN_TIMEOUT_MS)]
  const client = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => client.kill('SIGKILL'))
  const output = linesOf(client)
  t.true(await until(() => output.length > 0 || client.exitCode !== null, 30_000), 'the client printed nothing within 30 s')
  const report = JSON.parse(output[0] ?? '{}')
  t.is(report.crashed, undefined)

  // every login of both waves failed with the timeout, within tokenTimeoutMs and a little
  for (const wave of [report.first, report.second]) {
    t.not(wave, 'hung', 'logins did not settle')
    if (wave === 'hung') continue
    t.deepEqual(
      wave.map((login: { code: string }) => login.code),
      Array(8).fill('ERR_OIDC_TOKEN_SOURCE_TIMEOUT'),
    )
    for (const login of wave) t.true(login.ms < TOKEN_TIMEOUT_MS + 1000, `a login took ${Math.round(login.ms)} ms`)
  }
  // an unrelated file read completed meanwhile: the pool was not full of stuck reads
  t.is(report.other, 'other file')
  // sixteen logins, one open and one read reached the file system
  t.deepEqual(
    requests.filter((line) => line !== 'mounted'),
    ['open', 'read'],
  )

  // taking the file system away fails the stuck read: the client then ends by itself, and the
  // mount is gone (a client with stuck reads left would not exit: libuv joins its threads at exit)
  fs.kill('SIGTERM')
  t.is(await exited(fs, 5000), 0, 'hung-fs did not stop and unmount')
  t.false(mounted(mountpoint))
  t.is(await exited(client, 5000), 0, 'the client did not exit once the mount was gone')
})
