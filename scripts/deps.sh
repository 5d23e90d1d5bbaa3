#!/usr/bin/env bash
# Installs what the project needs from Debian 12's packages. Safe to run again:
# it only calls apt when something is missing.
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libzmq3-dev libczmq-dev libmsgpack-dev libhiredis-dev
      libmicrohttpd-dev libcjson-dev libcurl4-openssl-dev libsodium-dev
      libinih-dev                                        # sla-timer's policy file (INI)
      redis-server redis-tools curl
      python3 python3-zmq python3-msgpack python3-yaml   # the tests, and all the Python partner SDK (sdk/python) needs
      valgrind procps
      tzdata                     # /usr/share/zoneinfo: the SLA calendars' time zones (common/asp_calendar.c)
      docker.io docker-compose debootstrap
      clang libclang-rt-14-dev    # fuzz/: libFuzzer is in clang's runtime package
      chromium fonts-wqy-microhei)  # tests/dashboard_test.py: a real headless browser, and CJK glyphs for zh-CN
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The OpenAPI linter (scripts/openapi.sh, tests/openapi_test.py) runs on
# node: Debian's nodejs and npm, unless the machine has a node and npm of
# its own already (e.g. a newer nodejs package, which Debian's npm would
# conflict with).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts a system redis-server on install; the project runs its own
# instances on their own ports and never uses that one.
# docker.io, docker-compose and debootstrap are for the compose deployment
# and its test: scripts/docker-engine.sh starts dockerd when none runs,
# deploy/base-image.sh makes the base images without a registry.
# The pinned linter itself, from the npm registry into .cache/openapi (a
# no-op when the lock file has not changed). Not fatal here: the test that
# needs it says what went wrong.
bash "$(dirname "${BASH_SOURCE[0]}")/openapi.sh" --install \
    || echo "deps: WARNING: could not install the OpenAPI linter (scripts/openapi.sh --install)" >&2
# promtool (tests/metrics_test.py) from Debian's prometheus package into
# .cache/promtool, without installing the server (scripts/promtool.sh).
bash "$(dirname "${BASH_SOURCE[0]}")/promtool.sh" --install \
    || echo "deps: WARNING: could not fetch promtool (scripts/promtool.sh --install)" >&2
# The dashboard's pinned tools (playwright-core drives Debian's chromium in
# tests/dashboard_test.py) into .cache/dashboard, the same way.
bash "$(dirname "${BASH_SOURCE[0]}")/dashboard.sh" --install \
    || echo "deps: WARNING: could not install the dashboard's tools (scripts/dashboard.sh --install)" >&2
