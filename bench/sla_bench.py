"""The SLA clock benchmark: a million pending clocks, fired on time.

Starts its own redis-server (AOF everysec) and asp-sla-timer (a policy file
of its own: one clock a ticket, first_response; the "bulk" tickets' due in
30 days, the "soon" ones' in a minute), and a sink process that
acknowledges what sla-timer's outbox sends (as intake and notification
would) and records when each sla.breached arrived. Then:

1. loads --clocks clocks through sla-timer's real path: ticket.created on
   its bus inbox (CURVE, pipelined, --window unacknowledged), each one
   clock.lua transaction that starts first_response: start throughput;
2. Redis memory per pending clock (INFO used_memory, after the load minus
   before, / clocks), with and without the inbox keys the start events
   left ({s<n>}:in:sla:<msg id>, kept ASP_INBOX_TTL_S for deduplication:
   the bench deletes them to measure the clocks alone), and sla-timer's
   RSS per pending clock;
3. lateness: --due clocks (region "soon") whose breach falls due during the
   next --spread seconds (their ticket.created is dated so that the due
   time lands there; their warnings are already past and fire at once);
   fired - due from the event's own time (when sla-timer decided) and from
   its arrival at the sink: p50, p99, max;
4. stop throughput: ticket.closed for --stops of the bulk tickets;
5. restart: more "soon" clocks due from 1 s after a kill -9 of sla-timer
   (down for --down seconds) to 3 s after its restart; the time from exec
   to /healthz, to the first breach fired, and the lateness of the clocks
   due after the restart (were they on time?).

Figures only, no pass/fail.

    /usr/bin/python3 bench/sla_bench.py [--clocks 1000000] [--due 20000]
        [--spread 20] [--stops 100000] [--sla path/to/asp-sla-timer]
"""

import argparse
import http.client
import multiprocessing
import os
import shutil
import sys
import tempfile
import time

import msgpack
import zmq
import zmq.auth

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402

SINKS = ("intake", "notification", "routing", "feedback")
SOON_S = 60
POLICY = """[calendar c]
zone = UTC
hours = mon-sun 00:00-24:00
[region *]
calendar = c
supervisor = sup@bench.example
manager = mgr@bench.example
[policy standard]
warn = 50%%
ladder = none
first_response = 30d calendar
[policy soon]
match = region=soon
warn = 50%%
ladder = none
first_response = %ds calendar
""" % SOON_S


def now_ms():
    return int(time.time() * 1000)


def sink(endpoints, keys, out):
    """ACKs every message; for each sla.breached puts (ticket, due_ms,
    the event's time_ms, arrival ms) on out (own process)."""
    ctx = zmq.Context()
    poller = zmq.Poller()
    for endpoint, (public, secret) in zip(endpoints, keys):
        s = ctx.socket(zmq.ROUTER)
        s.curve_server = True
        s.curve_publickey, s.curve_secretkey = public, secret
        s.rcvhwm = s.sndhwm = 0
        s.bind(endpoint)
        poller.register(s, zmq.POLLIN)
    while True:
        for s, _ in poller.poll(1000):
            for _ in range(1000):
                try:
                    rid, env = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                at = now_ms()
                e = msgpack.unpackb(env, raw=False)
                s.send_multipart([rid, b"ACK", e[2].encode()])
                if e[1] == "sla.breached" and s is poller.sockets[0][0]:
                    out.put((e[3], e[6]["due_ms"], e[5], at))


class Inbox:
    """A DEALER on sla-timer's inbox: sends pipelined, counts the ACKs."""

    def __init__(self, endpoint, curve, window):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        harness.curve_client(self.sock, curve)
        self.sock.sndhwm = self.sock.rcvhwm = 0
        self.sock.connect(endpoint)
        self.window = window

    def send_all(self, messages):
        """Sends the encoded messages (an iterator), window in flight;
        returns (count, seconds)."""
        sent = acked = 0
        it = iter(messages)
        done = False
        started = time.monotonic()
        while not done or acked < sent:
            while not done and sent - acked < self.window:
                m = next(it, None)
                if m is None:
                    done = True
                    break
                self.sock.send(m)
                sent += 1
            if acked < sent:
                if not self.sock.poll(60000):
                    raise harness.HarnessError("sla-timer stopped acknowledging after %d of %d" % (acked, sent))
                while True:
                    try:
                        reply = self.sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if reply[0] != b"ACK":
                        raise harness.HarnessError("answered %r" % reply)
                    acked += len(reply) - 1
        return sent, time.monotonic() - started


def created(tid, region, time_ms=None):
    return harness.envelope("ticket.created", tid,
                            {"type": "repair", "tier": "standard", "customer_class": "B", "region": region,
                             "owner": "bench"}, time_ms=time_ms)


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def used_memory(redis):
    info = redis.cmd("INFO", "memory")
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def lateness(rows, label):
    decided = [t - due for _, due, t, _ in rows]
    arrived = [a - due for _, due, _, a in rows]
    print("  %s: %d breaches; fired - due (the event's time): p50 %d ms, p99 %d ms, max %d ms; "
          "arrival at the sink - due: p50 %d ms, p99 %d ms, max %d ms"
          % (label, len(rows), pct(decided, 50), pct(decided, 99), max(decided), pct(arrived, 50),
             pct(arrived, 99), max(arrived)), flush=True)


def collect(queue, want, timeout):
    """The sink's rows for the tickets in want (a set), until all came."""
    rows = {}
    end = time.monotonic() + timeout
    while len(rows) < len(want) and time.monotonic() < end:
        try:
            row = queue.get(timeout=1)
        except Exception:
            continue
        if row[0] in want:
            rows[row[0]] = row
    return list(rows.values())


def delete_inbox_keys(redis):
    n = 0
    for shard in range(16):
        cursor = "0"
        while True:
            cursor, keys = redis.cmd("SCAN", cursor, "MATCH", "{s%d}:in:sla:*" % shard, "COUNT", 5000)
            if keys:
                redis.cmd("UNLINK", *keys)
                n += len(keys)
            if cursor == "0":
                break
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clocks", type=int, default=1000000, help="pending clocks to load")
    ap.add_argument("--due", type=int, default=20000, help="clocks falling due during the lateness run")
    ap.add_argument("--spread", type=float, default=20, help="seconds over which those fall due")
    ap.add_argument("--stops", type=int, default=100000, help="ticket.closed sent for loaded tickets")
    ap.add_argument("--down", type=float, default=2.0, help="seconds sla-timer stays killed")
    ap.add_argument("--window", type=int, default=5000, help="messages in flight while loading")
    ap.add_argument("--sla", default=None, help="the asp-sla-timer binary (default: ASP_BIN_DIR's)")
    a = ap.parse_args()
    a.sla = a.sla or harness.binary("asp-sla-timer")
    print("sla bench: %s; %d pending clocks, %d due over %.0f s, %d stops; machine: %d cores"
          % (a.sla, a.clocks, a.due, a.spread, a.stops, os.cpu_count()), flush=True)
    tmp = tempfile.mkdtemp(prefix="sla-bench-")
    policy = os.path.join(tmp, "policy.conf")
    with open(policy, "w") as f:
        f.write(POLICY)
    redis = harness.Redis(dir=os.path.join(tmp, "redis"), log_path=os.path.join(tmp, "redis.log"))
    redis.start()
    bus_certs = harness.BusCerts(os.path.join(tmp, "bus-certs"))
    sla_bus = "tcp://127.0.0.1:%d" % harness.free_port()
    sink_ends = ["tcp://127.0.0.1:%d" % harness.free_port() for _ in SINKS]
    metrics_port = harness.free_port()
    env = dict(os.environ)
    env.update(redis.env())
    env.update(bus_certs.env("sla-timer"))
    env.pop("ASP_BUS_BIND", None)
    env.update({"ASP_SLA_BUS": sla_bus, "ASP_METRICS_PORT": str(metrics_port), "ASP_LOG_LEVEL": "warn",
                "ASP_SLA_POLICY_FILE": policy, "ASP_OUTBOX_MAX": "100000000"})
    for svc, end in zip(SINKS, sink_ends):
        env[harness.BUS_VARS[svc]] = end
    sink_keys = [zmq.auth.load_certificate(bus_certs.secret(harness.BUS_CERT_NAMES[s])) for s in SINKS]
    queue = multiprocessing.Queue()
    sinker = multiprocessing.Process(target=sink, args=(sink_ends, sink_keys, queue), daemon=True)
    sinker.start()
    log_path = os.path.join(tmp, "sla-timer.log")
    proc = harness.Proc("sla-timer", [a.sla], env, log_path).start()
    try:
        harness.wait_for(lambda: healthy(metrics_port), 20, what="asp-sla-timer /healthz")
        inbox = Inbox(sla_bus, bus_certs.curve("sla-timer"), a.window)
        mem0, rss0 = used_memory(redis), rss_kb(proc.pid)

        # 1. The pending clocks.
        bulk = ["T%07db%s" % (i, harness.new_id("x")[-6:]) for i in range(a.clocks)]
        n, took = inbox.send_all(created(t, "bulk") for t in bulk)
        print("starts: %d ticket.created (one clock each) in %.1f s: %.0f starts/s" % (n, took, n / took), flush=True)
        pending = sum(redis.cmd("ZCARD", "{s%d}:sla:due" % s) for s in range(16))
        mem1, rss1 = used_memory(redis), rss_kb(proc.pid)
        inboxed = delete_inbox_keys(redis)
        time.sleep(1)
        mem2 = used_memory(redis)
        print("memory: %d members pending; Redis %.0f bytes per pending clock with the start events' inbox "
              "keys, %.0f bytes without them (%d inbox keys deleted); sla-timer RSS %.1f bytes per pending "
              "clock (%d -> %d kB)"
              % (pending, (mem1 - mem0) / a.clocks, (mem2 - mem0) / a.clocks, inboxed,
                 (rss1 - rss0) * 1024.0 / a.clocks, rss0, rss1), flush=True)

        # 2. Lateness with the million pending.
        # Far enough ahead that the sending is over when the first falls due
        # (a batch of starts in the loop delays a timer by its length).
        t0 = now_ms() + 3000 + a.due // 2
        soon = {}
        for i in range(a.due):
            due = t0 + int(i * a.spread * 1000 / a.due)
            soon["T%07ds%s" % (i, harness.new_id("x")[-6:])] = due
        n, took = inbox.send_all(created(t, "soon", due - SOON_S * 1000) for t, due in soon.items())
        print("lateness: %d clocks due from %.1f s to %.1f s from now, sent in %.1f s"
              % (n, (t0 - now_ms()) / 1000, (t0 + a.spread * 1000 - now_ms()) / 1000, took), flush=True)
        rows = collect(queue, set(soon), a.spread + 30)
        lateness(rows, "with %d pending" % pending)

        # 3. Stops.
        closes = bulk[:a.stops]
        n, took = inbox.send_all(harness.envelope("ticket.closed", t, {"reason": "bench"}) for t in closes)
        print("stops: %d ticket.closed (ending every clock of the ticket) in %.1f s: %.0f stops/s"
              % (n, took, n / took), flush=True)

        # 4. Restart: kill -9 with the clocks pending; some fall due while
        # it is down, some after it is back.
        pending = sum(redis.cmd("ZCARD", "{s%d}:sla:due" % s) for s in range(16))
        t_kill = now_ms() + 3000
        later = {}
        for i in range(2000):
            due = t_kill + 1000 + int(i * (a.down * 1000 + 2000) / 2000)
            later["T%07dr%s" % (i, harness.new_id("x")[-6:])] = due
        inbox.send_all(created(t, "soon", due - SOON_S * 1000) for t, due in later.items())
        while now_ms() < t_kill:
            time.sleep(0.01)
        proc.kill()
        time.sleep(a.down)
        t_exec = now_ms()
        proc = harness.Proc("sla-timer", [a.sla], env, log_path).start()
        harness.wait_for(lambda: healthy(metrics_port), 60, interval=0.005, what="asp-sla-timer /healthz")
        t_healthy = now_ms()
        rows = collect(queue, set(later), a.down + 30)
        overdue = [r for r in rows if r[1] < t_exec]
        after = [r for r in rows if r[1] >= t_healthy]
        first = min((r[3] for r in overdue), default=float("nan"))
        print("restart with %d pending: exec -> /healthz %d ms; exec -> the first clock that fell due while "
              "it was down fired %d ms (%d such clocks, the last %d ms after exec)"
              % (pending, t_healthy - t_exec, first - t_exec, len(overdue),
                 max((r[3] for r in overdue), default=t_exec) - t_exec), flush=True)
        if after:
            lateness(after, "due after the restart")
        steady = [r for r in after if r[1] >= t_healthy + 500]
        if steady:
            lateness(steady, "due from 0.5 s after the restart")
        if not proc.running():
            raise harness.HarnessError("asp-sla-timer exited:\n" + proc.tail(30))
        return 0
    except BaseException:
        print("sla-timer.log:\n" + proc.tail(20), flush=True)
        raise
    finally:
        proc.kill()
        sinker.kill()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
