// Checks that a built addon has the file format its target needs and links only to libraries
// that every machine of that target has. Works on binaries that cannot run here (musl, macOS).
//
//   node check-binary.mjs <target-triple> <file>
//
// ELF (Linux): machine, shared object, DT_NEEDED; gnu builds need no glibc symbol newer than
// 2.17; musl builds must not need any glibc library. Mach-O (macOS): CPU type, dylib, the
// libraries it loads (system ones only), the minimum macOS version, and for arm64 a code
// signature. wasm: the magic number.
// Prints one line of facts; exits 1 with the reasons when a check fails.
import { readFileSync } from 'node:fs'

const [triple, file] = process.argv.slice(2)
if (!triple || !file) {
  console.error('usage: node check-binary.mjs <target-triple> <file>')
  process.exit(2)
}
const buf = readFileSync(file)
const problems = []
const facts = []

const GLIBC_FLOOR = [2, 17]
// Libraries of glibc (and of its toolchain) that a musl system does not have.
const GLIBC_ONLY = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|ld-linux.*|libgcc_s\.so\.1|libstdc\+\+\.so\.6)$/
// What a gnu build may need: glibc's own libraries (libgcc_s is on every glibc system Node runs on).
const GNU_ALLOWED = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libgcc_s\.so\.1)$/

function cmpVersion(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d) return d
  }
  return 0
}

function checkElf() {
  if (buf[4] !== 2 || buf[5] !== 1) return problems.push('not a 64-bit little-endian ELF file')
  const u16 = (o) => buf.readUInt16LE(o)
  const u32 = (o) => buf.readUInt32LE(o)
  const u64 = (o) => Number(buf.readBigUInt64LE(o))
  const type = u16(16)
  const machine = u16(18)
  const wantMachine = triple.startsWith('x86_64') ? 62 : triple.startsWith('aarch64') ? 183 : -1
  const machineName = { 62: 'x86-64', 183: 'aarch64' }[machine] ?? `machine ${machine}`
  facts.push(`ELF ${machineName}`)
  if (machine !== wantMachine) problems.push(`ELF machine is ${machineName}, not the one ${triple} needs`)
  if (type !== 3) problems.push(`ELF type ${type} is not a shared object (3)`)

  const shoff = u64(0x28)
  const shentsize = u16(0x3a)
  const shnum = u16(0x3c)
  const sections = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    sections.push({
      type: u32(o + 4),
      offset: u64(o + 0x18),
      size: u64(o + 0x20),
      link: u32(o + 0x28),
      entsize: u64(o + 0x38),
    })
  }
  const cstr = (o) => buf.toString('latin1', o, buf.indexOf(0, o))
  // SHT_DYNAMIC = 6: DT_NEEDED (1) entries name the libraries, as offsets into the linked strtab.
  const dynamic = sections.find((s) => s.type === 6)
  const needed = []
  if (dynamic) {
    const strtab = sections[dynamic.link]
    for (let o = dynamic.offset; o < dynamic.offset + dynamic.size; o += 16) {
      const tag = u64(o)
      if (tag === 0) break
      if (tag === 1) needed.push(cstr(strtab.offset + u64(o + 8)))
    }
  } else {
    problems.push('no dynamic section')
  }
  facts.push(`needs [${needed.join(', ')}]`)

  // SHT_GNU_verneed = 0x6ffffffe: the symbol versions wanted from each library.
  const versions = []
  const verneed = sections.find((s) => s.type === 0x6ffffffe)
  if (verneed) {
    const strtab = sections[verneed.link]
    let o = verneed.offset
    for (;;) {
      const cnt = u16(o + 2)
      let a = o + u32(o + 8)
      for (let i = 0; i < cnt; i++) {
        versions.push(cstr(strtab.offset + u32(a + 8)))
        a += u32(a + 12)
      }
      const next = u32(o + 12)
      if (!next) break
      o += next
    }
  }
  const glibc = versions
    .filter((v) => v.startsWith('GLIBC_') && /^GLIBC_[0-9.]+$/.test(v))
    .map((v) => v.slice(6).split('.').map(Number))
    .sort(cmpVersion)
  const newest = glibc.at(-1)

  if (triple.endsWith('-gnu')) {
    facts.push(`newest glibc symbol ${newest ? newest.join('.') : 'none'}`)
    if (newest && cmpVersion(newest, GLIBC_FLOOR) > 0) {
      problems.push(`needs glibc ${newest.join('.')}, more than the ${GLIBC_FLOOR.join('.')} floor`)
    }
    for (const lib of needed) if (!GNU_ALLOWED.test(lib)) problems.push(`needs ${lib}, not part of glibc`)
  } else if (triple.endsWith('-musl')) {
    for (const lib of needed) {
      if (GLIBC_ONLY.test(lib)) problems.push(`musl build needs the glibc library ${lib}`)
      else if (lib !== 'libc.so') problems.push(`musl build needs ${lib}, which Alpine's node image may lack`)
    }
    if (glibc.length) problems.push(`musl build asks for glibc symbol versions (${versions.join(', ')})`)
    if (!needed.includes('libc.so')) problems.push('musl build does not link musl libc (libc.so)')
  }
}

function checkMachO() {
  const magic = buf.readUInt32LE(0)
  if (magic !== 0xfeedfacf) return problems.push('not a 64-bit little-endian Mach-O file (a fat or 32-bit file?)')
  const cputype = buf.readUInt32LE(4)
  const filetype = buf.readUInt32LE(12)
  const ncmds = buf.readUInt32LE(16)
  const cpuName = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' }[cputype] ?? `cputype 0x${cputype.toString(16)}`
  const wantCpu = triple.startsWith('x86_64') ? 'x86_64' : 'arm64'
  facts.push(`Mach-O ${cpuName} ${({ 6: 'dylib', 8: 'bundle' })[filetype] ?? `filetype ${filetype}`}`)
  if (cpuName !== wantCpu) problems.push(`Mach-O CPU is ${cpuName}, not ${wantCpu}`)
  if (filetype !== 6 && filetype !== 8) problems.push(`Mach-O file type ${filetype} is neither a dylib nor a bundle`)
  const dylibs = []
  let minos = null
  let signed = false
  let o = 32
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(o)
    const size = buf.readUInt32LE(o + 4)
    // LC_LOAD_DYLIB 0xc, LC_LOAD_WEAK_DYLIB 0x80000018, LC_REEXPORT_DYLIB 0x8000001f
    if (cmd === 0xc || cmd === 0x80000018 || cmd === 0x8000001f) {
      const nameOff = buf.readUInt32LE(o + 8)
      dylibs.push(buf.toString('latin1', o + nameOff, buf.indexOf(0, o + nameOff)))
    } else if (cmd === 0x32) {
      // LC_BUILD_VERSION: platform, minos (xxxx.yy.zz)
      minos = buf.readUInt32LE(o + 12)
    } else if (cmd === 0x1d) {
      signed = true
    } else if (cmd === 0x24) {
      // LC_VERSION_MIN_MACOSX
      minos = buf.readUInt32LE(o + 8)
    }
    o += size
  }
  facts.push(`loads [${dylibs.join(', ')}]`)
  // Apple silicon refuses to load arm64 code without a signature (an ad-hoc one is enough).
  facts.push(signed ? 'code signature present' : 'no code signature')
  if (!signed && cpuName === 'arm64') problems.push('arm64 Mach-O without a code signature: macOS on Apple silicon will not load it')
  for (const lib of dylibs) {
    if (!lib.startsWith('/usr/lib/') && !lib.startsWith('/System/Library/')) {
      problems.push(`loads ${lib}, which is not a system library`)
    }
  }
  if (minos === null) {
    problems.push('no minimum macOS version recorded')
  } else {
    const v = [minos >>> 16, (minos >>> 8) & 0xff]
    const max = triple.startsWith('x86_64') ? [10, 13] : [11, 0]
    facts.push(`minimum macOS ${v.join('.')}`)
    if (cmpVersion(v, max) > 0) problems.push(`needs macOS ${v.join('.')}, newer than ${max.join('.')} (set MACOSX_DEPLOYMENT_TARGET)`)
  }
}

function checkWasm() {
  if (buf.readUInt32BE(0) !== 0x0061736d) problems.push('not a WebAssembly module')
  else facts.push(`WebAssembly version ${buf.readUInt32LE(4)}`)
}

if (triple.includes('-linux-')) checkElf()
else if (triple.includes('-apple-darwin')) checkMachO()
else if (triple.startsWith('wasm32')) checkWasm()
else problems.push(`no check for ${triple}`)

console.log(`${file.split('/').pop()}: ${facts.join('; ')}`)
if (problems.length) {
  for (const p of problems) console.error(`  FAIL ${p}`)
  process.exit(1)
}
