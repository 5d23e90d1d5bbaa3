#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: when `docker info`
# fails and dockerd is installed (scripts/deps.sh installs Debian's docker.io),
# starts dockerd in the background, in its own session so that it outlives
# the caller, logging to $ASP_DOCKERD_LOG (default var/dockerd.log), and
# waits until it answers (at most ASP_DOCKERD_WAIT_S, 60 s).
#
# Exit status: 0 the engine answers; 77 there is none and none could be
# started (the reason is on stderr): tests treat 77 as "skipped".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG=${ASP_DOCKERD_LOG:-$ROOT/var/dockerd.log}
WAIT_S=${ASP_DOCKERD_WAIT_S:-60}

say () { printf 'docker-engine: %s\n' "$*" >&2; }
none () { say "$*"; exit 77; }
answers () { docker info >/dev/null 2>&1; }

command -v docker >/dev/null || none "no docker client (scripts/deps.sh installs docker.io)"
answers && exit 0
command -v dockerd >/dev/null || none "no dockerd (scripts/deps.sh installs docker.io)"
[ "$(id -u)" -eq 0 ] || none "the engine does not answer and only root can start dockerd"

# A dockerd that is still starting gets its chance before a second one.
if pgrep -x dockerd >/dev/null; then
    alive () { pgrep -x dockerd >/dev/null; }
else
    mkdir -p "$(dirname "$LOG")"
    say "starting dockerd (log: $LOG)"
    printf -- '--- %s dockerd start\n' "$(date '+%F %T')" >>"$LOG"
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
    pid=$!
    alive () { kill -0 "$pid" 2>/dev/null; }
fi
for _ in $(seq $((WAIT_S * 2))); do
    answers && { say "engine ready"; exit 0; }
    alive || break
    sleep 0.5
done
tail -n 15 "$LOG" >&2 2>/dev/null
none "dockerd did not come up (log: $LOG)"
