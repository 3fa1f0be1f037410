# Sourced by scripts/*.sh: starts scripts/package-smoke/login-server.cjs (the embedded TLS, socket
# and plain-TCP servers that login.cjs logs in to) with this machine's Node, and waits until it
# listens. Its standard input is a FIFO held open by the calling script (fd 9): the servers stop
# when that script ends. Sets LOGIN_SERVER_PID; the servers' facts are in DIR/server.json.
#   start_login_server DIR
start_login_server() {
  local dir=$1
  mkdir -p "$dir"
  mkfifo "$dir/stdin"
  node "$(dirname "${BASH_SOURCE[0]}")/../package-smoke/login-server.cjs" "$dir" <"$dir/stdin" >"$dir/log" 2>&1 &
  LOGIN_SERVER_PID=$!
  exec 9>"$dir/stdin"
  for _ in $(seq 1 100); do [ -f "$dir/server.json" ] && return 0; sleep 0.1; done
  cat "$dir/log" >&2
  echo "start_login_server: the embedded server did not start" >&2
  return 1
}
