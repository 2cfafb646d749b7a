#!/usr/bin/env bash
# Checks the production build (scripts/build-release.sh) as a deployment whose secrets
# failed to mount: started with APP_URL=https://app.example.com and no SCALEKIT_*, the
# release binary must stop at once with one line naming the missing variables, and no
# identity provider (nor app) may answer on its addresses.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-target/release/scalekit-leptos-starter}"
app_port=3390
idp_port=3391
err=$(mktemp)
trap 'rm -f "$err"' EXIT

set +e
APP_URL=https://app.example.com LEPTOS_SITE_ADDR="127.0.0.1:$app_port" \
  DEV_IDP_ADDR="127.0.0.1:$idp_port" SCALEKIT_ENVIRONMENT_URL= SCALEKIT_CLIENT_ID= \
  SCALEKIT_CLIENT_SECRET= SESSION_SECRET= RUST_LOG=warn \
  timeout 20 "$binary" > /dev/null 2> "$err"
status=$?
set -e

fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$err"; exit 1; }
[ "$status" -ne 0 ] || fail "the production binary started without a provider"
[ "$status" -ne 124 ] || fail "the production binary kept running (it served something)"
for var in SCALEKIT_ENVIRONMENT_URL SCALEKIT_CLIENT_ID SCALEKIT_CLIENT_SECRET SESSION_SECRET; do
  grep -q "$var" "$err" || fail "the error does not name $var"
done
[ "$(grep -c . "$err")" = 1 ] || fail "the error is not one line"
grep -q "this build has no built-in one" "$err" || fail "the binary contains the built-in provider"
for port in $app_port $idp_port; do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    fail "something answers on 127.0.0.1:$port"
  fi
done
echo "ok: the production binary refuses to start without a provider: $(cat "$err")"

# A deployment is the binary (with the hash.txt cargo-leptos writes beside it), the site
# folder and environment variables: no Cargo.toml, no Leptos.toml. Run it from an empty
# folder holding only those, configured for a provider that is not even reachable (the
# server must start anyway), and fetch the home page and its stylesheet.
deploy=$(mktemp -d)
trap 'rm -f "$err"; rm -rf "$deploy"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true' EXIT
cp "$binary" "$deploy/"
cp "$(dirname "$binary")/hash.txt" "$deploy/" 2>/dev/null || true
cp -r target/site "$deploy/site"
(cd "$deploy" && APP_URL="http://localhost:$app_port" LEPTOS_SITE_ADDR="127.0.0.1:$app_port" \
  LEPTOS_SITE_ROOT=site SCALEKIT_ENVIRONMENT_URL=http://127.0.0.1:9 SCALEKIT_CLIENT_ID=skc_deploy \
  SCALEKIT_CLIENT_SECRET=deploy-check SESSION_SECRET=a-deployment-check-secret-of-32-bytes \
  RUST_LOG=warn exec "./$(basename "$binary")" > "$err" 2>&1) &
server=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$app_port/healthz" 2>/dev/null && break
  sleep 0.1
done
home=$(curl -fsS "http://127.0.0.1:$app_port/") || fail "the deployed binary does not serve the home page"
css=$(printf '%s' "$home" | grep -o '/pkg/[^"]*\.css' | head -1)
[ -n "$css" ] || fail "the home page links no stylesheet"
curl -fsS -o /dev/null "http://127.0.0.1:$app_port$css" || fail "the stylesheet $css is not served"
wasm=$(printf '%s' "$home" | grep -o '/pkg/[^"]*\.wasm' | head -1)
[ -z "$wasm" ] || curl -fsS -o /dev/null "http://127.0.0.1:$app_port$wasm" || fail "$wasm is not served"
floor=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$app_port/__bench/floor")
[ "$floor" = 404 ] || fail "the benchmark-only page /__bench/floor answers $floor"
echo "ok: binary + hash.txt + site/ + environment serve the app ($css); no benchmark page"
