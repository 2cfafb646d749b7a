#!/usr/bin/env bash
# The browser suite, however it is started: `npx playwright test` from here, the README's
# test command, or `cargo leptos end-to-end` (Cargo.toml's `end2end-cmd` runs this file).
#
# Playwright starts every server the tests need itself (playwright.config.ts): the app with
# the built-in provider and the settings the tests rely on (8 s access tokens, a webhook
# secret), the external OpenID provider and the app instance configured for it. Under
# `cargo leptos end-to-end`, cargo-leptos has also started the app, on the same ports and
# with none of those settings; that copy is stopped here first, so both ways run exactly
# the same suite against the same servers.
set -euo pipefail
cd "$(dirname "$0")"

launcher=$PPID
if tr '\0' ' ' < "/proc/$launcher/cmdline" 2>/dev/null | grep -q "cargo-leptos"; then
  server=""
  # cargo-leptos starts its server and this command at the same time: wait for it.
  for _ in $(seq 1 200); do
    server=$(pgrep -P "$launcher" -f scalekit-leptos-starter || true)
    [ -n "$server" ] && break
    sleep 0.05
  done
  if [ -n "$server" ]; then
    echo "e2e.sh: stopping the server cargo-leptos started (pid $server); Playwright starts its own"
    kill -TERM $server
    for _ in $(seq 1 200); do
      kill -0 $server 2>/dev/null || break
      sleep 0.05
    done
  fi
fi
npx playwright test "$@"
# The test command checks this: cargo-leptos does not report a failed build.
if [ -n "${E2E_PASSED_MARKER:-}" ]; then
  echo passed > "$E2E_PASSED_MARKER"
fi
