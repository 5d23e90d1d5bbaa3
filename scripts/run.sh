#!/usr/bin/env bash
# Runs the whole platform on this machine, in the foreground:
#   Redis (port 6385, AOF), the five services, two simulated partner centers
#   and a simulated customer that receives the notifications and answers the
#   surveys. Ctrl-C stops everything.
#
# Installs what is missing (scripts/deps.sh), builds into build/ (RelWithDebInfo),
# creates the CurveZMQ certificates once (var/certs: the partners', and one
# per service for the authenticated bus), keeps Redis data in
# var/redis and logs in var/log/<name>.log. Any ASP_* variable exported
# before running this is passed on (e.g. ASP_SLA_POLICY_FILE=my-sla.conf
# for short SLA clocks); see README.md for the list. Ports can be moved with the
# same variables (ASP_REDIS_PORT, ASP_HTTP_PORT, ASP_*_BUS, ASP_PARTNER_BIND)
# plus ASP_SIM_CUSTOMER_PORT (8090) and ASP_RUN_METRICS_BASE (9102: routing,
# then sla-timer, notification, feedback).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VAR="$ROOT/var"
BIN="$ROOT/build/bin"
LOG="$VAR/log"
CERTS="$VAR/certs"

say () { printf '%s\n' "run: $*"; }
die () { printf '%s\n' "run: $*" >&2; exit 1; }

# --- 1. dependencies and build ----------------------------------------------
bash "$ROOT/scripts/deps.sh"
say "building (RelWithDebInfo: -O2 -g, asserts on) into build/ (log: build/run-build.log) ..."
# The same build type as scripts/test.sh and scripts/bench.sh use for build/,
# so switching between them does not rebuild everything.
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >"$ROOT/build/run-build.log" 2>&1 || {
    tail -n 40 "$ROOT/build/run-build.log" >&2
    die "build failed (full log: build/run-build.log)"
}
for b in asp-intake asp-routing asp-sla-timer asp-notification asp-feedback \
         asp-sim-partner asp-sim-customer asp-certgen; do
    [ -x "$BIN/$b" ] || die "the build did not produce $BIN/$b"
done

# --- 2. configuration ---------------------------------------------------------
# Local-run ports (README.md "Operations"). Exported values win.
export ASP_REDIS_HOST=${ASP_REDIS_HOST:-127.0.0.1}
export ASP_REDIS_PORT=${ASP_REDIS_PORT:-6385}
export ASP_REDIS_PASSWORD=${ASP_REDIS_PASSWORD:-localdev}
export ASP_INTAKE_BUS=${ASP_INTAKE_BUS:-tcp://127.0.0.1:7101}
export ASP_ROUTING_BUS=${ASP_ROUTING_BUS:-tcp://127.0.0.1:7102}
export ASP_SLA_BUS=${ASP_SLA_BUS:-tcp://127.0.0.1:7103}
export ASP_NOTIFICATION_BUS=${ASP_NOTIFICATION_BUS:-tcp://127.0.0.1:7104}
export ASP_FEEDBACK_BUS=${ASP_FEEDBACK_BUS:-tcp://127.0.0.1:7105}
export ASP_PARTNER_BIND=${ASP_PARTNER_BIND:-tcp://127.0.0.1:7110}
export ASP_PARTNER_CERTS=${ASP_PARTNER_CERTS:-$CERTS/partners}
export ASP_ROUTING_CERT=${ASP_ROUTING_CERT:-$CERTS/routing.cert_secret}
# The bus: each service's key pair in var/certs/services/, the public halves
# in the folder every bus inbox trusts (common/asp_curve.h).
export ASP_BUS_CERT_DIR=${ASP_BUS_CERT_DIR:-$CERTS/bus}
BUS_KEYS=$CERTS/services
HTTP_PORT=${ASP_HTTP_PORT:-8080}
CUSTOMER_PORT=${ASP_SIM_CUSTOMER_PORT:-8090}
# Notifications go to the simulated customer unless you chose a file.
if [ -z "${ASP_NOTIFY_FILE:-}" ]; then
    export ASP_NOTIFY_WEBHOOK_URL=${ASP_NOTIFY_WEBHOOK_URL:-http://127.0.0.1:$CUSTOMER_PORT/webhook}
fi
# With API tokens on, the simulated customer answers surveys with
# ASP_SIM_TOKEN (the same setting as in docker-compose.yml), by default the
# first token of ASP_API_TOKENS.
if [ -n "${ASP_API_TOKENS:-}" ] && [ -z "${ASP_SIM_TOKEN:-}" ]; then
    first=${ASP_API_TOKENS%%,*}
    export ASP_SIM_TOKEN=${first%%:*}
fi
# The bus binds and the metrics port are per process: never inherited.
unset ASP_BUS_BIND ASP_METRICS_PORT ASP_HTTP_PORT ASP_BUS_CERT
# Metrics ports: routing, sla-timer, notification, feedback from this base up.
MB=${ASP_RUN_METRICS_BASE:-9102}
declare -A METRICS=([routing]=$MB [sla-timer]=$((MB + 1)) [notification]=$((MB + 2)) [feedback]=$((MB + 3)))
PARTNER_ENDPOINT=$(printf '%s' "$ASP_PARTNER_BIND" | sed 's#tcp://\*:#tcp://127.0.0.1:#; s#tcp://0\.0\.0\.0:#tcp://127.0.0.1:#')

mkdir -p "$LOG" "$VAR/redis" "$CERTS" "$ASP_PARTNER_CERTS" "$ASP_BUS_CERT_DIR" "$BUS_KEYS"

# Refuse to start over a previous run (or anything else) holding our ports.
port_of () { printf '%s' "${1##*:}"; }
busy=()
for p in "$ASP_REDIS_PORT" "$HTTP_PORT" "$CUSTOMER_PORT" "${METRICS[@]}" \
         "$(port_of "$ASP_INTAKE_BUS")" "$(port_of "$ASP_ROUTING_BUS")" "$(port_of "$ASP_SLA_BUS")" \
         "$(port_of "$ASP_NOTIFICATION_BUS")" "$(port_of "$ASP_FEEDBACK_BUS")" "$(port_of "$ASP_PARTNER_BIND")"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy+=("$p"); fi
done
[ ${#busy[@]} -eq 0 ] || die "port(s) ${busy[*]} already in use (another run.sh still running?)"

# --- 3. certificates (once; kept in var/certs) -----------------------------------
if [ ! -f "$ASP_ROUTING_CERT" ] && [ "$ASP_ROUTING_CERT" = "$CERTS/routing.cert_secret" ]; then
    say "creating the routing server certificate in var/certs/"
    "$BIN/asp-certgen" --name routing --out "$CERTS" >>"$LOG/certgen.log" 2>&1 \
        || die "asp-certgen failed: see var/log/certgen.log"
fi
for id in P001 P002; do
    if [ ! -f "$CERTS/$id.cert_secret" ]; then
        say "creating partner $id's certificate in var/certs/"
        "$BIN/asp-certgen" --partner-id "$id" --out "$CERTS" >>"$LOG/certgen.log" 2>&1 \
            || die "asp-certgen failed: see var/log/certgen.log"
    fi
    # Routing accepts exactly the public certificates in this folder.
    cp "$CERTS/$id.cert" "$ASP_PARTNER_CERTS/$id.cert"
done

# One key pair per service for the bus (the names of common/asp_events.c);
# the secret is given to its own service only (ASP_BUS_CERT, below).
for name in intake routing sla notification feedback; do
    if [ ! -f "$BUS_KEYS/$name.cert_secret" ]; then
        say "creating the $name bus certificate in var/certs/services/"
        "$BIN/asp-certgen" --name "$name" --out "$BUS_KEYS" >>"$LOG/certgen.log" 2>&1 \
            || die "asp-certgen failed: see var/log/certgen.log"
    fi
    cp "$BUS_KEYS/$name.cert" "$ASP_BUS_CERT_DIR/$name.cert"
done
bus_cert () { local n=$1; [ "$n" = sla-timer ] && n=sla; printf '%s' "$BUS_KEYS/$n.cert_secret"; }

[ -f "$ASP_ROUTING_CERT" ] || die "ASP_ROUTING_CERT=$ASP_ROUTING_CERT does not exist"
SERVER_CERT=${ASP_ROUTING_CERT%_secret}     # the public twin, for the partners

# --- 4. processes --------------------------------------------------------------------
declare -A PIDS=()
ORDER=()
STOPPING=0

start () {     # start <name> <command...>: background, logs to var/log/<name>.log
    local name=$1; shift
    printf -- '--- %s start: %s\n' "$(date '+%F %T')" "$*" >>"$LOG/$name.log"
    "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
    PIDS[$name]=$!
    ORDER+=("$name")
}

stop_all () {
    [ $STOPPING -eq 1 ] && return
    STOPPING=1
    trap '' INT TERM
    [ ${#ORDER[@]} -eq 0 ] && return
    say "stopping ..."
    # Everything else first, Redis last, so no service loses its store in
    # the middle of a step.
    local name others=()
    for name in "${ORDER[@]}"; do [ "$name" = redis ] || others+=("$name"); done
    term_wait "${others[@]}"
    [ -n "${PIDS[redis]:-}" ] && term_wait redis
    # When run from a terminal the script leads its own process group: sweep
    # it, so nothing started from here is left behind.
    if [ "$(ps -o pgid= $$ | tr -d ' ')" = "$$" ]; then
        kill -TERM -- -$$ 2>/dev/null || true
    fi
    say "stopped. Data: var/redis, logs: var/log/"
}

term_wait () {     # term_wait <name>...: SIGTERM, wait up to 15 s, then SIGKILL
    local name pid deadline=$((SECONDS + 15))
    for name in "$@"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; done
    for name in "$@"; do
        pid=${PIDS[$name]}
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop within 15 s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

on_signal () { stop_all; exit 0; }
trap on_signal INT TERM
trap stop_all EXIT

redis_cli () {
    redis-cli -h "$ASP_REDIS_HOST" -p "$ASP_REDIS_PORT" -a "$ASP_REDIS_PASSWORD" --no-auth-warning "$@"
}

# Redis: AOF on, fsync every second, data in var/redis (kept between runs).
start redis redis-server --port "$ASP_REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
    --appendonly yes --appendfsync everysec --save '' --maxmemory-policy noeviction \
    --requirepass "$ASP_REDIS_PASSWORD" --daemonize no
for _ in $(seq 100); do
    [ "$(redis_cli ping 2>/dev/null)" = PONG ] && break
    kill -0 "${PIDS[redis]}" 2>/dev/null || { tail -n 20 "$LOG/redis.log" >&2; die "redis-server exited"; }
    sleep 0.1
done
[ "$(redis_cli ping 2>/dev/null)" = PONG ] || die "redis-server does not answer on port $ASP_REDIS_PORT"

# The customer first, so the webhook is there when the first notification goes out.
start sim-customer "$BIN/asp-sim-customer" --port "$CUSTOMER_PORT" \
    --record "$VAR/customer.jsonl" --intake "http://127.0.0.1:$HTTP_PORT"

ASP_HTTP_PORT=$HTTP_PORT ASP_BUS_CERT=$(bus_cert intake) start intake "$BIN/asp-intake"
for svc in routing sla-timer notification feedback; do
    ASP_METRICS_PORT=${METRICS[$svc]} ASP_BUS_CERT=$(bus_cert "$svc") start "$svc" "$BIN/asp-$svc"
done

# Two partner centers that behave differently: a big fast one that takes
# almost everything, a small slow one that declines a third of its offers.
start partner-P001 "$BIN/asp-sim-partner" --endpoint "$PARTNER_ENDPOINT" \
    --cert "$CERTS/P001.cert_secret" --server-cert "$SERVER_CERT" \
    --capacity 8 --accept-ratio 0.9 --accept-delay-ms 500 --work-ms 5000 --progress 2 \
    --skills '*' --regions '*' --journal "$VAR/partners-P001.jsonl"
start partner-P002 "$BIN/asp-sim-partner" --endpoint "$PARTNER_ENDPOINT" \
    --cert "$CERTS/P002.cert_secret" --server-cert "$SERVER_CERT" \
    --capacity 4 --accept-ratio 0.7 --accept-delay-ms 1500 --work-ms 9000 --progress 3 \
    --skills '*' --regions '*' --journal "$VAR/partners-P002.jsonl"

# --- 5. wait until the API answers ------------------------------------------------
check_children () {
    local name
    for name in "${ORDER[@]}"; do
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
            wait "${PIDS[$name]}" 2>/dev/null && rc=0 || rc=$?
            say "$name exited (status $rc); last lines of var/log/$name.log:" >&2
            tail -n 20 "$LOG/$name.log" >&2
            return 1
        fi
    done
}
healthy=0
for _ in $(seq 300); do
    check_children || exit 1
    if curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null; then healthy=1; break; fi
    sleep 0.1
done
[ $healthy -eq 1 ] || die "intake does not answer http://127.0.0.1:$HTTP_PORT/healthz after 30 s (see var/log/intake.log)"

# The partners connect on their own; say so once routing counts them live.
partners="P001 and P002 connect to it"
for _ in $(seq 100); do
    live=$(curl -fsS "http://127.0.0.1:${METRICS[routing]}/metrics" 2>/dev/null \
           | awk '$1 ~ /^asp_partners_live/ {print $2}')
    if [ "${live%.*}" = 2 ]; then partners="P001 and P002 are connected"; break; fi
    sleep 0.1
done

BUS_LINE="CurveZMQ: keys in var/certs/services, trusted certificates in ${ASP_BUS_CERT_DIR#"$ROOT"/}"
[ "${ASP_BUS_INSECURE:-0}" = 1 ] && BUS_LINE="NOT authenticated (ASP_BUS_INSECURE=1)"
AUTH=""
if [ -n "${ASP_API_TOKENS:-}" ]; then
    token=${ASP_API_TOKENS%%,*}; token=${token%%:*}
    AUTH=" -H 'Authorization: Bearer $token'"
fi
# The dashboard's sign-in: a staff token that may read the ops summary.
DASH_SIGNIN="no ASP_API_TOKENS: any token signs in (demo)"
if [ -n "${ASP_API_TOKENS:-}" ]; then
    DASH_SIGNIN="sign in with a supervisor, ops or admin token of ASP_API_TOKENS"
    IFS=',' read -r -a entries <<<"$ASP_API_TOKENS"
    for e in "${entries[@]}"; do
        role=${e#*:}; role=${role%%:*}
        case $role in supervisor|ops|admin) DASH_SIGNIN="sign in with the $role token ${e%%:*}"; break ;; esac
    done
fi
cat <<EOF

The after-sales platform is running (Ctrl-C stops everything).

  dashboard       http://127.0.0.1:$HTTP_PORT/dashboard/   ($DASH_SIGNIN)
  HTTP API        http://127.0.0.1:$HTTP_PORT        (health: /healthz, metrics: /metrics)
  metrics         routing      http://127.0.0.1:${METRICS[routing]}/metrics
                  sla-timer    http://127.0.0.1:${METRICS[sla-timer]}/metrics
                  notification http://127.0.0.1:${METRICS[notification]}/metrics
                  feedback     http://127.0.0.1:${METRICS[feedback]}/metrics
  partners        $ASP_PARTNER_BIND (CurveZMQ; $partners)
  bus             $BUS_LINE
  redis           127.0.0.1:$ASP_REDIS_PORT (password in ASP_REDIS_PASSWORD), data in var/redis
  logs            var/log/<name>.log   partner journals var/partners-P00x.jsonl
  notifications   ${ASP_NOTIFY_WEBHOOK_URL:-$ASP_NOTIFY_FILE} (simulated customer: var/customer.jsonl)

Create a repair ticket:

  curl -s -X POST http://127.0.0.1:$HTTP_PORT/v1/tickets$AUTH \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
    -d '{"type":"repair","tier":"express","priority":2,
         "customer":{"name":"Li Lei","phone":"13812345678","region":"north","address":"8 Jianguo Road"},
         "product":{"serial":"SN-0001","model":"WH-100","category":"water_heater"},
         "description":"No hot water since yesterday","channel":"hotline"}'

Read its timeline (put the "id" from the answer in place of TICKET_ID):

  curl -s http://127.0.0.1:$HTTP_PORT/v1/tickets/TICKET_ID/timeline$AUTH

EOF

# --- 6. run until Ctrl-C, or until a process dies ----------------------------------
while true; do
    wait -n "${PIDS[@]}" 2>/dev/null || true
    [ $STOPPING -eq 1 ] && exit 0
    # Ctrl-C reaches the children and this script together: a child may be
    # gone before our trap ran. Give the trap its moment before judging.
    sleep 0.3
    [ $STOPPING -eq 1 ] && exit 0
    if ! check_children; then
        say "a process stopped unexpectedly: stopping the rest" >&2
        exit 1
    fi
done
