#!/usr/bin/env bash
# Builds every target of package.json "napi.targets" that a Linux x86_64 machine can build, one
# after another, into artifacts/bindings-<triple>/ (the layout the release workflow's artifacts
# have), and says which targets it skipped and why.
#
#   npm run build:targets                     # every target this machine can build
#   npm run build:targets -- linux-arm64-gnu wasm32-wasi    # some of them (triple or npm name)
#
# It installs what it needs when missing: Rust targets (rustup), zig and cargo-zigbuild (PyPI,
# pinned, in a venv under $MOC_TOOLS_DIR). With everything installed and nothing changed it takes
# a few seconds. Cargo builds go to $CARGO_TARGET_DIR (default: target/cross, its own dir) so they do
# not lock the target/ dir of a developer's own `npm run build`.
#
# How each target is built here:
#   linux gnu   cargo-zigbuild against glibc 2.17 (`--target <triple>.2.17`), so the binary loads
#               on any glibc >= 2.17, not only on this machine's
#   linux musl  cargo-zigbuild (a plain build would link this machine's glibc)
#   macOS       cargo-zigbuild, MACOSX_DEPLOYMENT_TARGET 10.13 (x64) / 11.0 (arm64)
#   wasm32-wasi rustc's own wasm linker with emnapi (devDependencies)
#   windows     the SHIPPED Windows files are the msvc builds (win32-x64-msvc, win32-arm64-msvc) that
#               .github/workflows/release.yml makes on Windows runners: cargo-xwin would download
#               Microsoft's CRT and SDK, which is not reachable here, so they are skipped. In their
#               place, for tests only and never packed (npm run test:windows, scripts/windows-check.sh):
#     x86_64-pc-windows-gnu       zig as linker (it links the UCRT, as msvc builds do), napi's
#                                 dyn-symbols feature (N-API looked up in node.exe at load time, as
#                                 on msvc) and an empty libnode stub for napi-build; runs under Wine
#     aarch64-pc-windows-gnullvm  the same for Windows on Arm; nothing can run it here
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${MOC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-openid-connect-build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/cross}"
OUT="$ROOT/artifacts"
ZIG_VERSION=0.14.1
ZIGBUILD_VERSION=0.24.0

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'build-targets: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
  die "this script is for Linux x86_64 build machines (this is $(uname -s) $(uname -m)); the release workflow builds the rest"
command -v cargo >/dev/null && command -v rustup >/dev/null || die "needs Rust through rustup (cargo, rustup on PATH)"
[ -x node_modules/.bin/napi ] || die "node_modules/.bin/napi is missing: run 'npm install' first"

# --- which targets -----------------------------------------------------------------------------
mapfile -t ALL < <(node -e '
  const p = require("./package.json")
  import("@napi-rs/cli").then(({ parseTriple }) => {
    for (const t of p.napi.targets) console.log(t + " " + parseTriple(t).platformArchABI)
  })')
# Test-only stand-ins for the msvc builds (see above): built by default, never packed.
EXTRA=(x86_64-pc-windows-gnu aarch64-pc-windows-gnullvm)
declare -A ABI
TARGETS=()
for line in "${ALL[@]}"; do
  t=${line% *}; ABI[$t]=${line#* }; TARGETS+=("$t")
done
ABI[x86_64-pc-windows-gnu]=win32-x64-gnu
ABI[aarch64-pc-windows-gnullvm]=win32-arm64-gnullvm
TARGETS+=("${EXTRA[@]}")
if [ $# -gt 0 ]; then
  WANT=()
  for arg in "$@"; do
    found=
    for t in "${TARGETS[@]}"; do
      if [ "$arg" = "$t" ] || [ "$arg" = "${ABI[$t]}" ]; then WANT+=("$t"); found=1; fi
    done
    [ -n "$found" ] || die "unknown target '$arg' (known: ${TARGETS[*]})"
  done
  TARGETS=("${WANT[@]}")
fi

declare -A SKIP
for t in "${TARGETS[@]}"; do
  case $t in
    *-pc-windows-msvc)
      SKIP[$t]="needs cargo-xwin, which downloads Microsoft's CRT and Windows SDK at build time from a host this machine cannot reach; the shipped file is the one the release workflow builds on a Windows runner" ;;
    *-unknown-linux-gnu | *-unknown-linux-musl | *-apple-darwin | wasm32-wasip1-threads | x86_64-pc-windows-gnu | aarch64-pc-windows-gnullvm) ;;
    *) SKIP[$t]="no recipe for this target in scripts/build-targets.sh" ;;
  esac
done

# --- tools -------------------------------------------------------------------------------------
need_zig=
for t in "${TARGETS[@]}"; do
  [ -z "${SKIP[$t]:-}" ] && [ "$t" != wasm32-wasip1-threads ] && need_zig=1
done

installed_targets=$(rustup target list --installed)
missing=()
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && continue
  grep -qx "$t" <<<"$installed_targets" || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "rustup target add ${missing[*]}"
  rustup target add "${missing[@]}" >&2
fi

if [ -n "$need_zig" ]; then
  VENV="$TOOLS/zig-$ZIG_VERSION-zigbuild-$ZIGBUILD_VERSION"
  if ! [ -x "$VENV/bin/cargo-zigbuild" ] || ! "$VENV/bin/python3" -m ziglang version >/dev/null 2>&1; then
    log "installing ziglang==$ZIG_VERSION and cargo-zigbuild==$ZIGBUILD_VERSION from PyPI into $VENV"
    command -v python3 >/dev/null || die "needs python3 (for zig and cargo-zigbuild from PyPI)"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      # Debian's python3 keeps venv in a separate package
      log "apt-get install python3-venv"
      SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
      { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv; } >/dev/null ||
        die "apt-get install python3-venv failed"
      rm -rf "$VENV"; python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION" >&2
  fi
  # cargo-zigbuild on PATH; the CLI and cargo-zigbuild find zig through `python3 -m ziglang`.
  export PATH="$VENV/bin:$PATH"
fi

# napi-build wants a libnode.dll to link the windows-gnu(llvm) builds against; with dyn-symbols
# nothing is imported from it, so an empty archive (and an empty .dll beside it) is enough.
LIBNODE_STUB="$TOOLS/libnode-stub"
for t in "${TARGETS[@]}"; do
  case $t in *-pc-windows-gnu*)
    if ! [ -f "$LIBNODE_STUB/libnode.a" ]; then
      mkdir -p "$LIBNODE_STUB" && python3 -m ziglang ar rc "$LIBNODE_STUB/libnode.a" && touch "$LIBNODE_STUB/libnode.dll"
    fi ;;
  esac
done

# --- build -------------------------------------------------------------------------------------
mkdir -p "$OUT"
declare -A SECS
BUILT=()
FAILED=()
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && continue
  abi=${ABI[$t]}
  dest="$OUT/bindings-$t"
  args=(--platform --release --target-dir "$CARGO_TARGET_DIR" --output-dir "$dest")
  envs=()
  case $t in
    *-unknown-linux-gnu) args+=(-x --target "$t.2.17") ;;
    *-unknown-linux-musl) args+=(-x --target "$t") ;;
    x86_64-apple-darwin) args+=(-x --target "$t"); envs=(MACOSX_DEPLOYMENT_TARGET=10.13) ;;
    aarch64-apple-darwin) args+=(-x --target "$t"); envs=(MACOSX_DEPLOYMENT_TARGET=11.0) ;;
    wasm32-wasip1-threads) args+=(--target "$t") ;;
    # the CLI refuses -x for windows-gnu; CARGO=cargo-zigbuild gives it zig as linker all the same
    *-pc-windows-gnu | *-pc-windows-gnullvm)
      args+=(--target "$t" --features napi/dyn-symbols); envs=(CARGO=cargo-zigbuild LIBNODE_PATH="$LIBNODE_STUB") ;;
  esac
  # The host target also writes the JS loader and typings, as `npm run build` does, to
  # artifacts/loader/: test:package compares them with the work tree's (or packs them if it has none).
  if [ "$t" = x86_64-unknown-linux-gnu ]; then args+=(--js index.js --dts index.d.ts); else args+=(--no-js); fi
  log "building $t ($abi)"
  rm -rf "$dest"; mkdir -p "$dest"
  start=$(date +%s)
  logfile="$OUT/build-$t.log"
  if env "${envs[@]}" node_modules/.bin/napi build "${args[@]}" >"$logfile" 2>&1; then
    SECS[$t]=$(($(date +%s) - start))
    # keep what a release artifact holds: the addon, and for wasm its loaders
    if [ "$t" = x86_64-unknown-linux-gnu ]; then
      mkdir -p "$OUT/loader" && mv "$dest/index.js" "$dest/index.d.ts" "$OUT/loader/"
    fi
    find "$dest" -maxdepth 1 -type f \( -name index.d.ts -o -name browser.js -o -name '*.debug.wasm' \) -delete
    BUILT+=("$t")
  else
    SECS[$t]=$(($(date +%s) - start))
    FAILED+=("$t")
    tail -n 30 "$logfile" >&2
    log "FAILED $t after ${SECS[$t]} s (log: $logfile)"
  fi
done

# --- report ------------------------------------------------------------------------------------
echo
echo "target                          package                 binary                                          size      build"
for t in "${BUILT[@]}"; do
  f=$(find "$OUT/bindings-$t" -maxdepth 1 \( -name '*.node' -o -name '*.wasm' \) | head -n1)
  printf '%-31s %-23s %-47s %6s KiB %4s s\n' "$t" "${ABI[$t]}" "$(basename "$f")" "$(( $(stat -c %s "$f") / 1024 ))" "${SECS[$t]}"
done
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && printf '%-31s %-23s SKIPPED: %s\n' "$t" "${ABI[$t]}" "${SKIP[$t]}"
done
for t in "${FAILED[@]}"; do
  printf '%-31s %-23s FAILED: see %s\n' "$t" "${ABI[$t]}" "artifacts/build-$t.log"
done
echo
echo "The win32-*-msvc files that npm users get are built only by .github/workflows/release.yml (Windows"
echo "runners). The win32-x64-gnu and win32-arm64-gnullvm builds above are test stand-ins, never packed."
[ ${#FAILED[@]} -eq 0 ]
