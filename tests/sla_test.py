"""Durable deadlines, fired once.

With short SLA durations and no partner to take the work, a ticket's
response and resolution clocks must warn, then breach, each exactly once,
even when sla-timer is SIGKILLed while the deadlines pass and started again
afterwards; the breaches reach the timeline and a staff notification. A
clock stopped in time (work assigned) never fires. The deadline state is in
Redis, not in the process."""

import time

from harness import Cluster, key, log, run, scaled

RESPONSE_S = 3
RESOLVE_S = 5


def fired(c, tid, clock=None):
    """(warnings, breaches) in the timeline, of one clock or all."""
    events = [e for e in c.timeline(tid) if e["type"] in ("sla.warning", "sla.breached")
              and (clock is None or e["data"]["clock"] == clock)]
    return (sum(e["type"] == "sla.warning" for e in events),
            sum(e["type"] == "sla.breached" for e in events))


def main():
    env = {"ASP_SLA_RESPONSE_S": RESPONSE_S, "ASP_SLA_RESOLVE_STANDARD_S": RESOLVE_S,
           "ASP_SLA_RESOLVE_EXPRESS_S": 2, "ASP_SLA_WARN_PCT": 50, "ASP_SLA_TICK_MS": 50}
    with Cluster(partners=0, customer=False, env=env, name="sla") as c:
        tid = c.new_ticket()
        c.wait_for(lambda: c.redis.hgetall(key("sla:t:%s", tid)).get("resolution") == "running", 5,
                   what="clocks started")
        clocks = c.redis.hgetall(key("sla:t:%s", tid))
        assert clocks.get("response") == "running" and clocks.get("resolution") == "running", clocks
        # Kill sla-timer before the first warning (1.5 s); keep it down
        # while the response deadline and its warning pass.
        c.kill("sla-timer")
        time.sleep(RESPONSE_S + 0.5)
        assert fired(c, tid) == (0, 0), "fired while sla-timer was down?"
        c.start_proc("sla-timer")
        # Every overdue timer fires at once on start: both of the response
        # clock and the resolution clock's warning (at 50% of 5 s).
        c.wait_for(lambda: fired(c, tid, "response") == (1, 1), scaled(5, 15),
                   what="response warning + breach")
        # The resolution clock breaches next; then nothing more, ever.
        c.wait_for(lambda: fired(c, tid) == (2, 2), scaled(8, 20), what="resolution warning + breach")
        c.restart("sla-timer")
        time.sleep(1.0)
        assert fired(c, tid) == (2, 2), c.timeline(tid).types()
        clocks = c.redis.hgetall(key("sla:t:%s", tid))
        assert clocks["response"] == "breached" and clocks["resolution"] == "breached", clocks
        assert clocks["response:fired_breach"] == "1" and clocks["resolution:fired_warning"] == "1", clocks
        assert c.redis.cmd("ZCARD", key("sla:due", tid)) == 0
        # Staff were told, once per breach.
        c.wait_for(lambda: len([n for n in c.notifications()
                                if n.get("ticket_id") == tid and n.get("template") == "sla_breached"]) == 2,
                   scaled(10, 30), what="two sla_breached notifications")
        tl = c.timeline(tid)
        breach = [e for e in tl if e["type"] == "sla.breached"]
        assert {e["data"]["clock"] for e in breach} == {"response", "resolution"}, breach
        assert all(e["data"]["level"] == 2 for e in breach)
        log("breaches fired once each across a kill: %s" % [e["data"]["clock"] for e in breach])
        # A garbage timer member in a due set is removed, not fatal; so is
        # a timer of a ticket of another shard.
        due = key("sla:due", tid)
        c.redis.cmd("ZADD", due, 1, "garbage-without-fields")
        other = next(t for t in ("T%d" % i for i in range(100)) if key("sla:due", t) != due)
        c.redis.cmd("ZADD", due, 1, "%s|response|breach|1" % other)
        c.wait_for(lambda: c.redis.cmd("ZCARD", due) == 0, scaled(5, 15), what="garbage timers dropped")
        assert c.alive("sla-timer")
    # Clocks stopped in time never fire: partners take the work at once.
    env = {"ASP_SLA_RESPONSE_S": 2, "ASP_SLA_RESOLVE_STANDARD_S": 600, "ASP_SLA_WARN_PCT": 99,
           "ASP_SLA_TICK_MS": 50}
    with Cluster(partners=1, env=env, name="sla-ok") as c:
        tid = c.new_ticket()
        c.wait_status(tid, "closed", timeout=scaled(30, 60))
        time.sleep(2.5)
        assert fired(c, tid) == (0, 0), c.timeline(tid).types()
        clocks = c.redis.hgetall(key("sla:t:%s", tid))
        assert clocks["response"] == "stopped" and clocks["resolution"] == "stopped", clocks
    print("sla_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
