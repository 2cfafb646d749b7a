#!/usr/bin/env bash
# Command 1: installs what is missing, then builds and serves the app at
# http://localhost:3000, rebuilding on every change. Without SCALEKIT_* settings the
# built-in identity provider runs at http://127.0.0.1:3100.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo leptos watch "$@"
