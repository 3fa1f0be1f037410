#!/usr/bin/env bash
# Fuzzes the response decoder, the token rules and the TLS session reader for a bounded time each (not in CI).
#   npm run fuzz                  60 s per target
#   FUZZ_SECONDS=600 npm run fuzz
# Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   # real sessions as this Node's getSession() returns them, fresh and resumed, TLS 1.2 and 1.3
  if [ "$target" = tls_session ] && [ -z "$(ls -A "corpus/$target")" ]; then
    node ../scripts/lib/tls-session-seeds.cjs "corpus/$target"
  fi
  cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-60}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: a nightly toolchain is needed: rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo +nightly fuzz --help >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is needed: cargo install cargo-fuzz" >&2
  exit 2
fi

for target in decode_auth_response token_rules tls_session; do
  echo "== fuzzing $target for $seconds s"
  mkdir -p "corpus/$target"
  # a few seeds so the token target starts from real JWT shapes
  if [ "$target" = token_rules ] && [ -z "$(ls -A "corpus/$target")" ]; then
    printf '%s' 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE5MDAwMDAwMDB9.c2lnbmF0dXJl' >"corpus/$target/jwt"
    printf '%s' '{"alg":"RS256"}{"exp":1,"nbf":2}' >"corpus/$target/json"
    printf '%s' '{"alg":"RS256","kid":"k"}{"exp":1,"iat":3,"a":[[{"b":null}]],"exp":2}' >"corpus/$target/nested"
  fi
  # real sessions as this Node's getSession() returns them, fresh and resumed, TLS 1.2 and 1.3
  if [ "$target" = tls_session ] && [ -z "$(ls -A "corpus/$target")" ]; then
    node ../scripts/lib/tls-session-seeds.cjs "corpus/$target"
  fi
  cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
done
echo "fuzz: no crash in ${seconds} s per target"
