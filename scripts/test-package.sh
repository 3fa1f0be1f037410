#!/usr/bin/env bash
# Packaging test: packs the main package and the platform packages the way they are published,
# installs the tarballs into empty temporary directories (no Rust on PATH, nothing loaded from the
# source tree) and runs the smoke tests of scripts/package-smoke/ there:
#   linux-x64-gnu   natively: require, import, tsc on a .ts file against the installed typings, and
#                   attw (@arethetypeswrong/cli) on the main tarball
#   wasm32-wasi     with NAPI_RS_FORCE_WASI=true and no native package installed
#   no binary       the error a user sees when no package fits the platform
#   npm pack        a plain `npm pack` of the work tree: the error says to use pack:local
#   pack:local      `npm run pack:local` tarballs (this machine's build): `npm install a.tgz b.tgz` loads
# and checks the format and needed libraries of every linux and macOS binary (check-binary.mjs).
# The arm64 package under qemu is loaded by npm run release:rehearse, installed from a registry.
#
#   npm run test:package                  # builds first (scripts/build-targets.sh, incremental)
#   SKIP_BUILD=1 npm run test:package     # use artifacts/ as they are; in a fresh clone after
#                                         # `npm run build`, the work tree's linux-x64-gnu build, and
#                                         # the wasm check is skipped (said so in the report)
#   KEEP_TMP=1 npm run test:package       # keep the temporary directories to look at
#
# Installs what it needs when missing: musl (apt-get), for its loader's look at the musl binary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${MOC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-openid-connect-build}"
OUT="$ROOT/artifacts"
SMOKE="$ROOT/scripts/package-smoke"
T0=$(date +%s)
FAILS=()

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'test-package: %s\n' "$*" >&2; exit 1; }
fail() { printf '\033[31mFAIL\033[0m %s\n' "$*" >&2; FAILS+=("$*"); }
ok() { printf '\033[32mok\033[0m   %s\n' "$*" >&2; }
declare -A SECS
phase_start() { PHASE=$1; PHASE_T=$(date +%s); log "$1"; }
phase_end() { SECS[$PHASE]=$(($(date +%s) - PHASE_T)); }
PHASES=()

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] || die "runs on Linux x86_64 only"

# --- tools -------------------------------------------------------------------------------------
phase_start tools; PHASES+=(tools)
if ! [ -e /lib/ld-musl-x86_64.so.1 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  log "apt-get install musl"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq musl; } >/tmp/test-package-apt.log 2>&1 ||
    { cat /tmp/test-package-apt.log >&2; die "apt-get install musl failed"; }
fi
phase_end

# --- build -------------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  phase_start build; PHASES+=(build)
  bash "$ROOT/scripts/build-targets.sh" >&2 || fail "build-targets.sh reported failed targets"
  phase_end
fi
SKIPPED=()
WORKTREE_HOST=
HOST_BIN="$ROOT/mysql-openid-connect.linux-x64-gnu.node"
for t in x86_64-unknown-linux-gnu wasm32-wasip1-threads; do
  [ -n "$(find "$OUT/bindings-$t" -maxdepth 1 \( -name '*.node' -o -name '*.wasm' \) 2>/dev/null)" ] && continue
  if [ -z "${SKIP_BUILD:-}" ]; then die "no build of $t in $OUT/bindings-$t (build-targets.sh failed?)"; fi
  if [ $t = x86_64-unknown-linux-gnu ]; then
    [ -f "$HOST_BIN" ] || die "no build of $t: run npm run build (this machine's) or npm run build:targets (all)"
    WORKTREE_HOST=1
    log "no artifacts/bindings-$t: testing the work tree's build (npm run build), whose glibc floor is this machine's"
  else
    SKIPPED+=("$t: not built (npm run build:targets builds it)")
  fi
done

# --- binaries ----------------------------------------------------------------------------------
phase_start binaries; PHASES+=(binaries)
mapfile -t TARGETS < <(node -e '
  const p = require("./package.json")
  import("@napi-rs/cli").then(({ parseTriple }) => {
    for (const t of p.napi.targets) console.log(t + " " + parseTriple(t).platformArchABI)
  })')
declare -A ABI BIN
ORDER=() ORDER_ABI=()
for line in "${TARGETS[@]}"; do
  t=${line% *}; ABI[$t]=${line#* }; ORDER+=("$t"); ORDER_ABI+=("${ABI[$t]}")
  f=$(find "$OUT/bindings-$t" -maxdepth 1 -type f \( -name '*.node' -o -name '*.wasm' \) 2>/dev/null | head -n1 || true)
  [ -n "$f" ] && BIN[$t]=$f
done
[ -n "$WORKTREE_HOST" ] && BIN[x86_64-unknown-linux-gnu]=$HOST_BIN
for t in "${ORDER[@]}"; do
  [ -n "${BIN[$t]:-}" ] || continue
  case $t in *-linux-* | *-apple-darwin | wasm32-*) ;; *) continue ;; esac
  # `npm run build` links this machine's glibc, not the 2.17 floor of the release builds
  [ "${BIN[$t]}" = "$HOST_BIN" ] && { SKIPPED+=("$t: glibc 2.17 floor not checked (work tree build)"); continue; }
  if out=$(node "$SMOKE/check-binary.mjs" "$t" "${BIN[$t]}" 2>&1); then ok "$out"; else fail "$out"; fi
done
# musl's own loader resolves what the x64 musl build needs; only napi_* (from node) may be missing.
if [ -n "${BIN[x86_64-unknown-linux-musl]:-}" ]; then
  out=$(/lib/ld-musl-x86_64.so.1 --list "${BIN[x86_64-unknown-linux-musl]}" 2>&1 || true)
  bad=$(grep -v -E 'symbol not found' <<<"$out" | grep -E -i 'error|not found' || true)
  badsym=$(grep -E 'symbol not found' <<<"$out" | grep -v -E ': napi_[a-z0-9_]+: symbol not found' || true)
  if [ -z "$bad$badsym" ]; then
    ok "ld-musl-x86_64 --list: $(grep -o -E '^\s*\S+ => \S+' <<<"$out" | tr -s ' \t' ' ' | paste -sd, -), only napi_* left for node"
  else
    fail "ld-musl-x86_64 --list: $bad $badsym"
  fi
fi
phase_end

# --- pack --------------------------------------------------------------------------------------
phase_start pack; PHASES+=(pack)
TMP=$(mktemp -d /tmp/moc-test-package.XXXXXX)
if [ -z "${KEEP_TMP:-}" ]; then trap 'rm -rf "$TMP"' EXIT; else log "keeping $TMP"; fi
TGZ="$TMP/tarballs"; mkdir -p "$TGZ" "$TMP/stage"

# The main package: what `npm pack` takes from the work tree, plus the optionalDependencies that
# `napi prepublish` writes before `npm publish` (one per napi target, at the package version).
mkdir -p "$TMP/stage/main"
npm pack --dry-run --json --ignore-scripts 2>/dev/null >"$TMP/main-files.json"
node -e '
  const fs = require("fs"), path = require("path")
  const [root, dest] = process.argv.slice(1)
  for (const f of JSON.parse(fs.readFileSync(0, "utf8"))[0].files) {
    fs.mkdirSync(path.dirname(path.join(dest, f.path)), { recursive: true })
    fs.copyFileSync(path.join(root, f.path), path.join(dest, f.path))
  }' "$ROOT" "$TMP/stage/main" <"$TMP/main-files.json"
for f in index.js index.d.ts; do
  if ! [ -f "$ROOT/$f" ]; then
    log "the work tree has no $f (made by npm run build): packing the one build-targets.sh generated"
    cp "$OUT/loader/$f" "$TMP/stage/main/$f"
  elif [ -f "$OUT/loader/$f" ] && ! cmp -s "$ROOT/$f" "$OUT/loader/$f"; then
    log "warning: $f differs from the one generated from the current source (artifacts/loader/$f): run npm run build"
  fi
done
node -e '
  const fs = require("fs")
  const [file, ...abis] = process.argv.slice(1)
  const p = JSON.parse(fs.readFileSync(file, "utf8"))
  p.optionalDependencies = Object.fromEntries(abis.map((a) => [`${p.name}-${a}`, p.version]))
  fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n")
' "$TMP/stage/main/package.json" "${ORDER_ABI[@]}"

pack() { # dir -> prints the tarball's path; records its facts in $TMP/pack-<name>.json
  local json
  json=$(cd "$1" && npm pack --json --ignore-scripts --pack-destination "$TGZ" 2>/dev/null)
  local name; name=$(node -p 'JSON.parse(process.argv[1])[0].name' "$json")
  printf '%s' "$json" >"$TMP/pack-$name.json"
  node -p 'JSON.parse(process.argv[1])[0].filename' "$json" | sed "s|^|$TGZ/|"
}
MAIN_TGZ=$(pack "$TMP/stage/main")

# What the main tarball holds: the entry points and lib/, no sources, tests or build leftovers.
node -e '
  const [json] = process.argv.slice(1)
  const r = JSON.parse(json)[0]
  const files = r.files.map((f) => f.path)
  const bad = files.filter((f) => !/^(package\.json|README(\.md)?|LICEN[CS]E(\.\w+)?|index\.js|index\.d\.ts|main\.js|main\.mjs|main\.d\.ts|main\.d\.mts|main\.d\.cts|bin\/mysql-openid-connect\.js|lib\/.+)$/i.test(f)
    || /(^|\/)(__tests?__|tests?|fixtures?)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$|\.(node|wasm|tgz|rs|map)$/.test(f))
  const need = ["main.js", "main.mjs", "main.d.ts", "main.d.mts", "index.js", "index.d.ts", "lib/binding.js", "bin/mysql-openid-connect.js", "lib/proxy/index.js"]
  const missing = need.filter((f) => !files.includes(f))
  console.log(files.join(" "))
  if (bad.length) { console.error("unexpected files in the main tarball: " + bad.join(", ")); process.exitCode = 1 }
  if (missing.length) { console.error("missing from the main tarball: " + missing.join(", ")); process.exitCode = 1 }
 ' "$(cat "$TMP/pack-mysql-openid-connect.json")" >"$TMP/main-list.txt" 2>"$TMP/main-list.err" &&
  ok "main tarball holds only: $(cat "$TMP/main-list.txt")" || fail "$(cat "$TMP/main-list.err")"
[ -f "$ROOT/LICENSE" ] || [ -f "$ROOT/LICENSE.md" ] || log "note: no LICENSE file in the work tree, so the tarball has none"

# The platform packages: npm/<platform>/ as committed, plus the binary (and the wasm loaders).
# Targets not built here (Windows) are packed without their binary, only so that npm can read their
# os/cpu fields offline; they must never be installed on this machine.
declare -A PTGZ
for t in "${ORDER[@]}"; do
  abi=${ABI[$t]}
  d="$TMP/stage/npm/$abi"; mkdir -p "$d"
  cp "$ROOT/npm/$abi/package.json" "$d/"
  [ -f "$ROOT/npm/$abi/README.md" ] && cp "$ROOT/npm/$abi/README.md" "$d/"
  if [ "${BIN[$t]:-}" = "$HOST_BIN" ]; then
    cp "$HOST_BIN" "$d/"
  elif [ -n "${BIN[$t]:-}" ]; then
    cp "$OUT/bindings-$t/"* "$d/"
  fi
  if out=$(node -e '
    const fs = require("fs")
    const [dir, abi, version, built] = process.argv.slice(1)
    const p = JSON.parse(fs.readFileSync(dir + "/package.json", "utf8"))
    const [os, cpu, libc] = abi === "wasm32-wasi" ? [undefined, "wasm32", undefined] : abi.split("-")
    const want = { os: os && [os], cpu: [cpu], libc: libc === "gnu" ? ["glibc"] : libc === "musl" ? ["musl"] : undefined }
    const problems = []
    for (const k of ["os", "cpu", "libc"]) if (JSON.stringify(p[k]) !== JSON.stringify(want[k])) problems.push(`${k} is ${JSON.stringify(p[k])}, want ${JSON.stringify(want[k])}`)
    if (p.name !== "mysql-openid-connect-" + abi) problems.push("name " + p.name)
    if (p.version !== version) problems.push(`version ${p.version}, main package has ${version}`)
    if (built === "1") for (const f of p.files) if (!fs.existsSync(dir + "/" + f)) problems.push("files lists " + f + ", which the build did not make")
    if (built === "1" && !fs.existsSync(dir + "/" + p.main)) problems.push("main " + p.main + " is missing")
    if (problems.length) { console.log(problems.join("; ")); process.exit(1) }
    console.log(["os", "cpu", "libc"].filter((k) => p[k]).map((k) => `${k} ${p[k]}`).join(", "))
  ' "$d" "$abi" "$(node -p 'require("./package.json").version')" "${BIN[$t]:+1}"); then
    ok "npm/$abi: $out"
  else
    fail "npm/$abi: $out"
  fi
  PTGZ[$abi]=$(pack "$d")
done
phase_end

# --- install and smoke -------------------------------------------------------------------------
NODE_DIR=$(dirname "$(command -v node)")
CLEANPATH="$NODE_DIR:/usr/bin:/bin"
if env -i PATH="$CLEANPATH" sh -c 'command -v cargo || command -v rustc || command -v rustup' >/dev/null; then
  die "cargo or rustc is on $CLEANPATH: cannot test an install without Rust"
fi
clean() { env -i HOME="$HOME" PATH="$CLEANPATH" TMPDIR=/tmp "$@"; }

make_app() { # dir, with-typescript
  mkdir -p "$1"
  local pairs=()
  for a in "${!PTGZ[@]}"; do pairs+=("$a" "${PTGZ[$a]}"); done
  node -e '
    const fs = require("fs"), path = require("path")
    const [dir, main, withTs, ...pairs] = process.argv.slice(1)
    const root = require(process.cwd() + "/package.json")
    const overrides = {}
    for (let i = 0; i < pairs.length; i += 2) overrides[`mysql-openid-connect-${pairs[i]}`] = "file:" + pairs[i + 1]
    const app = { name: "smoke-app", version: "1.0.0", private: true, type: "module",
      dependencies: { "mysql-openid-connect": "file:" + main }, overrides }
    if (withTs === "1") app.devDependencies = { typescript: root.devDependencies.typescript, "@types/node": `^${process.versions.node.split(".")[0]}`,
      "@arethetypeswrong/cli": "^0.18.2" }
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(app, null, 2) + "\n")
  ' "$1" "$MAIN_TGZ" "$2" "${pairs[@]}"
  cp "$SMOKE"/smoke.cjs "$SMOKE"/smoke.mjs "$SMOKE"/smoke-common.cjs "$1/"
}
installed() { # dir -> names of the mysql-openid-connect* packages installed
  (cd "$1/node_modules" && ls -d mysql-openid-connect* 2>/dev/null | sort | paste -sd' ' -)
}
npm_install() { # dir, extra npm args...
  local dir=$1; shift
  (cd "$dir" && clean npm install --no-audit --no-fund --prefer-offline --loglevel=error "$@" >"$dir/npm-install.log" 2>&1) ||
    { cat "$dir/npm-install.log" >&2; return 1; }
}
install_expecting() { # label, dir, binding, npm args... ; installs and checks only that binding came along
  local label=$1 dir=$2 binding=$3; shift 3
  npm_install "$dir" "$@" || { fail "$label: npm install of the tarballs failed"; return 1; }
  local got; got=$(installed "$dir")
  [ "$got" = "mysql-openid-connect mysql-openid-connect-$binding" ] && ok "$label install: $got" ||
    fail "$label install: installed $got, want only the main package and $binding (os/cpu/libc fields?)"
}
smoke() { # label, expected binding, dir, runner... ; runs smoke.cjs and smoke.mjs
  local label=$1 expect=$2 dir=$3; shift 3
  for f in smoke.cjs smoke.mjs; do
    if out=$(cd "$dir" && clean SMOKE_EXPECT_BINDING="$expect" ${FORCE_WASI:+NAPI_RS_FORCE_WASI=$FORCE_WASI} \
      timeout 120 "$@" "$f" 2>&1); then
      ok "$label $f: $(grep '^smoke' <<<"$out")"
    else
      fail "$label $f: $out"
    fi
  done
}

# linux-x64-gnu, natively
phase_start "x64 gnu: install, require, import, tsc, attw"; PHASES+=("$PHASE")
APP="$TMP/app-x64"; make_app "$APP" 1
cp "$SMOKE"/smoke.ts "$SMOKE"/tsconfig.json "$APP/"
if install_expecting x64 "$APP" linux-x64-gnu; then
  FORCE_WASI='' smoke "x64" linux-x64-gnu "$APP" node
  if out=$(cd "$APP" && clean node_modules/.bin/tsc -p tsconfig.json 2>&1); then
    ok "x64 tsc --noEmit: $(node -p 'require(process.argv[1]).files.join(", ")' "$APP/tsconfig.json") type-check against the installed typings"
  else
    fail "x64 tsc: $out"
  fi
  # are the types right for require and import (node16 CJS and ESM, bundlers)?
  if out=$(cd "$APP" && clean node_modules/.bin/attw --format ascii --no-summary "$MAIN_TGZ" 2>&1); then
    ok "attw: the typings resolve for require, import and bundlers"
  else
    fail "attw (are the types wrong) on the main tarball: $(grep -v -E '^\s*$' <<<"$out" | head -n 12)"
  fi
  # the proxy command, as `npx mysql-openid-connect proxy` runs it from an installed package
  if out=$(cd "$APP" && clean node_modules/.bin/mysql-openid-connect proxy --help 2>&1) && grep -q -- '--upstream HOST:PORT' <<<"$out"; then
    ok "bin: mysql-openid-connect proxy --help runs from the installed package"
  else
    fail "bin mysql-openid-connect proxy: $out"
  fi
fi
phase_end

# wasm32-wasi, with no native package at all
if [ -n "${BIN[wasm32-wasip1-threads]:-}" ]; then
  phase_start "wasm32-wasi: install, require, import"; PHASES+=("$PHASE")
  APP="$TMP/app-wasm"; make_app "$APP" 0
  if install_expecting wasm "$APP" wasm32-wasi --cpu=wasm32; then
    FORCE_WASI=true smoke "wasm" wasm32-wasi "$APP" node --no-warnings
  fi
  phase_end
fi

# no package fits: what does the user read?
phase_start "no binary fits: the error"; PHASES+=("$PHASE")
APP="$TMP/app-nobin"; make_app "$APP" 0
if npm_install "$APP" --omit=optional; then
  got=$(installed "$APP")
  [ "$got" = "mysql-openid-connect" ] || fail "no-binary install: installed $got"
  msg=$(cd "$APP" && clean node -e '
    try { require("mysql-openid-connect"); console.log("LOADED") } catch (e) { console.log(e.message) }' 2>&1)
  if [ "$msg" = LOADED ]; then
    fail "no-binary: the package loaded without any binary package"
  elif missing=$(for t in "${ORDER[@]}"; do grep -q -- "${ABI[$t]}" <<<"$msg" || echo "${ABI[$t]}"; done | paste -sd, -) &&
    [ -z "$missing" ] && grep -q 'detected linux-x64-gnu' <<<"$msg" && grep -q 'install without --omit=optional' <<<"$msg"; then
    ok "no-binary error names the detected platform and every shipped one: $msg"
  else
    fail "no-binary error should say 'detected linux-x64-gnu' and name every shipped platform (missing: ${missing:-?}): $msg"
  fi
else
  fail "no-binary: npm install failed"
fi
phase_end

# What a user who builds from source installs: `npm pack` alone, then npm run pack:local
# (scripts/pack-local.sh), installed the way its message and the README say.
load_error() { # dir -> the message of the error require() throws, or LOADED
  (cd "$1" && clean node -e '
    try { require("mysql-openid-connect"); console.log("LOADED") } catch (e) { console.log(e.code + " " + e.message) }' 2>&1)
}
phase_start "local builds: npm pack, npm run pack:local"; PHASES+=("$PHASE")
if ! [ -f "$HOST_BIN" ]; then
  SKIPPED+=("pack:local: no work tree build (run npm run build)")
else
  mkdir -p "$TMP/plain" "$TMP/app-plain"
  (cd "$ROOT" && npm pack --silent --ignore-scripts --pack-destination "$TMP/plain" >/dev/null 2>&1)
  echo '{ "name": "plain-app", "version": "1.0.0", "private": true }' >"$TMP/app-plain/package.json"
  if npm_install "$TMP/app-plain" "$TMP"/plain/*.tgz; then
    msg=$(load_error "$TMP/app-plain")
    if grep -q '^ERR_OIDC_NO_BINARY .*packed from a source checkout with `npm pack`.*npm run pack:local' <<<"$msg"; then
      ok "plain npm pack: ERR_OIDC_NO_BINARY points to npm run pack:local"
    else
      fail "plain npm pack: the error should point to npm run pack:local: $msg"
    fi
  else
    fail "plain npm pack: npm install of its tarball failed"
  fi

  if mapfile -t LOCAL < <(cd "$ROOT" && clean bash scripts/pack-local.sh --out "$TMP/local" 2>"$TMP/pack-local.log") && [ ${#LOCAL[@]} -eq 2 ]; then
    APP="$TMP/app-local"; mkdir -p "$APP"
    echo '{ "name": "local-app", "version": "1.0.0", "private": true }' >"$APP/package.json"
    cp "$SMOKE"/smoke.cjs "$SMOKE"/smoke.mjs "$SMOKE"/smoke-common.cjs "$APP/"
    # exactly the command pack:local prints
    if npm_install "$APP" "${LOCAL[@]}" && [ "$(installed "$APP")" = "mysql-openid-connect mysql-openid-connect-linux-x64-gnu" ]; then
      ok "pack:local: npm install $(basename "${LOCAL[0]}") $(basename "${LOCAL[1]}")"
      FORCE_WASI='' smoke "pack:local" linux-x64-gnu "$APP" node
    else
      fail "pack:local: npm install of both tarballs failed or installed $(installed "$APP")"
    fi
    # the main tarball alone: the registry has no such platform package, the error says what to add
    APP="$TMP/app-local-main"; mkdir -p "$APP"
    echo '{ "name": "local-main", "version": "1.0.0", "private": true }' >"$APP/package.json"
    if npm_install "$APP" "${LOCAL[0]}"; then
      msg=$(load_error "$APP")
      if grep -q "^ERR_OIDC_NO_BINARY .*pack:local.*install both together, npm install ./$(basename "${LOCAL[0]}") ./$(basename "${LOCAL[1]}")" <<<"$msg"; then
        ok "pack:local main tarball alone: the error names both tarballs to install"
      else
        fail "pack:local main tarball alone: the error should name both tarballs: $msg"
      fi
    else
      fail "pack:local: npm install of the main tarball alone failed"
    fi
  else
    fail "npm run pack:local failed: $(cat "$TMP/pack-local.log")"
  fi
fi
phase_end

# --- report ------------------------------------------------------------------------------------
echo
echo "tarball                                              packed     unpacked  files"
for j in "$TMP"/pack-*.json; do
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0]
    const kib = (n) => (n / 1024).toFixed(1).padStart(7) + " KiB"
    const stub = r.files.some((f) => /\.(node|wasm)$/.test(f.path)) || r.name === "mysql-openid-connect" ? "" : "  (no binary: not built here)"
    console.log(r.filename.padEnd(52) + kib(r.size) + " " + kib(r.unpackedSize) + String(r.entryCount).padStart(6) + stub)
  ' "$j"
done
echo
for p in "${PHASES[@]}"; do printf '%-48s %4s s\n' "$p" "${SECS[$p]}"; done
printf '%-48s %4s s\n' total "$(($(date +%s) - T0))"
for sk in "${SKIPPED[@]}"; do echo "SKIPPED $sk"; done
if [ ${#FAILS[@]} -gt 0 ]; then
  echo "test:package: ${#FAILS[@]} failed"
  for f in "${FAILS[@]}"; do echo "  - ${f%%$'\n'*}"; done
  exit 1
fi
echo "test:package: all checks passed"
