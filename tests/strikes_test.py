# ctest: TIMEOUT 300 LABELS integration
"""The three-strike ladder end to end, through intake's API and the real
cluster (services/feedback/feedback_strikes.h, docs/architecture.md "The
three-strike ladder"):

  1. three tickets done by the one partner, each answered with a
     complaint: warning, penalty, removal on the partner's ladder
     (GET /v1/partners/{id}/strikes), each strike once although its survey
     is sent twice; feedback is SIGKILLed after the second complaint and
     before its strike can have moved (nothing lost, nothing counted
     twice);
  2. removed: routing offers the partner nothing, so a new ticket in its
     region is unroutable; routing SIGKILLed and restarted keeps it so
     (rt:removed);
  3. garbage reviews refused naming the field, an unknown strike 404,
     nothing sent;
  4. ops overturn the second strike: the third steps back to a penalty,
     the partner is reinstated and the waiting ticket is offered and done;
  5. ops were told of each step once (notification's file channel):
     warning, penalty, removal, reinstated.
"""

import time

from harness import Cluster, log, shard_of, wait_for

PARTNER = "P001"


def strikes(c):
    """The ladder; a partner known only by its certificate, without
    strikes yet, is 404 (neither laddered nor registered)."""
    r = c.get("/v1/partners/%s/strikes" % PARTNER)
    if r.status == 404 and r.body["error"]["code"] == "not_found":
        return {"strikes": [], "removed": False, "version": 0}
    assert r.status == 200, r
    return r.body


def complain(c, tid):
    """Waits for the ticket's work to be done and answers its survey with
    a complaint, twice (the second is refused: one strike)."""
    c.wait_status(tid, ("completed", "visit_scheduled"), timeout=90)
    r = c.survey(tid, score=1, resolved=False, complaint=True)
    assert r.status == 202, r
    r = c.survey(tid, score=1, resolved=False, complaint=True)
    assert r.status == 409, r


def ladder_has(c, n):
    return wait_for(lambda: len(strikes(c)["strikes"]) == n and strikes(c), 20,
                    what="%d strikes on the ladder" % n)


def told(c):
    """Ops' notifications of the ladder, in order: (ticket, notice)."""
    return [(n["ticket_id"], n["data"]["notice"]) for n in c.notifications()
            if n.get("event") == "partner.strike" and n.get("audience") == "ops"]


def main():
    env = {"ASP_SCORE_INTERVAL_MS": 200, "ASP_STRIKES": "warning,penalty,removal"}
    with Cluster(partners=1, customer=False, env=env, name="strikes") as c:
        tickets = [c.new_ticket(type="repair") for _ in range(3)]
        complain(c, tickets[0])
        got = ladder_has(c, 1)
        assert got["strikes"][0]["step"] == "warning" and not got["removed"], got

        # The second complaint, then feedback killed at once: its strike
        # is in the ticket's shard (or already on the ladder); after the
        # restart it is delivered once.
        complain(c, tickets[1])
        c.restart("feedback")
        got = ladder_has(c, 2)
        assert [s["step"] for s in got["strikes"]] == ["warning", "penalty"], got

        complain(c, tickets[2])
        got = ladder_has(c, 3)
        steps = [(s["ticket_id"], s["step"], s["state"]) for s in got["strikes"]]
        assert steps == [(tickets[0], "warning", "active"), (tickets[1], "penalty", "active"),
                         (tickets[2], "removal", "active")], steps
        assert got["removed"] is True, got
        assert all(s["technician_id"] == "sim-technician" for s in got["strikes"]), got
        assert got["strikes"][2]["technician_step"] == "removal", got
        wait_for(lambda: c.redis.cmd("HGET", "{s%d}:rt:removed" % shard_of(PARTNER), PARTNER)
                 == "%d|1" % got["version"], 20, what="routing to hold the removal")

        # 2: removed, and still so after routing's restart.
        c.restart("routing")
        late = c.new_ticket(type="repair")
        wo = "{s%d}:rt:wo:W%s" % (shard_of(late), late)
        wait_for(lambda: c.redis.hgetall(wo).get("unroutable") == "no_eligible_partner", 30,
                 what="the new ticket to be unroutable")
        assert c.redis.hgetall(wo).get("state") == "pending", c.redis.hgetall(wo)

        # 3: garbage reviews, an unknown strike: refused, nothing sent.
        path = "/v1/partners/%s/strikes/%s/review" % (PARTNER, got["strikes"][1]["strike_id"])
        for body, field in (({"decision": "forgive", "reason": "x"}, "decision"),
                            ({"decision": "overturn"}, "reason"),
                            ({"decision": "overturn", "reason": ""}, "reason"),
                            ({"decision": "overturn", "reason": "x", "step": 1}, "step"),
                            ([1, 2], "object")):
            r = c.http("POST", path, body)
            assert r.status == 400 and field in r.body["error"]["message"], (body, r)
        r = c.http("POST", "/v1/partners/%s/strikes/Tnope-1/review" % PARTNER,
                   {"decision": "overturn", "reason": "x"})
        assert r.status == 404 and r.body["error"]["code"] == "unknown_strike", r
        time.sleep(1)
        assert strikes(c)["version"] == got["version"], strikes(c)

        # 4: the second strike overturned: reinstated, the ticket flows.
        r = c.http("POST", path, {"decision": "overturn", "reason": "the customer was cross about the price"})
        assert r.status == 202, r
        after = wait_for(lambda: not strikes(c)["removed"] and strikes(c), 20, what="the partner reinstated")
        steps = [(s["step"], s["state"]) for s in after["strikes"]]
        assert steps == [("warning", "active"), ("", "overturned"), ("penalty", "active")], steps
        assert after["strikes"][1]["reason"] == "the customer was cross about the price", after
        c.wait_status(late, ("completed", "visit_scheduled"), timeout=90)
        assert c.ticket(late)["partner_id"] == PARTNER

        # Ops told of each step once, in order, whatever the kills; the
        # text names the partner and the step.
        want = [(tickets[0], "warning"), (tickets[1], "penalty"), (tickets[2], "removal"),
                (tickets[1], "reinstated")]
        wait_for(lambda: told(c) == want, 20, what="ops told of every step")
        time.sleep(1.0)
        assert told(c) == want, told(c)
        texts = [n["text"] for n in c.notifications() if n.get("event") == "partner.strike"]
        assert all(PARTNER in t for t in texts), texts
        log("ladder: %s" % steps)


if __name__ == "__main__":
    main()
