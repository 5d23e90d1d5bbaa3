"""Starts a whole local cluster tuned for measurement and runs asp-bench
against it. Used by scripts/bench.sh; prints the settings it used, then
asp-bench's figures.

    /usr/bin/python3 bench/run_bench.py [--tickets N] [--concurrency C]
        [--rate R] [--partners P] [--capacity K] [--fsync everysec|always]
        [--perf SERVICE]   (also profile one service with perf, cpu-clock)
        [--lookup-units N [--lookups M]]  (the archive lookup instead: N
                           units loaded straight into Redis, then M lookups
                           by phone and M by serial over HTTP)
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU seconds of a process (and its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--partners", type=int, default=2)
    ap.add_argument("--capacity", type=int, default=500)
    ap.add_argument("--progress", type=int, default=1,
                    help="PROGRESS reports per job; the first books an appointment (scheduled), "
                         "0 = a life without one: what the platform's mechanisms cost alone")
    ap.add_argument("--fsync", default="everysec", choices=("everysec", "always"))
    ap.add_argument("--queries", type=int, default=1000, help="list/search requests of each kind")
    ap.add_argument("--perf", default=None, help="service to profile with perf record")
    ap.add_argument("--insecure-bus", action="store_true",
                    help="plain ZeroMQ between the services (ASP_BUS_INSECURE=1): CURVE's cost")
    ap.add_argument("--lookup-units", type=int, default=0,
                    help="benchmark GET /v1/lookup on an archive of this many units")
    ap.add_argument("--lookups", type=int, default=20000)
    a = ap.parse_args()
    if a.lookup_units:
        return lookup_bench(a)

    partners = [{"capacity": a.capacity, "accept_ratio": 1.0, "accept_delay_ms": 0, "work_ms": 0,
                 "progress": a.progress} for _ in range(a.partners)]
    env = {"ASP_LOG_LEVEL": "warn", "ASP_RESEND_MS": 1000, "ASP_OFFER_TIMEOUT_MS": 10000,
           "ASP_BUS_INSECURE": 1 if a.insecure_bus else 0,
           # As deployed (the tests turn it off): the quiet hours cost a read
           # of the customer's zone per customer notification.
           "ASP_NOTIFY_QUIET_HOURS": "on"}
    with harness.Cluster(partners=partners, env=env, name="bench") as c:
        if a.fsync != "everysec":
            c.redis.cmd("CONFIG", "SET", "appendfsync", a.fsync)
        info = c.redis.cmd("INFO", "server")
        version = [l for l in info.splitlines() if l.startswith("redis_version")][0]
        print("redis-server: %s, appendonly yes, appendfsync %s, on 127.0.0.1:%d (fresh data dir)"
              % (version.split(":")[1], c.redis.cmd("CONFIG", "GET", "appendfsync")[1], c.redis.port))
        print("partners: %d simulated, capacity %d each, accept ratio 1.0, accept delay 0 ms, "
              "work 0 ms, %d progress report(s)" % (a.partners, a.capacity, a.progress))
        print("customer: asp-sim-customer answers each survey request at once (webhook)")
        print("machine: %d cores; services built %s" % (os.cpu_count(), harness.BIN_DIR))
        print("bus: %s" % ("plain ZeroMQ (--insecure-bus)" if a.insecure_bus else "CurveZMQ"))
        sys.stdout.flush()
        perf = None
        if a.perf:
            pid = c.proc(a.perf).pid
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-o",
                                     "/tmp/asp-bench-%s.perf" % a.perf, "-p", str(pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        metrics = ",".join("http://127.0.0.1:%d/metrics" % c.metrics_port(s) for s in harness.SERVICES)
        print("services (the order of per-service figures): %s" % " ".join(harness.SERVICES))
        argv = [harness.binary("asp-bench"), "--url", c.base_url, "--tickets", str(a.tickets),
                "--concurrency", str(a.concurrency), "--rate", str(a.rate),
                "--watch", "http://127.0.0.1:%d/metrics" % c.metrics_port("feedback"),
                "--metrics", metrics, "--redis", "127.0.0.1:%d" % c.redis.port,
                "--redis-password", c.redis.password]
        c.redis.cmd("CONFIG", "RESETSTAT")
        cpu0 = {n: cpu_seconds(c.proc(n).pid) for n in c.names()}
        rc = subprocess.call(argv + ["--queries", "0"])
        cpu1 = {n: cpu_seconds(c.proc(n).pid) for n in c.names()}
        total = sum(cpu1[n] - cpu0[n] for n in cpu0) or 1
        print("CPU time by process during the run (ms per ticket life, share):")
        for n in sorted(cpu0, key=lambda n: cpu0[n] - cpu1[n]):
            d = cpu1[n] - cpu0[n]
            print("  %-13s %7.3f ms  %5.1f%%" % (n, 1000 * d / a.tickets, 100 * d / total))
        # Where Redis's work went: commands per ticket life, by command.
        stats = []
        for line in c.redis.cmd("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[8:].split(":", 1)
                fields = dict(kv.split("=") for kv in rest.split(","))
                stats.append((int(fields["calls"]), float(fields["usec"]), name))
        stats.sort(reverse=True)
        total_us = sum(s[1] for s in stats) or 1
        print("redis commands by kind (per ticket life, share of Redis CPU):")
        for calls, usec, name in stats[:12]:
            print("  %-14s %8.2f calls  %5.1f%%" % (name, calls / a.tickets, 100 * usec / total_us))
        if perf:
            perf.send_signal(2)
            perf.wait()
            print("perf profile of %s: perf report -i /tmp/asp-bench-%s.perf" % (a.perf, a.perf))
        for s in harness.SERVICES:
            print("  %-13s outbox pending %d" % (s, c.metric(s, "asp_outbox_pending")))
        # List and search over every ticket now in Redis (after the lives,
        # so the figures above are the lives' alone).
        if a.queries and rc == 0:
            sys.stdout.flush()
            c.redis.cmd("CONFIG", "RESETSTAT")
            cpu0 = cpu_seconds(c.proc("intake").pid)
            rc = subprocess.call(argv + ["--queries", str(a.queries), "--only-queries"])
            n = 5 * a.queries
            print("  intake CPU %.3f ms per request; redis %.1f commands per request"
                  % (1000 * (cpu_seconds(c.proc("intake").pid) - cpu0) / n,
                     int(c.redis.cmd("INFO", "stats").split("total_commands_processed:")[1].split()[0]) / n))
    return rc


def lookup_bench(a):
    """The agent's first screen at scale: intake and a durable (AOF) Redis;
    no partners (nothing else runs while it measures)."""
    env = {"ASP_LOG_LEVEL": "warn"}
    with harness.Cluster(partners=0, customer=False, env=env, name="bench-lookup") as c:
        if a.fsync != "everysec":
            c.redis.cmd("CONFIG", "SET", "appendfsync", a.fsync)
        info = c.redis.cmd("INFO", "server")
        version = [l for l in info.splitlines() if l.startswith("redis_version")][0]
        print("redis-server: %s, appendonly %s, appendfsync %s, on 127.0.0.1:%d (fresh data dir)"
              % (version.split(":")[1], c.redis.cmd("CONFIG", "GET", "appendonly")[1],
                 c.redis.cmd("CONFIG", "GET", "appendfsync")[1], c.redis.port))
        print("machine: %d cores; services built %s" % (os.cpu_count(), harness.BIN_DIR))
        sys.stdout.flush()
        argv = [harness.binary("asp-bench"), "--url", c.base_url, "--lookup-units", str(a.lookup_units),
                "--lookups", str(a.lookups), "--concurrency", str(a.concurrency),
                "--redis", "127.0.0.1:%d" % c.redis.port, "--redis-password", c.redis.password]
        cpu0 = cpu_seconds(c.proc("intake").pid)
        rc = subprocess.call(argv)
        cpu1 = cpu_seconds(c.proc("intake").pid)
        print("intake CPU during the run: %.1f s" % (cpu1 - cpu0))
        aof = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(c.redis.dir) for f in fs)
        print("redis data dir (AOF): %.0f MB" % (aof / 1048576.0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
