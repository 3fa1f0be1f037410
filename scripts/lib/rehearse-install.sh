# Installs from the rehearsal registry (sourced by scripts/release-rehearse.sh, after rehearse.sh).

declare -A RESULT PM_VERSION PM_SECS
# pm: npm, pnpm, yarn (node-modules linker), yarn-pnp (Plug'n'Play), bun
rehearse_pm() {
  local pm=$1 app="$TMP/app-$1" t0 run=(node) tsc=(node_modules/.bin/tsc) install res=()
  t0=$(date +%s)
  new_app "$app"
  case $pm in
    npm) install=(npm install --no-audit --no-fund --loglevel=error "${DEPS[@]}") ;;
    pnpm) install=(pnpm add "${DEPS[@]}") ;;
    yarn | yarn-pnp)
      # Yarn 4.18 holds back versions published less than a day ago (npmMinimalAgeGate): a
      # rehearsal installs minutes after publishing
      { printf 'npmRegistryServer: "%s"\nunsafeHttpWhitelist: ["127.0.0.1"]\nnpmMinimalAgeGate: 0\n' "$REGISTRY"
        printf 'enableGlobalCache: false\nenableTelemetry: false\n%s\n' "$YARN_GUARD"
        if [ "$pm" = yarn ]; then echo 'nodeLinker: node-modules'; else printf 'nodeLinker: pnp\npnpEnableEsmLoader: true\n'; fi
      } >"$app/.yarnrc.yml"
      touch "$app/yarn.lock"
      install=(yarn add "${DEPS[@]}")
      # Plug'n'Play has no node_modules: Yarn's own `yarn node` (its require and ESM hooks), `yarn tsc`
      [ "$pm" = yarn-pnp ] && run=(yarn node) tsc=(yarn tsc) ;;
    bun)
      printf '[install]\nregistry = "%s"\n' "$REGISTRY" >"$app/bunfig.toml"
      install=(bun add "${DEPS[@]}") run=(bun) ;;
  esac
  PM_VERSION[$pm]=$(in_app "$app" "${install[0]}" --version 2>/dev/null | tail -n1)
  if in_app "$app" "${install[@]}" >"$app/install.log" 2>&1; then
    ok "$pm ${PM_VERSION[$pm]}: installed mysql-openid-connect@$VERSION, mysql2, typescript from the registry ($(($(date +%s) - t0)) s)"; res+=(pass)
  else
    fail "$pm: install failed: $(tail -n 20 "$app/install.log")"; RESULT[$pm]="FAIL - - - -"; PM_SECS[$pm]=$(($(date +%s) - t0)); return
  fi
  # exactly this platform's package came along, wherever the manager put it
  local got
  case $pm in
    pnpm) got=$(ls "$app/node_modules/.pnpm" | grep '^mysql-openid-connect-' | sed 's/@.*//' | paste -sd' ' -) ;;
    yarn-pnp) got=$(ls "$app/.yarn/unplugged" | grep '^mysql-openid-connect-' | sed 's/-npm-.*//' | paste -sd' ' -) ;;
    *) got=$(platforms_in "$app") ;;
  esac
  [ "$got" = mysql-openid-connect-linux-x64-gnu ] && ok "$pm installed $got and no other platform package" ||
    fail "$pm installed platform packages '$got', want mysql-openid-connect-linux-x64-gnu only (os/cpu/libc fields?)"
  for f in smoke.cjs smoke.mjs login.cjs; do
    if out=$(in_app "$app" env SMOKE_EXPECT_BINDING=linux-x64-gnu timeout 120 "${run[@]}" "$f" 2>&1); then
      ok "$pm $f: $(grep '^smoke' <<<"$out" | tail -n1)"; res+=(pass)
    else
      fail "$pm $f: $out"; res+=(FAIL)
    fi
  done
  if out=$(in_app "$app" timeout 120 "${tsc[@]}" -p tsconfig.json 2>&1); then
    ok "$pm tsc: smoke.ts type-checks against the installed typings"; res+=(pass)
  else
    fail "$pm tsc: $out"; res+=(FAIL)
  fi
  RESULT[$pm]="${res[*]}"
  PM_SECS[$pm]=$(($(date +%s) - t0))
}

# npm's --os/--cpu/--libc pick the matching platform package and no other
check_cpu_libc() {
  local spec abi app
  for spec in "arm64 glibc linux-arm64-gnu" "x64 musl linux-x64-musl" "arm64 musl linux-arm64-musl"; do
    read -r cpu libc abi <<<"$spec"
    app="$TMP/app-$abi"; new_app "$app"
    if ! in_app "$app" npm install --no-audit --no-fund --loglevel=error --os=linux --cpu="$cpu" --libc="$libc" mysql-openid-connect >"$app/install.log" 2>&1; then
      fail "npm install --cpu=$cpu --libc=$libc: $(tail -n 20 "$app/install.log")"; continue
    fi
    local got; got=$(platforms_in "$app")
    [ "$got" = "mysql-openid-connect-$abi" ] && ok "npm install --cpu=$cpu --libc=$libc installs $got only" ||
      { fail "npm install --cpu=$cpu --libc=$libc installed '$got', want mysql-openid-connect-$abi"; continue; }
    if [ "$abi" = linux-arm64-gnu ]; then
      if [ -z "${BUILT[$abi]:-}" ]; then skipped "$abi: not built here, not loaded"; continue; fi
      for f in smoke.cjs smoke.mjs; do
        if out=$(in_app "$app" env SMOKE_EXPECT_BINDING="$abi" timeout 180 "${ARM64_NODE[@]}" "$f" 2>&1); then
          ok "$abi under qemu $f: $(grep '^smoke' <<<"$out")"
        else
          fail "$abi under qemu $f: $out"
        fi
      done
    fi
  done
}

# A lockfile written on a Mac (npm install --os=darwin --cpu=arm64 stands in for one), then `npm ci`
# on Linux x64 from it: npm/cli#4828 was a lockfile that listed only the Mac's platform package
check_mac_lockfile() {
  local mac="$TMP/app-mac" linux="$TMP/app-mac-lock-on-linux" listed
  new_app "$mac"
  if ! in_app "$mac" npm install --no-audit --no-fund --loglevel=error --os=darwin --cpu=arm64 mysql-openid-connect >"$mac/install.log" 2>&1; then
    fail "npm install --os=darwin --cpu=arm64: $(tail -n 20 "$mac/install.log")"; return
  fi
  listed=$(node -p 'Object.keys(require(process.argv[1]).packages).filter((k) => k.includes("mysql-openid-connect-")).map((k) => k.replace("node_modules/", "")).sort().join(" ")' "$mac/package-lock.json")
  [ "$(platforms_in "$mac")" = mysql-openid-connect-darwin-arm64 ] && ok "the Mac's install has mysql-openid-connect-darwin-arm64; its lockfile lists $listed" ||
    fail "the Mac's install has '$(platforms_in "$mac")'"
  new_app "$linux"; cp "$mac/package.json" "$mac/package-lock.json" "$linux/"
  if ! in_app "$linux" npm ci --no-audit --no-fund --loglevel=error >"$linux/install.log" 2>&1; then
    fail "npm ci on Linux from the Mac's lockfile: $(tail -n 20 "$linux/install.log")"; return
  fi
  if out=$(in_app "$linux" env SMOKE_EXPECT_BINDING=linux-x64-gnu timeout 120 node smoke.cjs 2>&1); then
    ok "npm ci on Linux x64 from the Mac's lockfile installs $(platforms_in "$linux") and loads: $(grep '^smoke' <<<"$out")"
  else
    fail "npm ci on Linux x64 from the Mac's lockfile: installed '$(platforms_in "$linux")': $out"
  fi
  # npm/cli#4828: npm 7-8 rewrote a lockfile from an existing node_modules, keeping only the Mac's
  # platform package (npm 11 keeps them all, as above); npm ci must refuse it, npm install repair it
  rm -rf "$linux"; new_app "$linux"; cp "$mac/package.json" "$linux/"
  node -e '
    const [from, to] = process.argv.slice(1), lock = require(from)
    for (const k of Object.keys(lock.packages)) if (/mysql-openid-connect-/.test(k) && !k.endsWith("-darwin-arm64")) delete lock.packages[k]
    require("fs").writeFileSync(to, JSON.stringify(lock, null, 2))' "$mac/package-lock.json" "$linux/package-lock.json"
  if out=$(in_app "$linux" npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    fail "npm ci from a lockfile listing only darwin-arm64 went through, installing '$(platforms_in "$linux")'"
  elif grep -q "Missing: mysql-openid-connect-linux-x64-gnu@$VERSION from lock file" <<<"$out"; then
    ok "npm ci from a lockfile listing only darwin-arm64 (npm/cli#4828) refuses: $(grep -m1 -o 'Missing: mysql-openid-connect-linux-x64-gnu.*' <<<"$out")"
    if in_app "$linux" npm install --no-audit --no-fund --loglevel=error >"$linux/install.log" 2>&1 && [ "$(load_error "$linux")" = LOADED ]; then
      ok "npm install then repairs that lockfile: $(platforms_in "$linux") installed and loaded"
    else
      fail "npm install after the refused npm ci: $(load_error "$linux")"
    fi
  else
    fail "npm ci from a lockfile listing only darwin-arm64: $out"
  fi
}

# no optional dependencies: the documented ERR_OIDC_NO_BINARY, naming the flag
check_no_optional() {
  local app="$TMP/app-omit" msg
  new_app "$app"
  if in_app "$app" npm install --no-audit --no-fund --loglevel=error --omit=optional mysql-openid-connect >"$app/install.log" 2>&1; then
    msg=$(load_error "$app")
    grep -q '^ERR_OIDC_NO_BINARY .*detected linux-x64-gnu.*install without --omit=optional' <<<"$msg" &&
      ok "npm --omit=optional: $msg" || fail "npm --omit=optional: want ERR_OIDC_NO_BINARY naming --omit=optional, got: $msg"
  else
    fail "npm install --omit=optional: $(tail -n 20 "$app/install.log")"
  fi
  app="$TMP/app-pnpm-no-optional"; new_app "$app"
  node -e 'const f = process.argv[1], p = require(f); p.dependencies = { "mysql-openid-connect": process.argv[2] }; require("fs").writeFileSync(f, JSON.stringify(p))' "$app/package.json" "$VERSION"
  if in_app "$app" pnpm install --no-optional >"$app/install.log" 2>&1; then
    msg=$(load_error "$app")
    grep -q '^ERR_OIDC_NO_BINARY .*detected linux-x64-gnu' <<<"$msg" && ok "pnpm --no-optional: $msg" ||
      fail "pnpm --no-optional: want ERR_OIDC_NO_BINARY, got: $msg"
  else
    fail "pnpm install --no-optional: $(tail -n 20 "$app/install.log")"
  fi
}

report() {
  [ -n "$PHASE" ] && SECS[$PHASE]=$(($(date +%s) - PHASE_T))
  echo
  printf '%-9s %-10s %-8s %-8s %-8s %-8s %-8s %5s\n' manager version install require import login tsc time
  for pm in npm pnpm yarn yarn-pnp bun; do
    [ -n "${RESULT[$pm]:-}" ] || continue
    read -r a b c d e <<<"${RESULT[$pm]}"
    printf '%-9s %-10s %-8s %-8s %-8s %-8s %-8s %4ss\n' "$pm" "${PM_VERSION[$pm]}" "$a" "$b" "$c" "$d" "$e" "${PM_SECS[$pm]}"
  done
  echo
  for p in "${PHASES[@]}"; do printf '%-60s %4s s\n' "$p" "${SECS[$p]}"; done
  printf '%-60s %4s s\n' total "$(($(date +%s) - T0))"
  for s in "${SKIPS[@]}"; do echo "SKIPPED $s"; done
  for f in "${FAILS[@]}"; do echo "  - ${f%%$'\n'*}"; done
  echo "release:rehearse: $PASSED passed, ${#FAILS[@]} failed"
  [ ${#FAILS[@]} -eq 0 ]
}

# what the README tells Yarn users about the first day: Yarn's default age gate holds the release back
check_yarn_age_gate() {
  local app="$TMP/app-yarn-first-day" out
  new_app "$app"; touch "$app/yarn.lock"
  printf 'npmRegistryServer: "%s"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableGlobalCache: false\nenableTelemetry: false\n%s\n' "$REGISTRY" "$YARN_GUARD" >"$app/.yarnrc.yml"
  if out=$(in_app "$app" yarn add mysql-openid-connect 2>&1); then
    fail "yarn add with Yarn's default npmMinimalAgeGate installed a version published minutes ago: the README's first-day note is wrong"
  elif grep -q 'quarantined' <<<"$out"; then
    ok "yarn add with Yarn's default npmMinimalAgeGate refuses the fresh release: $(grep -m1 -o 'The version for tag.*' <<<"$out")"
  else
    fail "yarn add with the default age gate failed otherwise: $(tail -n 5 <<<"$out")"
  fi
}

# what the README tells Plug'n'Play users: without pnpEnableEsmLoader, require works and import does not
check_pnp_without_esm_loader() {
  local app="$TMP/app-yarn-pnp" out
  [ -f "$app/.pnp.cjs" ] || return 0
  sed -i 's/^pnpEnableEsmLoader: true$/pnpEnableEsmLoader: false/' "$app/.yarnrc.yml"
  in_app "$app" yarn install >"$app/install-no-loader.log" 2>&1 || { fail "yarn install without the ESM loader: $(tail -n 5 "$app/install-no-loader.log")"; return; }
  if ! out=$(in_app "$app" env SMOKE_EXPECT_BINDING=linux-x64-gnu yarn node smoke.cjs 2>&1); then
    fail "Plug'n'Play without pnpEnableEsmLoader, require: $out"
  elif out=$(in_app "$app" env SMOKE_EXPECT_BINDING=linux-x64-gnu yarn node smoke.mjs 2>&1); then
    fail "Plug'n'Play without pnpEnableEsmLoader: import worked, the README's advice is stale"
  elif grep -q "ERR_MODULE_NOT_FOUND.*Cannot find package 'mysql-openid-connect'" <<<"$out"; then
    ok "Plug'n'Play without pnpEnableEsmLoader: require works, import fails (ERR_MODULE_NOT_FOUND), as the README says"
  else
    fail "Plug'n'Play without pnpEnableEsmLoader, import failed otherwise: $(head -n 5 <<<"$out")"
  fi
}
