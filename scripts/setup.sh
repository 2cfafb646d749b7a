#!/usr/bin/env bash
# Installs what building the app needs, skipping whatever is already there:
# the wasm32 target, cargo-leptos, and the wasm-bindgen CLI at exactly the version of
# the wasm-bindgen crate in Cargo.lock. With --test it also installs what the browser
# tests need: Debian's Chromium, Debian's redis-server and the end2end npm packages. With --release it installs
# binaryen's wasm-opt from the npm registry (tools/), which release builds need; with
# --bench also Debian's wrk, and Chromium with the end2end packages for the login benchmark.
# See shared TOOLCHAIN notes: newer cargo-leptos releases do not build on rustc 1.95,
# and cargo-leptos downloads missing tools from GitHub, which fails without internet.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION="0.3.7"
say() { printf '==> %s\n' "$*"; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v cargo-leptos >/dev/null 2>&1; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

wasm_bindgen_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
  echo "error: cannot find the wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
installed=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$installed" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (Cargo.lock's version; about 3 minutes, once)"
  # Not --locked: its lockfile pins a webpki-roots release our registry does not serve.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi

if [ "${1:-}" = "--release" ] || [ "${1:-}" = "--bench" ]; then
  if [ ! -x tools/node_modules/.bin/wasm-opt ]; then
    say "installing binaryen's wasm-opt from npm (tools/)"
    (cd tools && npm ci --no-audit --no-fund)
  fi
fi

if [ "${1:-}" = "--bench" ] && ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (Debian) for the load benchmarks"
  apt_install wrk
fi

# The benchmark's login round trip runs in Chromium too (end2end/bench).
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's Chromium for the browser tests"
    apt_install chromium
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing Debian's redis-server for the shared-store tests (each test starts its own)"
    apt_install redis-server
  fi
  if [ ! -x end2end/node_modules/.bin/playwright ] || [ ! -d end2end/node_modules/oidc-provider ]; then
    say "installing the end2end npm packages (no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
fi
