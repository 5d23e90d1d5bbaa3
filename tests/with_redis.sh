#!/usr/bin/env bash
# Runs a command against a throwaway redis-server.
#
#   tests/with_redis.sh <command> [args...]
#
# Starts redis-server on a free TCP port (AOF on, everysec, password set) in a
# fresh temporary directory, exports ASP_REDIS_HOST/PORT/PASSWORD for the
# command, runs it, stops redis and removes the directory. Exits with the
# command's status, 77 (ctest: skipped) when there is no redis-server, or
# 125 when one is installed but could not be started.
set -uo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 125
fi
REDIS_SERVER=${REDIS_SERVER:-redis-server}
if ! command -v "$REDIS_SERVER" >/dev/null 2>&1; then
    echo "with_redis: redis-server not found (run scripts/deps.sh): skipped"
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/asp-redis.XXXXXX")
password="test-$$-$RANDOM"
redis_pid=""

cleanup () {
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill "$redis_pid" 2>/dev/null
        # Give it a moment to exit, then make sure.
        for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Asks the kernel for a free port. Another process may take it before redis
# binds it, so the start is retried with a new port.
free_port () {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# PING through a raw socket (no redis-cli needed): true once redis answers.
redis_ping () {
    /usr/bin/python3 - "$1" "$password" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
pw = sys.argv[2].encode()
s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pw), pw))
data = b""
while data.count(b"\r\n") < 2:
    chunk = s.recv(256)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data == b"+OK\r\n+PONG\r\n" else 1)
EOF
}

started=0
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --requirepass "$password" \
        --dir "$dir" --appendonly yes --appendfsync everysec --save '' \
        --daemonize no --logfile "$dir/redis.log" &
    redis_pid=$!
    for _ in $(seq 100); do
        if ! kill -0 "$redis_pid" 2>/dev/null; then break; fi
        if redis_ping "$port"; then started=1; break; fi
        sleep 0.05
    done
    [ $started -eq 1 ] && break
    kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; redis_pid=""
    echo "with_redis: redis did not start on port $port (attempt $attempt)" >&2
done
if [ $started -ne 1 ]; then
    [ -f "$dir/redis.log" ] && tail -n 20 "$dir/redis.log" >&2
    exit 125
fi

export ASP_REDIS_HOST=127.0.0.1
export ASP_REDIS_PORT="$port"
export ASP_REDIS_PASSWORD="$password"
"$@"
status=$?
if [ $status -ne 0 ] && [ -f "$dir/redis.log" ]; then
    echo "with_redis: command failed with status $status; redis log tail:" >&2
    tail -n 20 "$dir/redis.log" >&2
fi
exit $status
