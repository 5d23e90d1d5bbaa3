# ctest: TIMEOUT 240 LABELS integration
"""Service-recovery records through the real cluster (intake_recovery.h,
docs/http-api.md "Service recovery"):

  1. open, update, resolve a record on a ticket a partner did: the record,
     its timeline entries, a closed record refused (409), resolving without
     the action refused (409);
  2. compensation against the [approval] caps of the SLA policy file
     (ASP_SLA_POLICY_FILE: agent 40, supervisor 400, manager 4000 major
     units, not the shipped file's): over the cap 403 over_cap naming the cap and the role that
     could approve, at the cap accepted naming the approver, for an agent,
     a supervisor and an admin (the manager's cap);
  3. every garbage field refused naming it (400), unknown ticket and
     record 404, roles 403: nothing written, nothing sent;
  4. feedback counts each closed record once in the partner's quality
     counts (recoveries, recovered_fast, compensation) although feedback
     was down and intake is SIGKILLed right after the request that closed
     one; the customer is
     told once of the record resolved with compensation;
  5. GET /v1/recovery filters (category, outcome, partner, region, from,
     to, limit, offset) and refuses a garbage query;
  6. feedback NAKs a garbage recovery.recorded naming the field, and an
     older revision arriving after a newer one counts nothing;
  7. a changed policy file's caps are in force in intake without a restart.
"""

import time

from harness import SLA_POLICY_HEAD, Cluster, key, log, shard_keys, sla_policy, ticket_record, wait_for

TOKENS = ",".join(["alice-tok:agent:alice", "sue-tok:supervisor:sue", "ops-tok:ops",
                   "adm-tok:admin:ada", "sys-tok:system"])
AS = {n: {"Authorization": "Bearer %s-tok" % n} for n in ("alice", "sue", "ops", "adm", "sys")}
PARTNERS = [{"regions": "north", "work_ms": 300, "progress": 0}]
# Caps in major units; the API speaks minor units (x100).
POLICY_TEXT = """[approval]
agent = 40
supervisor = 400
manager = 4000
[policy standard]
first_response = 4h calendar
"""
POLICY = sla_policy(POLICY_TEXT)


def rec_path(tid, rid=None):
    return "/v1/tickets/%s/recovery%s" % (tid, "/" + rid if rid else "")


def state(c, tid):
    """What a refusal must leave as it was: the ticket, its timeline, its
    records, the shard's index and intake's outbox."""
    out = {(k, f) for k in c.redis.keys("{s*}:ob:intake:*") for f in c.redis.hgetall(k)}
    return (ticket_record(c.redis, tid), c.redis.hgetall(key("t:%s:rc", tid)),
            c.redis.cmd("ZRANGE", key("ix:recovery", tid), 0, -1), out)


def refused(c, method, path, body, who, status, code, tid, words=()):
    before = state(c, tid)
    r = c.http(method, path, body, AS[who])
    assert r.status == status and r["error"]["code"] == code, (method, path, body, who, r.status, r.body)
    for w in words:
        assert w in r["error"]["message"], (w, r.body)
    after = state(c, tid)
    assert after[:3] == before[:3], "refused %s %r changed intake's records" % (method, body)
    assert after[3] <= before[3], "refused %s %r sent a message" % (method, body)
    return r


def counts(c, partner, name):
    """feedback's count name of partner over every shard and day."""
    total = 0
    for k in shard_keys("fb:days"):
        for f, v in c.redis.hgetall(k).items():
            parts = f.split("|")
            if parts[1:] == [name, "p", partner]:
                total += int(v)
    return total


def check_life(c, tid):
    r = c.http("POST", rec_path(tid), {"category": "delay", "root_cause": "parts late"}, AS["alice"])
    assert r.status == 201, r
    rec = r.body
    assert rec["outcome"] == "open" and rec["category"] == "delay" and rec["compensation"] == 0, rec
    assert rec["opened_by"] == "alice" and rec["resolved_ms"] is None and rec["rev"] == 1, rec
    assert rec["partner_id"] and rec["region"] == "north", rec
    rid = rec["id"]
    r = c.http("PATCH", rec_path(tid, rid), {"action": "called the customer, sent the part"}, AS["alice"])
    assert r.status == 200 and r["rev"] == 2 and r["action"].startswith("called"), r
    r = c.http("PATCH", rec_path(tid, rid), {"outcome": "resolved"}, AS["alice"])
    assert r.status == 200 and r["outcome"] == "resolved", r
    assert r["resolved_ms"] >= r["opened_ms"] and r["time_to_resolve_ms"] == r["resolved_ms"] - r["opened_ms"], r
    refused(c, "PATCH", rec_path(tid, rid), {"root_cause": "another"}, "sue", 409, "recovery_closed", tid)
    # Resolving needs the action taken.
    r = c.http("POST", rec_path(tid), {"category": "billing"}, AS["alice"])
    assert r.status == 201, r
    refused(c, "PATCH", rec_path(tid, r["id"]), {"outcome": "resolved"}, "alice", 409, "action_required", tid)
    r = c.http("PATCH", rec_path(tid, r["id"]), {"outcome": "unresolved"}, AS["alice"])
    assert r.status == 200 and r["outcome"] == "unresolved", r
    tl = [e for e in c.timeline(tid) if e["type"].startswith("recovery.")]
    assert [e["type"] for e in tl] == ["recovery.opened", "recovery.updated", "recovery.updated",
                                       "recovery.opened", "recovery.updated"], tl
    assert tl[0]["data"]["recovery_id"] == rid and tl[0]["data"]["by"] == "alice", tl
    got = c.http("GET", rec_path(tid), None, AS["ops"])
    assert got.status == 200 and [x["category"] for x in got["recoveries"]] == ["delay", "billing"], got
    return rid


def check_caps(c, tid):
    """Over and at each role's cap (minor units)."""
    for who, role, cap, approver in (("alice", "agent", 4000, "supervisor"),
                                     ("sue", "supervisor", 40000, "manager"),
                                     ("adm", "manager", 400000, None)):
        r = c.http("POST", rec_path(tid), {"category": "workmanship"}, AS[who])
        assert r.status == 201, r
        rid = r["id"]
        words = ["%s cap of %d" % (role, cap)] + (["a %s, whose cap is" % approver] if approver
                                                    else ["over every role's"])
        refused(c, "PATCH", rec_path(tid, rid), {"compensation": cap + 1}, who, 403, "over_cap", tid, words)
        # Opening with it is refused the same way.
        refused(c, "POST", rec_path(tid), {"category": "damage", "compensation": cap + 1}, who, 403,
                "over_cap", tid, words)
        r = c.http("PATCH", rec_path(tid, rid), {"compensation": cap}, AS[who])
        assert r.status == 200 and r["compensation"] == cap, r
        assert r["approver_role"] == role and r["approved_by"] == {"adm": "ada"}.get(who, who), r
        # Someone else's later change of the texts keeps the approval.
        r = c.http("PATCH", rec_path(tid, rid), {"root_cause": "bad seal"}, AS["alice"])
        assert r.status == 200 and r["approver_role"] == role and r["compensation"] == cap, r


GARBAGE = [
    ({}, "category"),
    ({"category": "late"}, "category"),
    ({"category": 3}, "category"),
    ({"category": "delay", "extra": 1}, "extra"),
    ({"category": "delay", "root_cause": ""}, "root_cause"),
    ({"category": "delay", "root_cause": "x" * 2001}, "root_cause"),
    ({"category": "delay", "root_cause": "a\u0001b"}, "root_cause"),
    ({"category": "delay", "action": 7}, "action"),
    ({"category": "delay", "compensation": -1}, "compensation"),
    ({"category": "delay", "compensation": 1.5}, "compensation"),
    ({"category": "delay", "compensation": "100"}, "compensation"),
    ({"category": "delay", "compensation": 10 ** 12}, "compensation"),
    ({"category": "delay", "outcome": "open"}, "outcome"),
]
PATCH_GARBAGE = [
    ({}, "give root_cause"),
    ({"outcome": "done"}, "outcome"),
    ({"outcome": 1}, "outcome"),
    ({"category": "delay"}, "category"),
    ({"action": ""}, "action"),
    ({"compensation": -5}, "compensation"),
]


def check_garbage(c, tid):
    for body, field in GARBAGE:
        refused(c, "POST", rec_path(tid), body, "alice", 400, "invalid_field", tid, [field])
    refused(c, "POST", rec_path(tid), "[1,2]", "alice", 400, "invalid_field", tid)
    refused(c, "POST", rec_path(tid), "{nope", "alice", 400, "invalid_json", tid)
    r = c.http("POST", rec_path(tid), {"category": "parts"}, AS["alice"])
    assert r.status == 201, r
    rid = r["id"]
    for body, field in PATCH_GARBAGE:
        refused(c, "PATCH", rec_path(tid, rid), body, "alice", 400, "invalid_field", tid, [field])
    refused(c, "PATCH", rec_path(tid, "Rnope"), {"action": "x"}, "alice", 404, "not_found", tid)
    refused(c, "POST", rec_path("Tnope"), {"category": "delay"}, "alice", 404, "not_found", tid)
    r = c.http("GET", rec_path("Tnope"), None, AS["alice"])
    assert r.status == 404, r
    # Roles: ops and systems read, never write.
    for who in ("ops", "sys"):
        refused(c, "POST", rec_path(tid), {"category": "delay"}, who, 403, "forbidden", tid)
        refused(c, "PATCH", rec_path(tid, rid), {"action": "x"}, who, 403, "forbidden", tid)
    r = c.http("GET", "/v1/recovery", None, AS["sys"])
    assert r.status == 403, r
    r = c.http("PATCH", rec_path(tid, rid), {"action": "replaced", "outcome": "resolved"}, AS["alice"])
    assert r.status == 200, r


def check_counted(c, tid, partner):
    """A record resolved with compensation, intake SIGKILLed at once:
    feedback counts it once, the customer hears of it once."""
    r = c.http("POST", rec_path(tid), {"category": "missed_appointment", "action": "rebooked",
                                       "compensation": 3000}, AS["alice"])
    assert r.status == 201, r
    rid = r["id"]
    # feedback down: the event waits in intake's outbox when intake dies.
    c.kill("feedback")
    r = c.http("PATCH", rec_path(tid, rid), {"outcome": "resolved"}, AS["alice"])
    assert r.status == 200, r
    c.restart("intake")
    c.start_proc("feedback")
    # Closed so far: delay (resolved), billing (unresolved), parts
    # (resolved), this one (resolved): 4 recoveries, 3 of them fast.
    # Compensation: 4000 + 40000 + 400000 (the caps' records, still open)
    # + 3000.
    want = {"recoveries": 4, "recovered_fast": 3, "compensation": 447000}
    wait_for(lambda: all(counts(c, partner, n) == v for n, v in want.items()), 30,
             what="feedback's counts %r" % want)
    wait_for(c.drained, 30, what="every outbox drained")
    assert all(counts(c, partner, n) == v for n, v in want.items()), \
        {n: counts(c, partner, n) for n in want}
    told = lambda: [n for n in c.notifications() if n.get("event") == "recovery.recorded"]
    wait_for(lambda: len(told()) >= 1, 20, what="the customer told of the recovery")
    got = told()
    assert len(got) == 1 and got[0]["ticket_id"] == tid and "30" in got[0]["text"], got
    return rid


def check_feedback_bus(c, tid, partner):
    """Garbage recovery.recorded on feedback's bus is NAKed naming what is
    wrong, and an older revision of a record arriving late (or the same
    one again under a new id) changes no count."""
    want = {n: counts(c, partner, n) for n in ("recoveries", "recovered_fast", "compensation")}
    before = c.redis.hgetall(key("fb:%s:q", tid))
    now = int(time.time() * 1000)       # a recent day: prune.lua keeps it
    good = {"recovery_id": "Rlate", "category": "delay", "outcome": "resolved", "compensation": 100,
            "amount": 100, "approver": "agent", "opened_ms": now - 3600000, "resolved_ms": now - 1800000,
            "rev": 3}
    bus = c.bus("feedback")
    for field, bad in (("recovery_id", "bad id!"), ("outcome", "done"), ("rev", 0), ("compensation", -1),
                       ("opened_ms", 0), ("resolved_ms", 1)):
        reply = bus.publish("recovery.recorded", tid, dict(good, **{field: bad}))
        assert reply and reply[0] == "NAK" and field in reply[2], (field, reply)
    assert c.redis.hgetall(key("fb:%s:q", tid)) == before
    want["recoveries"] += 1
    want["recovered_fast"] += 1
    want["compensation"] += 100
    # rev 3, then rev 2 arriving late, then rev 3 again under a new
    # message id: the counts are rev 3's after each.
    for body in (good, dict(good, rev=2, outcome="unresolved", compensation=9), good):
        assert bus.publish("recovery.recorded", tid, body)[0] == "ACK"
        got = {n: counts(c, partner, n) for n in want}
        assert got == want, (body, got, want)
    bus.close()


def check_list(c, tid, partner):
    r = c.http("GET", "/v1/recovery?limit=100", None, AS["ops"])
    assert r.status == 200 and not r["partial"], r
    every = r["recoveries"]
    assert r["count"] == len(every) == 7 and all(x["ticket_id"] == tid for x in every), r.body
    assert [x["opened_ms"] for x in every] == sorted((x["opened_ms"] for x in every), reverse=True), every
    def ids(q, who="sue"):
        r = c.http("GET", "/v1/recovery?" + q, None, AS[who])
        assert r.status == 200, (q, r)
        return [x["id"] for x in r["recoveries"]]
    by = lambda pred: [x["id"] for x in every if pred(x)]
    assert ids("category=workmanship&limit=100") == by(lambda x: x["category"] == "workmanship") and \
        len(ids("category=workmanship")) == 3
    assert ids("outcome=resolved&limit=100") == by(lambda x: x["outcome"] == "resolved")
    assert ids("outcome=open&category=workmanship") == by(lambda x: x["outcome"] == "open"
                                                            and x["category"] == "workmanship")
    assert ids("partner=%s&limit=100" % partner) == [x["id"] for x in every]
    assert ids("partner=nobody") == [] and ids("region=south") == []
    assert ids("region=north&limit=3") == [x["id"] for x in every[:3]]
    assert ids("region=north&limit=3&offset=3") == [x["id"] for x in every[3:6]]
    mid = every[4]["opened_ms"]
    assert ids("from=%d&limit=100" % mid) == by(lambda x: x["opened_ms"] >= mid)
    assert ids("to=%d&limit=100" % mid) == by(lambda x: x["opened_ms"] <= mid)
    for q, code in (("category=late", "invalid_query"), ("from=yesterday", "invalid_query"),
                    ("limit=0", "invalid_query"), ("offset=-1", "invalid_query"),
                    ("from=20&to=10", "invalid_query"), ("colour=red", "invalid_query")):
        r = c.http("GET", "/v1/recovery?" + q, None, AS["sue"])
        assert r.status == 400 and r["error"]["code"] == code, (q, r)


def check_reload(c, tid):
    """A changed [approval] is in force in intake without a restart (a
    file with another size: the watch compares its stat)."""
    with open(POLICY, "w") as f:
        f.write(SLA_POLICY_HEAD + POLICY_TEXT.replace("agent = 40", "agent = 45.5"))
    body = {"category": "billing", "compensation": 4550}
    r = wait_for(lambda: (lambda r: r.status == 201 and r)(c.http("POST", rec_path(tid), body, AS["alice"])),
                 20, what="the agent's new cap")
    assert r["approver_role"] == "agent", r.body
    refused(c, "POST", rec_path(tid), dict(body, compensation=4551), "alice", 403, "over_cap", tid,
            ["agent cap of 4550"])


def main():
    env = {"ASP_API_TOKENS": TOKENS, "ASP_SLA_POLICY_FILE": POLICY}
    with Cluster(partners=PARTNERS, customer=False, token="adm-tok", env=env, name="recovery") as c:
        tid = c.new_ticket(type="repair")
        c.wait_status(tid, ("completed", "visit_scheduled"), timeout=60)
        check_life(c, tid)
        check_caps(c, tid)
        check_garbage(c, tid)
        rec = c.http("GET", rec_path(tid), None, AS["alice"])["recoveries"][0]
        partner = rec["partner_id"]
        check_counted(c, tid, partner)
        check_list(c, tid, partner)
        check_feedback_bus(c, tid, partner)
        check_reload(c, tid)
    log("ok")


if __name__ == "__main__":
    main()
