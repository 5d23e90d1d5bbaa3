"""Garbage on every service's bus inbox: each message is refused with a NAK
that says why, nothing in Redis changes, and the service keeps serving."""

import msgpack

from harness import SERVICES, Cluster, envelope, log, new_id, run

# One event type each service consumes (common/asp_events.c).
CONSUMED = {
    "intake": "workorder.assigned",
    "routing": "ticket.created",
    "sla-timer": "ticket.created",
    "notification": "ticket.created",
    "feedback": "survey.submitted",
}


def garbage_cases(svc):
    big = envelope(CONSUMED[svc], "Tbig", {"pad": "x" * (100 * 1024)})
    return [
        ("random bytes", [b"\xc1\x00\xff garbage"], "msgpack"),
        ("msgpack bomb (issue 1013)", [b"\xdd\xff\x00\x00\x00"], "elements"),
        ("truncated envelope", [envelope(CONSUMED[svc], "T1", {"a": 1})[:-3]], ("truncated", "left")),
        ("trailing bytes", [envelope(CONSUMED[svc], "T1", {}) + b"\x00"], "trailing"),
        ("not an array", [msgpack.packb({"type": "x"})], "array"),
        ("wrong version", [envelope(CONSUMED[svc], "T1", {}, version=9)], "version"),
        ("body not a map", [msgpack.packb([1, CONSUMED[svc], new_id(), "T1", "", 1, [1]])], "body"),
        ("bad id", [msgpack.packb([1, CONSUMED[svc], "bad id!", "T1", "", 1, {}])], "id"),
        ("oversized", [big], "exceeds"),
        ("unknown type", [envelope("ticket.exploded", "T1", {})], "does not handle"),
        ("two frames", [envelope(CONSUMED[svc], "T1", {}), b"extra"], "one frame"),
        ("empty frame", [b""], "empty"),
        ("deep nesting", [msgpack.packb([1, CONSUMED[svc], new_id(), "T1", "", 1,
                                         {"a": [[[[[[[[[[1]]]]]]]]]]}])], "nesting"),
    ]


def main():
    with Cluster(partners=0, customer=False, name="garbage") as c:
        before = len(c.redis.data_keys())
        for svc in SERVICES:
            bus = c.bus(svc)
            for what, frames, reason in garbage_cases(svc):
                reply = bus.send(frames)
                assert reply is not None, "%s: no answer to %s" % (svc, what)
                assert reply[0] == "NAK", "%s: %s answered %r" % (svc, what, reply)
                reasons = reason if isinstance(reason, tuple) else (reason,)
                assert any(r in reply[2] for r in reasons), \
                    "%s: %s: reason %r lacks %r" % (svc, what, reply[2], reason)
            # A missing ticket id on an event that needs one.
            reply = bus.publish(CONSUMED[svc], "", {})
            assert reply and reply[0] == "NAK", (svc, reply)
            log("%s: every garbage message refused with a reason" % svc)
        # Intake refuses events about a ticket it does not know.
        reply = c.bus("intake").publish("workorder.assigned", "Tunknown",
                                        {"wo_id": "WTunknown", "partner_id": "P1", "offer_id": "x"})
        assert reply[0] == "NAK" and "unknown_ticket" in reply[2], reply
        # Feedback refuses a survey with a bad score.
        reply = c.bus("feedback").publish("survey.submitted", "T1", {"score": 11, "resolved": True})
        assert reply[0] == "NAK" and "score" in reply[2], reply
        after = len(c.redis.data_keys())
        assert after == before, "garbage changed Redis: %s -> %s keys %r" % (before, after, c.redis.keys())
        # Everyone still serves.
        c.check_alive()
        for svc in SERVICES:
            assert c.healthz(svc).status == 200, svc
        tid = c.new_ticket()
        assert c.ticket(tid)["status"] == "received"
        for svc in SERVICES:
            assert c.metric(svc, "asp_bus_refused_total") >= len(garbage_cases(svc)), svc
    print("bus_garbage_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
