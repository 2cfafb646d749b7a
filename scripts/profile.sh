#!/usr/bin/env bash
# Where the release server spends its CPU while serving one route under load: starts the
# release build (scripts/bench.sh's; SKIP_BUILD=1 reuses it), signs in, loads ROUTE
# (default /dashboard/profile) with wrk for DURATION seconds (default 15) while
# `perf record` samples the server, and prints the functions with the most samples (self
# time) and the shared objects. With FRAME_POINTERS=1 it builds the server with frame
# pointers (in target/fp, once) and also prints inclusive time, callers included, so the
# cost of each layer and of rendering shows. Needs Debian's linux-perf; samples the CPU
# clock, so it works where hardware counters are not available. The samples stay in
# target/profile.perf.data. Figures go to PERFORMANCE.md.
# Usage: scripts/profile.sh [ROUTE]
set -euo pipefail
cd "$(dirname "$0")/.."
route="${1:-/dashboard/profile}"
DURATION="${DURATION:-15}"
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
scripts/setup.sh --bench
[ "${SKIP_BUILD:-}" = 1 ] || scripts/build-release.sh --with-dev-idp --bin-features bench-floor
binary=target/release/scalekit-leptos-starter
record=()
if [ "${FRAME_POINTERS:-}" = 1 ]; then
  RUSTFLAGS="-C force-frame-pointers=yes" CARGO_TARGET_DIR=target/fp \
    cargo build --release --features ssr,dev-idp,bench-floor --bin scalekit-leptos-starter
  binary=target/fp/release/scalekit-leptos-starter
  record=(-g)
fi

APP=http://localhost:3000
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# Access tokens that outlive the whole run: an expired one would make every profile
# request a 303 to the refresh endpoint, which wrk counts as a success.
DEV_IDP_ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=warn "$binary" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 500); do
  curl -fsS -o /dev/null http://127.0.0.1:3000/healthz 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "the server exited" >&2; exit 1; }
  sleep 0.01
done
cookie=$(scripts/bench-session.sh "$APP")

data=target/profile.perf.data
perf record -e cpu-clock -F 1999 "${record[@]}" -p "$server" -o "$data" -- sleep "$DURATION" \
  > /dev/null 2>&1 &
perf=$!
wrk -t2 -c32 -d"${DURATION}s" -H "Cookie: $cookie" "$APP$route" | grep -E 'Requests/sec'
wait "$perf" || true
# No debuginfod (no internet here); fixed column widths (Rust's symbol names are long).
report() { DEBUGINFOD_URLS= perf report -i "$data" --stdio -w 8,8,150 "$@" 2>/dev/null < /dev/null \
  | grep -E '^ +[0-9]' | sed -E 's/ +- +- +$//; s/ +$//'; }
echo "== $route: functions by share of the server's samples (self)"
report --no-children --sort symbol --percent-limit 0.15 | head -"${TOP:-40}"
echo "== by shared object"
report --no-children --sort dso | head -6
if [ "${FRAME_POINTERS:-}" = 1 ]; then
  echo "== inclusive (callees counted), the app's, Leptos' and the server stack's functions"
  report --children --sort symbol -g none --percent-limit 1 \
    | grep -E 'scalekit|leptos|tachys|reactive_graph|axum|tower|hyper|tokio' | head -"${TOP:-40}"
fi
echo "(samples kept in $data: perf report -i $data)"
