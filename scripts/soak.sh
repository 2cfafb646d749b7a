#!/usr/bin/env bash
# A soak: the release build (with the built-in provider, 20-second access tokens) under
# SOAK_MINUTES (default 30) of mixed traffic on loopback: signed-in people viewing pages
# and refreshing, logging out and in, hostile requests. Prints, every minute, the
# server's resident memory, latency percentiles, error counts, lost sessions, provider
# requests and how many entries each map holds, in the app and in the provider
# (crates/soak); the report is kept in target/soak-report.txt. Exits 1 on any 5xx or lost
# session, any map over its bound, or memory still growing in the second half. Not a
# test: figures go to PERFORMANCE.md.
#
# The settings are Leptos.toml's with three changes, so that every bound is reached
# within the warm-up rather than after hours: a 5-second clock leeway (tokens expire
# 25 s after they are issued, so sessions refresh), sessions that live at most 10 minutes
# (how long a back-channel logout is remembered), and 500 entries per in-process map
# (fewer than the ended sessions it remembers, so that bound is reached too).
# Usage: scripts/soak.sh [--people N] [--workers N]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${SOAK_MINUTES:-30}"
app_port=3500
idp_port=3501
scripts/build-release.sh --with-dev-idp
cargo build --release -p soak

settings=target/soak-settings.toml
sed -e 's/^clock_leeway_secs = .*/clock_leeway_secs = 5/' \
  -e 's/^session_max_lifetime_secs = .*/session_max_lifetime_secs = 600/' \
  -e 's/^memory_map_capacity = .*/memory_map_capacity = 500/' Leptos.toml > "$settings"
for key in 'clock_leeway_secs = 5' 'session_max_lifetime_secs = 600' 'memory_map_capacity = 500'; do
  grep -qx "$key" "$settings" || { echo "soak: could not set $key in $settings" >&2; exit 1; }
done

env -u SCALEKIT_ENVIRONMENT_URL -u SCALEKIT_CLIENT_ID -u SCALEKIT_CLIENT_SECRET \
  -u SESSION_SECRET -u SESSION_STORE_URL -u LEPTOS_WATCH \
  APP_URL="http://127.0.0.1:$app_port" LEPTOS_SITE_ADDR="127.0.0.1:$app_port" \
  DEV_IDP_ADDR="127.0.0.1:$idp_port" DEV_IDP_ACCESS_TOKEN_TTL_SECS=20 RUST_LOG=warn,memory=debug \
  APP_SETTINGS_FILE="$settings" \
  target/release/scalekit-leptos-starter > target/soak-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$app_port/healthz" 2>/dev/null && break
  sleep 0.1
done
echo "soak: $minutes minutes against pid $server (log: target/soak-server.log)"
target/release/soak --url "http://127.0.0.1:$app_port" --idp "http://127.0.0.1:$idp_port" \
  --pid "$server" --server-log target/soak-server.log --map-capacity 500 --minutes "$minutes" "$@" | tee target/soak-report.txt
