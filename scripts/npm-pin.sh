# Installs a pinned set of npm packages (a package.json and its
# package-lock.json in a folder of tools/) into a cache folder with
# `npm ci`, once per lock file. Sourced by scripts/openapi.sh and
# scripts/dashboard.sh:
#
#   . "$ROOT/scripts/npm-pin.sh"
#   npm_pin_need <who>                    exit 77 (skipped) when node/npm are missing
#   npm_pin_install <who> <pin> <cache> <file>
#       copies <pin>/package.json and package-lock.json into <cache> and runs
#       npm ci there unless <cache>/<file> exists and the lock is the one
#       installed. Concurrent callers wait for one another (flock).
#
# The stamp is the lock file itself (<cache>/installed.lock.json): a changed
# pin reinstalls, so CI's build trees and a developer's runs share one install.

NPM_PIN_SKIP=77

npm_pin_need () {
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        echo "$1: SKIPPED: no node/npm on PATH, so the pinned npm packages" \
             "cannot be installed; run scripts/deps.sh (it installs Debian's nodejs and npm)" >&2
        exit $NPM_PIN_SKIP
    fi
}

npm_pin_install () {
    local who=$1 pin=$2 cache=$3 file=$4
    mkdir -p "$cache"
    (
        flock 9
        if [ -e "$cache/$file" ] && cmp -s "$pin/package-lock.json" "$cache/installed.lock.json"; then
            exit 0
        fi
        echo "$who: installing the pinned packages of $pin into $cache" >&2
        cp "$pin/package.json" "$pin/package-lock.json" "$cache/"
        rm -f "$cache/installed.lock.json"
        # npm ci installs exactly the lock file's versions (and fails when
        # package.json and the lock disagree).
        if ! (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >&2); then
            echo "$who: npm ci failed (is the npm registry reachable?)" >&2
            exit 1
        fi
        cp "$pin/package-lock.json" "$cache/installed.lock.json"
    ) 9>"$cache/.lock"
}
