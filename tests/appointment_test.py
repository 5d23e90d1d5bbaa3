#!/usr/bin/python3
"""Appointments, UNABLE, LIST and bad input (ASPW/1 extensions), end to end.

Real redis-server and asp-routing, partners over DEALER + CURVE, the bus
sender and the outbox reader of routing_protocol_test (its kit is reused,
not copied). Covers:
- book, change early (not late), change late (counted), the ASSIGNED
  details after a reconnect, LIST -> ASSIGNED... + LISTED;
- a missed appointment -> workorder.appointment_missed once, also when the
  deadline passes while routing is down (SIGKILL, restart);
- bad_appointment (past, too far ahead, end before start) changes nothing;
- UNABLE -> workorder.returned, pending again, offered to another partner,
  who starts at seq 1; the first partner cannot touch it any more;
- PROGRESS part/technician and COMPLETE resolution/parts/fee in the events;
- garbage, a flood (rate_limited), a replayed old message, COMPLETE of an
  order not held, a removed certificate: refused, counted, logged; the
  other partner unaffected.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/appointment_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import os
import time

import aspw
import harness
import routing_protocol_test as rpt
from harness import new_id, run
from routing_protocol_test import Bus, Partner, PartnerSide, check, events, offer_to, wait_events, wo_key

GRACE_MS = 1000
RATE = 50
HOUR = 3600 * 1000


def log(*args):
    print("[appointment_test]", *args, flush=True)


def now_ms():
    return int(time.time() * 1000)


def features_ready(p, features=("list", "unable", "appointment", "detail")):
    p.send("READY", {"capacity": p.capacity, "skills": p.skills, "regions": p.regions,
                     "features": list(features)})
    w = p.h.expect(p, "WELCOME")
    check(sorted(w.get("features", [])) == ["appointment", "detail", "list", "unable"],
          "WELCOME features %r" % w)
    return w


def drain(p, capacity):
    """READY again with capacity (0: no new offers, accepted work stays)."""
    p.capacity = capacity
    features_ready(p)


def take_offer(h, bus, partners):
    t = new_id("T")
    wo = "W" + t
    bus.ticket(t)
    x, offer = offer_to(h, partners, wo)
    x.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    return t, wo, x


def scenario_appointments(h, bus, redis, p1):
    log("book, change early, change late; details in ASSIGNED; LIST")
    t, wo, x = take_offer(h, bus, [p1])
    first = now_ms() + 3 * HOUR
    x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "scheduled", "appointment_ms": first,
                           "end_ms": first + HOUR, "technician": "T-7", "note": "上午"})
    early = now_ms() + 5 * HOUR                 # moves a slot 3 h away: not late
    x.command("PROGRESS", {"wo_id": wo, "seq": 2, "stage": "scheduled", "appointment_ms": early})
    soon = now_ms() + HOUR
    x.command("PROGRESS", {"wo_id": wo, "seq": 3, "stage": "scheduled", "appointment_ms": soon})
    late = now_ms() + 2 * HOUR                  # moves a slot 1 h away: late
    x.command("PROGRESS", {"wo_id": wo, "seq": 4, "stage": "scheduled", "appointment_ms": late,
                           "end_ms": late + HOUR})
    appts = sorted(wait_events(redis, t, "workorder.appointment", 4), key=lambda e: e["changes"])
    check([e["changes"] for e in appts] == [0, 1, 2, 3], "changes %r" % appts)
    check([e["late"] for e in appts] == [False, False, False, True], "late %r" % appts)
    check([e["previous_ms"] for e in appts] == [0, first, early, soon], "previous %r" % appts)
    check(appts[0]["end_ms"] == first + HOUR and appts[1]["end_ms"] == 0
          and appts[3]["appointment_ms"] == late and appts[3]["partner_id"] == "P1", "bodies %r" % appts)
    for dst in ("notification", "sla"):
        wait_events(redis, t, "workorder.appointment", 4, dst=dst)
    rec = redis.hgetall(wo_key(wo))
    check(rec["appt_ms"] == str(late) and rec["appt_changes"] == "3" and rec["appt_late"] == "1",
          "work order record %r" % rec)
    # A stage report keeps the appointment; the step is in workorder.progress.
    x.command("PROGRESS", {"wo_id": wo, "seq": 5, "stage": "waiting_parts", "part": "PCB-7",
                           "technician": "T-8"})
    prog = [e for e in events(redis, t, "workorder.progress") if e["seq"] == 5]
    check(prog and prog[0]["part"] == "PCB-7" and prog[0]["technician"] == "T-8", "progress %r" % prog)

    # Reconnect: ASSIGNED says where the job stands; LIST says it again.
    x.connect()
    features_ready(x)
    a = h.expect(x, "ASSIGNED", lambda b: b["wo_id"] == wo)
    check(a["seq"] == 5 and a["stage"] == "waiting_parts" and a["appointment_ms"] == late
          and a["end_ms"] == late + HOUR and a["technician"] == "T-8" and a["note"] == "上午",
          "ASSIGNED details %r" % a)
    x.send("LIST")
    a = h.expect(x, "ASSIGNED", lambda b: b["wo_id"] == wo)
    listed = h.expect(x, "LISTED")
    check(listed["assigned"] >= 1 and listed["count"] == listed["assigned"] + listed["offered"],
          "LISTED %r" % listed)
    x.command("COMPLETE", {"wo_id": wo, "result": "fixed", "resolution": "replaced_board",
                           "parts": [{"part": "PCB-7", "qty": 1}], "fee": 12000, "technician": "T-8"})
    done = wait_events(redis, t, "workorder.completed", 1)[0]
    check(done["resolution"] == "replaced_board" and done["parts"] == [{"part": "PCB-7", "qty": 1}]
          and done["fee"] == 12000 and done["technician"] == "T-8", "completed %r" % done)
    check(redis.cmd("ZSCORE", harness.key("rt:appt", t), wo) is None, "completed still booked")
    check(h.routing.metric("appointments_late_changes_total") == 1, "late changes counted")


def scenario_bad_appointment(h, bus, redis, p1):
    log("bad_appointment changes nothing")
    t, wo, x = take_offer(h, bus, [p1])
    before = redis.hgetall(wo_key(wo))
    n = h.routing.metric("partner_bad_appointment_total")
    now = now_ms()
    bad = [{"appointment_ms": now - 10 * 60 * 1000},
           {"appointment_ms": now + 181 * 24 * HOUR},
           {"appointment_ms": now + HOUR, "end_ms": now + HOUR}]
    for i, b in enumerate(bad):
        x.error("PROGRESS", dict(b, wo_id=wo, seq=i + 1, stage="scheduled"), "bad_appointment")
    x.error("PROGRESS", {"wo_id": wo, "seq": 9, "stage": "on_site", "end_ms": now + HOUR}, "bad_appointment")
    check(redis.hgetall(wo_key(wo)) == before, "a refused booking changed the work order")
    check(not events(redis, t, "workorder.appointment"), "a refused booking was published")
    check(h.routing.metric("partner_bad_appointment_total") == n + 4, "bad_appointment counted")
    return t, wo


def scenario_missed(h, bus, redis, routing, p1):
    log("missed appointment: once, and across a restart of routing")
    t, wo, x = take_offer(h, bus, [p1])
    now = now_ms()
    # The slot ended a minute ago (a late report is allowed up to 5 min back).
    x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "scheduled", "appointment_ms": now - 4 * 60000,
                           "end_ms": now - 60000})
    missed = wait_events(redis, t, "workorder.appointment_missed", 1, timeout=5)[0]
    check(missed == {"wo_id": wo, "partner_id": "P1", "appointment_ms": now - 4 * 60000}, "missed %r" % missed)
    wait_events(redis, t, "workorder.appointment_missed", 1, dst="feedback")
    # Another whose deadline passes while routing is down.
    t2, wo2, _ = take_offer(h, bus, [p1])
    appt = now_ms() - 60000
    x.command("PROGRESS", {"wo_id": wo2, "seq": 1, "stage": "scheduled", "appointment_ms": appt,
                           "end_ms": appt + 62000})
    routing.proc.kill()
    time.sleep(2.5)
    routing.start()
    x.send("HEARTBEAT")
    h.expect(x, "DISCONNECT")
    x.connect()
    x.ready()
    wait_events(redis, t2, "workorder.appointment_missed", 1, timeout=5)
    h.pump(2.5)                                 # more ticks: still once each
    check(len(events(redis, t, "workorder.appointment_missed")) == 1, "missed twice")
    check(len(events(redis, t2, "workorder.appointment_missed")) == 1, "missed twice after restart")
    # on_site in time: never missed.
    t3, wo3, _ = take_offer(h, bus, [p1])
    appt = now_ms() - 60000
    x.command("PROGRESS", {"wo_id": wo3, "seq": 1, "stage": "scheduled", "appointment_ms": appt,
                           "end_ms": appt + 61500})
    x.command("PROGRESS", {"wo_id": wo3, "seq": 2, "stage": "on_site"})
    h.pump(3.0)
    check(not events(redis, t3, "workorder.appointment_missed"), "on_site yet missed")
    for w in (wo, wo2, wo3):
        x.command("COMPLETE", {"wo_id": w, "result": "fixed"})


def scenario_unable(h, bus, redis, p1, p2):
    log("UNABLE -> returned, offered to another partner, who starts at seq 1")
    drain(p2, 0)                               # no offers until it says otherwise
    t, wo, x = take_offer(h, bus, [p1])
    x.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "scheduled", "appointment_ms": now_ms() + HOUR})
    x.command("PROGRESS", {"wo_id": wo, "seq": 2, "stage": "on_site"})
    h.expect_none(p2, "OFFER", 0.3)
    drain(p2, 3)
    c = x.command("UNABLE", {"wo_id": wo, "reason": "no_parts", "note": "压缩机缺货"})
    check(c["duplicate"] is False, "UNABLE %r" % c)
    c = x.command("UNABLE", {"wo_id": wo, "reason": "no_parts"})
    check(c["duplicate"] is True, "repeated UNABLE %r" % c)
    back = wait_events(redis, t, "workorder.returned", 1)[0]
    check(back == {"wo_id": wo, "partner_id": "P1", "reason": "no_parts", "note": "压缩机缺货"},
          "returned %r" % back)
    got, offer = offer_to(h, [p1, p2], wo)
    check(got is p2 and offer["offer_id"] == wo + ".2", "re-offer to %s %r" % (got.pid, offer))
    p2.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    c = p2.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_the_way"})
    check(c["duplicate"] is False, "the new partner's seq 1 is its own: %r" % c)
    x.error("PROGRESS", {"wo_id": wo, "seq": 3, "stage": "note"}, "not_yours")
    x.error("UNABLE", {"wo_id": wo, "reason": "platform"}, "bad_message")
    x.error("UNABLE", {"wo_id": wo, "reason": "partner_removed"}, "bad_message")
    p2.command("COMPLETE", {"wo_id": wo, "result": "fixed"})
    check(redis.cmd("ZSCORE", harness.key("rt:appt", t), wo) is None, "returned still booked")


def scenario_bad_input(h, bus, redis, p1, p2):
    log("garbage, flood, replay, COMPLETE of an order not held")
    drain(p1, 0)
    t, wo, y = take_offer(h, bus, [p2])
    drain(p1, 5)
    drain(p2, 0)
    t1, wo1, x = take_offer(h, bus, [p1])
    drain(p2, 3)
    x.command("PROGRESS", {"wo_id": wo1, "seq": 1, "stage": "on_the_way"})
    before = redis.hgetall(wo_key(wo))
    refused = h.routing.metric("partner_not_yours_total")
    x.error("COMPLETE", {"wo_id": wo, "result": "fixed"}, "not_yours")
    check(h.routing.metric("partner_not_yours_total") == refused + 1, "not_yours counted")
    # Replays: an old ACCEPT, a recorded PROGRESS.
    x.command("ACCEPT", {"wo_id": wo1, "offer_id": wo1 + ".1"})
    c = x.command("PROGRESS", {"wo_id": wo1, "seq": 1, "stage": "on_the_way"})
    check(c["duplicate"] is True, "replayed PROGRESS %r" % c)
    x.send_raw([aspw.SIGNATURE, b"LIST", b"\x93\x01\x02\x03"])
    h.expect(x, "ERROR", lambda b: b["code"] == "bad_message")
    # A flood: dropped beyond the rate, told at most once a second.
    limited = h.routing.metric("partner_rate_limited_total")
    for _ in range(RATE * 6):
        x.send("HEARTBEAT")
    h.pump(0.5)
    errs = [m for m in x.inbox if m["_cmd"] == "ERROR" and m["code"] == "rate_limited"]
    check(1 <= len(errs) <= 2, "rate_limited ERRORs %r" % errs)
    x.inbox = [m for m in x.inbox if m not in errs]
    check(h.routing.metric("partner_rate_limited_total") >= limited + RATE * 3, "flood counted")
    # The other partner was never affected; the flooder works again after a while.
    y.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_site"})
    h.pump(1.0)
    x.command("PROGRESS", {"wo_id": wo1, "seq": 2, "stage": "on_site"})
    check(redis.hgetall(wo_key(wo))["state"] == before["state"] == "assigned", "B's order state")
    text = open(h.routing.proc.log_path, encoding="utf-8", errors="replace").read()
    check("partner over its message rate" in text and '"code":"not_yours"' in text, "refusals logged")
    for p, w in ((y, wo), (x, wo1)):
        p.command("COMPLETE", {"wo_id": w, "result": "fixed"})
    # A removed certificate: its READY is answered DISCONNECT (counted,
    # logged); a new connection with that key gets no answer at all.
    os.remove(os.path.join(rpt.TMP, "partner-certs", "P2.cert"))
    time.sleep(1.1)                             # a new mtime for the folder
    y.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    h.expect(y, "DISCONNECT", lambda b: "certificate" in b["reason"])
    check(h.routing.metric("partner_bad_certificate_total") == 1, "removed certificate counted")
    y.heartbeat = False
    y.connect()
    y.send("READY", {"capacity": 1, "skills": ["*"], "regions": ["*"]})
    h.expect_none(y, ("WELCOME", "ERROR", "DISCONNECT"), 1.0)
    h.partners.remove(y)
    y.sock.close(0)


def scenarios(redis, routing, routing_pub, keys):
    h = rpt.SIDE = PartnerSide(routing, routing_pub)
    bus = Bus(routing.bus, curve=routing.bus_certs.curve("routing"))
    p1 = Partner(h, "P1", keys["P1"], capacity=5)
    p2 = Partner(h, "P2", keys["P2"], capacity=3)
    features_ready(p1)
    features_ready(p2)
    drain(p2, 0)                                # P1 alone takes the first orders
    scenario_appointments(h, bus, redis, p1)
    _, bad_wo = scenario_bad_appointment(h, bus, redis, p1)
    scenario_missed(h, bus, redis, routing, p1)
    p1.command("COMPLETE", {"wo_id": bad_wo, "result": "fixed"})
    scenario_unable(h, bus, redis, p1, p2)
    scenario_bad_input(h, bus, redis, p1, p2)
    check(routing.proc.running(), "asp-routing still running")
    bus.close()


def main():
    rpt.serve(scenarios, env={"ASP_APPOINTMENT_GRACE_MS": str(GRACE_MS), "ASP_PARTNER_RATE": str(RATE)})


if __name__ == "__main__":
    run(main, name="appointment_test")
