# ctest: TIMEOUT 400 LABELS integration threads
"""What intake and notification make of the SLA (issue 8; docs/http-api.md
"SLA clocks"), with sla-timer stopped and its part played by the test, so
the test does not depend on the engine:

- a ticket's price: stored, shown, carried by ticket.created (read from
  intake's outbox towards the stopped sla-timer), left out when not given;
- the clocks: a clock hash written the way sla-timer writes it
  (common/asp_clocks.h) shown on GET /v1/tickets/{id} and .../clocks:
  running, paused, breached and escalated, met, late with compensation;
  garbage in the hash is left out, never an error; a customer sees each
  clock's clock, state and due_ms only; the roles of reading a ticket;
- sla.escalated and sla.compensation published on intake's and
  notification's bus inboxes (harness Bus): the timeline entries (the
  escalation names the owner), the ticket at risk, its compensation (the
  latest by the event's time), the staff's escalation naming its
  recipients and the customer's apology with the amount in yuan;
- garbage bodies of both: NAK with a reason naming the field, nothing
  changed, nothing notified."""

import time

import msgpack

from harness import Cluster, key, log, run, scaled, shard_keys, ticket_record

TOKENS = ",".join(["alice-tok:agent:alice", "sue-tok:supervisor:sue", "ops-tok:ops", "sys-tok:system"])
AS = {n: {"Authorization": "Bearer %s-tok" % n} for n in ("alice", "sue", "ops", "sys")}
HOUR = 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def create(c, **overrides):
    r = c.create_ticket(headers=AS["alice"], customer={"region": "nowhere"}, **overrides)
    assert r.status == 201, r
    return r["id"], r["customer_token"]


def state(c, tid):
    return ticket_record(c.redis, tid)


def entries(c, tid, type):
    return [e for e in c.timeline(tid) if e["type"] == type]


def notes(c, tid, tpl):
    return [x for x in c.customer_records() if x.get("ticket_id") == tid and x.get("template") == tpl]


def to_sla(c, tid):
    """The messages about tid waiting in intake's outbox for sla-timer."""
    out = []
    for k in shard_keys("ob:intake:sla"):
        for data in c.redis.hgetall(k).values():
            m = msgpack.unpackb(data.encode() if isinstance(data, str) else data, raw=False)
            if m[3] == tid:
                out.append(m)
    return out


def send(bus, type, tid, body, at=None, ok=True):
    r = bus.publish(type, tid, body, time_ms=at or now_ms())
    if ok:
        assert r and r[0] == "ACK", (type, body, r)
    return r


def check_price(c):
    tid, _ = create(c, price=129900)
    assert c.ticket(tid)["price"] == 129900
    made = c.wait_for(lambda: [m for m in to_sla(c, tid) if m[1] == "ticket.created"], 10,
                      what="ticket.created waiting for sla-timer")
    assert made[0][6]["price"] == 129900, made
    plain, _ = create(c)
    assert "price" not in c.ticket(plain)
    made = c.wait_for(lambda: [m for m in to_sla(c, plain) if m[1] == "ticket.created"], 10,
                      what="ticket.created waiting for sla-timer")
    assert "price" not in made[0][6], made
    before = sum(int(c.redis.cmd("ZCARD", k)) for k in shard_keys("ix:all"))
    for price in (-1, 10 ** 10 + 1, 12.5, "100", True):
        r = c.create_ticket(headers=AS["alice"], price=price)
        assert r.status == 400 and "price" in r["error"]["message"], (price, r)
    assert sum(int(c.redis.cmd("ZCARD", k)) for k in shard_keys("ix:all")) == before
    log("price ok")
    return tid


def clock_hash(now):
    """An sla:t hash as the engine writes it (common/asp_clocks.h)."""
    return {
        "price": "129900", "region": "nowhere", "owner": "alice", "kind": "repair", "pol": "express-6h",
        "wait_customer": "0", "wait_parts": "1",
        # met after 30 minutes
        "first_response": "met", "first_response:pol": "standard", "first_response:bs": "calendar",
        "first_response:cal": "cn", "first_response:tg": str(4 * HOUR), "first_response:st": str(now - 2 * HOUR),
        "first_response:due": str(now + 2 * HOUR), "first_response:wn": str(now + HOUR // 2),
        "first_response:end": str(now - 90 * 60000), "first_response:lv": "0", "first_response:gen": "1",
        # breached an hour ago, escalated once
        "onsite_arrival": "breached", "onsite_arrival:pol": "express-6h", "onsite_arrival:bs": "calendar",
        "onsite_arrival:tg": str(6 * HOUR), "onsite_arrival:st": str(now - 7 * HOUR),
        "onsite_arrival:due": str(now - HOUR), "onsite_arrival:lv": "3", "onsite_arrival:pa": "0",
        "onsite_arrival:ps": "0", "onsite_arrival:nx": "3", "onsite_arrival:ph": "1,2,3,4",
        # paused 10 minutes ago, after 20 minutes of earlier pauses
        "resolution": "paused", "resolution:bs": "business", "resolution:cal": "cn",
        "resolution:st": str(now - 3 * HOUR), "resolution:due": str(now + 5 * HOUR),
        "resolution:pa": str(now - 10 * 60000), "resolution:ps": str(20 * 60000), "resolution:pm": "3",
        "resolution:lv": "1",
        # late, with what it owes
        "appointment_kept": "late", "appointment_kept:st": str(now - 5 * HOUR),
        "appointment_kept:due": str(now - 4 * HOUR), "appointment_kept:end": str(now - 3 * HOUR),
        "appointment_kept:lv": "2", "appointment_kept:cmp": "3000", "appointment_kept:apr": "supervisor",
        "appointment_kept:cap": "1",
        # garbage: an unknown clock, a state that is none, numbers that are not
        "response": "running", "callback": "ticking", "callback:due": "5",
        "return_visit": "running", "return_visit:st": "yesterday", "return_visit:due": "-7",
        "return_visit:bs": "lunar", "return_visit:cmp": "1e3",
    }


def near(value, want, slack=60000):
    return abs(value - want) <= slack


def check_clocks(c, tid, token):
    now = now_ms()
    c.redis.cmd("HSET", key("sla:t:%s", tid), *[x for kv in clock_hash(now).items() for x in kv])
    r = c.http("GET", "/v1/tickets/%s/clocks" % tid, None, AS["alice"])
    assert r.status == 200 and r["ticket_id"] == tid, r
    clocks = {x["clock"]: x for x in r["clocks"]}
    assert [x["clock"] for x in r["clocks"]] == ["first_response", "onsite_arrival", "appointment_kept",
                                                "resolution", "return_visit"], r["clocks"]
    f = clocks["first_response"]
    assert f["state"] == "met" and f["policy"] == "standard" and f["basis"] == "calendar" and f["calendar"] == "cn"
    assert f["elapsed_ms"] == 30 * 60000 and f["stopped_ms"] == now - 90 * 60000 and "remaining_ms" not in f, f
    assert f["target_ms"] == 4 * HOUR and not f["breached"] and f["level"] == 0, f
    o = clocks["onsite_arrival"]
    assert o["state"] == "breached" and o["breached"] and o["level"] == 3 and o["escalation_step"] == 1, o
    assert near(o["remaining_ms"], -HOUR) and near(o["elapsed_ms"], 7 * HOUR) and not o["paused"], o
    p = clocks["resolution"]
    assert p["paused"] and p["state"] == "paused" and p["basis"] == "business", p
    assert near(p["paused_ms"], 30 * 60000) and p["remaining_ms"] == 5 * HOUR + 10 * 60000, p
    assert near(p["elapsed_ms"], 3 * HOUR - 30 * 60000) and p["level"] == 1 and not p["breached"], p
    k = clocks["appointment_kept"]
    assert k["state"] == "late" and k["breached"] and k["elapsed_ms"] == 2 * HOUR, k
    assert k["compensation"] == {"amount": 3000, "approver": "supervisor", "capped": True}, k
    g = clocks["return_visit"]
    assert g["state"] == "running" and set(g) == {"clock", "state", "paused_ms", "paused", "level",
                                                   "escalation_step", "breached"}, g
    # The ticket shows the same clocks.
    t = c.ticket(tid)
    assert [x["clock"] for x in t["clocks"]] == [x["clock"] for x in r["clocks"]], t["clocks"]
    # The customer sees which promises run and when they fall due.
    mine = {"Authorization": "Bearer " + token}
    r = c.http("GET", "/v1/tickets/%s/clocks" % tid, None, mine)
    assert r.status == 200, r
    assert r["clocks"][0] == {"clock": "first_response", "state": "met", "due_ms": now + 2 * HOUR}, r["clocks"]
    assert all(set(x) <= {"clock", "state", "due_ms"} for x in r["clocks"]), r["clocks"]
    r = c.http("GET", "/v1/tickets/" + tid, None, mine)
    assert r.status == 200 and all(set(x) <= {"clock", "state", "due_ms"} for x in r["clocks"]), r
    # Reading a ticket's clocks is reading the ticket.
    for who in ("sue", "ops", "sys"):
        assert c.http("GET", "/v1/tickets/%s/clocks" % tid, None, AS[who]).status == 200, who
    other, other_token = create(c)
    r = c.http("GET", "/v1/tickets/%s/clocks" % tid, None, {"Authorization": "Bearer " + other_token})
    assert r.status == 403, r
    r = c.http("GET", "/v1/tickets/Tnope/clocks", None, AS["alice"])
    assert r.status == 404 and r["error"]["code"] == "not_found", r
    assert c.http("GET", "/v1/tickets/%s/clocks" % tid, None, {"Authorization": None}).status == 401
    # Before sla-timer wrote anything: none; the hash of another type: none.
    assert c.http("GET", "/v1/tickets/%s/clocks" % other, None, AS["alice"])["clocks"] == []
    c.redis.cmd("DEL", key("sla:t:%s", other))
    c.redis.cmd("SET", key("sla:t:%s", other), "not a hash")
    r = c.http("GET", "/v1/tickets/" + other, None, AS["alice"])
    assert r.status == 200 and r["clocks"] == [], r
    log("clocks ok")


def check_escalated(c, bus, ntf, tid):
    body = {"clock": "onsite_arrival", "due_ms": now_ms() - HOUR, "level": 3, "step": 1, "role": "supervisor",
            "to": "sup-duty@brand.example,sup2@brand.example", "policy": "express-6h", "basis": "calendar"}
    send(bus, "sla.escalated", tid, body)
    e = entries(c, tid, "sla.escalated")
    assert len(e) == 1 and e[0]["data"] == dict(body, owner="alice"), e
    assert c.ticket(tid)["sla_alert"] is True
    # At risk: the list's at_risk filter finds it.
    r = c.http("GET", "/v1/tickets?at_risk=true&limit=100", None, AS["sue"])
    assert r.status == 200 and tid in [x["id"] for x in r["tickets"]], r
    # Staff told, the recipients named in the words and carried in the data.
    send(ntf, "sla.escalated", tid, body)
    n = c.wait_for(lambda: notes(c, tid, "sla_escalated"), 20, what="the escalation notified")
    assert n[0]["audience"] == "staff" and n[0]["to"] is None and n[0]["event"] == "sla.escalated", n
    assert n[0]["data"]["to"] == body["to"] and "sup-duty@brand.example,sup2@brand.example" in n[0]["text"], n
    assert "主管" in n[0]["text"] and "上门服务" in n[0]["text"], n[0]["text"]
    log("escalated ok")


def check_compensation(c, bus, ntf, tid):
    at = now_ms()
    body = {"clock": "appointment_kept", "amount": 3000, "rule": "late_onsite", "approver": "supervisor",
            "capped": True, "late_ms": HOUR, "price": 129900, "policy": "express-6h", "basis": "calendar"}
    send(bus, "sla.compensation", tid, body, at)
    t = c.ticket(tid)
    want = {"amount": 3000, "approver": "supervisor", "capped": True, "clock": "appointment_kept",
            "rule": "late_onsite"}
    assert t["compensation"] == want and t["compensation_ms"] == at, t
    e = entries(c, tid, "sla.compensation")
    assert len(e) == 1 and e[0]["data"] == body, e
    # An older one arriving late does not replace it; a newer one does.
    older = dict(body, clock="first_response", amount=100, capped=False, approver="agent")
    send(bus, "sla.compensation", tid, older, at - 1000)
    assert c.ticket(tid)["compensation"] == want
    send(bus, "sla.compensation", tid, older, at + 1000)
    assert c.ticket(tid)["compensation"]["clock"] == "first_response"
    assert len(entries(c, tid, "sla.compensation")) == 3
    # The customer's apology states the amount in yuan.
    send(ntf, "sla.compensation", tid, body, at)
    n = c.wait_for(lambda: notes(c, tid, "sla_compensation"), 20, what="the customer's apology")
    assert n[0]["audience"] == "customer" and n[0]["to"] and n[0]["to"]["phone"], n
    assert "非常抱歉" in n[0]["text"] and "30.00 元" in n[0]["text"] and "按约上门" in n[0]["text"], n[0]["text"]
    log("compensation ok")


def check_garbage(c, bus, ntf, tid):
    esc = {"clock": "resolution", "level": 3, "step": 1, "role": "manager", "to": "m@brand.example"}
    comp = {"clock": "resolution", "amount": 100, "rule": "late", "approver": "agent", "capped": False}

    def without(d, k):
        return {x: v for x, v in d.items() if x != k}
    cases = [
        ("sla.escalated", without(esc, "clock"), "clock"),
        ("sla.escalated", dict(esc, clock="lunch"), "clock"),
        ("sla.escalated", dict(esc, level="3"), "level"),
        ("sla.escalated", without(esc, "step"), "step"),
        ("sla.escalated", dict(esc, role="king"), "role"),
        ("sla.escalated", dict(esc, to=7), "to"),
        ("sla.escalated", dict(esc, basis="lunar"), "basis"),
        ("sla.compensation", without(comp, "amount"), "amount"),
        ("sla.compensation", dict(comp, amount=-5), "amount"),
        ("sla.compensation", dict(comp, amount="5"), "amount"),
        ("sla.compensation", dict(comp, rule=""), "rule"),
        ("sla.compensation", dict(comp, approver="intern"), "approver"),
        ("sla.compensation", without(comp, "capped"), "capped"),
        ("sla.compensation", dict(comp, capped="yes"), "capped"),
        ("sla.compensation", dict(comp, late_ms="long"), "late_ms"),
    ]
    # Only tid's: the other tickets of the test are still being told of
    # (a "received" can come while this runs).
    mine = lambda: [x for x in c.customer_records() if x.get("ticket_id") == tid]
    made = len(mine())
    for type, body, field in cases:
        before = state(c, tid)
        r = send(bus, type, tid, body, ok=False)
        assert r and r[0] == "NAK" and field in r[2], (type, body, r)
        assert state(c, tid) == before, "refused %s %r changed the ticket" % (type, body)
    before = state(c, tid)
    r = send(bus, "sla.compensation", tid, ["late"], ok=False)
    assert r and r[0] == "NAK", r
    r = send(bus, "sla.escalated", "", esc, ok=False)
    assert r and r[0] == "NAK" and "ticket" in r[2], r
    assert state(c, tid) == before
    # Notification refuses what it cannot word, and makes nothing.
    for type, body, field in (("sla.escalated", without(esc, "role"), "role"),
                              ("sla.escalated", dict(esc, step=-1), "step"),
                              ("sla.escalated", dict(esc, to=7), "to"),
                              ("sla.compensation", dict(comp, amount=-5), "amount"),
                              ("sla.compensation", without(comp, "rule"), "rule"),
                              ("sla.compensation", dict(comp, clock=9), "clock")):
        r = send(ntf, type, tid, body, ok=False)
        assert r and r[0] == "NAK" and field in r[2], (type, body, r)
    time.sleep(1)
    assert len(mine()) == made, mine()
    log("garbage ok")


def main():
    with Cluster(partners=0, token="sue-tok", env={"ASP_API_TOKENS": TOKENS}, name="slaview") as c:
        # The test speaks for sla-timer: its own writes and events stay out
        # of the way, and what intake sends it stays in the outbox.
        c.kill("sla-timer")
        bus, ntf = c.bus("intake"), c.bus("notification")
        tid = check_price(c)
        tid2, token = create(c)
        check_clocks(c, tid2, token)
        c.wait_for(lambda: notes(c, tid, "received"), 20, what="the customer told of the ticket")
        # Routing calls tid's work order unroutable when its start-up grace
        # ends (no partner in 'nowhere'); let that land on the ticket before
        # the checks that want the ticket unchanged.
        c.wait_for(lambda: c.ticket(tid).get("unroutable"), scaled(20, 40),
                   what="routing to call the work order unroutable")
        check_escalated(c, bus, ntf, tid)
        check_compensation(c, bus, ntf, tid)
        check_garbage(c, bus, ntf, tid)
        c.check_alive()


if __name__ == "__main__":
    run(main, name="sla_view_test")
