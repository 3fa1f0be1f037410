#!/usr/bin/env bash
# Packs what this machine built (`npm run build`) into two tarballs that install and load together,
# without the npm registry having any binary of this version:
#   mysql-openid-connect-<version>.tgz                 the package, with optionalDependencies naming
#                                                      only this machine's platform package
#   mysql-openid-connect-<platform>-<version>.tgz      that platform package, with the binary
#
#   npm ci && npm run build && npm run pack:local              # into artifacts/local/
#   npm run pack:local -- --out DIR
#   then, in your project:  npm install /path/to/mysql-openid-connect-0.1.0.tgz /path/to/mysql-openid-connect-linux-x64-gnu-0.1.0.tgz
#
# A plain `npm pack` leaves the binaries out (they ship as platform packages): installing its tarball
# alone ends in ERR_OIDC_NO_BINARY, whose message points here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/artifacts/local"
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    *) echo "usage: npm run pack:local [-- --out DIR]" >&2; exit 2 ;;
  esac
done
die() { printf 'pack:local: %s\n' "$*" >&2; exit 1; }

# this machine's platform, named as napi names the binary and the package (linux-x64-gnu, darwin-arm64, ...)
PLATFORM=$(node -e '
  const { platform, arch } = process
  let abi = ""
  if (platform === "linux") abi = process.report.getReport().header.glibcVersionRuntime ? "-gnu" : "-musl"
  else if (platform === "win32") abi = "-msvc"
  console.log(`${platform}-${arch}${abi}`)')
NAME=$(node -p 'require("./package.json").name')
VERSION=$(node -p 'require("./package.json").version')
BINARY="$NAME.$PLATFORM.node"
[ -f "$ROOT/$BINARY" ] || die "no $BINARY in $ROOT: build it first with npm run build (needs Rust)"
[ -f "$ROOT/npm/$PLATFORM/package.json" ] || die "this package ships no $PLATFORM package (npm/$PLATFORM is missing)"
[ -f "$ROOT/index.js" ] || die "no index.js: run npm run build"
if [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" -newer "$ROOT/$BINARY" -type f 2>/dev/null | head -n1)" ]; then
  echo "pack:local: note: src/ or Cargo.toml changed after $BINARY was built; run npm run build to include the change" >&2
fi

STAGE=$(mktemp -d /tmp/moc-pack-local.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$OUT" "$STAGE/main" "$STAGE/platform"

# the main package: exactly what npm pack takes from the work tree, plus the wiring to the binary
npm pack --dry-run --json --ignore-scripts 2>/dev/null | node -e '
  const fs = require("fs"), path = require("path")
  const [root, dest] = process.argv.slice(1)
  for (const f of JSON.parse(fs.readFileSync(0, "utf8"))[0].files) {
    fs.mkdirSync(path.dirname(path.join(dest, f.path)), { recursive: true })
    fs.copyFileSync(path.join(root, f.path), path.join(dest, f.path))
  }' "$ROOT" "$STAGE/main"
node -e '
  const fs = require("fs")
  const [file, platform] = process.argv.slice(1)
  const p = JSON.parse(fs.readFileSync(file, "utf8"))
  // npm installs the platform package given beside this one; the registry is never asked for it
  p.optionalDependencies = { [`${p.name}-${platform}`]: p.version }
  // read by lib/binding.js, to give the right advice when the platform tarball was not installed
  p.localPack = { platforms: [platform] }
  fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n")
' "$STAGE/main/package.json" "$PLATFORM"

cp "$ROOT/npm/$PLATFORM/package.json" "$STAGE/platform/"
[ -f "$ROOT/npm/$PLATFORM/README.md" ] && cp "$ROOT/npm/$PLATFORM/README.md" "$STAGE/platform/"
cp "$ROOT/$BINARY" "$STAGE/platform/"

rm -f "$OUT/$NAME-$VERSION.tgz" "$OUT/$NAME-$PLATFORM-$VERSION.tgz"
MAIN_TGZ=$(cd "$STAGE/main" && npm pack --silent --ignore-scripts --pack-destination "$OUT" 2>/dev/null | tail -n1)
PLATFORM_TGZ=$(cd "$STAGE/platform" && npm pack --silent --ignore-scripts --pack-destination "$OUT" 2>/dev/null | tail -n1)
[ -f "$OUT/$MAIN_TGZ" ] && [ -f "$OUT/$PLATFORM_TGZ" ] || die "npm pack did not write the tarballs to $OUT"

echo "$OUT/$MAIN_TGZ"
echo "$OUT/$PLATFORM_TGZ"
echo "pack:local: install both together, e.g.  npm install $OUT/$MAIN_TGZ $OUT/$PLATFORM_TGZ" >&2
