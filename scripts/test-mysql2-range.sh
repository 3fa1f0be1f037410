#!/usr/bin/env bash
# The specs that drive real mysql2 through a login (e2e, crash, hostile-server, hostile-tls,
# server-refusal) against the OLDEST and the NEWEST mysql2 of package.json's peerDependencies range,
# and a check that the release just below the range is refused with ERR_OIDC_UNSUPPORTED_MYSQL2.
# Each mysql2 is installed from the npm registry under $MOC_TOOLS_DIR/mysql2/<version> and swapped
# in for node_modules/mysql2 by a preload (scripts/mysql2-version/alias.cjs) that every process of
# the run, child processes included, inherits through NODE_OPTIONS.
#
#   npm ci && npm run build && npm run test:mysql2-range
#   MYSQL2_VERSIONS="3.20.0" npm run test:mysql2-range     # other versions (below-range check skipped)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${MOC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-openid-connect-build}"
SPECS=(__test__/e2e.spec.ts __test__/crash.spec.ts __test__/hostile-server.spec.ts __test__/hostile-tls.spec.ts __test__/server-refusal.spec.ts)
log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

RANGE=$(node -p 'require("./package.json").peerDependencies.mysql2')
OLDEST=$(node -p 'require("./package.json").peerDependencies.mysql2.match(/\d+\.\d+\.\d+/)[0]')
NEWEST=$(npm view "mysql2@$RANGE" version --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log([].concat(v).at(-1))})')
# the release before the oldest: mysql2 3.14.3 keeps connection.stream as the plain socket under TLS
BELOW=3.14.3
read -r -a VERSIONS <<<"${MYSQL2_VERSIONS:-$OLDEST $NEWEST}"
log "mysql2 range $RANGE: testing ${VERSIONS[*]}${MYSQL2_VERSIONS:+}; below the range: $BELOW"

install_mysql2() {
  local version=$1 dir="$TOOLS/mysql2/$1"
  if ! [ -f "$dir/.ok" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    echo '{ "private": true }' >"$dir/package.json"
    (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts "mysql2@$version" >/dev/null)
    touch "$dir/.ok"
  fi
  echo "$dir"
}

with_mysql2() {
  local dir=$1; shift
  MYSQL2_UNDER_TEST="$dir" NODE_OPTIONS="--require=$ROOT/scripts/mysql2-version/alias.cjs ${NODE_OPTIONS:-}" "$@"
}

# the swap must really happen, for require and for import alike
check_swapped() {
  local dir=$1 version=$2 seen
  seen=$(with_mysql2 "$dir" node -e 'console.log(require("mysql2/package.json").version, require.resolve("mysql2/promise"))')
  [[ $seen == "$version $dir/"* ]] || { echo "require resolved mysql2 to: $seen" >&2; return 1; }
  seen=$(with_mysql2 "$dir" node --input-type=module -e 'console.log(import.meta.resolve("mysql2/promise"))')
  [[ $seen == "file://$dir/"* ]] || { echo "import resolved mysql2 to: $seen" >&2; return 1; }
}

for version in "${VERSIONS[@]}"; do
  dir=$(install_mysql2 "$version")
  check_swapped "$dir" "$version"
  log "mysql2 $version: ${SPECS[*]}"
  with_mysql2 "$dir" npx ava "${SPECS[@]}"
done

if [ -z "${MYSQL2_VERSIONS:-}" ]; then
  dir=$(install_mysql2 "$BELOW")
  check_swapped "$dir" "$BELOW"
  log "mysql2 $BELOW (below the range): a TLS login is refused with ERR_OIDC_UNSUPPORTED_MYSQL2"
  with_mysql2 "$dir" node scripts/mysql2-version/below-range.cjs
fi
