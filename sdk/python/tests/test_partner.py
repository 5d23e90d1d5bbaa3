"""The client's confirm-and-resend, dedup, reconnect and feature logic,
against a fake platform on real sockets: a ROUTER with CURVE whose ZAP
handler (pyzmq's ThreadAuthenticator) admits only the certificates in a
folder, as routing does. The partner runs its own loop in a thread; the test
plays the platform, message by message (the C SDK's self-test does the
same, partner/asp_partner.c)."""
import os
import shutil
import tempfile
import threading
import time
import unittest

import msgpack
import zmq
from zmq.auth.thread import ThreadAuthenticator

import aspw
from aspw import cert, proto

HB = 100            # the fake platform's heartbeat (ms)


class Fake:
    """The platform's side of one partner connection."""

    def __init__(self, ctx, folder, server):
        self.ctx = ctx
        self.auth = ThreadAuthenticator(ctx)
        self.auth.start()
        # Admits the keys of the *.cert files in folder, as routing does.
        self.auth.configure_curve_callback(domain="*", credentials_provider=self)
        self.folder = folder
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.curve_server = True
        self.sock.curve_secretkey = server.secret.encode()
        self.sock.curve_publickey = server.public.encode()
        self.sock.linger = 0
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.peer = None
        self.echo = True
        self.users = set()          # CURVE keys ZAP admitted

    def callback(self, domain, key):
        """ZAP: True when key (Z85) is one of the folder's certificates."""
        keys = {cert.load(os.path.join(self.folder, n)).public for n in os.listdir(self.folder)
                if n.endswith(".cert")}
        return key.decode() in keys

    def close(self):
        self.sock.close(0)
        self.auth.stop()

    def send_raw(self, *frames):
        self.sock.send_multipart([self.peer] + [f if isinstance(f, bytes) else f.encode() for f in frames])

    def send(self, cmd, **body):
        self.send_raw(b"ASPW1", cmd, msgpack.packb(body, use_bin_type=True))

    def recv(self, timeout=2.0):
        """The next command other than HEARTBEAT: (cmd, body), or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                return None
            parts = self.sock.recv_multipart(copy=False)
            assert len(parts) == 4 and parts[1].bytes == b"ASPW1", [p.bytes for p in parts]
            self.users.add(parts[1].get("User-Id"))
            self.peer = parts[0].bytes
            cmd, body = parts[2].bytes.decode(), msgpack.unpackb(parts[3].bytes)
            if cmd == "HEARTBEAT":
                if self.echo:
                    self.send("HEARTBEAT")
                continue
            return cmd, body

    def expect(self, cmd, wo_id=None, timeout=2.0):
        got = self.recv(timeout)
        assert got and got[0] == cmd, "expected %s %s, got %r" % (cmd, wo_id or "", got)
        if wo_id:
            assert got[1].get("wo_id") == wo_id, got
        return got[1]

    def quiet(self, seconds):
        got = self.recv(seconds)
        assert got is None, "unexpected %r" % (got,)

    def wait_ready(self, timeout=5.0):
        """A READY from a new connection (a fresh socket: a new routing id)."""
        old, deadline = self.peer, time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.recv(deadline - time.monotonic())
            if got and got[0] == "READY":
                assert self.peer != old, "READY on the old socket"
                return got[1]
        raise AssertionError("no READY within %.1f s" % timeout)

    def welcome(self, features=None):
        body = dict(partner_id="P1", heartbeat_ms=HB, liveness=5, offer_timeout_ms=5000)
        if features is not None:
            body["features"] = features
        self.send("WELCOME", **body)

    def offer(self, wo_id, offer_id, expires_ms=10000, cmd="OFFER", seq=0, **extra):
        body = dict(wo_id=wo_id, offer_id=offer_id, ticket_id=wo_id[1:], kind="repair",
                    category="heater", region="310000", priority=3, tier="express",
                    summary="no hot water")
        if cmd == "OFFER":
            body["expires_ms"] = expires_ms
        else:
            body["seq"] = seq
        body.update(extra)
        self.send(cmd, **body)

    def confirm(self, ref, wo_id, seq=None, duplicate=False, offer_id=None):
        body = dict(ref=ref, wo_id=wo_id, duplicate=duplicate)
        if seq:
            body["seq"] = seq
        if offer_id:
            body["offer_id"] = offer_id
        self.send("CONFIRM", **body)

    def error(self, ref, wo_id, code, **extra):
        self.send("ERROR", ref=ref, wo_id=wo_id, code=code, reason="test", **extra)


class Script:
    """The partner's application: what it does with each callback (on the
    loop's thread), and what it saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []          # (callback, details)
        self.assigned_seq = {}

    def note(self, what, *details):
        with self.lock:
            self.seen.append((what,) + details)

    def count(self, what, *details):
        with self.lock:
            return sum(1 for s in self.seen if s[0] == what and s[1:1 + len(details)] == details)

    def until(self, what, n=1, *details, timeout=3.0):
        deadline = time.monotonic() + timeout
        while self.count(what, *details) < n:
            assert time.monotonic() < deadline, "waited for %s %r x%d; saw %r" % (what, details, n, self.seen)
            time.sleep(0.01)

    def on_offer(self, p, job):
        self.note("offer", job.wo_id, job.offer_id)
        assert job.state == aspw.OFFERED
        if job.wo_id.startswith("WH"):
            return                  # held: the test withdraws it or lets it expire
        if job.wo_id.startswith("WX"):
            p.decline(job.wo_id, "busy")
            with_raises(aspw.UsageError, p.accept, job.wo_id)
        else:
            p.accept(job.wo_id)
            p.accept(job.wo_id)     # harmless

    def on_assigned(self, p, job):
        self.note("assigned", job.wo_id, job.seq, job.stage)
        self.assigned_seq[job.wo_id] = p.progress(job.wo_id, "on_site")

    def on_confirm(self, p, ref, wo_id, seq, duplicate):
        self.note("confirm", ref, wo_id, seq, duplicate)
        if ref == "ACCEPT" and wo_id == "W4" and duplicate:
            p.complete(wo_id, "fixed")
        if ref == "ACCEPT" and not duplicate and wo_id in ("W1", "W3"):
            assert p.progress(wo_id, "on_the_way", note="leaving now") == 1
            with_raises(aspw.UsageError, p.progress, wo_id, "dancing")
            with_raises(aspw.UsageError, p.complete, wo_id, "mended")
            p.complete(wo_id, "fixed", note="replaced fuse", technician="Li Wei", resolution="replaced_part",
                       parts=[{"part": "fuse", "qty": 2}], fee=5000)
            with_raises(aspw.UsageError, p.complete, wo_id, "fixed")

    def on_withdraw(self, p, wo_id, reason):
        self.note("withdraw", wo_id, reason)
        assert p.job(wo_id) is None

    def on_error(self, p, e):
        self.note("error", e.ref, e.wo_id, e.code, e.job_dropped)

    def on_welcome(self, p, partner_id, features):
        self.note("welcome", partner_id, tuple(sorted(features)))

    def on_listed(self, p, listed):
        self.note("listed", listed["count"], tuple(listed["wo_ids"]), tuple(listed["missing"]))

    def callbacks(self):
        return {k: getattr(self, k) for k in dir(self) if k.startswith("on_")}


def with_raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%s%r did not raise %s" % (fn.__name__, args, exc.__name__))


class PlatformCase(unittest.TestCase):
    """A fake platform (self.fake) that admits P1 (self.p1_secret) and not
    P2 (self.p2_secret), and partners run on threads."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="aspw-partner-test-")
        self.certs = os.path.join(self.dir, "certs")
        os.makedirs(self.certs)
        self.server = cert.Cert.new({"name": "routing"})
        cert.save(self.server, os.path.join(self.dir, "routing.cert"))
        p1 = cert.Cert.new({"name": "P1", "partner_id": "P1"})
        self.p1_key = p1.public
        self.p1_secret = os.path.join(self.dir, "P1.cert_secret")
        cert.save(p1, self.p1_secret, secret=True)
        cert.save(p1, os.path.join(self.certs, "P1.cert"))          # registered
        self.p2_secret = os.path.join(self.dir, "P2.cert_secret")
        cert.save(cert.Cert.new({"partner_id": "P2"}), self.p2_secret, secret=True)
        self.ctx = zmq.Context()
        self.fake = Fake(self.ctx, self.certs, self.server)
        self.threads = []

    def tearDown(self):
        for p, t in self.threads:
            p.stop()
            t.join(5)
        self.fake.close()
        self.ctx.term()
        shutil.rmtree(self.dir, ignore_errors=True)

    def partner(self, script, secret=None, **settings):
        cfg = dict(capacity=3, skills="heater, ac", software="selftest", heartbeat_ms=HB, liveness=3,
                   reconnect_ms=50, reconnect_max_ms=400, context=self.ctx)
        cfg.update(settings)
        p = aspw.Partner(self.fake.endpoint, secret or self.p1_secret,
                         server_cert_file=os.path.join(self.dir, "routing.cert"), **cfg, **script.callbacks())
        t = threading.Thread(target=p.run, daemon=True)
        t.start()
        self.threads.append((p, t))
        return p

    def on_loop(self, p, fn, *args):
        """Runs fn on the partner's loop and returns its result."""
        box, done = {}, threading.Event()

        def call():
            try:
                box["value"] = fn(*args)
            except Exception as e:      # handed to the test thread
                box["error"] = e
            done.set()
        p.call_later(0, call)
        assert done.wait(3), "the loop did not run the call"
        if "error" in box:
            raise box["error"]
        return box.get("value")


class PartnerTest(PlatformCase):

    def test_settings(self):
        s = Script()
        base = dict(server_cert_file=os.path.join(self.dir, "routing.cert"), **s.callbacks())
        public = os.path.join(self.certs, "P1.cert")
        for kw, text in ((dict(cert_file="/nonexistent"), "cannot read"), (dict(cert_file=public), "no secret key"),
                         (dict(server_key="abc"), "Z85"), (dict(skills="a,,b"), "skills"),
                         (dict(capacity=1001), "capacity"), (dict(capacity=True), "capacity"),
                         (dict(endpoint=""), "endpoint"), (dict(liveness=0), "timing"),
                         (dict(on_offer=None), "on_offer")):
            args = dict(base, cert_file=self.p1_secret, endpoint="tcp://127.0.0.1:1")
            args.update(kw)
            with self.assertRaises(aspw.UsageError) as cm:
                aspw.Partner(**args)
            self.assertIn(text, str(cm.exception))
        p = aspw.Partner("tcp://127.0.0.1:1", self.p1_secret, **base)
        self.assertEqual((p.partner_id, p.capacity, p.connected, p.held(), p.pending()), ("P1", 1, False, 0, 0))
        with_raises(aspw.UsageError, p.accept, "W404")
        with_raises(aspw.UsageError, p.progress, "W404", "on_site")
        with_raises(aspw.UsageError, p.unable, "W404", "no_parts")      # no WELCOME: no features
        with_raises(aspw.UsageError, p.list_work)
        with_raises(aspw.UsageError, p.set_capacity, -1)
        p.set_capacity(0)           # drain: no new offers
        self.assertEqual(p.capacity, 0)

    def test_backoff(self):
        """Reconnect delays (protocol section 6): 1 s doubling to at most
        32 s, each plus a random 0..50 %; back to 1 s after WELCOME."""
        s = Script()
        p = aspw.Partner("tcp://127.0.0.1:1", self.p1_secret, server_key=self.server.public, **s.callbacks())
        delays = []
        for _ in range(8):
            before = time.monotonic()
            p._lost("test")
            delays.append(p._reconnect_at - before)
        bounds = [(1, 1.5), (2, 3), (4, 6), (8, 12), (16, 24), (32, 48), (32, 48), (32, 48)]
        for d, (lo, hi) in zip(delays, bounds):
            self.assertTrue(lo - 0.01 <= d <= hi + 0.01, (delays, bounds))
        firsts = set()
        for _ in range(20):
            p._failures = 0
            p._lost("test")
            firsts.add(round(p._reconnect_at - time.monotonic(), 3))
        self.assertGreater(len(firsts), 1, "no jitter before the first reconnect")

    def test_protocol(self):
        f, s = self.fake, Script()
        p = self.partner(s)
        intruder = self.partner(Script(), secret=self.p2_secret)     # not registered: never gets in

        # READY carries capacity, skills, regions, features.
        ready = f.wait_ready()
        self.assertEqual(ready["capacity"], 3)
        self.assertEqual((ready["skills"], ready["regions"], ready["software"]), (["heater", "ac"], ["*"], "selftest"))
        self.assertEqual(ready["features"], list(proto.FEATURES))
        f.welcome()                 # a platform of before: no features
        s.until("welcome")
        self.assertEqual(s.seen[-1], ("welcome", "P1", ()))

        # OFFER -> ACCEPT -> CONFIRM; a repeated OFFER is the same job.
        f.offer("W1", "W1.1")
        self.assertEqual(f.expect("ACCEPT", "W1")["offer_id"], "W1.1")
        f.offer("W1", "W1.1")
        f.confirm("ACCEPT", "W1")
        body = f.expect("PROGRESS", "W1")
        self.assertEqual((body["seq"], body["stage"], body["note"]), (1, "on_the_way", "leaving now"))
        body = f.expect("COMPLETE", "W1")
        self.assertEqual(body, {"wo_id": "W1", "result": "fixed", "note": "replaced fuse", "technician": "Li Wei",
                                "resolution": "replaced_part", "parts": [{"part": "fuse", "qty": 2}],
                                "fee": 5000})
        f.confirm("PROGRESS", "W1", seq=1)
        # An unconfirmed COMPLETE goes again after 2 x heartbeat, and stops once confirmed.
        t0 = time.monotonic()
        f.expect("COMPLETE", "W1")
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        f.confirm("COMPLETE", "W1")
        f.quiet(0.5)
        self.assertEqual(s.count("offer"), 1)

        # A late OFFER or ASSIGNED for the completed job is still that job.
        f.offer("W1", "W1.2")
        self.assertEqual(f.expect("ACCEPT", "W1")["offer_id"], "W1.2")
        f.expect("COMPLETE", "W1")
        f.confirm("ACCEPT", "W1", duplicate=True)
        f.confirm("COMPLETE", "W1", duplicate=True)
        f.offer("W1", "W1.2", cmd="ASSIGNED")
        f.expect("COMPLETE", "W1")
        f.confirm("COMPLETE", "W1", duplicate=True)
        f.quiet(0.3)
        self.assertEqual((s.count("offer"), s.count("assigned")), (1, 0))

        # Garbage from the platform is counted and ignored; an OFFER it can
        # name but not read is declined at once.
        f.send_raw(b"ASPW1", b"HEARTBEAT")
        f.send_raw(b"XXXX1", b"HEARTBEAT", b"\x80")
        f.send_raw(b"ASPW1", b"OFFER", b"\xc1")
        f.send_raw(b"ASPW1", b"OFFER", b"\xdd\xff\x00\x00\x00")
        f.send_raw(b"ASPW1", b"FROB", b"\x80")
        f.send_raw(b"ASPW1", b"CONFIRM", b"\x81\xa3ref\xa6ACCEPT")
        f.send("WELCOME", partner_id="P1", heartbeat_ms="fast")
        f.send("OFFER", wo_id="W9", offer_id="W9.1", ticket_id="T9")
        body = f.expect("DECLINE", "W9")
        self.assertIn("malformed offer: field 'kind' is required", body["reason"])
        f.confirm("DECLINE", "W9")
        deadline = time.monotonic() + 2
        while p.stats["bad_messages"] < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(p.stats["bad_messages"], 8)

        # ERROR ends the refused ACCEPT and the job.
        f.offer("W2", "W2.1")
        f.expect("ACCEPT", "W2")
        f.error("ACCEPT", "W2", "offer_expired")
        s.until("error", 1, "ACCEPT", "W2", "offer_expired", True)
        f.quiet(0.3)
        self.assertIsNone(p.job("W2"))

        # An ACCEPT recorded but never confirmed: ASSIGNED is its
        # confirmation, heard once; the late CONFIRM changes nothing.
        f.offer("W4", "W4.1")
        f.expect("ACCEPT", "W4")
        f.offer("W4", "W4.1", cmd="ASSIGNED")
        f.expect("COMPLETE", "W4")
        f.confirm("ACCEPT", "W4", duplicate=True)
        f.confirm("COMPLETE", "W4")
        f.quiet(0.3)
        self.assertEqual((s.count("confirm", "ACCEPT", "W4", 0, True), s.count("assigned")), (1, 0))

        # WITHDRAW of an unanswered offer; local expiry of another; capacity
        # enforced locally (a fourth held job is declined).
        f.offer("WH1", "WH1.1")
        f.offer("WH2", "WH2.1", expires_ms=50)
        f.send("WITHDRAW", wo_id="WH1", reason="expired")
        s.until("withdraw", 2)
        for n in (3, 4, 5, 6):
            f.offer("WH%d" % n, "WH%d.1" % n)
        self.assertEqual(f.expect("DECLINE", "WH6")["reason"], "over capacity")
        f.confirm("DECLINE", "WH6")
        for n in (3, 4, 5):
            f.send("WITHDRAW", wo_id="WH%d" % n, reason="test")
        s.until("withdraw", 5)
        self.assertEqual(p.stats["auto_declines"], 1)

        # Answers name the offer: an offer_expired for the ACCEPT of an old
        # offer does not end the job accepted again under a new offer_id.
        f.offer("W8", "W8.1")
        f.offer("W8", "W8.2")
        self.assertEqual(f.expect("ACCEPT", "W8")["offer_id"], "W8.1")
        self.assertEqual(f.expect("ACCEPT", "W8")["offer_id"], "W8.2")
        f.error("ACCEPT", "W8", "offer_expired", offer_id="W8.1")
        f.confirm("ACCEPT", "W8", offer_id="W8.2")
        s.until("confirm", 1, "ACCEPT", "W8")
        self.assertEqual(s.count("error", "ACCEPT", "W8"), 0)
        self.assertEqual(p.job("W8").state, aspw.ACCEPTED)

        # not_accepted and rate_limited keep the command for a later resend.
        seq = self.on_loop(p, p.progress, "W8", "note", "n1")
        self.assertEqual(f.expect("PROGRESS", "W8")["seq"], seq)
        f.error("PROGRESS", "W8", "not_accepted", seq=seq)
        self.assertEqual(f.expect("PROGRESS", "W8")["seq"], seq)
        f.error("PROGRESS", "W8", "rate_limited", seq=seq)
        self.assertEqual(f.expect("PROGRESS", "W8")["seq"], seq)
        f.confirm("PROGRESS", "W8", seq=seq)
        # bad_appointment costs that step only.
        seq = self.on_loop(p, lambda: p.progress("W8", "scheduled", appointment_ms=1, end_ms=2))
        f.expect("PROGRESS", "W8")
        f.error("PROGRESS", "W8", "bad_appointment", seq=seq)
        s.until("error", 1, "PROGRESS", "W8", "bad_appointment", False)
        with self.assertRaises(aspw.UsageError):       # a slot end needs a booking
            self.on_loop(p, lambda: p.progress("W8", "on_site", appointment_ms=1, end_ms=2))
        self.assertEqual(p.job("W8").state, aspw.ACCEPTED)
        f.quiet(0.3)

        # The platform goes silent: a fresh socket, READY, and after WELCOME
        # whatever is unconfirmed, in order.
        f.offer("W3", "W3.1")
        f.expect("ACCEPT", "W3")
        f.confirm("ACCEPT", "W3")
        f.expect("PROGRESS", "W3")
        f.expect("COMPLETE", "W3")
        f.echo = False
        f.wait_ready()
        f.echo = True
        f.welcome(features=["list", "unable", "appointment", "detail"])
        f.expect("PROGRESS", "W3")
        f.expect("COMPLETE", "W3")
        f.confirm("PROGRESS", "W3", seq=1, duplicate=True)
        f.confirm("COMPLETE", "W3")
        s.until("welcome", 2)
        s.until("confirm", 1, "COMPLETE", "W3")
        self.assertEqual(p.job("W3").state, aspw.DONE)

        # LIST: the platform says ASSIGNED per accepted work order, OFFER per
        # open offer, then LISTED; W8 (held here) is not listed: missing.
        self.on_loop(p, p.list_work)
        self.assertEqual(f.expect("LIST"), {})
        f.offer("W5", "W5.1", cmd="ASSIGNED", seq=2, stage="scheduled", technician="Li Wei")
        f.send("LISTED", count=1, assigned=1, offered=0)
        s.until("listed")
        self.assertEqual([e for e in s.seen if e[0] == "listed"], [("listed", 1, ("W5",), ("W8",))])
        # ASSIGNED of an unknown job resumes it after the platform's seq; a
        # second ASSIGNED is the same job.
        self.assertEqual(f.expect("PROGRESS", "W5")["seq"], 3)
        self.assertEqual(s.count("assigned", "W5", 2, "scheduled"), 1)
        f.offer("W5", "W5.1", cmd="ASSIGNED", seq=2)
        f.confirm("PROGRESS", "W5", seq=3)
        f.quiet(0.3)
        self.assertEqual(s.count("assigned"), 1)

        # UNABLE gives W5 back: confirmed, it leaves. A final ERROR for an
        # UNABLE ends the job too (protocol section 4).
        self.on_loop(p, p.unable, "W5", "no_parts", "compressor out of stock")
        self.on_loop(p, p.unable, "W5", "no_parts")                # on its way: nothing more
        self.assertEqual(f.expect("UNABLE", "W5"), {"wo_id": "W5", "reason": "no_parts",
                                                    "note": "compressor out of stock"})
        with self.assertRaises(aspw.UsageError):
            self.on_loop(p, p.progress, "W5", "on_site")            # being handed back
        f.confirm("UNABLE", "W5")
        s.until("confirm", 1, "UNABLE", "W5")
        self.assertIsNone(p.job("W5"))
        with self.assertRaises(aspw.UsageError):
            self.on_loop(p, p.unable, "W8", "partner_removed")     # the platform's own word
        self.on_loop(p, p.unable, "W8", "out_of_area")
        f.expect("UNABLE", "W8")
        f.error("UNABLE", "W8", "bad_state")
        s.until("error", 1, "UNABLE", "W8", "bad_state", True)
        self.assertIsNone(p.job("W8"))
        # UNABLE only once the ACCEPT is confirmed.
        f.offer("W6", "W6.1")
        f.expect("ACCEPT", "W6")
        with self.assertRaises(aspw.UsageError):
            self.on_loop(p, p.unable, "W6", "no_skill")
        f.confirm("ACCEPT", "W6")
        s.until("confirm", 1, "ACCEPT", "W6")

        # WITHDRAW cancelled takes back even accepted work; another reason does not.
        f.send("WITHDRAW", wo_id="W6", reason="expired")
        f.quiet(0.2)
        self.assertIsNotNone(p.job("W6"))
        f.send("WITHDRAW", wo_id="W6", reason="cancelled")
        s.until("withdraw", 1, "W6", "cancelled")

        # DISCONNECT and not_ready: a fresh socket and READY, nothing refused for good.
        f.send("DISCONNECT", reason="unknown connection")
        f.wait_ready()
        f.welcome()
        s.until("welcome", 3)
        f.error("PROGRESS", "W6", "not_ready")
        f.wait_ready()
        f.welcome()
        s.until("welcome", 4)
        # Drain: capacity 0 says READY again and declines what still comes.
        self.on_loop(p, p.set_capacity, 0)
        self.assertEqual(f.expect("READY")["capacity"], 0)

        # The unregistered key never got through; the registered one did.
        self.assertGreaterEqual(intruder.stats["connects"], 2)
        self.assertEqual(intruder.stats["welcomes"], 0)
        self.assertEqual(f.users, {self.p1_key})

        # stop(): DISCONNECT on the way out.
        p.stop()
        f.expect("DISCONNECT")


if __name__ == "__main__":
    unittest.main()
