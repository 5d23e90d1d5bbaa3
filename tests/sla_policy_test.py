"""The SLA policy file through the real services.

- The shipped default (no ASP_SLA_POLICY_FILE): each named policy of
  deploy/sla/policies.conf is chosen for its kind of ticket and gives its
  clocks their targets: standard (4 h first response, 2 h partner
  acceptance, 24 h on site and resolution), express-6h, lg-lightning-12h,
  complaint-24h-1m, next-day-10am (due 10:00 the next day, Shanghai time),
  answer-3-working-days (18:00 on the third working day of the cn
  calendar, holidays and make-up days counted); a whole life with a
  partner meets partner acceptance, resolution and the 24 h return visit;
  a promised call-back runs to its promise and is met by the next answer.
- Reload: a bad file is refused (logged, counted, the running policies
  stay); a good one is taken: new tickets get its targets, a running clock
  keeps its own, except under a policy that says retarget = yes, whose
  running clocks move to the new target; SIGHUP reloads and does not stop
  the service.
- A bad file at start: sla-timer exits 2 naming the file, line and why."""

import datetime
import os
import re
import signal
import subprocess
import time
import zoneinfo

from harness import (BIN_DIR, SOURCE_DIR, Cluster, free_port, key, log, run, scaled, sla_policy)

H = 3600 * 1000
SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def clocks(c, tid):
    return c.redis.hgetall(key("sla:t:%s", tid))


def started(c, tid, clock="first_response"):
    return c.wait_for(lambda: clocks(c, tid).get(clock + ":ph") and clocks(c, tid), 10,
                      what="%s of %s started" % (clock, tid))


def cn_days():
    """The cn calendar's holidays and make-up days, from the shipped file."""
    holidays, workdays, section = set(), set(), None
    for line in open(os.path.join(SOURCE_DIR, "deploy/sla/policies.conf"), encoding="utf-8"):
        line = line.split(" ;")[0].strip()
        if line.startswith("["):
            section = line
        elif section == "[calendar cn]" and re.match(r"(holiday|workday)\s*=", line):
            k, v = [x.strip() for x in line.split("=", 1)]
            for item in v.split(","):
                a, _, b = item.strip().partition("..")
                d = datetime.date.fromisoformat(a)
                end = datetime.date.fromisoformat(b) if b else d
                while d <= end:
                    (holidays if k == "holiday" else workdays).add(d)
                    d += datetime.timedelta(days=1)
    return holidays, workdays


def at_local(start_ms, days, hh, working):
    """hh:00 Shanghai time, days (working days of cn when working) after
    the start's local date."""
    holidays, workdays = cn_days()
    d = datetime.datetime.fromtimestamp(start_ms / 1000, SH).date()
    left = days
    while left:
        d += datetime.timedelta(days=1)
        if not working or (d.weekday() < 5 and d not in holidays) or d in workdays:
            left -= 1
    return int(datetime.datetime(d.year, d.month, d.day, hh, tzinfo=SH).timestamp() * 1000)


def expect(h, clock, policy, tg, basis="calendar"):
    assert h.get(clock) == "running" and h[clock + ":pol"] == policy, (clock, policy, h)
    assert h[clock + ":bs"] == basis and int(h[clock + ":tg"]) == tg, (clock, tg, h)
    if basis == "calendar":
        assert int(h[clock + ":due"]) == int(h[clock + ":st"]) + tg, (clock, h)


def check_defaults():
    # One partner, for the region "life" only: the other tickets stay open
    # (unroutable), so their clocks are read while they run. It accepts
    # after 2 s: sla-timer hears of a ticket from intake's outbox, routing
    # from its own; a life that ended before sla-timer heard of its start
    # would have no clocks (docs/sla.md, unknown tickets).
    partner = {"capacity": 10, "accept_ratio": 1.0, "accept_delay_ms": 2000, "work_ms": 300, "regions": "life"}
    with Cluster(partners=[partner], name="sla-defaults") as c:
        # A whole life: the partner takes it, completes; the survey closes it.
        life = c.new_ticket(customer={"region": "life"})
        tid = c.new_ticket(customer={"region": "nowhere"})
        std = started(c, tid)
        assert std["pol"] == "standard", std
        expect(std, "first_response", "standard", 4 * H)
        expect(std, "resolution", "standard", 24 * H)
        expect(std, "onsite_arrival", "standard", 24 * H)
        assert std["resolution:pm"] == "3" and std["onsite_arrival:pm"] == "1", std
        # The standard ladder: supervisor 2 h, manager 8 h after the breach.
        ph = [int(x) for x in std["resolution:ph"].split(",")]
        due = int(std["resolution:due"])
        assert ph == [int(std["resolution:st"]) + 24 * H * 80 // 100, due, due + 2 * H, due + 8 * H], ph
        express = started(c, c.new_ticket(tier="express"))
        expect(express, "onsite_arrival", "express-6h", 6 * H)
        expect(express, "resolution", "express-6h", 6 * H)
        expect(express, "first_response", "express-6h", 4 * H)
        lg = started(c, c.new_ticket(customer={"class": "A"}))
        expect(lg, "resolution", "lg-lightning-12h", 12 * H)
        complaint = started(c, c.new_ticket(type="complaint"), "complaint_answer")
        expect(complaint, "complaint_answer", "complaint-24h-1m", 24 * H)
        expect(complaint, "complaint_resolved", "complaint-24h-1m", 30 * 24 * H)
        assert "first_response" not in complaint and "resolution" not in complaint, complaint
        assert "partner_acceptance" not in complaint, complaint     # no field work
        consult = started(c, c.new_ticket(type="consultation"))
        assert consult["first_response:pol"] == "next-day-10am", consult
        assert int(consult["first_response:due"]) == at_local(int(consult["first_response:st"]), 1, 10, False)
        ret = started(c, c.new_ticket(type="return"))
        assert ret["first_response:pol"] == "answer-3-working-days" and ret["first_response:bs"] == "business"
        assert ret["first_response:cal"] == "cn", ret
        assert int(ret["first_response:due"]) == at_local(int(ret["first_response:st"]), 3, 18, True), ret
        log("named policies: standard, express-6h, lg-lightning-12h, complaint-24h-1m, next-day-10am, "
            "answer-3-working-days")
        # A promised call-back: due at the promise (0 min grace), met by the
        # next answer. On a consultation: staff handle it, no partner
        # closes it under the test's feet.
        cb = c.new_ticket(type="consultation")
        started(c, cb)
        promise = int(time.time() * 1000) + 2 * H
        r = c.http("POST", "/v1/tickets/%s/respond" % cb, {"message": "we will call", "promise_ms": promise})
        assert r.status == 200, r
        h = c.wait_for(lambda: clocks(c, cb).get("callback:ph") and clocks(c, cb), 10, what="callback")
        assert h["first_response"] == "met" and int(h["callback:due"]) == promise, h
        assert h["callback:pol"] == "next-day-10am" and h["callback:tg"] == "0", h
        r = c.http("POST", "/v1/tickets/%s/respond" % cb, {"message": "as promised"})
        assert r.status == 200, r
        c.wait_for(lambda: clocks(c, cb).get("callback") == "met", 10, what="callback met")
        # The life: accepted, resolved, visited, closed.
        c.wait_status(life, "closed", timeout=scaled(60, 120))
        h = c.wait_for(lambda: clocks(c, life).get("return_visit") == "met" and clocks(c, life), 20,
                       what="return visit met")
        assert h["partner_acceptance"] == "met" and h["resolution"] == "met", h
        assert h["return_visit:tg"] == str(24 * H) and h["return_visit:pol"] == "standard", h
        assert h["first_response"] == "cancelled", h     # nobody answered: ended by the close
        assert not any(k.endswith(":lv") for k in h), h
        log("a life: partner acceptance, resolution and return visit met")


def reload_policy(target, retarget_target):
    return """
[policy standard]
ladder = none
first_response = %s calendar
[policy rt]
match = region=rt
retarget = yes
ladder = none
first_response = %s calendar
""" % (target, retarget_target)


def check_reload():
    path = sla_policy(reload_policy("30s", "30s"))
    with Cluster(partners=0, customer=False, service_env={"sla-timer": {"ASP_SLA_POLICY_FILE": path}},
                 name="sla-reload") as c:
        keep = c.new_ticket()
        moves = c.new_ticket(customer={"region": "rt"})
        a, b = started(c, keep), started(c, moves)
        assert a["first_response:tg"] == b["first_response:tg"] == "30000", (a, b)
        # A bad file: refused, counted, nothing changes.
        with open(path, "w") as f:
            f.write("[policy standard]\nfirst_response = -5s\n")
        c.wait_for(lambda: c.metric("sla-timer", "asp_sla_policy_reload_errors_total") >= 1, 10,
                   what="the bad file refused")
        log_text = open(os.path.join(c.log_dir, "sla-timer.log")).read()
        assert re.search(re.escape(path) + r":2: ", log_text), log_text[-2000:]
        assert c.alive("sla-timer")
        fresh = started(c, c.new_ticket())
        assert fresh["first_response:tg"] == "30000", fresh
        # A good one: new tickets get it; the running clock keeps its
        # target, the retarget policy's moves (10 s earlier).
        with open(path, "w") as f:
            f.write(open(sla_policy(reload_policy("20s", "20s"))).read())
        c.wait_for(lambda: c.metric("sla-timer", "asp_sla_policy_reloads_total") >= 1, 10, what="the reload")
        newer = started(c, c.new_ticket())
        assert newer["first_response:tg"] == "20000", newer
        b2 = c.wait_for(lambda: clocks(c, moves).get("first_response:tg") == "20000" and clocks(c, moves), 10,
                        what="the retarget")
        assert int(b2["first_response:due"]) == int(b["first_response:due"]) - 10000, (b, b2)
        assert int(b2["first_response:wn"]) == int(b2["first_response:due"]) - 4000, b2
        assert c.redis.cmd("ZSCORE", key("sla:due", moves), moves + "|first_response|0") == \
            b2["first_response:wn"]
        assert clocks(c, keep) == a, (a, clocks(c, keep))
        # SIGHUP: reloads at once, and the service goes on.
        reloads = c.metric("sla-timer", "asp_sla_policy_reloads_total")
        with open(path, "w") as f:
            f.write(open(sla_policy(reload_policy("25s", "20s"))).read())
        os.kill(c.proc("sla-timer").pid, signal.SIGHUP)
        c.wait_for(lambda: c.metric("sla-timer", "asp_sla_policy_reloads_total") > reloads, 10,
                   what="the SIGHUP reload")
        assert "SIGHUP" in open(os.path.join(c.log_dir, "sla-timer.log")).read()
        time.sleep(0.5)
        assert c.alive("sla-timer") and c.healthz("sla-timer").status == 200
        assert started(c, c.new_ticket())["first_response:tg"] == "25000"
        c.check_alive()
    log("reload: bad refused, good taken, retarget, SIGHUP")


def check_bad_at_start():
    path = sla_policy("[policy standard]\nfirst_response = 4h\nfirst_response = 5x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
    env.update({"ASP_SLA_POLICY_FILE": path, "ASP_BUS_INSECURE": "1",
                "ASP_SLA_BUS": "tcp://127.0.0.1:%d" % free_port(), "ASP_REDIS_PORT": str(free_port())})
    r = subprocess.run([os.path.join(BIN_DIR, "asp-sla-timer")], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert re.search(re.escape(path) + r":\d+: ", err), err
    log("bad file at start: exit 2, %s" % err.strip().splitlines()[-1])


def main():
    check_bad_at_start()
    check_reload()
    check_defaults()
    print("sla_policy_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
