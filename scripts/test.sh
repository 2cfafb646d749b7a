#!/usr/bin/env bash
# Command 2: runs every test. Installs what is missing, checks formatting and lints, runs the Rust
# unit and integration tests (real HTTP against the built-in identity provider), builds
# the app with cargo-leptos and runs the Playwright browser tests in Debian's Chromium,
# then builds for production (wasm-opt, precompressed assets, no built-in provider),
# checks that build refuses to start without a provider, and runs the journey (JavaScript
# on and off) against it through the external OpenID provider.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

# Incremental compilation state only pays off in an edit-compile loop (scripts/dev.sh);
# here it would add gigabytes per feature set. Override with CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy (server and browser builds, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings  # crates/, benches too
cargo clippy --features ssr -- -D warnings  # the server without the built-in provider
cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

echo "==> cargo doc (no broken links, no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --features ssr,dev-idp --no-deps

echo "==> cargo test (server build: unit and integration tests; crates/dev-idp's own)"
cargo test --workspace --features ssr,dev-idp

echo "==> the README's 'remove the built-in provider' recipe, followed in a copy of the project"
scripts/check-without-dev-idp.sh

echo "==> cargo leptos end-to-end: build, then the Playwright browser tests (end2end/e2e.sh)"
# cargo-leptos 0.3.7's end-to-end exits 0 when its build fails, without running the
# tests: build first (which does fail), and have e2e.sh mark that Playwright passed.
cargo leptos build
e2e_passed=$(mktemp)
trap 'rm -f "$e2e_passed"' EXIT
E2E_PASSED_MARKER="$e2e_passed" cargo leptos end-to-end
if [ "$(cat "$e2e_passed")" != "passed" ]; then
  echo "error: cargo leptos end-to-end did not run the browser tests to success" >&2
  exit 1
fi

echo "==> production build: no built-in provider; the journey against it through the external provider"
scripts/build-release.sh
scripts/check-production-binary.sh
(cd end2end && APP_BINARY=target/release/scalekit-leptos-starter \
  DEV_APP_BINARY=target/debug/scalekit-leptos-starter npx playwright test external-provider)

echo "==> all tests passed; target/ uses $(du -sh target | cut -f1)"
