#!/usr/bin/env bash
# Starts the built server on loopback, sends it 10 000 malformed requests (bounded in
# count and time), prints the status counts and the server's memory, and stops it.
# Usage: scripts/hostile-load.sh [--count N] [--concurrency N] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo leptos build
cargo build -p hostile-load

target/debug/scalekit-leptos-starter > target/hostile-load-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null http://127.0.0.1:3000/ && break
  sleep 0.1
done
target/debug/hostile-load --url http://127.0.0.1:3000 --pid "$server" "$@"
