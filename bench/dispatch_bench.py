"""The dispatch benchmark: 1,000 connected partners and 100,000 pending work orders.

Each run starts its own redis-server (AOF everysec) and asp-routing, a sink
process that acknowledges routing's outbox on the other four services' bus
endpoints (as intake, sla, notification and feedback would), then:

1. injects --orders ticket.created straight onto routing's bus inbox (CURVE,
   pipelined: --window unacknowledged at a time) while no partner is
   connected, so they are all pending;
2. connects --partners partners from this one process (one DEALER + CURVE
   each, their own certificates), each READY with capacity 1 and its
   territory: one category of --categories, two neighbouring regions of
   --regions, so every class (category, region) has two partners;
3. every partner ACCEPTs and COMPLETEs each offer at once.

With --unserved N the oldest N orders are in categories nobody serves: they
stay pending (routing's start grace keeps them from being called
unroutable during the run), the case where a dispatch that walks the
backlog for each freed credit pays backlog × partners.

It prints, for each run and as the median of the runs: dispatch throughput
(offers per second from the first offer to the last, while the backlog
drains; within --max-seconds) and offer latency (a partner's COMPLETE sent
-> the next OFFER it receives, p50 and p99). --routing picks another
asp-routing binary (e.g. one built from an older commit) to compare.

    /usr/bin/python3 bench/dispatch_bench.py [--runs 3] [--orders 100000]
        [--partners 1000] [--routing path/to/asp-routing]
"""

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

import msgpack
import zmq
import zmq.auth

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import aspw  # noqa: E402
import harness  # noqa: E402
from run_bench import cpu_seconds  # noqa: E402

SINKS = ("intake", "sla-timer", "notification", "feedback")


def sink(endpoints, keys):
    """Acknowledges every bus message routing's outbox sends (own process)."""
    ctx = zmq.Context()
    socks = []
    poller = zmq.Poller()
    for endpoint, (public, secret) in zip(endpoints, keys):
        s = ctx.socket(zmq.ROUTER)
        s.curve_server = True
        s.curve_publickey, s.curve_secretkey = public, secret
        s.rcvhwm = s.sndhwm = 0
        s.bind(endpoint)
        socks.append(s)
        poller.register(s, zmq.POLLIN)
    while True:
        for s, _ in poller.poll(1000):
            for _ in range(1000):
                try:
                    rid, env = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                s.send_multipart([rid, b"ACK", msgpack.unpackb(env, raw=False)[2].encode()])


def inject(endpoint, curve, n, categories, regions, window, unserved=0):
    """n ticket.created on routing's inbox, the first unserved of them in
    categories no partner serves; returns the seconds it took."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    harness.curve_client(sock, curve)
    sock.sndhwm = sock.rcvhwm = 0
    sock.connect(endpoint)
    rng = random.Random(7)
    sent = acked = 0
    started = time.monotonic()
    while acked < n:
        while sent < n and sent - acked < window:
            t = "T%07d%s" % (sent, harness.new_id("x")[:8])
            body = {"type": "repair", "tier": "standard", "priority": 3,
                    "category": ("x%d" if sent < unserved else "c%d") % rng.randrange(categories),
                    "region": "r%d" % rng.randrange(regions),
                    "summary": "dispatch bench"}
            sock.send(harness.envelope("ticket.created", t, body))
            sent += 1
        if not sock.poll(30000):
            raise harness.HarnessError("routing stopped acknowledging after %d of %d" % (acked, n))
        while True:
            try:
                reply = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if reply[0] != b"ACK":
                raise harness.HarnessError("ticket.created answered %r" % reply)
            acked += len(reply) - 1         #  one ACK lists every id of a batch
    sock.close(0)
    return time.monotonic() - started


class Partners:
    """Every partner of the run, driven from one poll loop."""

    def __init__(self, n, keys, routing_pub, port, categories, regions):
        self.ctx = zmq.Context.instance()
        self.socks, self.ready = [], set()
        self.poller = zmq.Poller()
        self.index = {}
        for i in range(n):
            s = self.ctx.socket(zmq.DEALER)
            s.linger = 0
            s.sndhwm = s.rcvhwm = 0
            s.curve_publickey, s.curve_secretkey = keys[i]
            s.curve_serverkey = routing_pub
            s.connect("tcp://127.0.0.1:%d" % port)
            j = (i // categories) % regions
            s.send_multipart(aspw.frames("READY", {
                "capacity": 1, "skills": ["c%d" % (i % categories)],
                "regions": ["r%d" % j, "r%d" % ((j + 1) % regions)], "software": "dispatch_bench"}))
            self.socks.append(s)
            self.index[s] = i
            self.poller.register(s, zmq.POLLIN)
        self.completed_at = [None] * n
        self.latencies, self.offers = [], 0
        self.first = self.last = None
        self.last_hb = time.monotonic()

    def run(self, until_offers, max_seconds, heartbeat_s):
        deadline = time.monotonic() + max_seconds
        while self.offers < until_offers and time.monotonic() < deadline:
            now = time.monotonic()
            if now - self.last_hb >= heartbeat_s:
                for s in self.socks:
                    s.send_multipart(aspw.frames("HEARTBEAT"))
                self.last_hb = now
            for s, _ in self.poller.poll(200):
                i = self.index[s]
                while True:
                    try:
                        frames = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    cmd = frames[1]
                    if cmd == b"OFFER":
                        t = time.monotonic()
                        if self.completed_at[i] is not None:
                            self.latencies.append(t - self.completed_at[i])
                            self.completed_at[i] = None
                        self.offers += 1
                        self.first = self.first or t
                        self.last = t
                        body = msgpack.unpackb(frames[2], raw=False)
                        s.send_multipart(aspw.frames("ACCEPT", {"wo_id": body["wo_id"], "offer_id": body["offer_id"]}))
                        s.send_multipart(aspw.frames("COMPLETE", {"wo_id": body["wo_id"], "result": "fixed"}))
                        self.completed_at[i] = time.monotonic()
                    elif cmd == b"WELCOME":
                        self.ready.add(i)

    def close(self):
        for s in self.socks:
            s.close(0)


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def one_run(a, n_run):
    tmp = tempfile.mkdtemp(prefix="dispatch-bench-")
    certs = os.path.join(tmp, "partner-certs")
    os.makedirs(certs)
    rpub, rsec = zmq.curve_keypair()
    aspw.write_cert(os.path.join(tmp, "routing.cert"), rpub)
    aspw.write_cert(os.path.join(tmp, "routing.cert_secret"), rpub, rsec)
    keys = []
    for i in range(a.partners):
        pub, sec = zmq.curve_keypair()
        aspw.write_cert(os.path.join(certs, "B%04d.cert" % i), pub, meta={"partner_id": "B%04d" % i})
        keys.append((pub, sec))
    redis = harness.Redis(dir=os.path.join(tmp, "redis"), log_path=os.path.join(tmp, "redis.log"))
    redis.start()
    bus_certs = harness.BusCerts(os.path.join(tmp, "bus-certs"))
    routing_bus = "tcp://127.0.0.1:%d" % harness.free_port()
    sink_ends = ["tcp://127.0.0.1:%d" % harness.free_port() for _ in SINKS]
    partner_port, metrics_port = harness.free_port(), harness.free_port()
    env = dict(os.environ)
    env.update(redis.env())
    env.update(bus_certs.env("routing"))
    env.pop("ASP_BUS_BIND", None)
    env.update({
        "ASP_ROUTING_BUS": routing_bus,
        "ASP_PARTNER_BIND": "tcp://127.0.0.1:%d" % partner_port,
        "ASP_PARTNER_CERTS": certs,
        "ASP_ROUTING_CERT": os.path.join(tmp, "routing.cert_secret"),
        "ASP_METRICS_PORT": str(metrics_port),
        # Slow heartbeats: partners connect after the backlog is in, and a
        # start's grace (no unroutable verdict) covers the injection.
        "ASP_HEARTBEAT_MS": "5000", "ASP_LIVENESS": "20",
        "ASP_OFFER_TIMEOUT_MS": "120000", "ASP_LOG_LEVEL": "warn",
        "ASP_OUTBOX_MAX": "100000000",
    })
    for svc, end in zip(SINKS, sink_ends):
        env[harness.BUS_VARS[svc]] = end
    sink_keys = [zmq.auth.load_certificate(bus_certs.secret(harness.BUS_CERT_NAMES[s])) for s in SINKS]
    sinker = multiprocessing.Process(target=sink, args=(sink_ends, sink_keys), daemon=True)
    sinker.start()
    proc = harness.Proc("routing", [a.routing], env, os.path.join(tmp, "routing.log")).start()
    partners = None
    try:
        harness.wait_for(lambda: _healthy(metrics_port), 20,
                         what="asp-routing /healthz")
        took = inject(routing_bus, bus_certs.curve("routing"), a.orders, a.categories, a.regions, a.window,
                      a.unserved)
        print("run %d: %d ticket.created acknowledged in %.1f s (%.0f/s)"
              % (n_run, a.orders, took, a.orders / took), flush=True)
        cpu0 = cpu_seconds(proc.pid)
        partners = Partners(a.partners, keys, rpub, partner_port, a.categories, a.regions)
        served = a.orders - a.unserved
        partners.run(served, a.max_seconds, 2.5)
        cpu = cpu_seconds(proc.pid) - cpu0
        span = (partners.last - partners.first) if partners.offers > 1 else float("nan")
        rate = partners.offers / span if span and span == span else float("nan")
        p50, p99 = pct(partners.latencies, 50) * 1000, pct(partners.latencies, 99) * 1000
        print("run %d: %d partners READY, %d offers in %.1f s: %.0f offers/s; offer latency "
              "(COMPLETE -> next OFFER) p50 %.1f ms, p99 %.1f ms (%d samples); routing CPU %.1f s%s"
              % (n_run, len(partners.ready), partners.offers, span, rate, p50, p99, len(partners.latencies),
                 cpu, "" if partners.offers >= served else " (stopped at --max-seconds)"), flush=True)
        if not proc.running():
            raise harness.HarnessError("asp-routing exited:\n" + proc.tail(30))
        return rate, p50, p99, partners.offers
    except BaseException:
        print("routing.log:\n" + proc.tail(20), flush=True)
        raise
    finally:
        if partners:
            partners.close()
        proc.kill()
        sinker.kill()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _healthy(port):
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--orders", type=int, default=100000)
    ap.add_argument("--partners", type=int, default=1000)
    ap.add_argument("--categories", type=int, default=10)
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--window", type=int, default=2000, help="ticket.created in flight while injecting")
    ap.add_argument("--unserved", type=int, default=0,
                    help="of the orders, how many (the oldest) are in categories no partner serves")
    ap.add_argument("--max-seconds", type=float, default=300, help="stop a drain after this long")
    ap.add_argument("--routing", default=None, help="the asp-routing binary (default: ASP_BIN_DIR's)")
    a = ap.parse_args()
    a.routing = a.routing or harness.binary("asp-routing")
    print("dispatch bench: %s; %d orders over %d categories x %d regions (the oldest %d in categories "
          "nobody serves); %d partners, capacity 1, one category and two regions each (2 partners "
          "per class); machine: %d cores"
          % (a.routing, a.orders, a.categories, a.regions, a.unserved, a.partners, os.cpu_count()), flush=True)
    results = [one_run(a, n + 1) for n in range(a.runs)]
    print("median of %d runs: %.0f offers/s; offer latency p50 %.1f ms, p99 %.1f ms; offers %d"
          % (a.runs, statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
             statistics.median(r[2] for r in results), int(statistics.median(r[3] for r in results))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
