# ctest: TIMEOUT 300 LABELS integration
"""The return visit (回访) as a task for staff, end to end through intake's
API and the real cluster (common/asp_visits.h, services/intake/
intake_visits.h, services/feedback/feedback_visits.h):

  1. a completed ticket's visit is listed open (and overdue once past
     its due time, ASP_SLA_RETURN_VISIT_S); an agent claims it (a second
     agent cannot), it moves to the assigned list;
  2. garbage outcomes are refused naming the field (each out of range),
     an unknown visit is 404, another agent's record 409 not_claimed, a
     role that may not 403; a call that did not reach the customer counts
     an attempt;
  3. the outcome recorded: the ticket closes (reason visit), the visit is
     done with the answer, sla-timer's return_visit clock stops, the
     partner's quality counts include it as a survey answer; a second
     answer, staff's or the customer's own survey, is 409
     already_answered;
  4. a visit nobody answers: one survey reminder to the customer
     (survey_reminder, ASP_VISIT_REMINDERS=1), feedback SIGKILLed after
     it, then the no-response close (reason no_response), each once.
"""

import time

from harness import Cluster, log, run, shard_keys

TOKENS = ",".join(["alice-tok:agent:alice", "bob-tok:agent:bob", "sue-tok:supervisor:sue",
                   "ops-tok:ops", "adm-tok:admin:ada", "sys-tok:system"])
AS = {name: {"Authorization": "Bearer %s-tok" % name} for name in ("alice", "bob", "sue", "ops", "adm", "sys")}
DAY = 86400000
ENV = {"ASP_API_TOKENS": TOKENS, "ASP_SLA_RETURN_VISIT_S": 2, "ASP_VISIT_REMIND_S": 3,
       "ASP_VISIT_REMINDERS": 1, "ASP_SURVEY_CLOSE_S": 15, "ASP_FEEDBACK_TICK_MS": 200}
GOOD = {"reached": True, "fault_cause": "worn seal", "repair_status": "fixed", "arrival": "late",
        "work_quality": 4, "satisfaction": 3, "suggestions": "call before coming", "complaint": False}


def visit(c, vid, who="alice"):
    r = c.http("GET", "/v1/visits/" + vid, headers=AS[who])
    return r.body if r.status == 200 else r


def listed(c, state, who="alice", **q):
    qs = "&".join("%s=%s" % kv for kv in sorted(dict(state=state, **q).items()))
    r = c.http("GET", "/v1/visits?" + qs, headers=AS[who])
    assert r.status == 200, r
    return [v["visit_id"] for v in r["visits"]], r.body


def outcome(c, vid, body, who="alice"):
    return c.http("POST", "/v1/visits/%s/outcome" % vid, body, AS[who])


def counts(c, partner):
    """Today's counts of partner over every shard: {count: n}."""
    today = int(time.time() * 1000) // DAY
    out = {}
    for k in shard_keys("fb:days"):
        for f, v in c.redis.hgetall(k).items():
            day, count, rest = f.split("|", 2)
            if int(day) == today and rest == "p|" + partner:
                out[count] = out.get(count, 0) + int(v)
    return out


def closed_reasons(c, tid):
    return [e["data"].get("reason") for e in c.timeline(tid) if e["type"] == "ticket.closed"]


def reminders(c, tid):
    return [n for n in c.notifications() if n.get("ticket_id") == tid and n.get("template") == "survey_reminder"]


def staff_visit(c):
    tid = c.new_ticket()
    vid = "V" + tid
    c.wait_status(tid, "visit_scheduled", 90)
    v = c.wait_for(lambda: vid in listed(c, "open")[0] and visit(c, vid), 10, what="the visit listed open")
    assert v["state"] == "open" and v["ticket_id"] == tid and v["agent"] is None, v
    assert v["due_ms"] == v["scheduled_ms"] + 2000, v
    # Overdue once its due time passed; due_before is exclusive.
    c.wait_for(lambda: visit(c, vid)["overdue"], 10, what="the visit overdue")
    assert vid not in listed(c, "open", due_before=v["due_ms"])[0]
    assert vid in listed(c, "open", due_before=v["due_ms"] + 1)[0]
    for who in ("sue", "adm"):
        assert vid in listed(c, "open", who=who)[0], who
    # Ops read the work list (the dashboard's queue), never work it.
    assert vid in listed(c, "open", who="ops")[0]
    r = c.http("GET", "/v1/visits", headers=AS["sys"])
    assert r.status == 403 and r["error"]["code"] == "forbidden", r
    for bad in ("state=done", "state=bogus", "limit=0", "limit=201", "offset=-1", "due_before=soon",
                "colour=red"):
        r = c.http("GET", "/v1/visits?" + bad, headers=AS["alice"])
        assert r.status == 400 and r["error"]["code"] == "invalid_query", (bad, r)
        assert bad.split("=")[0] in r["error"]["message"], (bad, r)

    # The claim: alice's (twice is fine), not bob's.
    for who, status in (("alice", 202), ("alice", 202), ("bob", 409)):
        r = c.http("POST", "/v1/visits/%s/claim" % vid, None, AS[who])
        assert r.status == status, (who, r)
    assert r["error"]["code"] == "already_claimed", r
    v = c.wait_for(lambda: visit(c, vid)["state"] == "assigned" and visit(c, vid), 10, what="assigned")
    assert v["agent"] == "alice", v
    assert vid in listed(c, "assigned")[0] and vid not in listed(c, "open")[0]
    log("listed, claimed ok")
    return tid, vid


def garbage(c, tid, vid):
    bad = [({"reached": "yes"}, "reached"), ({}, "reached"),
           (dict(GOOD, repair_status="great"), "repair_status"), (dict(GOOD, arrival="early"), "arrival"),
           (dict(GOOD, work_quality=0), "work_quality"), (dict(GOOD, work_quality=6), "work_quality"),
           (dict(GOOD, satisfaction=0), "satisfaction"), (dict(GOOD, satisfaction="5"), "satisfaction"),
           (dict(GOOD, complaint="no"), "complaint"), (dict(GOOD, fault_cause="x" * 1001), "fault_cause"),
           (dict(GOOD, suggestions="x" * 2001), "suggestions"), (dict(GOOD, mood="fine"), "mood"),
           ({k: v for k, v in GOOD.items() if k != "satisfaction"}, "satisfaction")]
    for body, field in bad:
        r = outcome(c, vid, body)
        assert r.status == 400 and r["error"]["code"] == "invalid_field" and field in r["error"]["message"], \
            (field, r)
    for unknown in ("V" + tid + ".7", "VTnope", "X1"):
        r = outcome(c, unknown, GOOD)
        assert r.status == 404 and r["error"]["code"] == "not_found", (unknown, r)
        r = c.http("GET", "/v1/visits/" + unknown, headers=AS["alice"])
        assert r.status == 404, (unknown, r)
    r = outcome(c, vid, GOOD, who="bob")
    assert r.status == 409 and r["error"]["code"] == "not_claimed", r
    for who in ("ops", "sys"):
        r = outcome(c, vid, GOOD, who=who)
        assert r.status == 403 and r["error"]["code"] == "forbidden", (who, r)
    assert c.status(tid) == "visit_scheduled"
    # Not reached: an attempt, the visit stays alice's.
    r = outcome(c, vid, {"reached": False})
    assert r.status == 202 and r["status"] == "attempt_recorded", r
    c.wait_for(lambda: visit(c, vid)["attempts"] == 1, 10, what="the attempt counted")
    assert visit(c, vid)["state"] == "assigned"
    log("garbage refused ok")


def answered(c, tid, vid):
    partner = c.ticket(tid)["partner_id"]
    r = outcome(c, vid, GOOD)
    assert r.status == 202 and r["status"] == "answer_received", r
    r = outcome(c, vid, GOOD)
    assert r.status == 409 and r["error"]["code"] == "already_answered", r
    r = c.survey(tid, score=5)
    assert r.status == 409 and r["error"]["code"] == "already_answered", r
    c.wait_status(tid, "closed", 20)
    assert closed_reasons(c, tid) == ["visit"], c.timeline(tid)
    v = visit(c, vid)
    assert v["state"] == "done" and not v["overdue"], v
    a = v["answer"]
    assert a["answered_by"] == "alice" and a["satisfaction"] == 3 and a["work_quality"] == 4, a
    assert a["repair_status"] == "fixed" and a["arrival"] == "late" and a["fault_cause"] == "worn seal", a
    assert a["resolved"] is True and a["on_time"] is False and a["complaint"] is False, a
    assert vid not in listed(c, "assigned")[0]
    r = outcome(c, vid, GOOD)
    assert r.status == 409 and r["error"]["code"] == "already_answered", r
    # The answer is the visit's survey answer in the partner's counts.
    got = c.wait_for(lambda: counts(c, partner).get("surveys") == 1 and counts(c, partner), 10,
                     what="the answer counted")
    assert got.get("score_sum") == 3 and got.get("resolved") == 1, got
    assert got.get("arrivals") == 1 and got.get("late_arrivals") == 1, got
    # sla-timer's return_visit clock stopped with the close.
    clock = c.wait_for(lambda: [k for k in c.get("/v1/tickets/%s/clocks" % tid).body["clocks"]
                                if k["clock"] == "return_visit" and k["state"] != "running"], 10,
                       what="the return_visit clock stopped")
    assert clock[0]["state"] in ("met", "late"), clock
    log("answered ok: %s" % got)


def no_response(c):
    tid = c.new_ticket()
    vid = "V" + tid
    c.wait_status(tid, "visit_scheduled", 90)
    c.wait_for(lambda: reminders(c, tid), 15, what="the survey reminder")
    c.restart("feedback")           # SIGKILL: the close is still to come
    assert c.status(tid) == "visit_scheduled", c.ticket(tid)
    c.wait_status(tid, "closed", 30)
    assert closed_reasons(c, tid) == ["no_response"], c.timeline(tid)
    v = visit(c, vid)
    assert v["state"] == "no_response" and v["reminders"] == 1, v
    time.sleep(1)
    assert len(reminders(c, tid)) == 1, reminders(c, tid)
    assert closed_reasons(c, tid) == ["no_response"], c.timeline(tid)
    r = outcome(c, vid, GOOD, who="sue")
    assert r.status == 409 and r["error"]["code"] == "visit_ended", r
    log("reminded once, closed no_response ok")


def main():
    with Cluster(partners=1, customer=False, token="adm-tok", env=ENV, name="visits") as c:
        tid, vid = staff_visit(c)
        garbage(c, tid, vid)
        answered(c, tid, vid)
        no_response(c)
        c.check_alive()
    print("visits_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main, name="visits_test")
