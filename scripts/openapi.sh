#!/usr/bin/env bash
# The OpenAPI linter the project pins (@redocly/cli, tools/openapi/package.json
# and its package-lock.json), installed with `npm ci` into a cache folder
# and run on docs/openapi/.
#
#   scripts/openapi.sh --install      install (or check) the pinned tools only
#   scripts/openapi.sh lint           redocly lint docs/openapi/openapi.yaml
#   scripts/openapi.sh <redocly args> any redocly command, run in docs/openapi/
#
# The cache (ASP_OPENAPI_CACHE, default <source>/.cache/openapi) holds a copy
# of the two files and node_modules; it is reinstalled only when the lock
# file changes (scripts/npm-pin.sh, shared with scripts/dashboard.sh).
#
# Exit status 77 (what ctest reports as "skipped") when npm is not there and
# so nothing could be installed: scripts/deps.sh installs Debian's nodejs
# and npm when no npm is on PATH.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIN="$ROOT/tools/openapi"
CACHE=${ASP_OPENAPI_CACHE:-$ROOT/.cache/openapi}

. "$ROOT/scripts/npm-pin.sh"
npm_pin_need openapi.sh
npm_pin_install openapi.sh "$PIN" "$CACHE" node_modules/.bin/redocly

[ "${1:-}" = "--install" ] && exit 0
cd "$ROOT/docs/openapi"
if [ "${1:-}" = "lint" ] && [ $# -eq 1 ]; then
    set -- lint openapi.yaml --config "$ROOT/docs/openapi/redocly.yaml"
fi
exec "$CACHE/node_modules/.bin/redocly" "$@"
