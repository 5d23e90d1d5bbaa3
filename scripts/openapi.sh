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
# file changes, so CI's build trees and a developer's runs reuse one install.
# Concurrent callers wait for one another (flock).
#
# Exit status 77 (what ctest reports as "skipped") when npm is not there and
# so nothing could be installed: scripts/deps.sh installs Debian's nodejs
# and npm when no npm is on PATH.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIN="$ROOT/tools/openapi"
CACHE=${ASP_OPENAPI_CACHE:-$ROOT/.cache/openapi}
SKIP=77

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "openapi.sh: SKIPPED: no node/npm on PATH, so the pinned OpenAPI linter" \
         "cannot be installed; run scripts/deps.sh (it installs Debian's nodejs and npm)" >&2
    exit $SKIP
fi

mkdir -p "$CACHE"
install_tools () {
    # The stamp is the lock file itself: a changed pin reinstalls.
    if [ -x "$CACHE/node_modules/.bin/redocly" ] \
    && cmp -s "$PIN/package-lock.json" "$CACHE/installed.lock.json"; then
        return 0
    fi
    echo "openapi.sh: installing the pinned @redocly/cli into $CACHE" >&2
    cp "$PIN/package.json" "$PIN/package-lock.json" "$CACHE/"
    rm -f "$CACHE/installed.lock.json"
    # npm ci installs exactly the lock file's versions (and fails when
    # package.json and the lock disagree).
    if ! (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error >&2); then
        echo "openapi.sh: npm ci failed (is the npm registry reachable?)" >&2
        exit 1
    fi
    cp "$PIN/package-lock.json" "$CACHE/installed.lock.json"
}
(
    flock 9
    install_tools
) 9>"$CACHE/.lock"

[ "${1:-}" = "--install" ] && exit 0
cd "$ROOT/docs/openapi"
if [ "${1:-}" = "lint" ] && [ $# -eq 1 ]; then
    set -- lint openapi.yaml --config "$ROOT/docs/openapi/redocly.yaml"
fi
exec "$CACHE/node_modules/.bin/redocly" "$@"
