# ctest: TIMEOUT 400 LABELS integration threads
"""What intake, notification and sla-timer make of routing's dispatch
events (issue 7; docs/http-api.md "Dispatch"), with routing's events
injected on the services' bus inboxes (harness Bus), so the test does not
depend on routing's own part:

- ticket.created carries the customer's area and the unit's installer of
  record (repair, maintenance), and the ticket shows both;
- workorder.offered: the ticket's dispatch view and why this partner;
- workorder.unroutable: the flag, the timeline and the unroutable queue
  (oldest first; leaves it when offered, re-dispatched or cancelled; only
  supervisor, ops and admin read it);
- workorder.appointment / _missed: the appointment view, the customer told
  (booked, changed, an apology), sla-timer's record;
- workorder.returned: the ticket waits for a partner again, ops told, a
  late event of the returned partner moves nothing;
- POST /v1/tickets/{id}/dispatch: 202 and ticket.override in intake's
  outbox towards routing (routing is stopped meanwhile, so the message
  waits there to be read), then routing restarted takes it off the outbox
  (acknowledged, or refused into the dead letters until routing's
  consumer exists); 403/400/404/409 refusals change nothing;
- garbage bodies of every new event: NAK with a reason, nothing changed."""

import time

import msgpack

from harness import Cluster, key, log, new_id, run, shard_keys, ticket_record

TOKENS = ",".join(["alice-tok:agent:alice", "sue-tok:supervisor:sue", "ops-tok:ops", "adm-tok:admin:ada"])
AS = {n: {"Authorization": "Bearer %s-tok" % n} for n in ("alice", "sue", "ops", "adm")}
HOUR = 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def state(c, tid):
    """What intake keeps about a ticket, and its shard's unroutable queue."""
    return ticket_record(c.redis, tid) + (c.redis.cmd("ZRANGE", key("ix:unroutable", tid), 0, -1, "WITHSCORES"),)


def entries(c, tid, type):
    return [e for e in c.timeline(tid) if e["type"] == type]


def outbox_msgs(c, dst, prefix="ob"):
    """Every message in intake's outbox (or dead letters) towards dst, decoded:
    [version, type, id, ticket, trace, time_ms, body]."""
    out = []
    for k in shard_keys("%s:intake:%s" % (prefix, dst)):
        for mid, data in c.redis.hgetall(k).items():
            out.append(msgpack.unpackb(data.encode() if isinstance(data, str) else data, raw=False))
    return out


def send(bus, type, tid, body, at=None, ok=True):
    r = bus.publish(type, tid, body, time_ms=at or now_ms())
    if ok:
        assert r and r[0] == "ACK", (type, body, r)
    return r


def refused(c, bus, type, tid, body, words):
    before = state(c, tid)
    r = send(bus, type, tid, body, ok=False)
    assert r and r[0] == "NAK" and words in r[2], (type, body, r)
    assert state(c, tid) == before, "refused %s %r changed the ticket" % (type, body)


def create(c, **overrides):
    r = c.create_ticket(headers=AS["alice"], **overrides)
    assert r.status == 201, r
    return r["id"]


def queue(c, who="ops", **q):
    qs = "&".join("%s=%s" % kv for kv in q.items())
    return c.http("GET", "/v1/queues/unroutable" + ("?" + qs if qs else ""), None, AS[who])


def check_created(c):
    serial = "SN-inst-%s" % new_id("")[:8]
    r = c.http("POST", "/v1/units", {"serial": serial, "model": "WH-1", "category": "water_heater",
                                     "installer_partner": "P777"}, AS["alice"])
    assert r.status == 201, r
    tid = create(c, customer={"area": "pudong"}, product={"serial": serial, "model": None, "category": None})
    t = c.ticket(tid)
    assert t["customer"]["area"] == "pudong" and t["installer"] == "P777", t
    made = [m for m in outbox_msgs(c, "routing") if m[1] == "ticket.created" and m[3] == tid]
    assert len(made) == 1 and made[0][6]["area"] == "pudong" and made[0][6]["installer"] == "P777", made
    # An installation of the same unit prefers nobody; no area given, none sent.
    inst = create(c, type="installation", customer={"area": None},
                  product={"serial": serial, "model": None, "category": None})
    t = c.ticket(inst)
    assert "installer" not in t and "area" not in t["customer"], t
    made = [m for m in outbox_msgs(c, "routing") if m[1] == "ticket.created" and m[3] == inst]
    assert len(made) == 1 and "installer" not in made[0][6] and "area" not in made[0][6], made
    # A bad area is refused like a bad region, and nothing is made.
    before = sum(int(c.redis.cmd("ZCARD", k)) for k in shard_keys("ix:all"))
    for area in ("", "x" * 65, 7):
        r = c.create_ticket(headers=AS["alice"], customer={"area": area})
        assert r.status == 400 and "customer.area" in r["error"]["message"], r
    assert sum(int(c.redis.cmd("ZCARD", k)) for k in shard_keys("ix:all")) == before
    # Notification knows the customer's contact before it is told more.
    c.wait_for(lambda: notes(c, tid, "received"), 20, what="the customer told of the ticket")
    log("created ok")
    return tid


def check_offered(c, bus, tid):
    wo = "W" + tid
    at = now_ms()
    send(bus, "workorder.offered", tid, {"wo_id": wo, "partner_id": "P777", "offer_id": wo + ".1", "attempt": 1,
                                        "choice": "original_installer", "score": 870, "candidates": 3,
                                        "free": 2}, at)
    t = c.ticket(tid)
    assert t["status"] == "offered" and t["partner_id"] == "P777", t
    assert t["dispatch"] == {"partner_id": "P777", "choice": "original_installer", "score": 870,
                             "candidates": 3, "free": 2, "at_ms": at}, t
    assert "score" not in t, "the partner's score is not the customer's"
    e = entries(c, tid, "workorder.offered")
    assert len(e) == 1 and "original installer" in e[0]["data"]["why"], e
    send(bus, "workorder.offered", tid, {"wo_id": wo, "partner_id": "P2", "choice": "best_score",
                                        "score": -1, "candidates": 4, "free": 1})
    t = c.ticket(tid)
    assert t["dispatch"]["choice"] == "best_score" and t["dispatch"]["score"] == -1, t
    assert "not scored" in entries(c, tid, "workorder.offered")[-1]["data"]["why"]
    log("offered ok")


def check_unroutable(c, bus, ntf):
    t1, t2, t3 = create(c), create(c), create(c)
    base = now_ms() - 10000
    # Oldest first: t2 entered first, then t1; t3 after both.
    send(bus, "workorder.unroutable", t2, {"wo_id": "W" + t2, "reason": "no_eligible_partner", "refusals": 0},
         base)
    send(bus, "workorder.unroutable", t1, {"wo_id": "W" + t1, "reason": "refusals_exceeded", "refusals": 5},
         base + 1000)
    send(bus, "workorder.unroutable", t3, {"wo_id": "W" + t3, "reason": "no_eligible_partner", "refusals": 0},
         base + 2000)
    # Again, later: t2 keeps its place, with the latest word.
    send(bus, "workorder.unroutable", t2, {"wo_id": "W" + t2, "reason": "refusals_exceeded", "refusals": 5},
         base + 3000)
    t = c.ticket(t2)
    assert t["unroutable"] == {"reason": "refusals_exceeded", "refusals": 5, "wo_id": "W" + t2,
                               "at_ms": base + 3000}, t
    assert len(entries(c, t2, "workorder.unroutable")) == 2
    for who in ("ops", "sue", "adm"):
        r = queue(c, who)
        assert r.status == 200, r
        ids = [i["ticket_id"] for i in r["items"]]
        assert ids[:3] == [t2, t1, t3] and r["count"] >= 3, (who, r.body)
    first = queue(c)["items"][0]
    assert first["since_ms"] == base and first["reason"] == "refusals_exceeded" and first["refusals"] == 5, first
    assert first["wo_id"] == "W" + t2 and first["status"] == "received" and first["type"] == "repair", first
    assert first["region"] == "north" and first["priority"] == 3, first
    r = queue(c, limit=1)
    assert [i["ticket_id"] for i in r["items"]] == [t2] and r["count"] >= 3, r.body
    for bad in ("limit=0", "limit=501", "limit=x", "order=new"):
        r = c.http("GET", "/v1/queues/unroutable?" + bad, None, AS["ops"])
        assert r.status == 400, (bad, r)
    r = queue(c, "alice")
    assert r.status == 403 and r["error"]["code"] == "forbidden", r
    # An offer of an older round does not take it out; a newer one does.
    send(bus, "workorder.offered", t2, {"wo_id": "W" + t2, "partner_id": "P1"}, base + 2500)
    assert t2 in [i["ticket_id"] for i in queue(c)["items"]]
    send(bus, "workorder.offered", t2, {"wo_id": "W" + t2, "partner_id": "P1"}, base + 4000)
    assert t2 not in [i["ticket_id"] for i in queue(c)["items"]] and "unroutable" not in c.ticket(t2)
    # Cancelled: out of the queue.
    assert c.http("POST", "/v1/tickets/%s/cancel" % t1, {"reason": "gave up"}, AS["alice"]).status == 200
    assert t1 not in [i["ticket_id"] for i in queue(c)["items"]] and "unroutable" not in c.ticket(t1)
    # An event about a cancelled ticket does not put it back.
    send(bus, "workorder.unroutable", t1, {"wo_id": "W" + t1, "reason": "no_eligible_partner", "refusals": 0})
    assert t1 not in [i["ticket_id"] for i in queue(c)["items"]]
    # Ops are told (audience ops, no contact).
    send(ntf, "workorder.unroutable", t3, {"wo_id": "W" + t3, "reason": "no_eligible_partner", "refusals": 0})
    n = c.wait_for(lambda: [x for x in c.customer_records()
                            if x.get("ticket_id") == t3 and x.get("template") == "unroutable"], 20,
                   what="ops told of the unroutable work order")
    assert n[0]["audience"] == "ops" and n[0]["to"] is None and "W" + t3 in n[0]["text"], n
    log("unroutable ok")
    return t3


def notes(c, tid, tpl):
    return [x for x in c.customer_records() if x.get("ticket_id") == tid and x.get("template") == tpl]


def check_appointment(c, bus, ntf, sla, tid):
    wo = "W" + tid
    slot = now_ms() + 24 * HOUR
    booked = {"wo_id": wo, "partner_id": "P777", "appointment_ms": slot, "end_ms": slot + 2 * HOUR,
              "previous_ms": 0, "late": False, "changes": 0}
    moved = dict(booked, appointment_ms=slot + HOUR, end_ms=slot + 3 * HOUR, previous_ms=slot, late=True,
                 changes=1)
    # sla-timer must know the ticket first: its ticket.created comes from
    # intake's outbox, independent of this test's bus, and an appointment
    # of a ticket it does not know yet is stale (docs/sla.md).
    c.wait_for(lambda: c.redis.hgetall(key("sla:t:%s", tid)).get("pol"), 20, what="sla-timer to know the ticket")
    for b in (booked, moved):
        for dst in (bus, ntf, sla):
            send(dst, "workorder.appointment", tid, b)
    t = c.ticket(tid)
    assert t["appointment"] == {"at_ms": slot + HOUR, "end_ms": slot + 3 * HOUR, "changes": 1, "late_changes": 1,
                                "missed": False}, t
    assert t["appointment_missed"] is False and t["status"] == "offered", t
    # A booking older than the latest change, arriving late, changes nothing.
    send(bus, "workorder.appointment", tid, booked)
    assert c.ticket(tid)["appointment"]["at_ms"] == slot + HOUR
    assert len(entries(c, tid, "workorder.appointment")) == 3
    c.wait_for(lambda: len(notes(c, tid, "appointment")) == 2, 20, what="the customer told twice")
    told = sorted(notes(c, tid, "appointment"), key=lambda x: x["created_ms"])
    assert "previous_ms" not in told[0]["data"] or told[0]["data"]["previous_ms"] == 0, told
    assert told[1]["data"]["previous_ms"] == slot and told[1]["to"]["phone"], told
    assert told[0]["text"] != told[1]["text"] and told[1]["audience"] == "customer", told
    # sla-timer's appointment_kept clock runs to the new slot's end plus
    # the default policy's 30 minutes of grace (a new generation).
    c.wait_for(lambda: c.redis.hgetall(key("sla:t:%s", tid)).get("appointment_kept:due")
               == str(slot + 3 * HOUR + HOUR // 2), 10, what="sla-timer times the appointment")
    clocks = c.redis.hgetall(key("sla:t:%s", tid))
    assert clocks["appointment_kept:chg"] == "1" and clocks["appointment_kept:gen"] == "2", clocks
    assert clocks["appointment_kept"] == "running", clocks
    # Missed: a slot that moved before was not missed; the current one was.
    missed = {"wo_id": wo, "partner_id": "P777", "appointment_ms": slot}
    send(bus, "workorder.appointment_missed", tid, missed)
    assert c.ticket(tid)["appointment_missed"] is False
    missed["appointment_ms"] = slot + HOUR
    for dst in (bus, ntf, sla):
        send(dst, "workorder.appointment_missed", tid, missed)
    t = c.ticket(tid)
    assert t["appointment_missed"] is True and t["appointment"]["missed"] is True, t
    assert len(entries(c, tid, "workorder.appointment_missed")) == 2
    c.wait_for(lambda: notes(c, tid, "appointment_missed"), 20, what="the customer's apology")
    # sla-timer's clock breaches on its own time: the miss changes nothing there.
    assert c.redis.hgetall(key("sla:t:%s", tid)) == clocks
    log("appointment ok")


def check_returned(c, bus, ntf, tid):
    wo = "W" + tid
    at = now_ms()
    send(bus, "workorder.assigned", tid, {"wo_id": wo, "partner_id": "P777"}, at - 5000)
    assert c.ticket(tid)["status"] == "assigned"
    body = {"wo_id": wo, "partner_id": "P777", "reason": "no_parts", "note": "compressor out of stock"}
    send(bus, "workorder.returned", tid, body, at)
    t = c.ticket(tid)
    assert t["status"] == "received" and "partner_id" not in t and "appointment" not in t, t
    e = entries(c, tid, "workorder.returned")
    assert len(e) == 1 and e[0]["data"]["reason"] == "no_parts" and e[0]["data"]["note"] == body["note"], e
    # The returned partner's late progress moves nothing; the next offer does.
    send(bus, "workorder.progress", tid, {"wo_id": wo, "partner_id": "P777", "stage": "on_site", "seq": 3},
         at - 1000)
    assert c.ticket(tid)["status"] == "received"
    send(bus, "workorder.offered", tid, {"wo_id": wo, "partner_id": "P2", "choice": "best_score", "score": 640,
                                        "candidates": 2, "free": 1}, at + 1000)
    t = c.ticket(tid)
    assert t["status"] == "offered" and t["partner_id"] == "P2", t
    send(ntf, "workorder.returned", tid, body)
    n = c.wait_for(lambda: notes(c, tid, "returned"), 20, what="ops told of the returned work order")
    assert n[0]["audience"] == "ops" and n[0]["to"] is None and "P777" in n[0]["text"], n
    log("returned ok")


def check_garbage(c, bus, ntf, sla, tid):
    wo = "W" + tid
    cases = [
        ("workorder.offered", {"wo_id": wo, "partner_id": "P1", "choice": "random"}, "choice"),
        ("workorder.offered", {"wo_id": wo, "partner_id": "P1", "score": "high"}, "score"),
        ("workorder.offered", {"wo_id": wo, "partner_id": "P1", "candidates": -2}, "candidates"),
        ("workorder.unroutable", {"wo_id": wo}, "reason"),
        ("workorder.unroutable", {"wo_id": wo, "reason": "bored", "refusals": 1}, "reason"),
        ("workorder.unroutable", {"reason": "no_eligible_partner"}, "wo_id"),
        ("workorder.appointment", {"wo_id": wo, "partner_id": "P1", "appointment_ms": "soon"}, "appointment_ms"),
        ("workorder.appointment", {"wo_id": wo, "partner_id": "P1", "appointment_ms": 5, "late": "yes"}, "late"),
        ("workorder.appointment_missed", {"wo_id": wo, "partner_id": "P1"}, "appointment_ms"),
        ("workorder.returned", {"wo_id": wo, "partner_id": "P1", "reason": "bored"}, "reason"),
        ("workorder.returned", {"wo_id": wo, "reason": "no_parts"}, "partner_id"),
        ("workorder.returned", {"wo_id": wo, "partner_id": "P1", "reason": "other", "note": 7}, "note"),
    ]
    for type, body, words in cases:
        refused(c, bus, type, tid, body, words)
    # A body that is not even a map.
    before = state(c, tid)
    r = send(bus, "workorder.unroutable", tid, ["no_eligible_partner"], ok=False)
    assert r and r[0] == "NAK", r
    assert state(c, tid) == before
    # Notification and sla-timer refuse theirs too, and make nothing.
    made = len(c.customer_records())
    for type, body in (("workorder.appointment", {"wo_id": wo, "partner_id": "P1", "appointment_ms": "soon"}),
                       ("workorder.unroutable", {"wo_id": wo, "reason": "no_eligible_partner", "refusals": "x"}),
                       ("workorder.returned", {"wo_id": wo, "partner_id": "P1"})):
        r = send(ntf, type, tid, body, ok=False)
        assert r and r[0] == "NAK" and r[2], (type, r)
    clocks = c.redis.hgetall(key("sla:t:%s", tid))
    r = send(sla, "workorder.appointment", tid, {"wo_id": wo, "appointment_ms": "soon"}, ok=False)
    assert r and r[0] == "NAK" and "appointment_ms" in r[2], r
    assert c.redis.hgetall(key("sla:t:%s", tid)) == clocks
    time.sleep(1)
    assert len(c.customer_records()) == made
    log("garbage ok")


def check_override(c, tid):
    path = "/v1/tickets/%s/dispatch" % tid
    before = state(c, tid)
    r = c.http("POST", path, {"partner_id": "P900"}, AS["alice"])
    assert r.status == 403 and r["error"]["code"] == "forbidden", r
    # Ops override from the dashboard: past the role check, a bad body is
    # theirs to fix (400, never 403), and changes nothing.
    r = c.http("POST", path, {"partner_id": "P900", "x": 1}, AS["ops"])
    assert r.status == 400 and r["error"]["code"] == "invalid_field", r
    for body in ({}, {"partner_id": "bad id!"}, {"partner_id": "P900", "note": ""}, {"partner_id": "P9", "x": 1},
                 {"partner_id": 9}):
        r = c.http("POST", path, body, AS["sue"])
        assert r.status == 400 and r["error"]["code"] == "invalid_field", (body, r)
    assert state(c, tid) == before
    r = c.http("POST", "/v1/tickets/Tnope/dispatch", {"partner_id": "P900"}, AS["sue"])
    assert r.status == 404 and r["error"]["code"] == "not_found", r
    # No open field work order: a consultation, a cancelled ticket.
    for other in (create(c, type="consultation"), create(c)):
        if c.ticket(other)["type"] == "repair":
            assert c.http("POST", "/v1/tickets/%s/cancel" % other, {"reason": "x"}, AS["alice"]).status == 200
        before_other = state(c, other)
        r = c.http("POST", "/v1/tickets/%s/dispatch" % other, {"partner_id": "P900"}, AS["sue"])
        assert r.status == 409 and r["error"]["code"] == "no_open_work_order", r
        assert state(c, other) == before_other
    assert not [m for m in outbox_msgs(c, "routing") if m[1] == "ticket.override"]
    r = c.http("POST", path, {"partner_id": "P900", "note": "the customer asked for them"}, AS["sue"])
    assert r.status == 202 and r["ticket_id"] == tid, r
    e = entries(c, tid, "ticket.override")
    assert len(e) == 1 and e[0]["data"]["partner_id"] == "P900" and e[0]["data"]["by"] == "sue", e
    assert e[0]["data"]["wo_id"] == "W" + tid and e[0]["data"]["note"] == "the customer asked for them", e
    msgs = [m for m in outbox_msgs(c, "routing") if m[1] == "ticket.override"]
    assert len(msgs) == 1 and msgs[0][3] == tid, msgs
    assert msgs[0][6] == {"by": "sue", "wo_id": "W" + tid, "partner_id": "P900",
                          "note": "the customer asked for them"}, msgs
    override_id = msgs[0][2]
    # Only routing consumes it.
    assert not [m for d in ("sla", "notification", "feedback") for m in outbox_msgs(c, d)
                if m[1] == "ticket.override"]
    # Routing, back, takes it: acknowledged, or refused into the dead
    # letters while routing has no consumer for it yet.
    c.start_proc("routing")

    def delivered():
        if [m for m in outbox_msgs(c, "routing") if m[2] == override_id]:
            return None
        dead = [m for m in outbox_msgs(c, "routing", "dl") if m[2] == override_id]
        applied = c.redis.cmd("EXISTS", key("in:routing:" + override_id, tid)) == 1
        return "dead letter" if dead else "applied" if applied else "acknowledged"
    how = c.wait_for(delivered, 30, what="routing to take ticket.override")
    log("override ok (%s by routing)" % how)


def main():
    with Cluster(partners=0, token="adm-tok", env={"ASP_API_TOKENS": TOKENS}, name="dispatch") as c:
        # Routing's own events stay out of the way (it is this test that
        # speaks for routing), and what intake sends it stays in the
        # outbox to be read.
        c.kill("routing")
        bus, ntf, sla = c.bus("intake"), c.bus("notification"), c.bus("sla-timer")
        tid = check_created(c)
        check_offered(c, bus, tid)
        other = check_unroutable(c, bus, ntf)
        check_appointment(c, bus, ntf, sla, tid)
        check_returned(c, bus, ntf, tid)
        check_garbage(c, bus, ntf, sla, tid)
        check_override(c, other)
        c.check_alive()


if __name__ == "__main__":
    run(main, name="dispatch_view_test")
