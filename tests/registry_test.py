#!/usr/bin/python3
# ctest: TIMEOUT 600 LABELS integration
"""The partner registry through the real cluster (issue 7): partners
created, listed (filters, paging), read and changed over intake's HTTP
API, garbage refused with its code and Redis unchanged, who may do what;
then, without restarting anything, partners whose CURVE key is only in
the registry connect and work, the registry's capacity cap holds, a
suspended partner's open offer is withdrawn and it gets no new one while
it finishes what it accepted, and a removed partner is cut off while
connected (DISCONNECT "partner removed"), its key fails the handshake
from then on, and its accepted work order goes to another partner
(workorder.returned, reason partner_removed). An order only a registered
but offline partner fits waits for it (not unroutable) and is offered
when it connects. A connected partner whose READY says "*" is offered
only what its record admits (regions, categories, kinds, express,
areas, hours), and a PATCH widening the record offers a parked order at
once. The supervisor's override of a suspended or removed partner is
refused (409 partner_not_active). Last, a SIGKILL of routing:
the projection reloads, and the keys keep their verdicts."""

import os
import time

import zmq

import aspw
from archive_test import expect
from harness import Cluster, HarnessError, new_id, run, scaled, shard_of, wait_for, TIMEOUT_SCALE

TOKENS = ",".join(["ops-tok:ops:olga", "adm-tok:admin:ada", "sue-tok:supervisor:sue",
                   "alice-tok:agent:alice", "sys-tok:system"])
AS = {r: {"Authorization": "Bearer %s-tok" % n}
      for r, n in (("ops", "ops"), ("admin", "adm"), ("supervisor", "sue"), ("agent", "alice"), ("system", "sys"))}
HEARTBEAT_S = 0.25
DONE = ("completed", "visit_scheduled", "closed")
ctx = zmq.Context.instance()


def registry_state(c):
    """Every key the registry (intake) and its projection (routing) write."""
    out = []
    for pattern in ("{s*}:pt:*", "{s*}:pk:*", "{s*}:rt:partners"):
        for k in sorted(c.redis.keys(pattern)):
            t = c.redis.cmd("TYPE", k)
            v = (sorted(c.redis.hgetall(k).items()) if t == "hash" else c.redis.cmd("GET", k) if t == "string"
                 else c.redis.cmd("ZRANGE", k, "0", "-1"))
            out.append((k, str(v)))
    return out


def record(pid, key=None, **over):
    r = {"partner_id": pid, "name": "Center " + pid, "regions": ["north"], "categories": ["water_heater"],
         "capacity_cap": 1, "technicians": [{"id": "t1", "name": "Wang", "phone": "13800000001"}],
         "contact": {"email": "ops@%s.example" % pid.lower()}}
    if key:
        r["curve_key"] = key
    r.update(over)
    return {k: v for k, v in r.items() if v is not None}


# --- a partner written from docs/partner-protocol.md ------------------------------------

class Partner:
    """One partner connection (DEALER + CURVE); heartbeats while it reads."""

    def __init__(self, c, pid, keys):
        self.c, self.pid, (self.pub, self.sec) = c, pid, keys
        self.server = aspw.read_cert(os.path.join(c.cert_dir, "routing.cert"))[0]
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock is not None:
            self.sock.close(0)
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.sndtimeo = 2000
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = self.pub, self.sec, self.server
        s.connect(self.c.partner_endpoint)
        self.sock, self.inbox, self.last_hb = s, [], 0.0

    def send(self, cmd, body=None):
        self.sock.send_multipart(aspw.frames(cmd, body))

    def pump(self, seconds):
        end = time.time() + seconds
        while True:
            if time.time() - self.last_hb >= HEARTBEAT_S:
                try:
                    self.sock.send_multipart(aspw.frames("HEARTBEAT"), zmq.DONTWAIT)
                except zmq.Again:
                    pass
                self.last_hb = time.time()
            if self.sock.poll(max(0, min(50, int((end - time.time()) * 1000)))):
                cmd, body = aspw.parse(self.sock.recv_multipart())
                if cmd != "HEARTBEAT":
                    body["_cmd"] = cmd
                    self.inbox.append(body)
            if time.time() >= end:
                return

    def take(self, cmds, pred=None):
        for i, m in enumerate(self.inbox):
            if m["_cmd"] in cmds and (pred is None or pred(m)):
                return self.inbox.pop(i)
        return None

    def expect(self, cmds, pred=None, timeout=8.0):
        cmds = (cmds,) if isinstance(cmds, str) else tuple(cmds)
        try:
            return wait_for(lambda: self.take(cmds, pred) or self.pump(0.05) or self.take(cmds, pred),
                            timeout, interval=0)
        except HarnessError:
            raise AssertionError("%s: no %s within %.1fs; inbox %r" % (self.pid, cmds, timeout, self.inbox))

    def quiet(self, cmds, seconds):
        """Asserts that none of cmds arrives for seconds."""
        self.pump(seconds)
        got = [m for m in self.inbox if m["_cmd"] in cmds]
        assert not got, "%s: unexpected %r" % (self.pid, got)

    def ready(self, capacity=5):
        self.send("READY", {"capacity": capacity, "skills": ["*"], "regions": ["*"],
                            "software": "registry_test"})
        return self.expect("WELCOME")

    def command(self, cmd, body):
        self.send(cmd, body)
        reply = self.expect(("CONFIRM", "ERROR"), lambda m: m.get("wo_id") == body["wo_id"])
        assert reply["_cmd"] == "CONFIRM", "%s %s %r -> %r" % (self.pid, cmd, body, reply)
        return reply

    def accept(self, offer):
        return self.command("ACCEPT", {"wo_id": offer["wo_id"], "offer_id": offer["offer_id"]})

    def complete(self, wo_id):
        return self.command("COMPLETE", {"wo_id": wo_id, "result": "fixed"})

    def close(self):
        self.sock.close(0)


def z85_keys():
    pub, sec = zmq.curve_keypair()
    return pub, sec


# --- the API ------------------------------------------------------------------------------

def check_api(c, pid_a, key_a):
    a = expect(c.http("POST", "/v1/partners", record(pid_a, key_a.decode())), 201)
    assert a["version"] == 1 and a["status"] == "active" and a["express"] is False, a.body
    assert a.headers["location"] == "/v1/partners/" + pid_a
    assert expect(c.http("GET", "/v1/partners/" + pid_a), 200).body == a.body
    # Routing's projection (rt:partners) takes the record in from intake's
    # partner.changed a moment later: let it, before the refusals below.
    c.wait_for(c.drained, scaled(10, 30), what="routing to take in the new record")

    before = registry_state(c)
    bad = [
        ("POST", "/v1/partners", "{not json", 400, "invalid_json"),
        ("POST", "/v1/partners", [1], 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), name=None), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), curve_key="~" * 40), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), curve_key=key_a.decode()[:-1]), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), kinds=["consultation"]), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), capacity_cap=0), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), regions=[]), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), areas=["north"]), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), status="removed"), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), version=7), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), hours={"utc_offset": "+08:00",
                                                            "days": {"mon": ["18:00-08:00"]}}), 400, "invalid_field"),
        ("POST", "/v1/partners", record(new_id("P"), technicians=[{"id": "a", "name": "A"},
                                                                  {"id": "a", "name": "B"}]), 400, "invalid_field"),
        ("POST", "/v1/partners", record("bad id!"), 400, "invalid_field"),
        ("POST", "/v1/partners", record(pid_a), 409, "partner_exists"),
        ("POST", "/v1/partners", record(new_id("P"), key_a.decode()), 409, "curve_key_taken"),
        ("PATCH", "/v1/partners/" + pid_a, {"partner_id": "other"}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/" + pid_a, {}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/" + pid_a, {"capacity_cap": 1001}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/" + pid_a, {"name": None}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/" + pid_a, {"status": "gone"}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/" + pid_a, {"bogus": 1}, 400, "invalid_field"),
        ("PATCH", "/v1/partners/nobody", {"name": "x"}, 404, "not_found"),
        ("GET", "/v1/partners/nobody", None, 404, "not_found"),
        ("GET", "/v1/partners?status=gone", None, 400, "invalid_query"),
        ("GET", "/v1/partners?colour=red", None, 400, "invalid_query"),
        ("GET", "/v1/partners?limit=0", None, 400, "invalid_query"),
        ("GET", "/v1/partners?cursor=no%20such", None, 400, "invalid_cursor"),
    ]
    for method, path, body, status, code in bad:
        expect(c.http(method, path, body), status, code)
    # Who may do what: ops and admin write; supervisors read; agents and systems neither.
    for role in ("agent", "system", "supervisor"):
        expect(c.http("POST", "/v1/partners", record(new_id("P")), AS[role]), 403, "forbidden")
        expect(c.http("PATCH", "/v1/partners/" + pid_a, {"name": "x"}, AS[role]), 403, "forbidden")
    for role in ("agent", "system"):
        expect(c.http("GET", "/v1/partners", None, AS[role]), 403, "forbidden")
        expect(c.http("GET", "/v1/partners/" + pid_a, None, AS[role]), 403, "forbidden")
    assert registry_state(c) == before, "a refused request changed Redis"
    for role in ("supervisor", "ops", "admin"):
        expect(c.http("GET", "/v1/partners/" + pid_a, None, AS[role]), 200)

    # A change bumps the version; the same values again change nothing.
    b = expect(c.http("PATCH", "/v1/partners/" + pid_a, {"name": "North Center", "express": True}, AS["ops"]), 200)
    assert b["version"] == 2 and b["name"] == "North Center" and b["express"] is True, b.body
    same = expect(c.http("PATCH", "/v1/partners/" + pid_a, {"name": "North Center"}), 200)
    assert same["version"] == 2, same.body

    # The list: filters and paging over every shard, in id order.
    tag = new_id("L")
    ids = ["%s-%02d" % (tag, i) for i in range(7)]
    for i, pid in enumerate(ids):
        body = record(pid, regions=["south"] if i % 2 else ["north"], categories=["*"] if i == 3 else ["tv"],
                      status="suspended" if i in (1, 5) else None)
        expect(c.http("POST", "/v1/partners", body, AS["ops"]), 201)
    seen, cursor, pages = [], None, 0
    while True:
        r = expect(c.http("GET", "/v1/partners?limit=3" + ("&cursor=" + cursor if cursor else ""), None,
                          AS["supervisor"]), 200)
        assert len(r["partners"]) <= 3 and r["partial"] is False
        seen += [p["partner_id"] for p in r["partners"]]
        pages += 1
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and set(ids + [pid_a]) <= set(seen) and len(seen) == len(set(seen)), seen
    assert pages >= 3
    suspended = expect(c.http("GET", "/v1/partners?status=suspended&limit=100"), 200)["partners"]
    assert {p["partner_id"] for p in suspended} >= {ids[1], ids[5]}
    assert all(p["status"] == "suspended" for p in suspended)
    south = {p["partner_id"] for p in expect(c.http("GET", "/v1/partners?region=south&category=tv&limit=100"),
                                             200)["partners"]}
    assert south == {ids[1], ids[3], ids[5]}, south      # ids[3] serves every category ("*")


# --- live partners --------------------------------------------------------------------------

def check_live(c, pid_a, keys_a):
    pid_b = new_id("PB")
    keys_b = z85_keys()
    expect(c.http("POST", "/v1/partners", record(pid_b, keys_b[0].decode(), capacity_cap=5)), 201)

    # A's key is in no certificate file: the registry alone admits it (once
    # routing has the record: intake's outbox delivers it in moments).
    for pid in (pid_a, pid_b):
        wait_for(lambda: c.redis.cmd("HEXISTS", "{s%d}:rt:partners" % shard_of(pid), pid) == 1, 10,
                 what="routing to hold %s's record" % pid)
    a = Partner(c, pid_a, keys_a)
    assert a.ready(capacity=5)["partner_id"] == pid_a

    # Capped at 1 by the registry although READY said 5.
    t1, t2 = c.new_ticket(), c.new_ticket()
    o1 = a.expect("OFFER")
    a.accept(o1)
    a.quiet(("OFFER",), 1.5 * TIMEOUT_SCALE)
    # The cap raised: the waiting order is offered at once.
    expect(c.http("PATCH", "/v1/partners/" + pid_a, {"capacity_cap": 3}), 200)
    o2 = a.expect("OFFER")
    assert {o1["ticket_id"], o2["ticket_id"]} == {t1, t2}
    a.accept(o2)
    t3 = c.new_ticket()
    o3 = a.expect("OFFER", lambda m: m["ticket_id"] == t3)

    # Suspended: the open offer is withdrawn, no new offer, accepted work completes.
    expect(c.http("PATCH", "/v1/partners/" + pid_a, {"status": "suspended"}), 200)
    w = a.expect("WITHDRAW", lambda m: m["wo_id"] == o3["wo_id"])
    assert w["reason"], w
    t4 = c.new_ticket()
    a.quiet(("OFFER",), 1.5 * TIMEOUT_SCALE)
    a.complete(o1["wo_id"])
    c.wait_status(o1["ticket_id"], DONE, 30)

    # B (also registry only) takes what A may not.
    b = Partner(c, pid_b, keys_b)
    b.ready(capacity=5)
    got = set()
    for _ in range(2):
        o = b.expect("OFFER")
        b.accept(o)
        got.add(o["ticket_id"])
    assert got == {t3, t4}, got

    # Active again, then removed while connected, holding o2 accepted.
    expect(c.http("PATCH", "/v1/partners/" + pid_a, {"status": "active"}), 200)
    removed = expect(c.http("PATCH", "/v1/partners/" + pid_a, {"status": "removed"}, AS["ops"]), 200)
    assert removed["status"] == "removed" and removed["version"] >= 5
    d = a.expect("DISCONNECT")
    assert d["reason"] == "partner removed", d
    # Its accepted work order goes back to routing and on to B.
    o2b = b.expect("OFFER", lambda m: m["wo_id"] == o2["wo_id"], timeout=15)
    b.accept(o2b)
    b.complete(o2b["wo_id"])
    c.wait_status(t2, DONE, 30)
    wo = c.redis.hgetall("{s%d}:rt:wo:%s" % (shard_of(t2), o2["wo_id"]))
    assert wo.get("x." + pid_a) == "unable" and wo.get("returned_reason") == "partner_removed" \
        and wo.get("partner") == pid_b, wo
    # workorder.returned went out: the ticket's timeline says why.
    returned = wait_for(lambda: [e for e in c.timeline(t2) if e["type"] == "workorder.returned"] or None, 10,
                        what="workorder.returned on the ticket's timeline")
    assert returned[0]["data"]["reason"] == "partner_removed", returned
    assert routing_metric(c, "asp_workorders_returned_total") >= 1

    # Removal is final, and the key fails the handshake from now on: a
    # fresh connection's READY gets no answer at all.
    expect(c.http("PATCH", "/v1/partners/" + pid_a, {"status": "active"}), 409, "partner_removed")
    a.connect()
    a.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    a.quiet(("WELCOME", "ERROR", "DISCONNECT", "OFFER"), 1.5 * TIMEOUT_SCALE)
    a.close()
    b.close()
    return pid_b, keys_b


def check_folder_partner(c):
    """A partner admitted by its certificate file (the way before the
    registry) is governed by a record that names no key, and once removed
    its key fails the handshake although the file is still there."""
    pid, keys = new_id("PF"), z85_keys()
    aspw.write_cert(os.path.join(c.partner_cert_dir, pid + ".cert"), keys[0], meta={"name": pid, "partner_id": pid})
    f = Partner(c, pid, keys)
    assert f.ready(capacity=1)["partner_id"] == pid
    expect(c.http("POST", "/v1/partners", record(pid)), 201)
    wait_for(lambda: c.redis.cmd("HEXISTS", "{s%d}:rt:partners" % shard_of(pid), pid) == 1, 10,
             what="routing to hold %s's record" % pid)
    expect(c.http("PATCH", "/v1/partners/" + pid, {"status": "removed"}), 200)
    assert f.expect("DISCONNECT")["reason"] == "partner removed"
    f.connect()
    f.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    f.quiet(("WELCOME", "ERROR", "DISCONNECT"), 1.5 * TIMEOUT_SCALE)
    f.close()


def wo_hash(c, tid):
    return c.redis.hgetall("{s%d}:rt:wo:W%s" % (shard_of(tid), tid))


def registered(c, pid):
    wait_for(lambda: c.redis.cmd("HEXISTS", "{s%d}:rt:partners" % shard_of(pid), pid) == 1, 10,
             what="routing to hold %s's record" % pid)


def check_waits_for_registered(c):
    """An order no connected partner fits but a registered one (offline)
    does is not unroutable: it waits, and is offered when that partner
    connects. One nobody's record admits is unroutable meanwhile."""
    pid, keys = new_id("PW"), z85_keys()
    expect(c.http("POST", "/v1/partners", record(pid, keys[0].decode(), regions=["west"])), 201)
    registered(c, pid)
    t_west = c.new_ticket(customer={"region": "west"})
    t_east = c.new_ticket(customer={"region": "east"})
    wait_for(lambda: wo_hash(c, t_east).get("unroutable") == "no_eligible_partner", 10,
             what="the east order to be unroutable")
    wo = wait_for(lambda: wo_hash(c, t_west) or None, 10, what="the west order")
    assert wo.get("state") == "pending" and "unroutable" not in wo, wo
    assert c.redis.cmd("ZSCORE", "{s%d}:rt:unroutable" % shard_of(t_west), "W" + t_west) is None
    w = Partner(c, pid, keys)
    w.ready(capacity=1)
    o = w.expect("OFFER", lambda m: m["ticket_id"] == t_west)
    w.accept(o)
    w.quiet(("OFFER",), 1.0)
    assert not [e for e in c.timeline(t_west) if e["type"] == "workorder.unroutable"]
    w.close()


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hours_closed_now():
    """UTC hours open today only for an hour twelve hours away from now
    (and never tomorrow): closed for the whole test, whenever it runs."""
    now = time.gmtime()
    start = (now.tm_hour + 12) % 24
    return {"utc_offset": "+00:00", "days": {DAYS[now.tm_wday]: ["%02d:00-%02d:00" % (start, start + 1)]}}


def check_record_narrows(c):
    """A connected partner whose READY says "*" is offered only what its
    record admits: regions, categories, kinds, express, areas, hours. A
    PATCH widening the record gets a parked order offered at once."""
    pid_n, keys_n, pid_h, keys_h = new_id("PN"), z85_keys(), new_id("PH"), z85_keys()
    always = {"utc_offset": "+00:00", "days": {d: ["00:00-24:00"] for d in DAYS}}
    expect(c.http("POST", "/v1/partners", record(pid_n, keys_n[0].decode(), regions=["r2"], areas=["r2/a1"],
                                                 kinds=["repair"], express=False, hours=always,
                                                 capacity_cap=5)), 201)
    expect(c.http("POST", "/v1/partners", record(pid_h, keys_h[0].decode(), regions=["r4"], categories=["*"],
                                                 express=True, hours=hours_closed_now(), capacity_cap=5)), 201)
    registered(c, pid_n)
    registered(c, pid_h)
    n, h = Partner(c, pid_n, keys_n), Partner(c, pid_h, keys_h)
    n.ready(capacity=5)
    h.ready(capacity=5)
    refused = {
        "region": c.new_ticket(customer={"region": "r3"}),
        "category": c.new_ticket(customer={"region": "r2"}, product={"category": "tv"}),
        "kind": c.new_ticket(type="maintenance", customer={"region": "r2"}),
        "express": c.new_ticket(tier="express", customer={"region": "r2"}),
        "area": c.new_ticket(customer={"region": "r2", "area": "a2"}),
        "hours": c.new_ticket(customer={"region": "r4"}),
    }
    t_ok = c.new_ticket(customer={"region": "r2", "area": "a1"})
    o = n.expect("OFFER")
    assert o["ticket_id"] == t_ok, "offered %s, not %s; refused: %r" % (o["ticket_id"], t_ok, refused)
    for _ in range(int(15 * TIMEOUT_SCALE)):      # both heartbeat meanwhile: H stays live
        n.pump(0.05)
        h.pump(0.05)
    n.quiet(("OFFER",), 0)
    h.quiet(("OFFER",), 0)
    for what, tid in refused.items():
        wo = wait_for(lambda: wo_hash(c, tid) or None, 10, what="the %s order" % what)
        assert wo["state"] == "pending", (what, wo)
    # Nobody's record admits the region or category: unroutable. H's admits
    # its order whatever the hour: it waits for H's hours instead.
    wait_for(lambda: wo_hash(c, refused["region"]).get("unroutable") == "no_eligible_partner", 10,
             what="the r3 order to be unroutable")
    assert "unroutable" not in wo_hash(c, refused["hours"]), wo_hash(c, refused["hours"])
    # Widened without a restart: the parked r3 order is offered at once.
    expect(c.http("PATCH", "/v1/partners/" + pid_n, {"regions": ["r2", "r3"]}), 200)
    o = n.expect("OFFER", timeout=5)
    assert o["ticket_id"] == refused["region"], (o, refused)
    n.quiet(("OFFER",), 0.5)
    # H open from now on: its waiting order is offered at once.
    expect(c.http("PATCH", "/v1/partners/" + pid_h, {"hours": always}), 200)
    o = h.expect("OFFER", timeout=5)
    assert o["ticket_id"] == refused["hours"], (o, refused)
    n.close()
    h.close()


def check_override(c, pid_removed):
    """The supervisor's override names a partner: one the registry holds as
    suspended or removed is refused (409 partner_not_active, the ticket
    unchanged); an active one, or one the registry does not hold (admitted
    by its certificate file alone), is sent on to routing (202)."""
    pid_s = new_id("PS")
    expect(c.http("POST", "/v1/partners", record(pid_s, status="suspended")), 201)
    t = c.new_ticket(customer={"region": "nowhere"})
    tkey = "{s%d}:t:%s" % (shard_of(t), t)
    # Routing's word on it first (nobody fits "nowhere"): nothing else changes the ticket.
    wait_for(lambda: [e for e in c.timeline(t) if e["type"] == "workorder.unroutable"] or None, 10,
             what="the ticket's workorder.unroutable")
    before = (c.redis.hgetall(tkey), c.timeline(t))
    path = "/v1/tickets/%s/dispatch" % t
    for pid in (pid_s, pid_removed):
        r = expect(c.http("POST", path, {"partner_id": pid, "note": "try"}, AS["supervisor"]), 409,
                   "partner_not_active")
        assert pid in r["error"]["message"], r.body
    assert (c.redis.hgetall(tkey), c.timeline(t)) == before, "a refused override changed the ticket"
    expect(c.http("PATCH", "/v1/partners/" + pid_s, {"status": "active"}), 200)
    expect(c.http("POST", path, {"partner_id": pid_s}, AS["supervisor"]), 202)
    expect(c.http("POST", path, {"partner_id": new_id("PX")}, AS["admin"]), 202)
    assert len([e for e in c.timeline(t) if e["type"] == "ticket.override"]) == 2


def check_restart(c, pid_a, keys_a, pid_b, keys_b):
    """After a SIGKILL of routing the projection is reloaded from Redis: the
    registry-only key works again, the removed one is still refused."""
    c.restart("routing")
    b = Partner(c, pid_b, keys_b)
    assert b.ready(capacity=1)["partner_id"] == pid_b
    a = Partner(c, pid_a, keys_a)
    a.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    a.quiet(("WELCOME", "ERROR", "DISCONNECT"), 1.5 * TIMEOUT_SCALE)
    a.close()
    b.close()


def routing_metric(c, name):
    return c.metric("routing", name)


def main():
    with Cluster(partners=0, customer=False, token="adm-tok", env={"ASP_API_TOKENS": TOKENS,
                 "ASP_HEARTBEAT_MS": "500", "ASP_OFFER_TIMEOUT_MS": "20000"}, name="registry") as c:
        pid_a = new_id("PA")
        keys_a = z85_keys()
        check_api(c, pid_a, keys_a[0])
        pid_b, keys_b = check_live(c, pid_a, keys_a)
        check_folder_partner(c)
        check_waits_for_registered(c)
        check_record_narrows(c)
        check_override(c, pid_a)
        check_restart(c, pid_a, keys_a, pid_b, keys_b)
        c.check_alive()


if __name__ == "__main__":
    run(main, "registry_test")
