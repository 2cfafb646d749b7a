#!/usr/bin/env bash
# Figures for the shared session store (PERFORMANCE.md): profile-page throughput of the
# release build without and with SESSION_STORE_URL (with it, every authenticated request
# also asks Redis whether the provider ended the session), and the time 16 concurrent
# refreshes over two instances take (in-process instances, a real Redis, debug build).
# Runs on loopback only; each load is bounded in time (scripts/bench.sh, DURATION).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench
command -v redis-server >/dev/null || scripts/setup.sh --test
[ "${SKIP_BUILD:-}" = 1 ] || scripts/build-release.sh --with-dev-idp --bin-features bench-floor

port=6391
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" > /dev/null &
redis=$!
trap 'kill "$redis" 2>/dev/null || true; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping > /dev/null 2>&1; do sleep 0.05; done

# Throughput only: the login and token benchmarks do not touch the store.
export BENCH_SKIP_LOGIN=1 BENCH_SKIP_TOKENS=1
figures() { grep -E "bare route|/dashboard/profile|profile >="; }
echo "== without the store (one instance, in-process)"
SKIP_BUILD=1 scripts/bench.sh | figures
echo "== with the store (SESSION_STORE_URL, Redis on loopback)"
SESSION_STORE_URL="redis://127.0.0.1:$port/0" SKIP_BUILD=1 scripts/bench.sh | figures

echo "== 16 concurrent refreshes over two instances sharing the store"
cargo test --features ssr,dev-idp --test integration \
  measure_concurrent_refreshes_across_two_instances -- --ignored --nocapture 2>&1 | grep MEASURE
