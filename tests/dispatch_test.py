#!/usr/bin/python3
"""Routing's choice of a partner (docs/architecture.md section 4), end to end.

Standalone like routing_protocol_test (whose pieces it uses): its own
redis-server and asp-routing, raw CURVE partners (DEALER + msgpack) with
different territories, skills and capacities, scores published as
partner.scored and overrides as ticket.override on routing's bus inbox (as
feedback and intake would), and the events read from routing's outbox in
Redis. Every ticket ends with the partner the documented rule names, and
the workorder.offered event (and the work order's `choice` field) says why:

- best score first, then free credit; a full partner (READY capacity) is
  skipped; the installer of record wins over a better score;
- express before standard, then priority, then first come first served;
- no partner could fit: workorder.unroutable no_eligible_partner once, the
  order in rt:unroutable until a fitting partner says READY, then offered;
- decline and lapse: the next partner; every fitting one refused: a new
  round after ASP_REOFFER_ROUND_MS; ASP_OFFER_MAX_REFUSALS refusals:
  workorder.unroutable refusals_exceeded once; express offers lapse after
  ASP_OFFER_TIMEOUT_EXPRESS_MS;
- override: the current offer is withdrawn and the chosen partner offered
  (whatever its skills), choice override; its decline resumes normal routing;
- SIGKILL of routing: the scores and the unroutable queue survive.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/dispatch_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import os
import time

import zmq

import aspw
import harness
import routing_protocol_test as rpt
from harness import key, new_id, run
from routing_protocol_test import Partner, PartnerSide, check, events, wait_events, wo_key

SCALE = harness.TIMEOUT_SCALE
TMP = rpt.TMP
EXPRESS_TIMEOUT_MS = int(1200 * SCALE)
ROUND_MS = int(2500 * SCALE)
MAX_REFUSALS = 3
PARTNERS = ("PA", "PB", "PC", "PD", "PF", "PG")


def log(*args):
    print("[dispatch_test]", *args, flush=True)


def make_certs():
    certs = os.path.join(TMP, "partner-certs")
    os.makedirs(certs)
    rpub, rsec = zmq.curve_keypair()
    aspw.write_cert(os.path.join(TMP, "routing.cert"), rpub)
    aspw.write_cert(os.path.join(TMP, "routing.cert_secret"), rpub, rsec)
    keys = {}
    for pid in PARTNERS:
        pub, sec = zmq.curve_keypair()
        aspw.write_cert(os.path.join(certs, pid + ".cert"), pub, meta={"partner_id": pid})
        keys[pid] = (pub, sec)
    return certs, rpub, keys


class Bus(rpt.Bus):
    def new_ticket(self, category, region, tier="standard", priority=3, **extra):
        """A new ticket.created; returns (ticket, wo_id)."""
        t = new_id("T")
        body = {"type": "repair", "tier": tier, "priority": priority, "category": category,
                "region": region, "summary": "dispatch test"}
        body.update(extra)
        _, reply = self.send_ticket(t, body)
        check(reply[0] == "ACK", "ticket.created %s answered %r" % (t, reply))
        return t, "W" + t

    def event(self, etype, ticket, body):
        msg_id = new_id("m")
        reply = self.publish(etype, ticket, body, id=msg_id)
        check(reply == ["ACK", msg_id], "%s answered %r" % (etype, reply))

    def score(self, pid, score):
        self.event("partner.scored", "", {"partner_id": pid, "score": score, "on_time": score,
                                          "first_fix": score, "repeat": score, "satisfaction": score,
                                          "samples": 10})


def offered(redis, t, attempt):
    """The workorder.offered event of attempt (from routing's outbox)."""
    found = [e for e in wait_events_at_least(redis, t, "workorder.offered", attempt) if e["attempt"] == attempt]
    check(len(found) == 1, "offered attempt %d of %s: %r" % (attempt, t, found))
    return found[0]


def wait_events_at_least(redis, t, etype, count, timeout=5.0):
    def enough():
        found = events(redis, t, etype)
        if len(found) >= count:
            return found
        rpt.SIDE.pump(0.05)
        return None
    return rpt.waiting(enough, timeout, lambda: "%s %s: fewer than %d: %r" % (t, etype, count, events(redis, t, etype)))


def why(redis, t, attempt, choice, partner, **fields):
    """Checks the why of an offer: the event and the work order hash."""
    e = offered(redis, t, attempt)
    check(e["choice"] == choice and e["partner_id"] == partner,
          "offer %d of %s: expected %s to %s, got %r" % (attempt, t, choice, partner, e))
    for k, v in fields.items():
        check(e[k] == v, "offer %d of %s: %s %r, expected %r (%r)" % (attempt, t, k, e[k], v, e))
    return e


def finish(h, p, wo, offer_id):
    p.command("ACCEPT", {"wo_id": wo, "offer_id": offer_id})
    p.command("COMPLETE", {"wo_id": wo, "result": "fixed"})


def expect_offer(h, partners, wo, timeout=5.0):
    return rpt.offer_to(h, partners, wo, timeout)


def scenario_score_and_caps(h, bus, redis, pa, pb, pc):
    log("best score, then free credit; a full partner is skipped; the installer wins")
    t1, w1 = bus.new_ticket("heater", "north", area="haidian", installer="")
    x, o1 = expect_offer(h, [pa, pb, pc], w1)
    record = redis.hgetall(wo_key(w1))
    check(record["area"] == "haidian" and record["installer"] == "", "area on the work order %r" % record)
    check(x is pa, "t1 went to %s" % x.pid)
    why(redis, t1, 1, "best_score", "PA", score=900, candidates=2, free=2)
    t2, w2 = bus.new_ticket("heater", "north")
    x, o2 = expect_offer(h, [pa, pb, pc], w2)
    check(x is pa, "t2 went to %s" % x.pid)
    why(redis, t2, 1, "best_score", "PA", score=900, candidates=2, free=1)
    t3, w3 = bus.new_ticket("heater", "north")          # PA is full (capacity 2)
    x, o3 = expect_offer(h, [pa, pb, pc], w3)
    check(x is pb, "t3 went to %s" % x.pid)
    why(redis, t3, 1, "best_score", "PB", score=600, candidates=1, free=2)
    check(redis.hgetall(wo_key(w3))["choice"] == "best_score", "choice on the work order hash")
    # The installer of record wins over PA's better score.
    t4, w4 = bus.new_ticket("heater", "north", installer="PB")
    for p, w, o in ((pa, w1, o1), (pa, w2, o2)):
        finish(h, p, w, o["offer_id"])
    x, o4 = expect_offer(h, [pa, pb, pc], w4)
    check(x is pb, "t4 (installer PB) went to %s" % x.pid)
    why(redis, t4, 1, "original_installer", "PB", score=600, candidates=1)
    check(redis.hgetall(wo_key(w4))["choice"] == "original_installer", "installer choice on the hash")
    check(redis.hgetall(wo_key(w4))["installer"] == "PB", "installer on the work order")
    # An installer that is not a partner id is refused (NAK): no work order.
    bad = new_id("T")
    _, reply = bus.send_ticket(bad, {"type": "repair", "category": "heater", "region": "north",
                                     "installer": "not an id"})
    check(reply[0] == "NAK" and "installer" in reply[2], "bad installer answered %r" % (reply,))
    check(not redis.hgetall(wo_key("W" + bad)), "work order for a refused ticket.created")
    finish(h, pb, w3, o3["offer_id"])
    finish(h, pb, w4, o4["offer_id"])
    # An unscored partner counts with the prior (700): PC beats PB (600) in the south.
    t5, w5 = bus.new_ticket("heater", "south")
    x, o5 = expect_offer(h, [pa, pb, pc], w5)
    check(x is pc, "t5 went to %s" % x.pid)
    why(redis, t5, 1, "best_score", "PC", score=-1, candidates=2)
    finish(h, pc, w5, o5["offer_id"])


def scenario_order_and_unroutable(h, bus, redis, keys):
    log("express first, then priority, then FIFO; unroutable until a fitting partner comes")
    t1, w1 = bus.new_ticket("tv", "west", priority=3)
    t2, w2 = bus.new_ticket("tv", "west", priority=1)
    t3, w3 = bus.new_ticket("tv", "west", priority=3)
    t4, w4 = bus.new_ticket("tv", "west", tier="express", priority=5)
    for t in (t1, t2, t3, t4):
        e = wait_events(redis, t, "workorder.unroutable", 1, timeout=10)[0]
        check(e == {"wo_id": "W" + t, "reason": "no_eligible_partner", "refusals": 0}, "unroutable %r" % e)
        check(redis.cmd("ZSCORE", key("rt:unroutable", t), "W" + t) is not None, "W%s in rt:unroutable" % t)
        check(redis.hgetall(wo_key("W" + t))["unroutable"] == "no_eligible_partner", "unroutable field")
    check(h.routing.metric("workorders_unroutable") == 4, "workorders_unroutable gauge")
    h.pump(0.5)
    for t in (t1, t2, t3, t4):
        check(len(events(redis, t, "workorder.unroutable")) == 1, "unroutable once for %s" % t)
    pf = Partner(h, "PF", keys["PF"], capacity=1, skills=["tv"], regions=["west"])
    pf.ready()
    for t, w in ((t4, w4), (t2, w2), (t1, w1), (t3, w3)):
        x, o = expect_offer(h, [pf], w)
        check(redis.cmd("ZSCORE", key("rt:unroutable", t), w) is None, "%s left rt:unroutable" % w)
        check("unroutable" not in redis.hgetall(wo_key(w)), "unroutable field cleared for %s" % w)
        why(redis, t, 1, "best_score", "PF", candidates=1, free=1)
        check(not [m for m in pf.inbox if m["_cmd"] == "OFFER"], "PF got two offers at once: %r" % pf.inbox)
        finish(h, pf, w, o["offer_id"])
    h.pump(0.2)
    check(h.routing.metric("workorders_unroutable") == 0, "workorders_unroutable back to 0")
    check(h.routing.metric("offers_express_total") >= 1, "offers_express_total")
    return pf


def scenario_refusals(h, bus, redis, pa, pb, pc):
    log("decline and lapse: the next partner; a new round; escalation once")
    t, w = bus.new_ticket("heater", "south", tier="express")
    x, o = expect_offer(h, [pa, pb, pc], w)
    check(x is pc, "first offer to %s" % x.pid)
    pc.command("DECLINE", {"wo_id": w, "offer_id": o["offer_id"], "reason": "busy"})
    x, o = expect_offer(h, [pa, pb, pc], w)
    check(x is pb and o["expires_ms"] <= EXPRESS_TIMEOUT_MS, "second offer %s %r" % (x.pid, o))
    why(redis, t, 2, "best_score", "PB")
    started = time.time()
    h.expect(pb, "WITHDRAW", lambda b: b["wo_id"] == w, timeout=EXPRESS_TIMEOUT_MS / 1000.0 + 3)
    waited = time.time() - started
    check(waited < rpt.OFFER_TIMEOUT_MS / 1000.0, "express offer lapsed after %.2fs" % waited)
    # Every fitting partner refused: nobody is asked before the round ages.
    h.expect_none(pc, "OFFER", ROUND_MS / 1000.0 * 0.5, lambda b: b["wo_id"] == w)
    x, o = expect_offer(h, [pa, pb, pc], w, timeout=ROUND_MS / 1000.0 + 3)
    check(x is pc and o["offer_id"] == w + ".3", "new round offer %s %r" % (x.pid, o))
    pc.command("DECLINE", {"wo_id": w, "offer_id": o["offer_id"]})
    e = wait_events(redis, t, "workorder.unroutable", 1)[0]
    check(e == {"wo_id": w, "reason": "refusals_exceeded", "refusals": MAX_REFUSALS}, "escalation %r" % e)
    check(redis.hgetall(wo_key(w)).get("escalated") == "1", "escalated field")
    x, o = expect_offer(h, [pa, pb, pc], w, timeout=5.0)
    check(x is pb, "after escalation, offered to %s" % x.pid)
    pb.command("DECLINE", {"wo_id": w, "offer_id": o["offer_id"]})      # a 4th refusal
    x, o = expect_offer(h, [pa, pb, pc], w, timeout=ROUND_MS / 1000.0 + 3)
    finish(h, x, w, o["offer_id"])
    check(len(events(redis, t, "workorder.unroutable")) == 1, "escalated once only")
    check(redis.cmd("ZSCORE", key("rt:unroutable", t), w) is None, "escalation is not the unroutable queue")


def scenario_override(h, bus, redis, pa, pb, pd):
    log("override: withdrawn from PA, offered to PD whatever its skills; its decline resumes routing")
    t, w = bus.new_ticket("heater", "north")
    x, o = expect_offer(h, [pa, pb, pd], w)
    check(x is pa, "first offer to %s" % x.pid)
    bus.event("ticket.override", t, {"wo_id": w, "partner_id": "PD", "by": "sup-1", "note": "VIP"})
    wd = h.expect(pa, "WITHDRAW", lambda b: b["wo_id"] == w)
    check(wd.get("reason"), "WITHDRAW reason %r" % wd)
    x, o = expect_offer(h, [pa, pb, pd], w)
    check(x is pd, "override offer to %s" % x.pid)
    why(redis, t, 2, "override", "PD")
    declined = [e for e in wait_events(redis, t, "workorder.declined", 1)]
    check(declined[0]["reason"] == "override" and declined[0]["partner_id"] == "PA", "declined %r" % declined)
    check("override" not in redis.hgetall(wo_key(w)), "override used up")
    pd.command("DECLINE", {"wo_id": w, "offer_id": o["offer_id"]})
    x, o = expect_offer(h, [pa, pb, pd], w)
    check(x is pa, "after the override's decline: %s" % x.pid)
    why(redis, t, 3, "best_score", "PA")
    finish(h, pa, w, o["offer_id"])
    # An override of an accepted work order changes nothing (stale, ACK).
    bus.event("ticket.override", t, {"wo_id": w, "partner_id": "PD", "by": "sup-1"})
    check("override" not in redis.hgetall(wo_key(w)), "override of a closed work order recorded")


def scenario_restart(h, bus, redis, routing, partners, keys):
    log("SIGKILL routing: scores and the unroutable queue survive")
    t, w = bus.new_ticket("fridge", "east")
    wait_events(redis, t, "workorder.unroutable", 1, timeout=10)
    rpt.kill_and_reconnect(h, routing, partners)
    # After the start's grace the order is still unroutable, not reported twice.
    h.pump(2 * rpt.LIVENESS * rpt.HEARTBEAT_MS / 1000.0 + 1.0)
    check(len(events(redis, t, "workorder.unroutable")) == 1, "unroutable reported again after restart")
    check(redis.cmd("ZSCORE", key("rt:unroutable", t), w) is not None, "rt:unroutable after restart")
    check(routing.metric("workorders_unroutable") == 1, "gauge after restart")
    pg = Partner(h, "PG", keys["PG"], capacity=1, skills=["fridge"], regions=["east"])
    pg.ready()
    x, o = expect_offer(h, [pg], w)
    finish(h, pg, w, o["offer_id"])
    pa = partners[0]
    t2, w2 = bus.new_ticket("heater", "north")
    x, o = expect_offer(h, partners, w2)
    check(x is pa, "after restart, offered to %s" % x.pid)
    why(redis, t2, 1, "best_score", "PA", score=900)          # the score was reloaded
    finish(h, pa, w2, o["offer_id"])


def scenarios(redis, routing, routing_pub, keys):
    h = rpt.SIDE = PartnerSide(routing, routing_pub)
    bus = Bus(routing.bus, curve=routing.bus_certs.curve("routing"))
    pa = Partner(h, "PA", keys["PA"], capacity=2, skills=["heater"], regions=["north"])
    pb = Partner(h, "PB", keys["PB"], capacity=2, skills=["heater"], regions=["north", "south"])
    pc = Partner(h, "PC", keys["PC"], capacity=1, skills=["*"], regions=["south"])
    pd = Partner(h, "PD", keys["PD"], capacity=1, skills=["ac"], regions=["*"])
    for p in (pa, pb, pc, pd):
        p.ready()
    bus.score("PA", 900)
    bus.score("PB", 600)
    # A malformed score is refused (NAK) and changes nothing.
    reply = bus.publish("partner.scored", "", {"partner_id": "PA", "score": 1001})
    check(reply[0] == "NAK" and "score" in reply[2], "bad score answered %r" % (reply,))
    check(redis.cmd("HGET", key("rt:scores", "PA"), "PA") == "900", "PA's score in rt:scores")
    scenario_score_and_caps(h, bus, redis, pa, pb, pc)
    scenario_order_and_unroutable(h, bus, redis, keys)
    scenario_refusals(h, bus, redis, pa, pb, pc)
    scenario_override(h, bus, redis, pa, pb, pd)
    scenario_restart(h, bus, redis, routing, [pa, pb, pc, pd], keys)
    check(routing.metric("dispatch_rounds_total") > 0, "dispatch_rounds_total")
    check(routing.proc.running(), "asp-routing still running")
    bus.close()


def main():
    rpt.serve(scenarios, make_certs, {"ASP_OFFER_TIMEOUT_EXPRESS_MS": str(EXPRESS_TIMEOUT_MS),
                                      "ASP_REOFFER_ROUND_MS": str(ROUND_MS),
                                      "ASP_OFFER_MAX_REFUSALS": str(MAX_REFUSALS)})


if __name__ == "__main__":
    run(main, name="dispatch_test")
