"""The ops dashboard benchmark: the summary and the live stream with
100,000 open tickets.

Starts a whole cluster (harness.Cluster, tokens on, no partner: every
ticket stays open) and seeds --tickets open tickets through intake's own
create path: POST /v1/tickets over --connections kept-alive HTTP
connections at once (each an Idempotency-Key'd request, as a client
sends it). Then:

1. GET /v1/ops/summary --summaries times, one after another: latency p50,
   p99, max, and the Redis commands one summary costs (INFO
   commandstats), which must not grow with the tickets;
2. a drill-down (GET /v1/tickets?sla=...&open=true, ?type=repair&open=
   true): latency p50/p99 (the search's scan budget bounds it);
3. the stream: one client reads GET /v1/ops/stream while --changes
   tickets are created one at a time; the time from the POST's answer to
   the `tickets` frame that carries the ticket: p50, p99, max (the
   stream's interval, ASP_OPS_STREAM_MS, 1000 ms by default, bounds it).

Figures only, no pass/fail.

    /usr/bin/python3 bench/ops_bench.py [--tickets 100000] [--connections 16]
        [--summaries 200] [--changes 30]
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402
from openapi_doc import TOKENS, cluster_env  # noqa: E402
from ops_test import Sse  # noqa: E402

TYPES = ("repair", "installation", "maintenance", "complaint", "consultation")
REGIONS = ("north", "south", "east", "west", "centre")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else float("nan")


def body(n):
    return {
        "type": TYPES[n % len(TYPES)], "tier": "standard", "priority": 1 + n % 5,
        "customer": {"name": "Bench %d" % n, "phone": "139%08d" % n, "region": REGIONS[n % len(REGIONS)],
                     "address": "1 Bench Road", "class": "B"},
        "product": {"serial": "SNB%09d" % n, "model": "WH-100", "category": "water_heater"},
        "description": "bench ticket", "channel": "hotline", "agent": "agent-1",
    }


def seed(c, first, count, connections):
    """count tickets from number first, over connections keep-alive
    connections: (seconds, refused)."""
    auth = {"Authorization": "Bearer " + TOKENS["agent"], "Content-Type": "application/json"}
    lock = threading.Lock()
    todo = list(range(first, first + count))
    refused = [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", c.ports["http"], timeout=60)
        while True:
            with lock:
                if not todo:
                    break
                n = todo.pop()
            data = json.dumps(body(n)).encode()
            for attempt in range(50):
                try:
                    conn.request("POST", "/v1/tickets", data, dict(auth, **{"Idempotency-Key": "bench-%d" % n}))
                    r = conn.getresponse()
                    r.read()
                    if r.status in (200, 201):
                        break
                    if r.status not in (429, 503):
                        with lock:
                            refused[0] += 1
                        break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", c.ports["http"], timeout=60)
                time.sleep(0.05 * (attempt + 1))
        conn.close()
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, refused[0]


def timed_get(conn, path):
    t0 = time.monotonic()
    conn.request("GET", path, headers={"Authorization": "Bearer " + TOKENS["ops"]})
    r = conn.getresponse()
    data = r.read()
    ms = 1000 * (time.monotonic() - t0)
    assert r.status == 200, (path, r.status, data[:200])
    return ms, json.loads(data)


def commands(c):
    info = c.redis.cmd("INFO", "stats")
    return int(info.split("total_commands_processed:")[1].split()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--summaries", type=int, default=200)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--changes", type=int, default=30)
    a = ap.parse_args()
    env = cluster_env()
    env.update({"ASP_LOG_LEVEL": "warn", "ASP_API_RATE": "0"})
    with harness.Cluster(partners=0, customer=False, env=env, name="opsbench", token=TOKENS["supervisor"]) as c:
        print("machine: %d cores; services built %s" % (os.cpu_count(), harness.BIN_DIR))
        secs, refused = seed(c, 0, a.tickets, a.connections)
        print("seeded %d open tickets over %d connections in %.1f s (%.0f/s), %d refused"
              % (a.tickets, a.connections, secs, a.tickets / secs, refused))
        sys.stdout.flush()
        conn = http.client.HTTPConnection("127.0.0.1", c.ports["http"], timeout=60)
        ms, s = timed_get(conn, "/v1/ops/summary")
        print("summary: open %d, by_type %s, unroutable %d" % (s["tickets"]["open"], s["tickets"]["by_type"],
                                                                s["queues"]["unroutable"]))
        lat = []
        cmd0 = commands(c)
        for _ in range(a.summaries):
            ms, _ = timed_get(conn, "/v1/ops/summary")
            lat.append(ms)
        per = (commands(c) - cmd0) / a.summaries
        print("GET /v1/ops/summary x%d: p50 %.2f ms, p99 %.2f ms, max %.2f ms; %.0f Redis commands each"
              % (a.summaries, pct(lat, 50), pct(lat, 99), max(lat), per))
        for q in ("type=repair&open=true", "sla=breached&open=true", "queue=waiting_customer"):
            lat = []
            for _ in range(a.queries):
                ms, page = timed_get(conn, "/v1/tickets?limit=50&" + q)
                lat.append(ms)
            print("GET /v1/tickets?%s x%d: p50 %.2f ms, p99 %.2f ms (scanned %d, partial %s)"
                  % (q, a.queries, pct(lat, 50), pct(lat, 99), page["scanned"], page["partial"]))
        conn.close()
        # The stream: POST -> its tickets frame.
        sse = Sse(c, "ops")
        assert sse.status == 200, (sse.status, sse.body)
        sse.wait(c, lambda f: f["event"] == "summary", 30, "the first summary")
        lat = []
        for i in range(a.changes):
            n = a.tickets + 1 + i
            mark = len(sse.seen())
            t0 = time.monotonic()
            r = c.http("POST", "/v1/tickets", body(n), {"Idempotency-Key": "bench-%d" % n})
            assert r.status == 201, r
            tid = r["id"]
            sse.wait(c, lambda f: f["event"] == "tickets" and any(x["id"] == tid for x in f["data"]["changes"]),
                     30, "the frame of %s" % tid, mark)
            lat.append(1000 * (time.monotonic() - t0))
            time.sleep(random.uniform(0, 0.3))
        sse.close()
        print("stream: POST -> tickets frame x%d: p50 %.0f ms, p99 %.0f ms, max %.0f ms (ASP_OPS_STREAM_MS 1000)"
              % (a.changes, pct(lat, 50), pct(lat, 99), max(lat)))


if __name__ == "__main__":
    main()
