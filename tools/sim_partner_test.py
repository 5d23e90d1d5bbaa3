#!/usr/bin/python3
"""End-to-end test of asp-sim-partner against a fake ASPW/1 platform.

usage: sim_partner_test.py ASP_SIM_PARTNER ASP_CERTGEN [PORT]

The fake platform is a CURVE ROUTER that plays routing's part of the
protocol (docs/partner-protocol.md): WELCOME, OFFER, CONFIRM, ASSIGNED after
a restart. The test kills the sim partner with SIGKILL while it holds
accepted work, restarts it, and checks from the platform's records and the
sim's journal that every work order is completed exactly once and that no
work order was handled twice as two different jobs. Then SIGTERM (clean
exit with DISCONNECT), a decline-only run, and bad flags (exit 2).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import zmq
from zmq.auth.thread import ThreadAuthenticator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import aspw  # noqa: E402  (the shared description of the protocol)

HB_MS = 200


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


read_cert = aspw.read_cert


class Platform:
    """The routing side, as far as one partner needs it."""

    def __init__(self, ctx, endpoint, server_cert, partner_key):
        pub, sec = read_cert(server_cert)
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.curve_publickey = pub
        self.sock.curve_secretkey = sec
        self.sock.curve_server = True
        self.sock.linger = 0
        self.sock.bind(endpoint)
        self.partner_key = partner_key.decode()
        self.peer = None
        self.orders = {}        # wo_id -> {"state", "seq", "attempt", "offer_id"}
        self.log = []           # (command, body) received, in order
        self.last_hb = 0

    def send(self, cmd, body):
        self.sock.send_multipart([self.peer] + aspw.frames(cmd, body))

    def offer(self, wo_id):
        o = self.orders.setdefault(wo_id, {"state": "new", "seq": 0, "attempt": 0})
        o["attempt"] += 1
        o["offer_id"] = "%s.%d" % (wo_id, o["attempt"])
        o["state"] = "offered"
        self.send("OFFER", self.job_body(wo_id) | {"offer_id": o["offer_id"], "expires_ms": 10000})

    def job_body(self, wo_id):
        o = self.orders[wo_id]
        return {"wo_id": wo_id, "offer_id": o.get("offer_id", ""), "ticket_id": wo_id[1:],
                "kind": "installation" if wo_id.endswith("5") else "repair",
                "category": "heater", "region": "310000", "priority": 3,
                "tier": "standard", "summary": "no hot water"}

    def confirm(self, ref, wo_id, duplicate, seq=None, offer_id=None):
        body = {"ref": ref, "wo_id": wo_id, "duplicate": duplicate}
        if seq is not None:
            body["seq"] = seq
        if offer_id is not None:
            body["offer_id"] = offer_id
        self.send("CONFIRM", body)

    def step(self, timeout_ms):
        """Handles what arrives within timeout_ms; returns commands seen."""
        seen = []
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            now = time.monotonic()
            if self.peer and now - self.last_hb >= HB_MS / 1000:
                self.send("HEARTBEAT", {})
                self.last_hb = now
            left = deadline - now
            if left <= 0:
                return seen
            if not self.sock.poll(min(left, HB_MS / 2000) * 1000):
                continue
            frames = self.sock.recv_multipart(copy=False)
            if len(frames) != 4:
                fail("bad framing from partner: %r" % [f.bytes for f in frames])
            if frames[1].get("User-Id") != self.partner_key:
                fail("message from an unexpected key")
            try:
                cmd, body = aspw.parse(frames[1:], sender="partner")
            except ValueError as e:
                fail("from partner: %s" % e)
            self.peer = frames[0].bytes
            seen.append(cmd)
            self.log.append((cmd, body))
            self.handle(cmd, body)

    def handle(self, cmd, body):
        if cmd == "READY":
            if not (body["capacity"] == 5 and body["skills"] == ["heater", "ac"]
                    and body["regions"] == ["*"]):
                fail("READY body %r" % body)
            self.send("WELCOME", {"partner_id": "P1", "heartbeat_ms": HB_MS, "liveness": 3,
                                  "offer_timeout_ms": 10000})
            for wo_id, o in sorted(self.orders.items()):
                if o["state"] == "assigned":
                    self.send("ASSIGNED", self.job_body(wo_id) | {"seq": o["seq"]})
        elif cmd == "ACCEPT":
            o = self.orders[body["wo_id"]]
            current = body["offer_id"] == o["offer_id"]
            if o["state"] == "assigned" and current:
                self.confirm("ACCEPT", body["wo_id"], True, offer_id=body["offer_id"])
            elif o["state"] == "offered" and current:
                o["state"] = "assigned"
                self.confirm("ACCEPT", body["wo_id"], False, offer_id=body["offer_id"])
            else:
                self.send("ERROR", {"ref": "ACCEPT", "wo_id": body["wo_id"],
                                    "offer_id": body["offer_id"],
                                    "code": "offer_expired", "reason": "not the current offer"})
        elif cmd == "DECLINE":
            o = self.orders[body["wo_id"]]
            dup = o["state"] == "declined"
            o["state"] = "declined"
            self.confirm("DECLINE", body["wo_id"], dup, offer_id=body["offer_id"])
        elif cmd == "PROGRESS":
            o = self.orders[body["wo_id"]]
            if o["state"] not in ("assigned", "completed"):
                fail("PROGRESS on %s in state %s" % (body["wo_id"], o["state"]))
            dup = body["seq"] <= o["seq"]
            o["seq"] = max(o["seq"], body["seq"])
            self.confirm("PROGRESS", body["wo_id"], dup, body["seq"])
        elif cmd == "COMPLETE":
            o = self.orders[body["wo_id"]]
            if o["state"] not in ("assigned", "completed"):
                fail("COMPLETE on %s in state %s" % (body["wo_id"], o["state"]))
            dup = o["state"] == "completed"
            o["state"] = "completed"
            o["completes"] = o.get("completes", 0) + (0 if dup else 1)
            o["result"] = body["result"]
            self.confirm("COMPLETE", body["wo_id"], dup)
        elif cmd in ("HEARTBEAT", "DISCONNECT"):
            pass
        else:
            fail("unexpected command %s" % cmd)

    def wait(self, what, cond, timeout_ms):
        deadline = time.monotonic() + timeout_ms / 1000
        while not cond():
            if time.monotonic() > deadline:
                fail("timed out waiting for " + what)
            self.step(20)


def journal(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def bad_flags(sim, env):
    cases = [
        ["--capacity", "0"], ["--accept-ratio", "1.5"], ["--accept-ratio", "x"],
        ["--work-ms", "-1"], ["--bogus"], ["--capacity"], ["extra"],
        ["--skills", "a,,b"], ["--cert", "/nonexistent"],
    ]
    for args in cases:
        r = subprocess.run([sim] + args, env=env, capture_output=True, text=True, timeout=10)
        if r.returncode != 2 or not r.stderr.strip():
            fail("%r: exit %d, stderr %r" % (args, r.returncode, r.stderr))
    bad_env = dict(env, ASP_SIM_CAPACITY="abc")
    r = subprocess.run([sim], env=bad_env, capture_output=True, text=True, timeout=10)
    if r.returncode != 2 or "ASP_SIM_CAPACITY" not in r.stderr:
        fail("bad env: exit %d, stderr %r" % (r.returncode, r.stderr))
    no_cert = {k: v for k, v in env.items() if k != "ASP_SIM_CERT"}
    r = subprocess.run([sim], env=no_cert, capture_output=True, text=True, timeout=10)
    if r.returncode != 2 or "--cert" not in r.stderr:
        fail("missing cert: exit %d, stderr %r" % (r.returncode, r.stderr))


def certgen_checks(certgen, tmp):
    """asp-certgen refuses to overwrite without --force and checks its input."""
    x = os.path.join(tmp, "x")
    run = lambda *a: subprocess.run([certgen] + list(a), capture_output=True, text=True, timeout=10)
    if run("--name", "X", "--partner-id", "PX", "--out", x).returncode != 0:
        fail("certgen X")
    key, secret = read_cert(os.path.join(x, "X.cert_secret"))
    if secret is None or read_cert(os.path.join(x, "X.cert"))[1] is not None:
        fail("certgen: secret key in the wrong file")
    if os.stat(os.path.join(x, "X.cert_secret")).st_mode & 0o077:
        fail("certgen: secret file readable by others")
    if 'partner_id = "PX"' not in open(os.path.join(x, "X.cert")).read():
        fail("certgen: no partner_id metadata")
    r = run("--name", "X", "--out", x)
    if r.returncode != 1 or "--force" not in r.stderr or read_cert(os.path.join(x, "X.cert"))[0] != key:
        fail("certgen overwrote without --force: %r" % r.stderr)
    if run("--name", "X", "--out", x, "--force").returncode != 0 \
            or read_cert(os.path.join(x, "X.cert"))[0] == key:
        fail("certgen --force")
    for args in (["--name", "../X", "--out", x], ["--name", ".hidden", "--out", x],
                 ["--partner-id", "a b", "--out", x], ["--out", x], ["--name", "Y"], ["--what"]):
        r = run(*args)
        if r.returncode != 2 or not r.stderr:
            fail("certgen %r: exit %d" % (args, r.returncode))
    if sorted(os.listdir(x)) != ["X.cert", "X.cert_secret"]:
        fail("certgen left files behind: %r" % os.listdir(x))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sim, certgen = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 17202
    endpoint = "tcp://127.0.0.1:%d" % port
    tmp = tempfile.mkdtemp(prefix="asp-sim-test-")
    procs = []
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    try:
        for args in (["--name", "routing"], ["--partner-id", "P1"]):
            subprocess.run([certgen] + args + ["--out", tmp], check=True, capture_output=True)
        partner_key, _ = read_cert(os.path.join(tmp, "P1.cert"))
        certgen_checks(certgen, tmp)
        auth.start()
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        plat = Platform(ctx, endpoint, os.path.join(tmp, "routing.cert_secret"), partner_key)
        jpath = os.path.join(tmp, "journal.jsonl")
        env = dict(os.environ, ASP_SIM_ENDPOINT=endpoint,
                   ASP_SIM_CERT=os.path.join(tmp, "P1.cert_secret"),
                   ASP_SIM_SERVER_CERT=os.path.join(tmp, "routing.cert"),
                   ASP_LOG_LEVEL="warn")
        args = [sim, "--capacity", "5", "--skills", "heater,ac", "--accept-delay-ms", "10",
                "--work-ms", "1500", "--progress", "2", "--journal", jpath,
                "--reconnect-ms", "100"]
        bad_flags(sim, env)

        # Run 1: five offers accepted, then SIGKILL while the work goes on.
        p1 = subprocess.Popen(args, env=env)
        procs.append(p1)
        plat.wait("READY", lambda: any(c == "READY" for c, _ in plat.log), 5000)
        for i in range(1, 6):
            plat.offer("W%d" % i)
        plat.offer("W1")        # a second offer of a held job is the same job
        plat.wait("accepts", lambda: all(o["state"] == "assigned" for o in plat.orders.values()), 5000)
        plat.wait("first PROGRESS", lambda: any(o["seq"] >= 1 for o in plat.orders.values()), 5000)
        p1.send_signal(signal.SIGKILL)
        p1.wait()
        # What the partner sent before it died may still sit in the
        # platform's socket: take it in before noting the seqs the
        # platform holds (it answers the resumed partner with those).
        plat.step(200)
        if any(o["state"] == "completed" for o in plat.orders.values()):
            fail("work completed before the kill; raise --work-ms")
        seqs_at_kill = {w: o["seq"] for w, o in plat.orders.items()}

        # Run 2: the platform notices the silence (no heartbeats) and the
        # restarted partner gets ASSIGNED for each open work order.
        plat.step(3 * HB_MS + 100)
        plat.peer = None
        p2 = subprocess.Popen(args, env=env)
        procs.append(p2)
        plat.wait("completion", lambda: all(o["state"] == "completed" for o in plat.orders.values()), 10000)
        plat.step(3 * HB_MS)    # late duplicates, if any, arrive now
        for w, o in plat.orders.items():
            if o["completes"] != 1:
                fail("%s completed %d times" % (w, o["completes"]))
            want = "installed" if w.endswith("5") else "fixed"
            if o["result"] != want:
                fail("%s result %s" % (w, o["result"]))
            if o["seq"] != 2:
                fail("%s ended at PROGRESS seq %d" % (w, o["seq"]))

        # SIGTERM: DISCONNECT, exit 0.
        n = len(plat.log)
        p2.send_signal(signal.SIGTERM)
        if p2.wait(timeout=5) != 0:
            fail("sim exited %d on SIGTERM" % p2.returncode)
        plat.step(300)
        if ("DISCONNECT", {}) not in plat.log[n:]:
            fail("no DISCONNECT on SIGTERM")

        # The journal: per work order one job in each process, offer and
        # accept only in the first, assigned only in the second, one
        # complete overall, progress seqs never repeated.
        events = journal(jpath)
        pids = {p1.pid: 1, p2.pid: 2}
        for w in plat.orders:
            ev = [e for e in events if e["wo_id"] == w]
            run = lambda name: [pids[e["pid"]] for e in ev if e["event"] == name]
            if run("offer") != [1] or run("accept") != [1]:
                fail("%s offers/accepts %r %r" % (w, run("offer"), run("accept")))
            if run("assigned") != [2] or run("complete") != [2]:
                fail("%s assigned/complete %r %r" % (w, run("assigned"), run("complete")))
            assigned = [e for e in ev if e["event"] == "assigned"][0]
            if assigned["seq"] != seqs_at_kill[w]:
                fail("%s resumed at seq %d, platform had %d" % (w, assigned["seq"], seqs_at_kill[w]))
            # A PROGRESS the first process journaled may have died in its
            # socket with it: the platform never saw it, so the second
            # process resumes below it and sends that seq again. What
            # must hold: no seq repeated within one process, the second
            # process only above what the platform held, and seq 2 last.
            progress = [(pids[e["pid"]], e["seq"]) for e in ev if e["event"] == "progress"]
            seqs = [s for _, s in progress]
            second = [s for r, s in progress if r == 2]
            if (len(set(progress)) != len(progress)
                    or any(s <= seqs_at_kill[w] for s in second)
                    or not seqs or max(seqs) != 2):
                fail("%s progress (run, seq) %r, platform had %d at the kill"
                     % (w, progress, seqs_at_kill[w]))
            if any(e["partner"] != "P1" for e in ev):
                fail("journal partner field")

        # Run 3: accept-ratio 0 declines everything.
        plat.peer = None
        p3 = subprocess.Popen([sim, "--accept-ratio", "0", "--accept-delay-ms", "0",
                               "--capacity", "5", "--skills", "heater,ac"], env=env)
        procs.append(p3)
        plat.wait("READY", lambda: plat.peer is not None, 5000)
        plat.offer("W6")
        plat.wait("decline", lambda: plat.orders["W6"]["state"] == "declined", 5000)
        p3.send_signal(signal.SIGINT)
        if p3.wait(timeout=5) != 0:
            fail("sim exited %d on SIGINT" % p3.returncode)
        print("sim partner test: passed (%d journal lines)" % len(events))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        auth.stop()
        ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
