#!/usr/bin/env bash
# The production build: optimised server and a size-optimised WASM bundle run through
# wasm-opt (binaryen from the npm registry, so nothing is downloaded from GitHub), with
# brotli and gzip copies of every asset.
# Output: target/release/scalekit-leptos-starter and target/site/.
# Run the server from the project root: target/release/scalekit-leptos-starter
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --release
PATH="$PWD/tools/node_modules/.bin:$PATH" cargo leptos build --release "$@"
# Brotli (quality 11) and gzip copies of the assets, served as they are.
node tools/precompress.mjs target/site/pkg
