# ctest: LABELS integration
"""Reports and the early warning, from a hand-computed data set
(common/asp_report.h, docs/http-api.md "Reports").

A few ticket lives with event times in last UTC month are delivered over
the real bus to feedback, in reverse order (its facts settle into the
counts by month whatever their order), and
GET /v1/reports must answer, by region, partner and category (the ticket
type), the figures worked out by hand below, as JSON and as CSV; a ticket
created on the first second of this month is in the year's report and
not in last month's. Bad parameters are refused naming the parameter, and
a role that may not read reports gets 403.

Then the early warning: partner PW (region east, maintenance) had 1
complaint in 10 work orders 20 days ago and 3 in 5 yesterday, and two SLA
warnings yesterday (none before): GET /v1/warnings flags it, its region
and its category for both metrics. PV (region west, consultation) has
4 complaints in 4 work orders yesterday, none before: below the minimum
volume (5), it is not flagged. Feedback publishes quality.warning for each
flag once (to notification)."""

import csv
import io
import time

from harness import Cluster, free_port, log, new_id, run
from score_test import Routing

DAY = 86400000
HOUR = 3600000
TOKENS = "ops-secret:ops:olga,agent-secret:agent:ann"


def month_start(ms):
    t = time.gmtime(ms / 1000)
    return int(time.mktime((t.tm_year, t.tm_mon, 1, 0, 0, 0, 0, 0, 0)) - time.timezone) * 1000


def last_month(now):
    """(its first midnight in ms, "YYYY-MM", its year, the quarter's "YYYY-Qn")"""
    this = month_start(now)
    start = month_start(this - DAY)
    t = time.gmtime(start / 1000)
    return start, "%04d-%02d" % (t.tm_year, t.tm_mon), t.tm_year, "%04d-Q%d" % (t.tm_year, (t.tm_mon + 2) // 3)


def report_lives(m0, next_month):
    """The report's data set: (type, ticket, body, time_ms), day d of last
    month at hour h = m0 + (d - 1) days + h hours."""
    def at(d, h):
        return m0 + (d - 1) * DAY + h * HOUR
    T = {n: new_id("T") for n in range(1, 7)}
    ev = []
    # T1 repair, north: PA's ta fixes it, answered 5, on time.
    ev.append(("ticket.created", T[1], {"type": "repair", "region": "north"}, at(3, 1)))
    ev.append(("workorder.completed", T[1], {"partner_id": "PA", "wo_id": "W" + T[1], "result": "fixed",
                                             "technician": "ta"}, at(3, 5)))
    ev.append(("survey.submitted", T[1], {"score": 5, "resolved": True, "comment": "", "on_time": True,
                                          "complaint": False}, at(3, 8)))
    # T2 installation, north: PA's ta installs it; answered 4, late, a complaint.
    ev.append(("ticket.created", T[2], {"type": "installation", "region": "north"}, at(3, 2)))
    ev.append(("workorder.completed", T[2], {"partner_id": "PA", "wo_id": "W" + T[2], "result": "installed",
                                             "technician": "ta"}, at(4, 1)))
    ev.append(("survey.submitted", T[2], {"score": 4, "resolved": True, "comment": "", "on_time": False,
                                          "complaint": True}, at(5, 1)))
    # T3 repair, north, of T2's unit (a first-install return of PA): PB
    # not fixed, re-dispatched, PB's tb fixes it; an SLA warning and a
    # breach on the first work order (PB's), 300 paid on the second
    # (PB's); answered 3, on time.
    ev.append(("ticket.created", T[3], {"type": "repair", "region": "north", "install_ms": at(4, 1),
                                        "install_partner": "PA", "install_technician": "ta"}, at(10, 1)))
    ev.append(("sla.warning", T[3], {"clock": "onsite_arrival", "policy": "standard", "basis": "calendar",
                                     "due_ms": at(10, 3)}, at(10, 2)))
    ev.append(("sla.breached", T[3], {"clock": "onsite_arrival", "policy": "standard", "basis": "calendar",
                                      "due_ms": at(10, 3), "level": 1, "target_ms": HOUR}, at(10, 3)))
    ev.append(("workorder.completed", T[3], {"partner_id": "PB", "wo_id": "W" + T[3], "result": "not_fixed",
                                             "technician": "tb"}, at(10, 5)))
    ev.append(("ticket.redispatched", T[3], {"wo_id": "W%s.2" % T[3], "repeat_repair": False}, at(11, 1)))
    ev.append(("workorder.completed", T[3], {"partner_id": "PB", "wo_id": "W%s.2" % T[3], "result": "fixed",
                                             "technician": "tb"}, at(12, 5)))
    ev.append(("sla.compensation", T[3], {"clock": "resolution", "policy": "standard", "basis": "calendar",
                                          "amount": 300, "rule": "late", "approver": "system", "capped": False,
                                          "late_ms": HOUR, "price": 6000}, at(12, 6)))
    ev.append(("survey.submitted", T[3], {"score": 3, "resolved": True, "comment": "", "on_time": True,
                                          "complaint": False}, at(13, 1)))
    # T4 complaint, south: created only.
    ev.append(("ticket.created", T[4], {"type": "complaint", "region": "south"}, at(20, 1)))
    # T5 repair, north, of T1's unit within 30 days: a repeat repair of PA's.
    ev.append(("ticket.created", T[5], {"type": "repair", "region": "north", "prev_repair_ms": at(3, 5),
                                        "prev_repair_partner": "PA", "prev_repair_technician": "ta"}, at(20, 2)))
    # T6 repair, north, on this month's first second: not last month's.
    ev.append(("ticket.created", T[6], {"type": "repair", "region": "north"}, next_month + 1000))
    return ev


def warning_lives(now):
    """PW: 10 work orders 20 days ago (1 complaint), 5 yesterday (3
    complaints, 2 SLA warnings); PV: 4 yesterday, all complaints."""
    ev = []

    def life(partner, region, type, t, complaint, warned=False):
        tid = new_id("T")
        ev.append(("ticket.created", tid, {"type": type, "region": region}, t - 2 * HOUR))
        if warned:
            ev.append(("sla.warning", tid, {"clock": "appointment_made", "policy": "standard",
                                            "basis": "calendar", "due_ms": t}, t - HOUR))
        ev.append(("workorder.completed", tid, {"partner_id": partner, "wo_id": "W" + tid, "result": "fixed",
                                               "technician": "tw"}, t))
        ev.append(("survey.submitted", tid, {"score": 2 if complaint else 5, "resolved": True, "comment": "",
                                             "complaint": complaint}, t + HOUR))
    old, recent = now - 20 * DAY, now - DAY
    for i in range(10):
        life("PW", "east", "maintenance", old, i == 0)
    for i in range(5):
        life("PW", "east", "maintenance", recent, i < 3, warned=i >= 3)
    for i in range(4):
        life("PV", "west", "consultation", recent, True)
    return ev


def ratio(rate, num, den):
    return {"rate": rate, "numerator": num, "denominator": den}


def figures(created, completed, on_time, sla, ftf, repeat, install, satisfaction, complaints, warnings,
            breaches, compensation):
    mean, num, den = satisfaction
    return {"tickets_created": created, "work_orders_completed": completed, "on_time": ratio(*on_time),
            "sla_compliance": ratio(*sla), "first_time_fix": ratio(*ftf), "repeat_repair": ratio(*repeat),
            "install_return": ratio(*install), "satisfaction": {"mean": mean, "numerator": num, "denominator": den},
            "complaints": complaints, "sla_warnings": warnings, "sla_breaches": breaches,
            "compensation": compensation}


# Worked out by hand from report_lives() (not by the service's formulas):
#   north: created T1 T2 T3 T5; completed T1 T2 T3 T3.2; done T1 T2 T3.2,
#          none redone; T5 a repeat; T2 installed, T3 its return; answers
#          5, 4, 3 (on time, late, on time); T2's complaint; T3's warning,
#          breach and 300.
#   PA: T1, T2 (both done), T5's repeat of T1, T3's return of T2, answers
#       5 (on time) and 4 (late, complaint).   PB: T3, T3.2, answer 3.
#   repair: T1 T3 T5; installation: T2; complaint: T4.
EXPECTED = {
    "region": {
        "north": figures(4, 4, (0.6667, 2, 3), (0.75, 3, 4), (0.75, 3, 4), (0.3333, 1, 3), (1, 1, 1),
                         (4, 12, 3), 1, 1, 1, 300),
        "south": figures(1, 0, (None, 0, 0), (None, 0, 0), (None, 0, 0), (None, 0, 0), (None, 0, 0),
                         (None, 0, 0), 0, 0, 0, 0),
    },
    "partner": {
        "PA": figures(None, 2, (0.5, 1, 2), (1, 2, 2), (1, 2, 2), (0.5, 1, 2), (1, 1, 1), (4.5, 9, 2),
                      1, 0, 0, 0),
        "PB": figures(None, 2, (1, 1, 1), (0.5, 1, 2), (0.5, 1, 2), (0, 0, 1), (None, 0, 0), (3, 3, 1),
                      0, 1, 1, 300),
    },
    "category": {
        # T3's first-install return is a repair's; the installation is
        # T2's: 1 of 0 in this group.
        "repair": figures(3, 3, (1, 2, 2), (0.6667, 2, 3), (0.6667, 2, 3), (0.5, 1, 2), (None, 1, 0),
                          (4, 8, 2), 0, 1, 1, 300),
        "installation": figures(1, 1, (0, 0, 1), (1, 1, 1), (1, 1, 1), (0, 0, 1), (0, 0, 1), (4, 4, 1),
                                1, 0, 0, 0),
        "complaint": figures(1, 0, (None, 0, 0), (None, 0, 0), (None, 0, 0), (None, 0, 0), (None, 0, 0),
                             (None, 0, 0), 0, 0, 0, 0),
    },
}


def deliver(bus, events):
    for type, tid, body, t in events:
        mid = new_id("m")
        answer = bus.publish(type, tid, body, id=mid, time_ms=t, timeout=15)
        assert answer and answer[0] == "ACK" and answer[1] == mid, (type, body, answer)


def csv_rows(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert text.endswith("\r\n") and "\r\n" in text, repr(text[:80])
    head = rows[0]
    return head, {r[0]: dict(zip(head, r)) for r in rows[1:]}


def check_csv(row, want):
    """A CSV row against the expected figures (numbers as text, null empty)."""
    def text(v):
        return "" if v is None else ("%d" % v if v == int(v) else "%.4f" % v)
    assert row["tickets_created"] == text(want["tickets_created"]), row
    assert row["work_orders_completed"] == text(want["work_orders_completed"]), row
    for name in ("on_time", "sla_compliance", "first_time_fix", "repeat_repair", "install_return", "satisfaction"):
        w = want[name]
        value = w["mean"] if name == "satisfaction" else w["rate"]
        assert row[name + ("_mean" if name == "satisfaction" else "_rate")] == text(value), (name, row)
        assert row[name + "_numerator"] == text(w["numerator"]), (name, row)
        assert row[name + "_denominator"] == text(w["denominator"]), (name, row)
    for name in ("complaints", "sla_warnings", "sla_breaches", "compensation"):
        assert row[name] == text(want[name]), (name, row)


def main():
    now = int(time.time() * 1000)
    m0, month, year, quarter = last_month(now)
    next_month = month_start(now)
    routing_ep = "tcp://127.0.0.1:%d" % free_port()
    notify_ep = "tcp://127.0.0.1:%d" % free_port()
    env = {"ASP_SCORE_INTERVAL_MS": 200, "ASP_API_TOKENS": TOKENS, "ASP_WARN_INTERVAL_MS": 300}
    with Cluster(partners=[], customer=False, env=env, name="report", token="ops-secret",
                 service_env={"feedback": {"ASP_ROUTING_BUS": routing_ep, "ASP_NOTIFICATION_BUS": notify_ep}}) as c:
        routing = Routing(c, routing_ep)
        notify = Routing(c, notify_ep, svc="notification")
        try:
            bus = c.bus("feedback")
            # Last first (a survey before its completion, a ticket's creation
            # after all its work): the counts are the facts', whatever the order.
            deliver(bus, list(reversed(report_lives(m0, next_month))))
            deliver(bus, warning_lives(now))

            # Reports: JSON, by each group, once the counts settled.
            def settled():
                r = c.get("/v1/reports?period=month&at=%s&by=region" % month)
                groups = {g["id"]: g for g in r.body["groups"]} if r.status == 200 else {}
                return groups.get("north", {}).get("satisfaction", {}).get("denominator") == 3
            c.wait_for(settled, 20, interval=0.1, what="last month's counts")
            for by, want in EXPECTED.items():
                r = c.get("/v1/reports?period=month&at=%s&by=%s" % (month, by))
                assert r.status == 200 and r.body["period"] == "month" and r.body["at"] == month, r
                got = {g["id"]: {k: v for k, v in g.items() if k != "id"} for g in r.body["groups"]}
                for gid, figs in want.items():
                    assert got.get(gid) == figs, (by, gid, got.get(gid), figs)
                ids = [g["id"] for g in r.body["groups"]]
                assert ids == sorted(ids), ids
                # The same as CSV, by parameter and by Accept.
                r = c.get("/v1/reports?period=month&at=%s&by=%s&format=csv" % (month, by))
                assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
                head, rows = csv_rows(r.body)
                assert head[0] == by and head[1:3] == ["tickets_created", "work_orders_completed"], head
                for gid, figs in want.items():
                    check_csv(rows[gid], figs)
                r2 = c.http("GET", "/v1/reports?period=month&at=%s&by=%s" % (month, by),
                            headers={"Accept": "text/csv"})
                assert r2.status == 200 and r2.body == r.body, r2
            # T6, this month's first second: in the year (when the same),
            # not in last month.
            r = c.get("/v1/reports?period=year&at=%d&by=region" % year)
            north = {g["id"]: g for g in r.body["groups"]}["north"]
            assert north["tickets_created"] == 4 + (1 if time.gmtime(next_month / 1000).tm_year == year else 0), north
            r = c.get("/v1/reports?period=quarter&at=%s&by=category" % quarter)
            assert {g["id"]: g for g in r.body["groups"]}["installation"]["work_orders_completed"] == 1, r.body

            # Bad parameters, each named; a role that may not.
            for query, word in (("period=week&at=2026&by=region", "period"),
                                ("at=2026&by=region", "period"),
                                ("period=month&at=2026-13&by=region", "at"),
                                ("period=quarter&at=2026-11&by=region", "at"),
                                ("period=year&by=region", "at"),
                                ("period=year&at=2026&by=technician", "by"),
                                ("period=year&at=2026", "by"),
                                ("period=year&at=2026&by=region&format=xml", "format"),
                                ("period=year&at=2026&by=region&color=red", "color")):
                r = c.get("/v1/reports?" + query)
                assert r.status == 400 and word in r.body["error"]["message"], (query, r)
            r = c.http("GET", "/v1/reports?period=year&at=2026&by=region",
                       headers={"Authorization": "Bearer agent-secret"})
            assert r.status == 403, r
            r = c.http("GET", "/v1/warnings", headers={"Authorization": "Bearer agent-secret"})
            assert r.status == 403, r

            # The early warning: PW, east and maintenance on both metrics;
            # PV, west and consultation below the volume.
            r = c.get("/v1/warnings")
            assert r.status == 200 and r.body["min_volume"] == 5 and r.body["factor_pct"] == 150, r
            got = {(w["scope"], w["id"], w["metric"]): (w["recent"], w["baseline"]) for w in r.body["warnings"]}
            complaints = (ratio(0.6, 3, 5), ratio(0.1, 1, 10))
            sla = (ratio(0.4, 2, 5), ratio(0, 0, 10))
            want = {}
            for scope, gid in (("partner", "PW"), ("region", "east"), ("category", "maintenance")):
                want[(scope, gid, "complaints")] = complaints
                want[(scope, gid, "sla")] = sla
            assert got == want, (got, want)
            r = c.get("/v1/warnings?scope=partner")
            assert r.status == 400 and "scope" in r.body["error"]["message"], r

            # quality.warning, once each, to notification.
            def published():
                return {(b["scope"], b["id"], b["metric"]) for t, b in notify.bodies("quality.warning")}
            c.wait_for(lambda: published() == set(want), 20, interval=0.1, what="the quality.warning events")
            time.sleep(1.0)         # a few more scorer ticks: no second copy
            events = notify.bodies("quality.warning")
            assert len(events) == len(want), events
            pw = [b for t, b in events if b["id"] == "PW" and b["metric"] == "complaints"][0]
            assert pw["recent"] == 600 and pw["baseline"] == 100 and pw["recent_n"] == 3, pw
            assert pw["note"].startswith("partner PW: complaints 3/5 (7 d) against 1/10"), pw
            log("report %s, %d warnings" % (month, len(want)))
            c.check_alive()
        finally:
            routing.close()
            notify.close()
    print("report_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main, name="report_test")
