#!/usr/bin/env bash
# Proves the README's recipe "Remove the built-in provider": in a copy of the project,
# deletes crates/dev-idp/, the lines marked `# built-in provider` in Cargo.toml and the
# `#[cfg(feature = "dev-idp")]` block in src/server/start.rs, then checks that the app
# builds without warnings and that its own tests pass. (The integration and browser
# tests drive every flow through the built-in provider; without the `dev-idp` feature
# cargo skips them.) Shares target/ with the project, so only the app recompiles.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT

# The project's files as they are now (tracked and new, not ignored).
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$copy" 2>/dev/null || true
cd "$copy"

rm -rf crates/dev-idp
grep -v '  # built-in provider$' Cargo.toml > Cargo.toml.new && mv Cargo.toml.new Cargo.toml
awk '
  /^    #\[cfg\(feature = "dev-idp"\)\]$/ { skipping = 1; next }
  skipping && /^    }$/ { skipping = 0; next }
  !skipping { print }
' src/server/start.rs > start.rs.new && mv start.rs.new src/server/start.rs

if grep -rn 'dev_idp::\|dep:dev-idp\|path = "crates/dev-idp"' Cargo.toml src; then
  echo "error: the built-in provider is still named above after following the recipe" >&2
  exit 1
fi
# Cargo.lock still lists the crate; cargo drops it by itself.
export CARGO_TARGET_DIR="$root/target"
# Lints check the binary too; only the library's tests run, so no binary is linked over
# the project's own target/debug/scalekit-leptos-starter.
cargo clippy --features ssr --all-targets -- -D warnings
cargo test --features ssr --lib
echo "the app builds and its own tests pass without the built-in provider"
