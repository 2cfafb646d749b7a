#!/usr/bin/env bash
# The production build: optimised server and a size-optimised WASM bundle run through
# wasm-opt (binaryen from the npm registry, so nothing is downloaded from GitHub), with
# brotli and gzip copies of every asset.
# Output: target/release/scalekit-leptos-starter and target/site/.
# Run the server from the project root: target/release/scalekit-leptos-starter
#
# The server is built WITHOUT the built-in identity provider (cargo feature `dev-idp`):
# a production binary whose SCALEKIT_* settings are missing stops at start-up and names
# them, instead of letting anyone sign in as anyone. Only local benchmarks that need a
# provider in release mode opt in: scripts/build-release.sh --with-dev-idp (it still runs
# only for APP_URL http://localhost… or http://127.0.0.1… on loopback addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
bin_features=(--bin-features ssr)
if [ "${1:-}" = "--with-dev-idp" ]; then
  bin_features+=(--bin-features dev-idp)
  shift
fi
scripts/setup.sh --release
PATH="$PWD/tools/node_modules/.bin:$PATH" cargo leptos build --release "${bin_features[@]}" "$@"
# Brotli (quality 11) and gzip copies of the assets, served as they are.
node tools/precompress.mjs target/site/pkg
