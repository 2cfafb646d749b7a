#!/usr/bin/env bash
# Signs in at the app on $1 (default http://localhost:3000) through its built-in provider,
# as a browser without JavaScript would, and prints the Cookie header of the session.
# Used by scripts/bench.sh and scripts/profile.sh to load signed-in pages.
set -euo pipefail
APP="${1:-http://localhost:3000}"
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
authorize=$(curl -fsS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' -H 'Accept: text/html' \
  -H 'Sec-Fetch-Site: same-origin' --data 'intent=login' "$APP/auth/login")
page=$(curl -fsS -c "$jar" -b "$jar" "$authorize")
form=$(printf '%s' "$page" | grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
  | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/' | sed 's/&amp;/\&/g')
args=()
while IFS= read -r pair; do args+=(--data-urlencode "$pair"); done <<< "$form"
provider=$(printf '%s' "$authorize" | grep -oE '^https?://[^/]+')
callback=$(curl -fsS -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "${args[@]}" \
  --data-urlencode 'email=ada@example.com' "$provider/oauth/authorize")
curl -fsS -c "$jar" -b "$jar" -o /dev/null "$callback"
cookie=$(awk '$1 ~ /localhost$/ && $6 ~ /^__Host-sk_(access|id)$/ {printf "%s=%s; ", $6, $7}' "$jar")
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$APP/dashboard/profile")
[ "$status" = 200 ] || { echo "could not get a session (profile answered $status)" >&2; exit 1; }
printf '%s\n' "$cookie"
