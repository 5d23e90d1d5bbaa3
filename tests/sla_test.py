"""SLA clocks through the real services, with a policy file of seconds.

One cluster (no partner takes the work, so clocks run), its policy
(ASP_SLA_POLICY_FILE) choosing by the customer's region:
- warning -> breach -> every ladder step, each exactly once per clock
  (counted in the timeline and in staff notifications), even when
  sla-timer is SIGKILLed while they fall due and again after; escalations
  name their recipients;
- compensation: a percent rule at its minimum and maximum, cut by the
  approval caps (each role, and capped), a price unknown; a per-day rule
  owed when the late clock stops;
- pause and resume (the ticket waits for the customer; a partner waits
  for parts): the due time moves by the paused time, the breach comes
  then and not before; a resume of nothing paused changes nothing;
- business time: calendars written around "now" (minute resolution):
  a business clock created while the office is closed is due its target
  after the office opens, and fires then, not at its calendar-time due;
  one created while open crosses the closed minute;
- a clock stopped in time (ticket.responded) fires nothing; an older
  work order's events and a re-sent ticket.created change nothing; events
  that overtake their ticket's ticket.created are parked (at most 64) and
  applied after it, each at its own time (a close before its
  ticket.created leaves a tombstone: no clock starts then); garbage
  timers are dropped.
The deadline state is in Redis, not in the process."""

import datetime
import time
import zoneinfo

import msgpack

from harness import Cluster, key, log, new_id, run, scaled, shard_keys, sla_policy

HOUR = 3600 * 1000


def events(c, tid, type, clock=None):
    return [e for e in c.timeline(tid) if e["type"] == type
            and (clock is None or e["data"].get("clock") == clock)]


def count(c, tid, type, clock=None):
    return len(events(c, tid, type, clock))


def now_ms():
    return int(time.time() * 1000)


def clocks(c, tid):
    return c.redis.hgetall(key("sla:t:%s", tid))


def members(c, tid):
    return [m for k in shard_keys("sla:due") for m in c.redis.cmd("ZRANGE", k, 0, -1)
            if m.startswith(tid + "|")]


def hhmm(t):
    return t.strftime("%H:%M")


def calendars(now):
    """Two calendars around now (minute resolution), and the minute m1
    at which the first opens and the second closes (at least 15 s away;
    the second opens again a minute later):
      shut (Asia/Shanghai): closed until m1, then open the rest of the day;
      open (UTC): open until m1, closed for a minute, then open."""
    m1 = (now + datetime.timedelta(seconds=75)).replace(second=0, microsecond=0)
    if (m1 - now).total_seconds() > 75 - 15 + 60:
        m1 -= datetime.timedelta(minutes=1)
    sh = zoneinfo.ZoneInfo("Asia/Shanghai")
    # Not at either zone's midnight: the day lines below name one day.
    while hhmm(m1) in ("23:59", "00:00") or hhmm(m1.astimezone(sh)) == "00:00":
        m1 += datetime.timedelta(minutes=1)
    local = m1.astimezone(sh)
    day = local.strftime("%a").lower()
    m2 = m1 + datetime.timedelta(minutes=1)
    uday = m1.strftime("%a").lower()
    text = """
[calendar shut]
zone = Asia/Shanghai
hours = mon-sun 00:00-24:00
hours = %s %s-24:00
[calendar open]
zone = UTC
hours = mon-sun 00:00-24:00
hours = %s 00:00-%s %s-24:00
[region biz-a]
calendar = shut
[region biz-b]
calendar = open
""" % (day, hhmm(local), uday, hhmm(m1), hhmm(m2))
    return text, int(m1.timestamp() * 1000)


POLICY = """
[ladder quick]
step = supervisor 2s
step = manager 3s

[compensation pct]
percent = 5
min = 1
max = 30

[compensation pct22]
percent = 5
min = 1
max = 22

[compensation daily]
per_day = 20
max = 200

[approval]
agent = 5
supervisor = 20
manager = 25

[policy standard]
warn = 50%
ladder = quick
first_response = 3s calendar
partner_acceptance = 4s calendar ladder=none
resolution = 5s calendar compensation=pct

[policy comp-pct]
match = region=pct-min,pct-sup,pct-cap,pct-none
first_response = 1s calendar ladder=none compensation=pct

[policy comp-max]
match = region=pct-max
first_response = 1s calendar ladder=none compensation=pct22

[policy comp-daily]
match = region=daily
first_response = 1s calendar ladder=none compensation=daily

[policy pause]
match = region=pause
resolution = 4s calendar warn=50% ladder=none pause=customer
onsite_arrival = 4s calendar warn=50% ladder=none pause=parts

[policy quiet]
match = region=quiet
first_response = 3s calendar ladder=none

[policy biz-a]
match = region=biz-a
first_response = 2s business warn=50% ladder=none

[policy biz-b]
match = region=biz-b
first_response = 90s business warn=50% ladder=none
"""

LADDER = {"first_response": (1, 1, 2), "partner_acceptance": (1, 1, 0), "resolution": (1, 1, 2)}


def fired(c, tid):
    """{clock: (warnings, breaches, escalations)} in the timeline."""
    out = {}
    for e in c.timeline(tid):
        if e["type"] in ("sla.warning", "sla.breached", "sla.escalated"):
            w, b, x = out.get(e["data"]["clock"], (0, 0, 0))
            out[e["data"]["clock"]] = (w + (e["type"] == "sla.warning"), b + (e["type"] == "sla.breached"),
                                       x + (e["type"] == "sla.escalated"))
    return out


def levels(c, tid):
    h = clocks(c, tid)
    return {clock: int(h.get(clock + ":lv", 0)) for clock in LADDER}


def check_ladder(c, tids):
    """Every phase of every clock fired exactly once, in order, across the
    kills; the ladder's steps name their recipients."""
    want = {clock: 2 + len([s for s in (1, 2) if x >= s]) for clock, (_, _, x) in LADDER.items()}
    c.wait_for(lambda: all(levels(c, t) == want for t in tids), scaled(20, 60), interval=0.2,
               what="every phase fired")
    for tid in tids:
        h = clocks(c, tid)
        for clock in LADDER:
            assert h[clock] == "breached", (clock, h)
            assert clock + ":nx" not in h, h
        assert not members(c, tid), members(c, tid)
        # The timeline: each phase once.
        f = fired(c, tid)
        for clock, (w, b, x) in LADDER.items():
            assert f[clock] == (w, b, x), (tid, clock, f)
        # The steps: supervisor then manager, the region's recipients.
        steps = [e["data"] for e in events(c, tid, "sla.escalated", "first_response")]
        assert [(x["step"], x["role"], x["to"], x["level"]) for x in steps] == \
            [(1, "supervisor", "sup@test.example", 3), (2, "manager", "mgr@test.example", 4)], steps
        # In order of firing: each phase's own time (the timeline is in the
        # order intake applied them, and after a SIGKILL sla-timer's outbox
        # may deliver an earlier step again after a later one).
        order = sorted((e["time_ms"], e["data"].get("level")) for e in c.timeline(tid)
                       if e["type"].startswith("sla.") and e["data"].get("clock") == "first_response")
        assert [lv for _, lv in order] == sorted(lv for _, lv in order), order
        view = {x["clock"]: x for x in c.get("/v1/tickets/%s/clocks" % tid).body["clocks"]}
        fr = view["first_response"]
        assert fr["state"] == "breached" and fr["breached"] is True and fr["level"] == 4, fr
        assert fr["escalation_step"] == 2 and fr["due_ms"] == int(h["first_response:due"]), fr
        br = events(c, tid, "sla.breached", "resolution")[0]["data"]
        assert br["level"] == 2 and br["policy"] == "standard" and br["target_ms"] == 5000, br
        assert br["due_ms"] == int(h["resolution:due"]), (br, h)
    log("ladder: every phase once across two kills")


def check_compensation(c, made):
    # amount (minor units), approver, capped, per ticket's region
    want = {"pct-min": (100, "agent", False), "pct-none": (100, "agent", False),
            "pct-sup": (1000, "supervisor", False), "pct-max": (2200, "manager", False),
            "pct-cap": (2500, "manager", True), "daily": (2000, "supervisor", False)}
    c.wait_for(lambda: all("first_response:cmp" in clocks(c, t) and events(c, t, "sla.compensation")
                           for t in made), scaled(15, 40), what="every compensation")
    for tid, region in made.items():
        h = clocks(c, tid)
        amount, approver, capped = want[region]
        got = (int(h["first_response:cmp"]), h["first_response:apr"], h.get("first_response:cap") == "1")
        assert got == (amount, approver, capped), (region, got, h)
        comp = [e["data"] for e in events(c, tid, "sla.compensation")]
        assert len(comp) == 1, comp
        assert (comp[0]["amount"], comp[0]["approver"], comp[0]["capped"]) == (amount, approver, capped), comp
        assert comp[0]["rule"] == ("daily" if region == "daily" else "pct22" if region == "pct-max" else "pct")
    log("compensation: min, max, each cap and a per-day rule")


def check_pause(c):
    """resolution pauses for the customer; the partner's parts pause
    onsite_arrival (a field clock of this policy)."""
    bus = c.bus("sla-timer")
    pause = c.new_ticket(customer={"region": "pause"})
    c.wait_for(lambda: clocks(c, pause).get("resolution") == "running", 5, what="pause's clocks")
    time.sleep(0.3)
    wo = "W" + pause
    assert c.http("POST", "/v1/tickets/%s/waiting" % pause, {"reason": "customer abroad"}).status == 200
    r = bus.publish("workorder.progress", pause, {"wo_id": wo, "partner_id": "P1", "seq": 1,
                                                   "stage": "waiting_parts"})
    assert r[0] == "ACK", r
    c.wait_for(lambda: clocks(c, pause).get("resolution") == "paused"
               and clocks(c, pause).get("onsite_arrival") == "paused", 10, what="paused")
    before = clocks(c, pause)
    assert before["wait_customer"] == "1" and before["wait_parts"] == "1", before
    # The ticket shows it (intake reads the clock hash).
    view = {x["clock"]: x for x in c.get("/v1/tickets/%s/clocks" % pause).body["clocks"]}
    assert view["resolution"]["state"] == "paused" and view["resolution"]["paused"] is True, view
    assert view["resolution"]["policy"] == "pause" and view["resolution"]["target_ms"] == 4000, view
    assert not members(c, pause), members(c, pause)
    # Pausing again changes nothing.
    r = bus.publish("workorder.progress", pause, {"wo_id": wo, "partner_id": "P1", "seq": 2,
                                                   "stage": "waiting_parts"})
    assert r[0] == "ACK" and clocks(c, pause) == before, r
    time.sleep(2.0)
    # A note resumes nothing; another stage resumes parts.
    r = bus.publish("workorder.progress", pause, {"wo_id": wo, "partner_id": "P1", "seq": 3, "stage": "note",
                                                   "note": "parts ordered"})
    assert r[0] == "ACK" and clocks(c, pause) == before, r
    assert c.http("POST", "/v1/tickets/%s/resume" % pause, {}).status == 200
    r = bus.publish("workorder.progress", pause, {"wo_id": wo, "partner_id": "P1", "seq": 4,
                                                   "stage": "on_the_way"})
    assert r[0] == "ACK", r
    c.wait_for(lambda: all(clocks(c, pause).get(k + ":nx") == "0" for k in ("resolution", "onsite_arrival")),
               10, what="re-armed")
    after = clocks(c, pause)
    for clock in ("resolution", "onsite_arrival"):
        paused = int(after[clock + ":ps"])
        assert 1500 < paused < 10000, after
        # Calendar time: every phase moves by the wall time paused.
        assert int(after[clock + ":due"]) == int(before[clock + ":due"]) + paused, (clock, before, after)
        assert int(after[clock + ":wn"]) == int(before[clock + ":wn"]) + paused, (clock, before, after)
        assert after[clock] == "running" and clock + ":pa" not in after, after
    # A resume of nothing paused: nothing changes.
    r = bus.publish("ticket.resumed", pause, {})
    assert r[0] == "ACK" and clocks(c, pause) == after, r
    # The breach comes at the moved due time, not at the old one.
    old_due = int(before["resolution:due"])
    while time.time() * 1000 < old_due + 300:
        time.sleep(0.05)
    assert count(c, pause, "sla.breached") == 0, c.timeline(pause).types()
    c.wait_for(lambda: count(c, pause, "sla.breached") == 2, scaled(10, 30), what="the moved breach")
    for e in events(c, pause, "sla.breached"):
        assert e["data"]["due_ms"] == int(after[e["data"]["clock"] + ":due"]), e
    log("pause: %d ms paused moved the breach" % int(after["resolution:ps"]))


def check_business(c, biz_a, biz_b, m1):
    """biz-a: created while its office is closed (until m1, Shanghai
    time): due 2 business seconds after m1; warned 1 s after m1. biz-b:
    90 business seconds from its start, its office closes at m1 for a
    minute."""
    a, b = clocks(c, biz_a), clocks(c, biz_b)
    assert a["first_response:bs"] == "business" and a["first_response:cal"] == "shut", a
    assert int(a["first_response:due"]) == m1 + 2000 and int(a["first_response:wn"]) == m1 + 1000, (m1, a)
    start = int(b["first_response:st"])
    left = m1 - start
    assert 0 < left < 90000, (m1, b)
    assert int(b["first_response:due"]) == m1 + 60000 + (90000 - left), (m1, b)
    warn = start + 45000 if left >= 45000 else m1 + 60000 + (45000 - left)
    assert int(b["first_response:wn"]) == warn, (m1, b)
    # In calendar time biz-a would be due 2 s after it started: nothing then.
    start_a = int(a["first_response:st"])
    while time.time() * 1000 < min(start_a + 3000, m1 - 200):
        time.sleep(0.1)
    # Nothing fired before its business-time warning (m1 + 1 s); on a slow
    # machine this check may come after it, so it looks at when each fired.
    early = [e for e in events(c, biz_a, "sla.warning") + events(c, biz_a, "sla.breached")
             if e["time_ms"] < m1 + 1000]
    assert not early, (m1, early)
    c.wait_for(lambda: count(c, biz_a, "sla.breached") == 1, (m1 - time.time() * 1000) / 1000 + scaled(10, 30),
               interval=0.2, what="the business-time breach")
    w = events(c, biz_a, "sla.warning")
    br = events(c, biz_a, "sla.breached")
    assert len(w) == 1 and br[0]["data"]["due_ms"] == m1 + 2000 and br[0]["data"]["basis"] == "business", br
    assert br[0]["time_ms"] >= m1 + 2000, br
    log("business time: due %d ms after the office opened" % (br[0]["data"]["due_ms"] - m1))


def check_bad_input(c, quiet):
    bus = c.bus("sla-timer")
    # Stopped in time: met, nothing fires.
    c.wait_for(lambda: clocks(c, quiet).get("first_response"), 5, what="quiet's clock")
    before = clocks(c, quiet)
    assert before["first_response"] == "running", before
    r = bus.publish("ticket.responded", quiet, {"message": "we are on it"})
    assert r[0] == "ACK", r
    c.wait_for(lambda: clocks(c, quiet).get("first_response") == "met", 10, what="met")
    assert not members(c, quiet)
    # A re-sent ticket.created (a new message id) restarts nothing.
    h = clocks(c, quiet)
    r = bus.publish("ticket.created", quiet, {"type": "repair", "tier": "express", "region": "pct-min"})
    assert r[0] == "ACK" and clocks(c, quiet) == h, (r, clocks(c, quiet))
    check_overtaken(c, bus)
    # Unknown tickets: ACKed and parked, in a hash that expires ...
    ghost = "Tghost" + new_id("x")[-8:]
    for type, body in (("ticket.responded", {}), ("ticket.waiting", {}), ("ticket.resumed", {}),
                       ("workorder.completed", {"wo_id": "W" + ghost}), ("workorder.assigned", {"wo_id": "W" + ghost})):
        r = bus.publish(type, ghost, body)
        assert r[0] == "ACK", (type, r)
    assert set(clocks(c, ghost)) == {"early"} and not members(c, ghost), clocks(c, ghost)
    assert 0 < c.redis.cmd("TTL", key("sla:t:%s", ghost)) <= 30 * 86400
    # ... and the end of a ticket not known yet (its ticket.created still
    # on its way) leaves a tombstone that expires: when ticket.created
    # comes, no clock starts, and the parked events start none.
    assert bus.publish("ticket.closed", ghost, {"reason": "survey"})[0] == "ACK"
    assert clocks(c, ghost)["done"] == "1" and 0 < c.redis.cmd("TTL", key("sla:t:%s", ghost)) <= 30 * 86400
    assert bus.publish("ticket.created", ghost, {"type": "repair", "region": "quiet"})[0] == "ACK"
    g = clocks(c, ghost)
    assert g["pol"] == "quiet" and g["done"] == "1" and g["owner"] == "" and "first_response" not in g, g
    assert "early" not in g and "wait_customer" not in g, g
    assert c.redis.cmd("TTL", key("sla:t:%s", ghost)) == -1 and not members(c, ghost)
    # Garbage refused with a reason; an older work order's event is stale.
    for type, body, why in (("workorder.progress", {"wo_id": "W" + quiet, "stage": "dancing"}, "stage"),
                            ("workorder.assigned", {"wo_id": "Wsomeone-else"}, "wo_id"),
                            ("ticket.responded", {"promise_ms": "soon"}, "promise_ms"),
                            ("ticket.owner_changed", {"owner": "a,b"}, "owner"),
                            ("ticket.owner_changed", {"owner": 7}, "owner"),
                            ("ticket.created", {"type": "repair", "price": -1}, "price")):
        r = bus.publish(type, quiet, body)
        assert r[0] == "NAK" and why in r[2], (type, r)
    assert clocks(c, quiet) == h, (h, clocks(c, quiet))
    log("bad input: nothing changed")


def check_overtaken(c, bus):
    """Events that overtake ticket.created (independent outboxes) apply
    after it, each at its own time; at most 64 wait."""
    tid, t0 = "Tearly" + new_id("x")[-8:], now_ms()
    for type, at in (("ticket.waiting", 900), ("ticket.responded", 500)):
        r = bus.publish(type, tid, {"message": "on it"} if type == "ticket.responded" else {}, time_ms=t0 + at)
        assert r[0] == "ACK", (type, r)
    h = clocks(c, tid)
    assert set(h) == {"early"} and not members(c, tid), h
    assert 0 < c.redis.cmd("TTL", key("sla:t:%s", tid)) <= 30 * 86400
    # The same message again is a duplicate: parked once.
    dup = new_id("m")
    for _ in range(2):
        assert bus.publish("ticket.resumed", tid, {}, id=dup, time_ms=t0 + 1000)[0] == "ACK"
    assert bus.publish("ticket.created", tid, {"type": "repair", "region": "quiet"}, time_ms=t0)[0] == "ACK"
    h = clocks(c, tid)
    # first_response (3 s) started at t0 and met at t0+500, by the event's
    # time; the wait began and ended (the resume parked once, after it).
    assert h["first_response"] == "met" and h["first_response:st"] == str(t0), h
    assert h["first_response:end"] == str(t0 + 500), h
    assert "early" not in h and "wait_customer" not in h, h
    assert c.redis.cmd("TTL", key("sla:t:%s", tid)) == -1 and not members(c, tid)
    # A ticket that never starts cannot grow: the 65th event is dropped.
    full = "Tfull" + new_id("x")[-8:]
    for i in range(65):
        assert bus.publish("ticket.waiting" if i % 2 else "ticket.resumed", full, {})[0] == "ACK"
    early = c.redis.cmd("HGET", key("sla:t:%s", full), "early")
    early = msgpack.unpackb(early.encode() if isinstance(early, str) else early, raw=False)
    assert len(early) == 64, len(early)
    log("overtaken: parked, applied after ticket.created at their times; at most 64")


def check_garbage_timers(c, tid):
    due = key("sla:due", tid)
    c.redis.cmd("ZADD", due, 1, "garbage-without-fields")
    other = next(t for t in ("T%d" % i for i in range(100)) if key("sla:due", t) != due)
    c.redis.cmd("ZADD", due, 1, "%s|first_response|1" % other)
    c.redis.cmd("ZADD", due, 1, "%s|first_response|1" % tid)      # its clock has no such member
    c.wait_for(lambda: not [m for m in c.redis.cmd("ZRANGE", due, 0, -1)
                            if m.startswith(("garbage", other, tid + "|"))], scaled(5, 15),
               what="garbage timers dropped")
    assert c.alive("sla-timer")


def main():
    now = datetime.datetime.now(datetime.timezone.utc)
    biz, m1 = calendars(now)
    policy = sla_policy(biz + POLICY)
    with Cluster(partners=0, customer=False, service_env={"sla-timer": {"ASP_SLA_POLICY_FILE": policy}},
                 name="sla") as c:
        biz_a = c.new_ticket(customer={"region": "biz-a"})
        biz_b = c.new_ticket(customer={"region": "biz-b"})
        ladder = [c.new_ticket() for _ in range(3)]
        c.wait_for(lambda: all(clocks(c, t).get("resolution") == "running" for t in ladder), 5,
                   what="clocks started")
        h = clocks(c, ladder[0])
        assert h["pol"] == "standard" and h["fw"] == "1" and h["first_response:tg"] == "3000", h
        assert "onsite_arrival" not in h, h     # not in the policy: not started
        # Kill sla-timer before the first warning (1.5 s); keep it down
        # while the first response's warning and breach pass.
        c.kill("sla-timer")
        time.sleep(3.5)
        assert all(not fired(c, t) for t in ladder), "fired while sla-timer was down?"
        c.start_proc("sla-timer")
        made = {}
        for region, price in (("pct-min", 1000), ("pct-none", None), ("pct-sup", 20000),
                              ("pct-max", 10 ** 7), ("pct-cap", 10 ** 7), ("daily", 500)):
            made[c.new_ticket(customer={"region": region}, price=price)] = region
        daily = next(t for t, r in made.items() if r == "daily")
        quiet = c.new_ticket(customer={"region": "quiet"})
        check_bad_input(c, quiet)
        # The per-day rule is owed when the late clock stops.
        c.wait_for(lambda: clocks(c, daily).get("first_response") == "breached", 10, what="daily breached")
        assert "first_response:cmp" not in clocks(c, daily)
        assert c.http("POST", "/v1/tickets/%s/respond" % daily, {"message": "sorry, we are late"}).status == 200
        check_compensation(c, made)
        assert clocks(c, daily)["first_response"] == "late"
        check_pause(c)
        check_ladder(c, ladder)
        c.restart("sla-timer")
        time.sleep(1.5)
        check_ladder(c, ladder)
        # Staff told of each breach and each step once.
        told = {"sla_breached": 3, "sla_escalated": 4}

        def notes():
            n = [x.get("template") for x in c.notifications() if x.get("ticket_id") == ladder[0]]
            return {t: n.count(t) for t in told}
        c.wait_for(lambda: notes() == told, scaled(10, 30), what="staff told of breaches and steps")
        time.sleep(1.0)
        assert notes() == told, notes()
        check_garbage_timers(c, quiet)
        check_business(c, biz_a, biz_b, m1)
        assert c.metric("sla-timer", "asp_sla_breaches_total") >= 1
        c.check_alive()
    print("sla_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
