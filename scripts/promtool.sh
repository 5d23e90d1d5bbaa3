#!/usr/bin/env bash
# promtool, from Debian 12's prometheus package, without installing the
# server: the .deb is fetched with "apt-get download" into .cache/promtool/
# and only usr/bin/promtool is extracted (.cache/promtool/promtool).
#   scripts/promtool.sh --install     fetch it unless it is there (fast then)
#   scripts/promtool.sh ARGS...       run it (installing first if needed)
# tests/metrics_test.py uses it to check /metrics, the Prometheus
# configuration and the alert rules (deploy/prometheus/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR="$ROOT/.cache/promtool"
BIN="$DIR/promtool"

install () {
    [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1 && return 0
    mkdir -p "$DIR"
    local tmp
    tmp=$(mktemp -d "$DIR/dl.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    # apt-get download writes into the current directory, as any user.
    (cd "$tmp" && apt-get download -q prometheus >/dev/null) \
        || (cd "$tmp" && apt-get update -q >/dev/null 2>&1 && apt-get download -q prometheus >/dev/null) \
        || { echo "promtool: cannot download Debian's prometheus package (apt-get download prometheus)" >&2; return 1; }
    local deb
    deb=$(ls "$tmp"/prometheus_*.deb | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/promtool
    mv "$tmp/usr/bin/promtool" "$BIN.new"
    chmod 755 "$BIN.new"
    mv "$BIN.new" "$BIN"
    "$BIN" --version >/dev/null
}

if [ "${1:-}" = "--install" ]; then
    install
    exit 0
fi
install
exec "$BIN" "$@"
