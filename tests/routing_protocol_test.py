#!/usr/bin/python3
"""End-to-end test of asp-routing and the partner protocol (ASPW/1).

Standalone, with the pieces of tests/harness.py: starts its own
redis-server (harness.Redis) and asp-routing (from ASP_BIN_DIR) on free
ports, makes CURVE certificates, plays several partners (DEALER + CURVE,
msgpack) and a bus sender (a harness.Bus sending ticket.created to
routing's inbox). No other service runs: routing's outbox keeps the events
for them in Redis (ob:routing:<service>), where this test reads them.

Covers: offer -> accept -> progress -> complete with CONFIRMs and the bus
events; decline -> re-offer to the other partner; offer timeout -> WITHDRAW
-> re-offer; another partner's work order -> ERROR not_yours; pending when
nothing fits, offered on READY and when credit frees; liveness expiry; an
unknown certificate is refused without a reply; unknown peers get
DISCONNECT; garbage -> ERROR bad_message and the service keeps serving;
SIGKILL of routing mid-way and restart -> every work order completes once,
under the same wo_id. Exit status 0 = pass.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/routing_protocol_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import http.client
import os
import shutil
import subprocess
import tempfile
import time

import msgpack
import zmq

import aspw
import harness
from harness import HarnessError, Proc, Redis, binary, free_port, key, new_id, run, shard_keys, wait_for

SCALE = harness.TIMEOUT_SCALE

HEARTBEAT_MS = 300
LIVENESS = 3
OFFER_TIMEOUT_MS = int(2000 * SCALE)

ctx = zmq.Context.instance()
TMP = tempfile.mkdtemp(prefix="routing-test-")


def log(*args):
    print("[routing_protocol_test]", *args, flush=True)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def waiting(predicate, timeout, failure):
    """harness.wait_for for a predicate that pumps the sockets itself (so no
    sleep in between); on a time-out, fails with failure(): the state then."""
    try:
        return wait_for(predicate, timeout, interval=0)
    except HarnessError:
        raise Failure(failure())


# --- certificates (zcert format; the public ones carry partner_id) -------------

write_cert = aspw.write_cert


def make_certs():
    certs = os.path.join(TMP, "partner-certs")
    os.makedirs(certs)
    rpub, rsec = zmq.curve_keypair()
    write_cert(os.path.join(TMP, "routing.cert"), rpub)
    write_cert(os.path.join(TMP, "routing.cert_secret"), rpub, rsec)
    keys = {}
    for pid in ("P1", "P2", "P3"):
        pub, sec = zmq.curve_keypair()
        write_cert(os.path.join(certs, pid + ".cert"), pub, meta={"partner_id": pid})
        keys[pid] = (pub, sec)
    keys["PX"] = zmq.curve_keypair()            # never put in the folder
    return certs, rpub, keys


# --- routing ------------------------------------------------------------------

class Routing:
    def __init__(self, redis, certs):
        self.binary = binary("asp-routing")
        self.partner_port = free_port()
        self.metrics_port = free_port()
        self.bus = "tcp://127.0.0.1:%d" % free_port()
        self.env = dict(os.environ)
        self.env.update(redis.env())
        self.env.update({
            "ASP_ROUTING_BUS": self.bus,
            # Nobody listens there: the outbox keeps the events in Redis.
            "ASP_INTAKE_BUS": "tcp://127.0.0.1:%d" % free_port(),
            "ASP_SLA_BUS": "tcp://127.0.0.1:%d" % free_port(),
            "ASP_NOTIFICATION_BUS": "tcp://127.0.0.1:%d" % free_port(),
            "ASP_FEEDBACK_BUS": "tcp://127.0.0.1:%d" % free_port(),
            "ASP_PARTNER_BIND": "tcp://127.0.0.1:%d" % self.partner_port,
            "ASP_PARTNER_CERTS": certs,
            "ASP_ROUTING_CERT": os.path.join(TMP, "routing.cert_secret"),
            "ASP_METRICS_PORT": str(self.metrics_port),
            "ASP_HEARTBEAT_MS": str(HEARTBEAT_MS),
            "ASP_LIVENESS": str(LIVENESS),
            "ASP_OFFER_TIMEOUT_MS": str(OFFER_TIMEOUT_MS),
            "ASP_LOG_LEVEL": "info",
        })
        self.env.pop("ASP_BUS_BIND", None)
        self.bus_certs = harness.BusCerts(os.path.join(TMP, "bus-certs"))
        self.env.update(self.bus_certs.env("routing"))
        self.proc = Proc("routing", [self.binary], self.env, os.path.join(TMP, "routing.log"))

    def start(self):
        self.proc.start()

        def healthy():
            check(self.proc.running(), "asp-routing exited with %s" % self.proc.popen.poll())
            try:
                return self.http("/healthz")[0] == 200
            except OSError:
                return False
        wait_for(healthy, 10, what="asp-routing to become healthy")

    def http(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=5)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r.status, body

    def metric(self, name):
        _, text = self.http("/metrics")
        for line in text.splitlines():
            if line.startswith("asp_" + name + "{") or line.startswith("asp_" + name + " "):
                return float(line.rsplit(" ", 1)[1])
        raise Failure("metric asp_%s not found in:\n%s" % (name, text))


# --- the bus sender -----------------------------------------------------------

class Bus(harness.Bus):
    """Routing's bus inbox, as the producer of ticket.created (intake) sees it."""

    def send_ticket(self, ticket, body, msg_id=None):
        """Sends one ticket.created; returns (its id, the ACK/NAK answer)."""
        msg_id = msg_id or new_id("m")
        reply = self.publish("ticket.created", ticket, body, id=msg_id)
        check(reply is not None, "no ACK/NAK from routing's bus inbox")
        return msg_id, reply

    def ticket(self, ticket, category="heater", region="shanghai", msg_id=None):
        body = {"type": "repair", "tier": "standard", "priority": 2, "category": category,
                "region": region, "model": "X1", "serial": "S1", "summary": "no hot water",
                "customer_name": "王先生", "customer_phone": "13812345678",
                "customer_class": "B", "channel": "hotline"}
        msg_id, reply = self.send_ticket(ticket, body, msg_id)
        check(reply == ["ACK", msg_id], "ticket.created %s answered %r" % (ticket, reply))
        return msg_id


# --- partners -----------------------------------------------------------------

class Partner:
    """One partner connection: DEALER + CURVE, frames [ASPW1, CMD, msgpack]."""

    def __init__(self, side, pid, keys, capacity=3, skills=("*",), regions=("*",)):
        self.h = side
        self.pid = pid
        self.pub, self.sec = keys
        self.capacity, self.skills, self.regions = capacity, list(skills), list(regions)
        self.heartbeat = True           # the PartnerSide heartbeats for us while pumping
        self.inbox = []
        self.sock = None
        self.connect()
        side.partners.append(self)

    def connect(self):
        if self.sock is not None:
            self.sock.close(0)
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        # A DEALER whose handshake failed has no peer and would block on send.
        s.sndtimeo = 2000
        s.curve_publickey = self.pub
        s.curve_secretkey = self.sec
        s.curve_serverkey = self.h.routing_pub
        s.connect("tcp://127.0.0.1:%d" % self.h.routing.partner_port)
        self.sock = s
        self.inbox = []
        self.last_hb = 0

    def send_raw(self, frames):
        self.sock.send_multipart(frames)

    def send(self, cmd, body=None):
        self.send_raw(aspw.frames(cmd, body))

    def ready(self, expect_assigned=None):
        self.send("READY", {"capacity": self.capacity, "skills": self.skills,
                            "regions": self.regions, "software": "routing_protocol_test"})
        welcome = self.h.expect(self, "WELCOME")
        check(welcome["partner_id"] == self.pid, "WELCOME for %s: %r" % (self.pid, welcome))
        check(welcome["heartbeat_ms"] == HEARTBEAT_MS and welcome["liveness"] == LIVENESS
              and welcome["offer_timeout_ms"] == OFFER_TIMEOUT_MS, "WELCOME fields %r" % welcome)
        return welcome

    def command(self, cmd, body, expect="CONFIRM"):
        """Sends cmd and returns its answer, which must echo ref, wo_id and
        the offer_id (ACCEPT, DECLINE) or seq (PROGRESS) of the command."""
        self.send(cmd, body)
        echo = "offer_id" if cmd in ("ACCEPT", "DECLINE") else "seq" if cmd == "PROGRESS" else None
        reply = self.h.expect(self, ("CONFIRM", "ERROR"), lambda b: b.get("wo_id") == body.get("wo_id"))
        check(reply["_cmd"] == expect, "%s %s %r -> %r" % (self.pid, cmd, body, reply))
        check(reply["ref"] == cmd, "%s ref %r for %s" % (reply["_cmd"], reply, cmd))
        if echo:
            check(reply.get(echo) == body[echo], "%s to %s %r does not echo %s: %r"
                  % (reply["_cmd"], cmd, body, echo, reply))
        return reply

    def error(self, cmd, body, code):
        reply = self.command(cmd, body, expect="ERROR")
        check(reply["code"] == code and reply["ref"] == cmd,
              "%s %s %r: expected ERROR %s, got %r" % (self.pid, cmd, body, code, reply))
        return reply


class PartnerSide:
    """Every partner socket of the test, read (and heartbeated) together."""

    def __init__(self, routing, routing_pub):
        self.routing = routing
        self.routing_pub = routing_pub
        self.partners = []

    def pump(self, seconds):
        """Reads every partner socket for a while, heartbeating for them."""
        end = time.time() + seconds
        while True:
            poller = zmq.Poller()
            for p in self.partners:
                poller.register(p.sock, zmq.POLLIN)
            now = time.time()
            for p in self.partners:
                if p.heartbeat and now - p.last_hb >= HEARTBEAT_MS / 1000.0 / 2:
                    try:
                        p.sock.send_multipart(aspw.frames("HEARTBEAT"), zmq.DONTWAIT)
                    except zmq.Again:
                        pass
                    p.last_hb = now
            left = end - now
            events = dict(poller.poll(max(0, min(50, int(left * 1000)))))
            for p in self.partners:
                while p.sock in events and p.sock.poll(0):
                    frames = p.sock.recv_multipart()
                    try:
                        cmd, body = aspw.parse(frames, sender="platform")
                    except ValueError as e:
                        raise Failure("%s got a malformed message: %s" % (p.pid, e))
                    if cmd != "HEARTBEAT":
                        body["_cmd"] = cmd
                        p.inbox.append(body)
            if time.time() >= end:
                return

    @staticmethod
    def take(partners, cmds, pred):
        """(partner, message): the first message of one of cmds (for which
        pred holds) in the partners' inboxes, taken out; None if none is."""
        for p in partners:
            for i, m in enumerate(p.inbox):
                if m["_cmd"] in cmds and (pred is None or pred(m)):
                    return p, p.inbox.pop(i)
        return None

    def expect(self, p, cmds, pred=None, timeout=5.0):
        return self.expect_any([p], cmds, pred, timeout)[1]

    def expect_any(self, partners, cmds, pred=None, timeout=5.0):
        cmds = (cmds,) if isinstance(cmds, str) else tuple(cmds)
        return waiting(lambda: self.take(partners, cmds, pred) or self.pump(0.05)
                       or self.take(partners, cmds, pred), timeout,
                       lambda: "no %s for any of %s within %.1fs; inboxes %r" % (
                           cmds, [p.pid for p in partners], timeout * SCALE,
                           {p.pid: p.inbox for p in partners}))

    def expect_none(self, p, cmds, seconds, pred=None):
        cmds = (cmds,) if isinstance(cmds, str) else cmds
        self.pump(seconds)
        bad = [m for m in p.inbox if m["_cmd"] in cmds and (pred is None or pred(m))]
        check(not bad, "%s: unexpected %r" % (p.pid, bad))


def offer_to(h, partners, wo, timeout=5.0):
    return h.expect_any(partners, "OFFER", lambda b: b["wo_id"] == wo, timeout)


def offer_new(h, bus, p1, p2):
    """A new ticket, offered to p1 or p2: (ticket, wo_id, the partner it was
    offered to, the other one)."""
    t = new_id("T")
    wo = "W" + t
    bus.ticket(t)
    x, _ = offer_to(h, [p1, p2], wo)
    return t, wo, x, (p2 if x is p1 else p1)


def wo_key(wo):
    """The Redis key of work order wo ("W" + its ticket id): its ticket's shard."""
    return "{s%d}:rt:wo:%s" % (harness.shard_of(wo[1:]), wo)


def events(redis, ticket, etype, dst="intake"):
    """Bus events routing committed for ticket, from its outbox in Redis
    (harness.Redis hands them over as bytes: an envelope, a msgpack array,
    is never valid UTF-8)."""
    out = []
    for raw in redis.hgetall(key("ob:routing:%s" % dst, ticket)).values():
        env = msgpack.unpackb(raw, raw=False)
        if env[1] == etype and env[3] == ticket:
            out.append(env[6])
    return out


SIDE = None         # set by scenarios(): waiting pumps it, so partners keep heartbeating


def wait_events(redis, ticket, etype, count, dst="intake", timeout=5.0):
    def wrong(found):
        return "%s %s to %s: expected %d events, got %r" % (ticket, etype, dst, count, found)

    def enough():
        found = events(redis, ticket, etype, dst)
        if len(found) >= count:
            return found
        SIDE.pump(0.05)
        return None
    found = waiting(enough, timeout, lambda: wrong(events(redis, ticket, etype, dst)))
    check(len(found) == count, wrong(found))
    return found


# --- the scenarios ---------------------------------------------------------------

def scenario_happy_path(h, bus, redis, p1, p2):
    log("offer -> accept -> progress -> complete")
    t = new_id("T")
    wo = "W" + t
    msg_id = bus.ticket(t)
    x, offer = offer_to(h, [p1, p2], wo)
    check(offer["offer_id"] == wo + ".1" and offer["ticket_id"] == t and offer["kind"] == "repair"
          and offer["category"] == "heater" and offer["region"] == "shanghai"
          and offer["priority"] == 2 and offer["tier"] == "standard"
          and offer["summary"] == "no hot water", "OFFER fields %r" % offer)
    check(0 < offer["expires_ms"] <= OFFER_TIMEOUT_MS, "expires_ms %r" % offer)
    # The same ticket.created again (resend, or a new message id): one work order.
    bus.ticket(t, msg_id=msg_id)
    bus.ticket(t)
    h.expect_none(x, "OFFER", 0.4, lambda b: b["wo_id"] == wo)

    c = x.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    check(c["duplicate"] is False, "first ACCEPT duplicate=%r" % c)
    c = x.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    check(c["duplicate"] is True, "second ACCEPT duplicate=%r" % c)
    c = x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_the_way", "note": "出发",
                               "appointment_ms": 1700000000000})
    check(c["duplicate"] is False, "PROGRESS CONFIRM %r" % c)
    c = x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_the_way"})
    check(c["duplicate"] is True, "repeated PROGRESS %r" % c)
    c = x.command("COMPLETE", {"wo_id": wo, "result": "fixed", "technician": "李师傅"})
    check(c["duplicate"] is False, "COMPLETE %r" % c)
    c = x.command("COMPLETE", {"wo_id": wo, "result": "fixed"})
    check(c["duplicate"] is True, "repeated COMPLETE %r" % c)

    offered = wait_events(redis, t, "workorder.offered", 1)[0]
    check(offered == {"wo_id": wo, "offer_id": wo + ".1", "partner_id": x.pid, "attempt": 1,
                      "choice": "best_score", "score": -1, "candidates": 2, "free": 3},
          "workorder.offered body %r" % offered)
    assigned = wait_events(redis, t, "workorder.assigned", 1)[0]
    check(assigned == {"wo_id": wo, "offer_id": wo + ".1", "partner_id": x.pid},
          "workorder.assigned body %r" % assigned)
    progress = wait_events(redis, t, "workorder.progress", 1)[0]
    check(progress == {"wo_id": wo, "partner_id": x.pid, "seq": 1, "stage": "on_the_way",
                       "note": "出发", "appointment_ms": 1700000000000}, "progress body %r" % progress)
    completed = wait_events(redis, t, "workorder.completed", 1)[0]
    check(completed == {"wo_id": wo, "partner_id": x.pid, "result": "fixed", "technician": "李师傅"},
          "completed body %r" % completed)
    # Fan-out per the subscription table: completed also goes to sla, notification, feedback.
    for dst in ("sla", "notification", "feedback"):
        wait_events(redis, t, "workorder.completed", 1, dst=dst)
    wait_events(redis, t, "workorder.assigned", 1, dst="sla")
    check(redis.hgetall(wo_key(wo))["state"] == "completed", "work order state in Redis")
    check(redis.cmd("ZSCORE", key("rt:open", wo[1:]), wo) is None, "completed work order still open")


def scenario_id_limit(h, bus, redis, p1, p2):
    log("the longest ticket id names a work order that every step accepts")
    ID_MAX = 48                         # common/asp_id.h: ids are 1..47 characters
    t = new_id("T")
    t = t + "x" * (ID_MAX - 1 - len(t))
    wo = "W" + t
    check(len(wo) == ID_MAX, "wo_id of %d characters" % len(wo))
    bus.ticket(t)
    x, offer = offer_to(h, [p1, p2], wo)
    x.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_site"})
    x.command("COMPLETE", {"wo_id": wo, "result": "fixed"})
    wait_events(redis, t, "workorder.completed", 1)
    # One character more is not an id: refused at the bus, no work order.
    too_long = t + "x"
    msg_id, reply = bus.send_ticket(too_long, {"type": "repair", "category": "heater",
                                               "region": "shanghai"})
    check(reply[0] == "NAK", "a %d-character ticket id was accepted: %r" % (len(too_long), reply))
    check(not redis.hgetall("rt:wo:W" + too_long), "work order for a too long ticket id")


def scenario_decline(h, bus, redis, p1, p2):
    log("decline -> re-offer to the other partner; not_yours and friends")
    t, wo, x, y = offer_new(h, bus, p1, p2)
    c = x.command("DECLINE", {"wo_id": wo, "offer_id": wo + ".1", "reason": "too far"})
    check(c["duplicate"] is False, "DECLINE %r" % c)
    got, offer2 = offer_to(h, [p1, p2], wo)
    check(got is y and offer2["offer_id"] == wo + ".2", "re-offer went to %s: %r" % (got.pid, offer2))
    y.command("ACCEPT", {"wo_id": wo, "offer_id": wo + ".2"})
    declined = wait_events(redis, t, "workorder.declined", 1)[0]
    check(declined == {"wo_id": wo, "offer_id": wo + ".1", "partner_id": x.pid, "reason": "too far"},
          "declined body %r" % declined)
    # Only y may touch it now.
    x.error("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_site"}, "not_yours")
    x.error("COMPLETE", {"wo_id": wo, "result": "fixed"}, "not_yours")
    x.error("ACCEPT", {"wo_id": wo, "offer_id": wo + ".2"}, "not_yours")
    x.error("ACCEPT", {"wo_id": wo, "offer_id": wo + ".1"}, "offer_expired")
    c = x.command("DECLINE", {"wo_id": wo, "offer_id": wo + ".1", "reason": "too far"})
    check(c["duplicate"] is True, "repeated DECLINE %r" % c)
    x.error("ACCEPT", {"wo_id": "WTnope" + t, "offer_id": "WTnope" + t + ".1"}, "unknown_work_order")
    y.error("DECLINE", {"wo_id": wo, "offer_id": wo + ".2"}, "bad_state")
    y.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "scheduled"})
    check(len(events(redis, t, "workorder.progress")) == 1, "exactly one progress event")
    return t, y


def scenario_timeout(h, bus, redis, p1, p2):
    log("offer timeout -> WITHDRAW -> re-offer")
    t, wo, x, y = offer_new(h, bus, p1, p2)
    started = time.time()
    w = h.expect(x, "WITHDRAW", lambda b: b["wo_id"] == wo, timeout=OFFER_TIMEOUT_MS / 1000.0 + 3)
    waited = time.time() - started
    check(waited >= OFFER_TIMEOUT_MS / 1000.0 * 0.8, "WITHDRAW came after %.2fs only" % waited)
    check(w.get("reason"), "WITHDRAW has a reason: %r" % w)
    got, offer2 = offer_to(h, [p1, p2], wo)
    check(got is y and offer2["offer_id"] == wo + ".2", "re-offer after timeout: %s %r" % (got.pid, offer2))
    x.error("ACCEPT", {"wo_id": wo, "offer_id": wo + ".1"}, "offer_expired")
    y.command("ACCEPT", {"wo_id": wo, "offer_id": wo + ".2"})
    declined = wait_events(redis, t, "workorder.declined", 1)[0]
    check(declined["reason"] == "timeout" and declined["partner_id"] == x.pid
          and declined["offer_id"] == wo + ".1", "declined (timeout) body %r" % declined)
    check(h.routing.metric("offers_expired_total") >= 1, "offers_expired_total")
    return t, y


def scenario_pending_and_liveness(h, bus, redis, keys):
    log("pending until a partner fits; credit; liveness expiry")
    t6, t7 = new_id("T"), new_id("T")
    bus.ticket(t6, category="ac", region="beijing")
    h.pump(0.5)
    check(h.routing.metric("workorders_pending") >= 1, "a work order nobody fits stays pending")
    p3 = Partner(h, "P3", keys["P3"], capacity=1, skills=["ac"], regions=["beijing"])
    p3.ready()
    offer = h.expect(p3, "OFFER", lambda b: b["wo_id"] == "W" + t6)
    check(offer["offer_id"] == "W%s.1" % t6, "offer on READY %r" % offer)
    bus.ticket(t7, category="ac", region="beijing")
    h.expect_none(p3, "OFFER", 0.5, lambda b: b["wo_id"] == "W" + t7)     # no credit left
    p3.error("PROGRESS", {"wo_id": "W" + t6, "seq": 1, "stage": "on_site"}, "not_accepted")
    p3.command("ACCEPT", {"wo_id": "W" + t6, "offer_id": "W%s.1" % t6})
    p3.command("COMPLETE", {"wo_id": "W" + t6, "result": "installed"})
    offer = h.expect(p3, "OFFER", lambda b: b["wo_id"] == "W" + t7)      # credit freed
    check(offer["offer_id"] == "W%s.1" % t7, "offer when credit frees %r" % offer)
    # P3 goes silent: its offer is withdrawn (not its fault: it may have it again).
    p3.heartbeat = False
    wait_events(redis, t7, "workorder.declined", 1, timeout=HEARTBEAT_MS * LIVENESS / 1000.0 + 3)
    check(events(redis, t7, "workorder.declined")[0]["reason"] == "timeout", "liveness reason")
    h.pump(0.2)
    check(h.routing.metric("offers_withdrawn_total") >= 1, "offers_withdrawn_total")
    # It comes back on a fresh socket and gets the work order again.
    p3.heartbeat = True
    p3.connect()
    p3.ready()
    offer = h.expect(p3, "OFFER", lambda b: b["wo_id"] == "W" + t7)
    check(offer["offer_id"] == "W%s.2" % t7, "re-offer after liveness %r" % offer)
    p3.command("ACCEPT", {"wo_id": "W" + t7, "offer_id": "W%s.2" % t7})
    return t7, p3


def scenario_refused(h, keys):
    log("unknown certificate, unknown peers, not_ready")
    stranger = Partner(h, "PX", keys["PX"])
    stranger.heartbeat = False
    stranger.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    h.expect_none(stranger, ("WELCOME", "ERROR", "DISCONNECT"), 1.0)
    h.partners.remove(stranger)
    stranger.sock.close(0)

    fresh = Partner(h, "P1", keys["P1"])
    fresh.heartbeat = False
    fresh.send("HEARTBEAT")
    d = h.expect(fresh, "DISCONNECT")
    check(d.get("reason"), "DISCONNECT has a reason %r" % d)
    fresh.send("READY", {"capacity": 1001, "skills": ["*"], "regions": ["*"]})   # 0 drains (valid)
    e = h.expect(fresh, "ERROR")
    check(e["code"] == "bad_message" and e["ref"] == "READY" and "capacity" in e["reason"], "bad READY %r" % e)
    fresh.send("ACCEPT", {"wo_id": "WT1", "offer_id": "WT1.1"})
    e = h.expect(fresh, "ERROR")
    check(e["code"] == "not_ready", "command after a refused READY %r" % e)
    h.partners.remove(fresh)
    fresh.sock.close(0)


def scenario_garbage(h, p, wo, seq):
    log("garbage -> ERROR bad_message; the service keeps serving")
    cases = [
        [aspw.SIGNATURE, b"HEARTBEAT"],                                   # 2 frames
        [aspw.SIGNATURE, b"HEARTBEAT", b"\x80", b"x"],                    # 4 frames
        [b"ASPW9", b"HEARTBEAT", b"\x80"],                          # signature
        [aspw.SIGNATURE, b"HEARTBEAT", b"\xdd\xff\x00\x00\x00"],          # msgpack bomb
        [aspw.SIGNATURE, b"HEARTBEAT", b"\x81\xa1"],                      # truncated
        [aspw.SIGNATURE, b"HEARTBEAT", b"\x93\x01\x02\x03"],              # not a map
        [aspw.SIGNATURE, b"FLY", b"\x80"],                                # unknown command
        [aspw.SIGNATURE, b"accept", b"\x80"],                             # not upper case
        [aspw.SIGNATURE, b"ACCEPT", msgpack.packb({"wo_id": wo})],        # missing offer_id
        [aspw.SIGNATURE, b"PROGRESS", msgpack.packb({"wo_id": wo, "seq": 0, "stage": "on_site"})],
        [aspw.SIGNATURE, b"PROGRESS", msgpack.packb({"wo_id": wo, "seq": 5, "stage": "dancing"})],
        [aspw.SIGNATURE, b"COMPLETE", msgpack.packb({"wo_id": 42, "result": "fixed"})],
        [aspw.SIGNATURE, b"COMPLETE", b"\x83" + msgpack.packb("wo_id") + msgpack.packb(wo)
         + msgpack.packb("result") + msgpack.packb("fixed")
         + msgpack.packb("note") + b"\xa2\xff\xfe"],                  # invalid UTF-8
        [aspw.SIGNATURE, b"HEARTBEAT", msgpack.packb({"pad": "x" * (aspw.MSG_MAX + 6 * 1024)})],   # > 64 KiB
    ]
    for frames in cases:
        p.send_raw(frames)
        e = h.expect(p, "ERROR", lambda b: b["code"] == "bad_message")
        check(e["reason"], "ERROR without a reason for %r" % frames[:2])
        if frames[1] == b"PROGRESS" and b"dancing" in frames[2]:
            check(e["ref"] == "PROGRESS" and e["wo_id"] == wo and e.get("seq") == 5, "echo in %r" % e)
        if len(frames) == 3 and frames[1] == b"FLY":
            check(e["ref"] == "FLY" and e["wo_id"] == "", "unknown command ERROR %r" % e)
    # Beyond 1 MiB the transport drops that connection; others are unaffected.
    big = Partner(h, p.pid, (p.pub, p.sec))
    big.heartbeat = False
    big.send_raw([aspw.SIGNATURE, b"HEARTBEAT", b"\x80" + b"x" * (aspw.TRANSPORT_MAX + 76 * 1024)])
    h.pump(0.3)
    h.partners.remove(big)
    big.sock.close(0)
    c = p.command("PROGRESS", {"wo_id": wo, "seq": seq, "stage": "note", "note": "still here"})
    check(c["duplicate"] is False, "service answers after garbage: %r" % c)
    check(h.routing.metric("partner_errors_total") >= len(cases), "partner_errors_total")


def kill_and_reconnect(h, routing, partners):
    """SIGKILL routing and start it again. The old connections are unknown
    to it now (DISCONNECT): each partner takes a fresh socket and READY."""
    routing.proc.kill()
    routing.start()
    for p in partners:
        p.send("HEARTBEAT")
    for p in partners:
        h.expect(p, "DISCONNECT")
    for p in partners:
        p.connect()
        p.ready()


def scenario_restart(h, bus, redis, routing, partners, assigned):
    """assigned: {ticket: partner}, at least three accepted and open work orders."""
    log("SIGKILL routing mid-way; restart; every work order completes once")
    p1, p2, p3 = partners
    items = list(assigned.items())
    (racy_t, racy_p), (stored_t, stored_p), rest = items[0], items[1], items[2:]
    t8 = new_id("T")
    bus.ticket(t8)
    offer_to(h, [p1, p2], "W" + t8)                          # an offer in flight
    # One COMPLETE is stored but its CONFIRM never read; another races the kill.
    stored_p.send("COMPLETE", {"wo_id": "W" + stored_t, "result": "fixed"})
    waiting(lambda: redis.hgetall(wo_key("W" + stored_t))["state"] == "completed" or h.pump(0.01), 5,
            lambda: "COMPLETE of W%s not stored" % stored_t)
    racy_p.send("COMPLETE", {"wo_id": "W" + racy_t, "result": "fixed"})
    kill_and_reconnect(h, routing, partners)
    h.pump(0.5)
    resumed = {}
    for p in partners:
        for m in [m for m in p.inbox if m["_cmd"] == "ASSIGNED"]:
            p.inbox.remove(m)
            check(m["wo_id"] not in resumed, "ASSIGNED twice: %r" % m)
            resumed[m["wo_id"]] = (p, m)
    for t, p in assigned.items():
        if t == stored_t or (t == racy_t and "W" + t not in resumed):
            check("W" + t not in resumed, "completed W%s was ASSIGNED again" % t)
            continue
        check("W" + t in resumed and resumed["W" + t][0] is p,
              "ASSIGNED W%s to %s after restart: %r" % (t, p.pid, list(resumed)))
        m = resumed["W" + t][1]
        check(m["ticket_id"] == t and m["offer_id"].startswith("W%s." % t) and "expires_ms" not in m,
              "ASSIGNED fields %r" % m)
    check("W" + t8 not in resumed, "an offer is not ASSIGNED")
    # The offer in flight comes again: same wo_id, next attempt.
    z2, offer2 = offer_to(h, [p1, p2], "W" + t8, timeout=5.0)
    check(offer2["offer_id"] == "W%s.2" % t8, "re-offer after restart %r" % offer2)
    z2.command("ACCEPT", {"wo_id": "W" + t8, "offer_id": offer2["offer_id"]})
    # The partners resend what was not confirmed; then everything completes.
    c = stored_p.command("COMPLETE", {"wo_id": "W" + stored_t, "result": "fixed"})
    check(c["duplicate"] is True, "stored COMPLETE resent: %r" % c)
    c = racy_p.command("COMPLETE", {"wo_id": "W" + racy_t, "result": "fixed"})
    log("COMPLETE that raced the kill, resent: duplicate=%s" % c["duplicate"])
    for t, p in rest + [(t8, z2)]:
        p.command("COMPLETE", {"wo_id": "W" + t, "result": "fixed"})
    for t in list(assigned) + [t8]:
        wait_events(redis, t, "workorder.completed", 1)
        wait_events(redis, t, "workorder.completed", 1, dst="feedback")
        check(redis.hgetall(wo_key("W" + t))["state"] == "completed", "W%s completed" % t)
    offers = events(redis, t8, "workorder.offered")
    check(sorted(e["attempt"] for e in offers) == [1, 2] and all(e["wo_id"] == "W" + t8 for e in offers),
          "offers of W%s: %r" % (t8, offers))
    left = [w for k in shard_keys("rt:open") for w in redis.cmd("ZRANGE", k, 0, -1)]
    check(not left, "open work orders left: %r" % left)
    # A late resend of a ticket.created does not bring a work order back.
    bus.ticket(t8)
    h.expect_none(p1, "OFFER", 0.3)
    h.expect_none(p2, "OFFER", 0.3)


def scenarios(redis, routing, routing_pub, keys):
    global SIDE
    h = SIDE = PartnerSide(routing, routing_pub)
    bus = Bus(routing.bus, curve=routing.bus_certs.curve("routing"))

    # A missing certificate is a clear configuration error (exit 2).
    env = dict(routing.env, ASP_ROUTING_CERT=os.path.join(TMP, "nope.cert_secret"),
               ASP_METRICS_PORT="0", ASP_ROUTING_BUS="tcp://127.0.0.1:%d" % free_port(),
               ASP_PARTNER_BIND="tcp://127.0.0.1:%d" % free_port())
    r = subprocess.run([routing.binary], env=env, capture_output=True, timeout=20)
    check(r.returncode == 2 and b"ASP_ROUTING_CERT" in r.stdout + r.stderr,
          "missing certificate: rc %d, output %r" % (r.returncode, r.stdout + r.stderr))

    p1 = Partner(h, "P1", keys["P1"], capacity=3, skills=["heater"], regions=["*"])
    p2 = Partner(h, "P2", keys["P2"], capacity=3, skills=["*"], regions=["shanghai", "suzhou"])
    p1.ready()
    p2.ready()
    h.pump(0.3)
    check(routing.metric("partners_live") == 2, "partners_live")

    # A ticket.created that cannot be a work order is refused (NAK) and changes nothing.
    bad_id, reply = bus.send_ticket(new_id("T"), {"type": "repair", "region": "shanghai"})
    check(reply[0] == "NAK" and reply[1] == bad_id and "category" in reply[2], "NAK %r" % reply)

    scenario_happy_path(h, bus, redis, p1, p2)
    scenario_id_limit(h, bus, redis, p1, p2)
    t2, y2 = scenario_decline(h, bus, redis, p1, p2)
    t3, y3 = scenario_timeout(h, bus, redis, p1, p2)
    t7, p3 = scenario_pending_and_liveness(h, bus, redis, keys)
    scenario_refused(h, keys)
    scenario_garbage(h, y2, "W" + t2, 2)
    check(routing.metric("offers_sent_total") >= 7, "offers_sent_total")
    status, body = routing.http("/healthz")
    check(status == 200 and '"redis":true' in body, "healthz %d %s" % (status, body))
    scenario_restart(h, bus, redis, routing, [p1, p2, p3], {t2: y2, t3: y3, t7: p3})
    check(routing.proc.running(), "asp-routing still running")
    bus.close()


def serve(body, certs_fn=None, env=None):
    """Runs body(redis, routing, routing_pub, keys) against a new redis-server
    and asp-routing (certs_fn: the certificates, make_certs by default; env:
    extra settings for routing), then stops both; the temporary folder is
    kept when body failed (or ASP_KEEP_TMP is set). Other tests of routing's
    partner side (appointment, authorization, dispatch) use it too."""
    redis = Redis(dir=os.path.join(TMP, "redis"), log_path=os.path.join(TMP, "redis.log"))
    routing = None
    ok = False
    try:
        redis.start()
        certs, routing_pub, keys = (certs_fn or make_certs)()
        routing = Routing(redis, certs)
        routing.env.update(env or {})
        routing.proc.env = routing.env
        routing.start()
        body(redis, routing, routing_pub, keys)
        ok = True
    finally:
        if routing:
            if not ok:
                log("last lines of routing.log:\n" + routing.proc.tail(60))
            routing.proc.kill()
        redis.stop()
        if ok and not os.environ.get("ASP_KEEP_TMP"):
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            log("kept %s" % TMP)


def main():
    serve(scenarios)


if __name__ == "__main__":
    run(main, name="routing_protocol_test")
