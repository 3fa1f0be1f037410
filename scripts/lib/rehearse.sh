# The steps of scripts/release-rehearse.sh (sourced by it; uses its ROOT, TMP, TOOLS, SMOKE, SET,
# OUT, STUB_ARG, BUILT, DEPS, the tool paths and the registry it starts).

PASSED=0 FAILS=() SKIPS=() PHASES=()
declare -A SECS
log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'release:rehearse: %s\n' "$*" >&2; exit 1; }
ok() { printf '\033[32mok\033[0m   %s\n' "$*" >&2; PASSED=$((PASSED + 1)); }
fail() { printf '\033[31mFAIL\033[0m %s\n' "$*" >&2; FAILS+=("$*"); }
skipped() { printf 'SKIP %s\n' "$*" >&2; SKIPS+=("$*"); }
PHASE= PHASE_T=
phase() {
  [ -n "$PHASE" ] && SECS[$PHASE]=$(($(date +%s) - PHASE_T))
  PHASE=$1 PHASE_T=$(date +%s); PHASES+=("$1"); log "$1"
}
T0=$(date +%s)

# A package manager as a user runs it: a fresh HOME, only this machine's Node and the fetched tools
# on PATH, no Rust, and every proxy variable pointing at a closed port except for 127.0.0.1.
pm_run() {
  local dead=http://127.0.0.1:9
  env -i HOME="$TMP/home" PATH="$TMP/bin:$(dirname "$(command -v node)"):/usr/bin:/bin" TMPDIR=/tmp \
    HTTP_PROXY=$dead HTTPS_PROXY=$dead http_proxy=$dead https_proxy=$dead NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
    npm_config_registry="$REGISTRY" npm_config_update_notifier=false BUN_CONFIG_REGISTRY="$REGISTRY" DO_NOT_TRACK=1 \
    SMOKE_SERVER="$TMP/server/server.json" "$@"
}
# Yarn reads no proxy variables: its own setting sends every https request to the closed port
YARN_GUARD='httpsProxy: "http://127.0.0.1:9"'

in_app() { local app=$1; shift; (cd "$app" && pm_run "$@"); }

start_registry() {
  local port dir="$TMP/verdaccio"
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
  REGISTRY="http://127.0.0.1:$port/"
  mkdir -p "$dir/storage" "$TMP/home" "$TMP/bin"
  cat >"$dir/config.yaml" <<EOF
storage: $dir/storage
auth: { htpasswd: { file: $dir/htpasswd, max_users: 1 } }
uplinks: { npmjs: { url: https://registry.npmjs.org/, timeout: 60s } }
packages:
  # ours come only from what the rehearsal published: no uplink, so nothing of the public registry
  'mysql-openid-connect': { access: \$all, publish: \$authenticated }
  'mysql-openid-connect-*': { access: \$all, publish: \$authenticated }
  '**': { access: \$all, publish: \$authenticated, proxy: npmjs }
listen: 127.0.0.1:$port
log: { type: file, path: $dir/verdaccio.log, level: warn }
EOF
  # Verdaccio's uplink trusts what npm trusts (a machine whose TLS is inspected names its CA in npm's cafile)
  local cafile; cafile=$(npm config get cafile 2>/dev/null || true)
  [ -f "$cafile" ] || cafile=${NODE_EXTRA_CA_CERTS:-}
  NODE_EXTRA_CA_CERTS=$cafile "$NODE22" "$VERDACCIO_DIR/node_modules/verdaccio/bin/verdaccio" --config "$dir/config.yaml" >"$dir/stdout.log" 2>&1 &
  VERDACCIO_PID=$!
  for _ in $(seq 1 100); do
    node -e 'fetch(process.argv[1] + "-/ping").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$REGISTRY" && break
    kill -0 "$VERDACCIO_PID" 2>/dev/null || { cat "$dir/stdout.log" >&2; die "Verdaccio exited"; }
    sleep 0.2
  done
  # a publishing account, as npm adduser makes one; its token goes only to the publish step
  local token
  token=$(node -e '
    fetch(process.argv[1] + "-/user/org.couchdb.user:rehearsal", { method: "PUT", headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "rehearsal", password: "rehearsal-" + process.pid }) })
      .then((r) => r.json()).then((j) => { if (!j.token) throw new Error(JSON.stringify(j)); console.log(j.token) })' "$REGISTRY") ||
    die "could not create the publishing user on Verdaccio"
  printf 'registry=%s\n//127.0.0.1:%s/:_authToken=%s\n' "$REGISTRY" "$port" "$token" >"$TMP/publish.npmrc"
  printf 'registry=%s\nfund=false\naudit=false\nupdate-notifier=false\n' "$REGISTRY" >"$TMP/home/.npmrc"
  ln -sf "$PNPM" "$TMP/bin/pnpm"
  ln -sf "$BUN" "$TMP/bin/bun"
  printf '#!/bin/sh\nexec node %q "$@"\n' "$YARN_JS" >"$TMP/bin/yarn"; chmod +x "$TMP/bin/yarn"
  ok "Verdaccio $VERDACCIO_VERSION (Node $("$NODE22" -v)) on $REGISTRY, storage in $dir/storage"
}

new_app() { # dir: an empty project with the smoke tests
  mkdir -p "$1"
  echo '{ "name": "rehearsal-app", "version": "1.0.0", "private": true }' >"$1/package.json"
  printf 'registry=%s\n' "$REGISTRY" >"$1/.npmrc"
  cp "$SMOKE"/smoke.cjs "$SMOKE"/smoke.mjs "$SMOKE"/smoke-common.cjs "$SMOKE"/login.cjs "$SMOKE"/smoke.ts "$SMOKE"/tsconfig.json "$1/"
}
platforms_in() { # app dir -> the mysql-openid-connect-* packages npm put in node_modules
  (cd "$1/node_modules" 2>/dev/null && ls -d mysql-openid-connect-* 2>/dev/null | paste -sd' ' -) || true
}
load_error() { # app dir -> "code message" of what require throws, or LOADED
  in_app "$1" node -e 'try { require("mysql-openid-connect"); console.log("LOADED") } catch (e) { console.log(e.code + " " + e.message) }' 2>&1
}

# --- publishing -------------------------------------------------------------------------------
# `npm version` in a scratch copy of the work tree (a git repo, as the version script needs): every
# npm/<platform>/package.json moves with it, and release.mjs pack there pins every platform to it.
# Its tarballs ($TMP/bumped) are the release set the rehearsal publishes.
check_bump() {
  local copy="$TMP/bump" out="$TMP/bumped" want
  mkdir -p "$copy"
  (cd "$ROOT" && git ls-files -co --exclude-standard -z -- . ':!:artifacts' | xargs -0 cp --parents -t "$copy")
  ln -s "$ROOT/node_modules" "$copy/node_modules"
  (cd "$copy" && git init -q && git add -A && git -c user.name=rehearsal -c user.email=rehearsal@localhost commit -qm base) >/dev/null
  if ! (cd "$copy" && npm version patch --no-git-tag-version >"$TMP/bump.log" 2>&1); then
    fail "npm version patch: $(cat "$TMP/bump.log")"; return
  fi
  want=$(node -p 'require(process.argv[1]).version' "$copy/package.json")
  local stale; stale=$(cd "$copy" && for f in npm/*/package.json; do [ "$(node -p "require('./$f').version")" = "$want" ] || echo "$f"; done)
  local staged; staged=$(cd "$copy" && git diff --cached --name-only -- npm | wc -l)
  [ -z "$stale" ] && [ "$staged" = "$(ls -d "$copy"/npm/*/ | wc -l)" ] &&
    ok "npm version patch: package.json and all $staged npm/*/package.json at $want, staged for the version commit" ||
    fail "npm version patch to $want left behind: ${stale:-none}; staged $staged files"
  # a plain npm publish of the tree would ship the main package without binaries: refused
  if (cd "$copy" && npm publish --dry-run --registry "http://127.0.0.1:9/" >"$TMP/plain-publish.log" 2>&1); then
    fail "a plain npm publish --dry-run of the work tree went through"
  else
    grep -q 'releases go through scripts/release.mjs' "$TMP/plain-publish.log" &&
      ok "a plain npm publish of the work tree is refused by prepublishOnly, pointing to scripts/release.mjs" ||
      fail "plain npm publish: $(tail -n 5 "$TMP/plain-publish.log")"
  fi
  if (cd "$copy" && node scripts/release.mjs pack --artifacts "$OUT" --out "$out" ${STUB_ARG:+--stub "$STUB_ARG"} >/dev/null 2>"$TMP/bump-pack.log"); then
    local bad; bad=$(for f in "$out"/*.tgz; do tar -xzOf "$f" package/package.json; echo; done | node -e '
      const want = process.argv[1], bad = []
      for (const p of require("fs").readFileSync(0, "utf8").split(/\n(?=\{)/).filter((s) => s.trim()).map(JSON.parse)) {
        if (p.version !== want) bad.push(`${p.name}@${p.version}`)
        for (const [n, v] of Object.entries(p.optionalDependencies ?? {})) if (v !== want) bad.push(`pin ${n}@${v}`)
      }
      console.log(bad.join(", "))' "$want")
    [ -z "$bad" ] && ok "after npm version: release.mjs pack makes $(ls "$out" | wc -l) tarballs, every one $want, pinning every platform package to $want" ||
      fail "after npm version to $want: $bad"
  else
    fail "release.mjs pack after npm version: $(cat "$TMP/bump-pack.log")"
  fi
}

# a set with one platform package missing is refused before anything is packed or published
check_pack_refuses_missing() {
  local partial="$TMP/artifacts-partial" out="$TMP/refused-pack" gone=x86_64-unknown-linux-gnu
  mkdir -p "$partial" "$out"
  for d in "$OUT"/bindings-*; do [ "$(basename "$d")" = "bindings-$gone" ] || ln -s "$d" "$partial/"; done
  if node scripts/release.mjs pack --artifacts "$partial" --out "$out" ${STUB_ARG:+--stub "$STUB_ARG"} >/dev/null 2>"$TMP/refused-pack.log"; then
    fail "release.mjs pack without linux-x64-gnu's binary packed anyway"
  elif grep -q 'mysql-openid-connect-linux-x64-gnu is incomplete' "$TMP/refused-pack.log" && [ -z "$(ls "$out")" ]; then
    ok "release.mjs pack refuses a release without linux-x64-gnu's binary, packing nothing: $(grep -m1 incomplete "$TMP/refused-pack.log" | sed 's/^ *//')"
  else
    fail "release.mjs pack without linux-x64-gnu: $(cat "$TMP/refused-pack.log"); wrote $(ls "$out")"
  fi
}

check_publish_refuses_missing() {
  local partial="$TMP/refused-publish" gone
  mkdir -p "$partial"; cp "$SET"/*.tgz "$partial/"
  gone=$(ls "$partial" | grep -m1 'linux-arm64-gnu')
  rm "$partial/$gone"
  if npm_config_userconfig="$TMP/publish.npmrc" node scripts/release.mjs publish --tarballs "$partial" --registry "$REGISTRY" >"$TMP/refused-publish.log" 2>&1; then
    fail "release.mjs publish without $gone published anyway"; return
  fi
  local any; any=$(registry_view $(for f in "$SET"/*.tgz; do tar -xzOf "$f" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0)).name'; done) |
    node -e 'for (const [n, p] of Object.entries(JSON.parse(require("fs").readFileSync(0)))) if (p) console.log(n)' | paste -sd' ' -)
  if [ -z "$any" ] && grep -q 'no tarball for mysql-openid-connect-linux-arm64-gnu' "$TMP/refused-publish.log"; then
    ok "release.mjs publish refuses a set without $gone and publishes nothing (the registry has none of the packages)"
  else
    fail "release.mjs publish without $gone: the registry has ${any:-nothing}; $(cat "$TMP/refused-publish.log")"
  fi
}

registry_view() { # names... -> JSON { name: packument or null } from the rehearsal registry
  node -e '
    const [registry, ...names] = process.argv.slice(1)
    Promise.all(names.map((n) => fetch(registry + n).then((r) => (r.ok ? r.json() : null))))
      .then((docs) => console.log(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, docs[i]])))))' "$REGISTRY" "$@"
}

# the stubs of targets not built here can reach the rehearsal registry only, never a real one
check_stubs_stay_local() {
  [ -n "$STUB_ARG" ] && [ -z "$GIVEN_TARBALLS" ] || return 0
  if pm_run node scripts/release.mjs publish --tarballs "$SET" --registry https://registry.npmjs.org/ --dry-run >"$TMP/stub-publish.log" 2>&1; then
    fail "release.mjs publish --dry-run to registry.npmjs.org accepted a set with stubs"
  elif grep -q 'is a rehearsal stub without its binary: never published to https://registry.npmjs.org/' "$TMP/stub-publish.log"; then
    ok "release.mjs publish refuses the rehearsal's stubs ($STUB_ARG) for registry.npmjs.org, before any request"
  else
    fail "release.mjs publish of stubs to registry.npmjs.org: $(cat "$TMP/stub-publish.log")"
  fi
}

check_pins() { # version: the registry's main package pins every platform package, each published
  local version=$1 problems abis
  abis=$(for l in "${TARGETS[@]}"; do echo "mysql-openid-connect-${l#* }"; done)
  problems=$(registry_view mysql-openid-connect $abis | node -e '
    const docs = JSON.parse(require("fs").readFileSync(0)), version = process.argv[1], names = process.argv.slice(2)
    const pins = docs["mysql-openid-connect"]?.versions?.[version]?.optionalDependencies ?? {}
    const bad = []
    for (const name of names) {
      if (pins[name] !== version) bad.push(`pin ${name}@${pins[name]}`)
      else if (!docs[name]?.versions?.[version]) bad.push(`${name}@${version} not on the registry`)
    }
    if (Object.keys(pins).length !== names.length) bad.push(`${Object.keys(pins).length} pins for ${names.length} targets`)
    console.log(bad.join(", "))' "$version" $abis 2>&1)
  [ -z "$problems" ] && ok "the registry's mysql-openid-connect@$version pins all ${#TARGETS[@]} platform packages at $version, each published" ||
    fail "registry pins: $problems"
}

# the guard itself: with the rehearsal's settings, a package manager cannot reach a real registry
check_offline_guard() {
  local app="$TMP/app-guard" out
  new_app "$app"
  out=$(in_app "$app" npm view is-number version --registry https://registry.npmjs.org/ --fetch-retries=0 2>&1) &&
    fail "npm reached registry.npmjs.org through the rehearsal's guard: $out" || ok "guard: npm cannot reach registry.npmjs.org (dead proxy)"
  out=$(in_app "$app" bun add is-number --registry https://registry.npmjs.org/ 2>&1) &&
    fail "bun reached registry.npmjs.org through the rehearsal's guard" || ok "guard: bun cannot reach registry.npmjs.org ($(grep -o -m1 'ConnectionRefused' <<<"$out"))"
  printf 'npmRegistryServer: "https://registry.npmjs.org"\n%s\n' "$YARN_GUARD" >"$app/.yarnrc.yml"; touch "$app/yarn.lock"
  out=$(in_app "$app" yarn add is-number 2>&1) &&
    fail "yarn reached registry.npmjs.org through the rehearsal's guard" || ok "guard: yarn cannot reach registry.npmjs.org ($(grep -o -m1 'ECONNREFUSED 127.0.0.1:9' <<<"$out"))"
  rm -rf "$app"
}
