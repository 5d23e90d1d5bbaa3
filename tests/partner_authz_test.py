#!/usr/bin/python3
"""A partner authenticated with one key can never read, accept, decline,
progress, complete, hand back (UNABLE) or LIST another partner's order.

Real redis-server and asp-routing; partners A and B over DEALER + CURVE
(the kit of routing_protocol_test). B holds two work orders: one offered
to it, one it accepted and reported progress on. A tries every partner
command on both, with B's own offer ids and every attempt number around
them, on a fresh connection too: each is refused (not_yours,
offer_expired ...), A never receives an OFFER, ASSIGNED or LISTED entry of
B's, and B's work orders in Redis are byte for byte unchanged. B then
finishes both normally.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/partner_authz_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import time

import routing_protocol_test as rpt
from harness import new_id, run
from routing_protocol_test import Bus, Partner, PartnerSide, check, events, offer_to, wo_key

FEATURES = ["list", "unable", "appointment", "detail"]


def log(*args):
    print("[partner_authz_test]", *args, flush=True)


def ready(p, capacity):
    p.capacity = capacity
    p.send("READY", {"capacity": capacity, "skills": ["*"], "regions": ["*"], "features": FEATURES})
    p.h.expect(p, "WELCOME")


def attempts(h, a, wo, offer_id, redis, ticket):
    """Every command A can send about B's work order wo: all refused."""
    now = int(time.time() * 1000)
    tries = [
        ("ACCEPT", {"wo_id": wo, "offer_id": offer_id}),
        ("ACCEPT", {"wo_id": wo, "offer_id": wo + ".1"}),
        ("ACCEPT", {"wo_id": wo, "offer_id": wo + ".99"}),
        ("ACCEPT", {"wo_id": wo, "offer_id": "nonsense"}),
        ("DECLINE", {"wo_id": wo, "offer_id": offer_id, "reason": "mine now"}),
        ("DECLINE", {"wo_id": wo, "offer_id": wo + ".99"}),
        ("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_site"}),
        ("PROGRESS", {"wo_id": wo, "seq": 50, "stage": "scheduled", "appointment_ms": now + 3600000}),
        ("COMPLETE", {"wo_id": wo, "result": "fixed", "fee": 1}),
        ("UNABLE", {"wo_id": wo, "reason": "other", "note": "take it away"}),
    ]
    for cmd, body in tries:
        r = a.command(cmd, body, expect="ERROR")
        check(r["code"] in ("not_yours", "offer_expired"),
              "A's %s %r on B's order got %r" % (cmd, body, r))
    # LIST shows A only its own work.
    a.send("LIST")
    listed = h.expect(a, "LISTED")
    leaked = [m for m in a.inbox if m.get("wo_id") == wo]
    check(not leaked, "A saw B's order: %r" % leaked)
    check(listed["count"] == listed["assigned"] + listed["offered"], "LISTED %r" % listed)
    check(not [e for e in events(redis, ticket, "workorder.assigned") if e["partner_id"] == "P1"],
          "A was assigned B's order")


def scenarios(redis, routing, routing_pub, keys):
    h = rpt.SIDE = PartnerSide(routing, routing_pub)
    bus = Bus(routing.bus, curve=routing.bus_certs.curve("routing"))
    a = Partner(h, "P1", keys["P1"])
    b = Partner(h, "P2", keys["P2"])
    ready(a, 0)                         # A drains: B gets both orders
    ready(b, 3)
    t1, t2 = new_id("T"), new_id("T")
    bus.ticket(t1)
    _, held = offer_to(h, [b], "W" + t1)
    b.command("ACCEPT", {"wo_id": "W" + t1, "offer_id": held["offer_id"]})
    b.command("PROGRESS", {"wo_id": "W" + t1, "seq": 1, "stage": "on_the_way"})
    bus.ticket(t2)
    _, offered = offer_to(h, [b], "W" + t2)
    ready(a, 3)                         # A may take work now; B's stays B's
    before = {t: redis.hgetall(wo_key("W" + t)) for t in (t1, t2)}

    log("A tries everything on B's accepted and B's offered work order")
    attempts(h, a, "W" + t1, held["offer_id"], redis, t1)
    attempts(h, a, "W" + t2, offered["offer_id"], redis, t2)
    log("again from a fresh connection of A")
    a.connect()
    ready(a, 3)
    h.pump(0.3)
    check(not [m for m in a.inbox if m.get("wo_id") in ("W" + t1, "W" + t2)],
          "A's READY resumed B's work: %r" % a.inbox)
    attempts(h, a, "W" + t1, held["offer_id"], redis, t1)
    for t in (t1, t2):
        after = redis.hgetall(wo_key("W" + t))
        check(after == before[t], "B's W%s changed in Redis: %r -> %r" % (t, before[t], after))
    check(routing.metric("partner_not_yours_total") >= 10, "refusals counted")

    log("B finishes both")
    b.command("ACCEPT", {"wo_id": "W" + t2, "offer_id": offered["offer_id"]})
    b.command("COMPLETE", {"wo_id": "W" + t1, "result": "fixed"})
    b.command("COMPLETE", {"wo_id": "W" + t2, "result": "fixed"})
    for t in (t1, t2):
        check(redis.hgetall(wo_key("W" + t))["partner"] == "P2", "W%s finished by B" % t)
    bus.close()


def main():
    # B's offer must stay open while A tries everything on it.
    rpt.serve(scenarios, env={"ASP_OFFER_TIMEOUT_MS": "60000"})


if __name__ == "__main__":
    run(main, name="partner_authz_test")
