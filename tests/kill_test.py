"""Nothing accepted is lost, nothing happens twice.

Runs N tickets (1000; fewer under the sanitizers) through the whole cluster
while a chaos thread SIGKILLs a random process at a random moment and
starts it again: each of the five services, each partner, and Redis itself,
every one at least once. Clients retry refused or failed creations with the
same Idempotency-Key, as they should. Then every accepted ticket must be
closed, every step of its life applied exactly once, every customer
notification made once, every work order done by one partner, every SLA
clock stopped without firing, every outbox drained and no dead letter."""

import collections
import random
import threading
import time

from harness import SANITIZED, SERVICES, Cluster, HarnessError, key, log, run, scaled, shard_keys

CLOCKS = ("first_response", "partner_acceptance", "appointment_made", "onsite_arrival", "appointment_kept",
          "resolution", "callback", "complaint_answer", "complaint_resolved", "return_visit")

N = scaled(1000, 250)
ONCE = ("ticket.created", "workorder.assigned", "workorder.completed", "visit.scheduled",
        "survey.submitted", "ticket.closed")
TEMPLATES = ("received", "partner_assigned", "completed", "survey_request", "closed")


class Chaos(threading.Thread):
    def __init__(self, c, victims):
        super().__init__(daemon=True)
        self.c = c
        self.victims = victims
        self.stop = threading.Event()
        self.kills = collections.Counter()
        self.error = None

    def run(self):
        rng = random.Random()
        order = []
        try:
            while not self.stop.is_set():
                if not order:
                    order = list(self.victims)
                    rng.shuffle(order)
                victim = order.pop()
                if self.stop.wait(rng.uniform(0.3, 1.2) * (2 if SANITIZED else 1)):
                    break
                self.c.kill(victim)
                self.kills[victim] += 1
                time.sleep(rng.uniform(0.05, 0.8))
                self.c.start_proc(victim)
        except BaseException as e:      # reported by the main thread
            self.error = e


def submit(c, n, out, errors, pause):
    """Creates n tickets, pausing between them so that the chaos overlaps
    the whole submission."""
    try:
        for _ in range(n):
            out.append(c.new_ticket(timeout=120))
            time.sleep(pause)
    except BaseException as e:
        errors.append(e)


def closed_count(c, ids):
    n = 0
    try:
        for tid in ids:
            if c.redis.cmd("HGET", key("t:%s", tid), "status") == "closed":
                n += 1
    except OSError:
        return -1           # Redis restarting: ask again next time
    return n


def main():
    partners = [
        {"capacity": 40, "accept_ratio": 0.9, "accept_delay_ms": 5, "work_ms": 30, "progress": 1},
        {"capacity": 40, "accept_ratio": 1.0, "accept_delay_ms": 10, "work_ms": 60, "progress": 2},
    ]
    env = {"ASP_RESEND_MS": 300, "ASP_OFFER_TIMEOUT_MS": 2000, "ASP_HEARTBEAT_MS": 500,
           "ASP_REOFFER_ROUND_MS": 2000}
    # Redis itself is SIGKILLed too: with everysec, Redis may hold back its
    # AOF write while an fsync is slow and still answer, so an answered
    # write can die with the process; always writes and fsyncs first.
    with Cluster(partners=partners, env=env, name="kill", redis_fsync="always") as c:
        victims = list(SERVICES) + ["P001", "P002", "redis"]
        chaos = Chaos(c, victims)
        ids, errors = [], []
        # About 15 s of submission (4 clients), so that kills land mid-stream.
        pause = 4 * 15.0 / N
        threads = [threading.Thread(target=submit,
                                    args=(c, N // 4 + (1 if i < N % 4 else 0), ids, errors, pause))
                   for i in range(4)]
        t0 = time.monotonic()
        chaos.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        assert len(ids) == N and len(set(ids)) == N, "accepted %d, distinct %d" % (len(ids), len(set(ids)))
        log("%d tickets accepted in %.1f s; chaos goes on until every victim died once" % (N, time.monotonic() - t0))
        c.wait_for(lambda: all(chaos.kills[v] >= 1 for v in victims) or chaos.error,
                   120, interval=0.2, what="every process killed at least once")
        chaos.stop.set()
        chaos.join()
        if chaos.error:
            raise chaos.error
        log("kills: %s" % dict(chaos.kills))
        for name in c.names():
            if not c.alive(name):
                c.start_proc(name)
        # (wait_for already stretches timeouts under the sanitizers)
        c.wait_for(lambda: closed_count(c, ids) == N, 150, interval=1.0,
                   what="all %d tickets closed" % N)
        log("all %d closed after %.1f s" % (N, time.monotonic() - t0))

        # Everything in flight has arrived (a service killed last may still
        # be catching up on what its peers' outboxes resend).
        # Notifications are sent by notification's workers after the bus
        # delivered their events: wait for its queues too (a retry after
        # the customer's endpoint was unreachable waits its backoff).
        def drained():
            return all(c.redis.cmd("HLEN", k) == 0 for k in c.redis.keys("{s*}:ob:*")) and \
                all(c.redis.cmd(cmd, k) == 0 for cmd, q in (("LLEN", "notify:pending"), ("LLEN", "notify:processing"),
                                                            ("ZCARD", "notify:retry"))
                    for k in shard_keys(q))
        c.wait_for(drained, 90, interval=0.5, what="every outbox and notification queue drained")

        # Every step of every life applied exactly once.
        for tid in ids:
            types = c.timeline(tid).types()
            for t in ONCE:
                assert types.count(t) == 1, "%s: %s appears %d times: %s" % (tid, t, types.count(t), types)
            # Every clock ended with the ticket (met, or cancelled by the
            # close: resends after the kills may bring the close to
            # sla-timer before the events that meet a clock, even before
            # ticket.created: then no clock started), none fired (the
            # default policy's targets are hours).
            sla = c.redis.hgetall(key("sla:t:%s", tid))
            states = {k: v for k, v in sla.items() if k in CLOCKS}
            assert set(states.values()) <= {"met", "cancelled"}, (tid, sla)
            assert sla.get("done") == "1" and not any(k.endswith(":lv") for k in sla), (tid, sla)
        # Feedback counted each survey and each completion once.
        totals = collections.Counter()
        for days in shard_keys("fb:days"):
            for k, v in c.redis.hgetall(days).items():
                _, count, kind, _ = k.split("|", 3)     # <day>|<count>|p|<partner>
                if kind == "p":
                    totals[count] += int(v)
        assert totals["completed"] == N and totals["surveys"] == N, totals
        # One job per work order: completed by exactly one partner.
        done = collections.defaultdict(set)
        for pid in ("P001", "P002"):
            for e in c.journal(pid):
                if e.get("event") == "complete":
                    done[e["wo_id"]].add(pid)
        for tid in ids:
            assert len(done["W" + tid]) == 1, "W%s completed by %s" % (tid, done["W" + tid])
        # Each customer notification was made once (the sink may see a
        # redelivery, always with the same id).
        made = collections.defaultdict(set)
        for n in c.customer_records():
            made[(n["ticket_id"], n["template"])].add(n["id"])
        for tid in ids:
            for tpl in TEMPLATES:
                got = made.get((tid, tpl), set())
                assert len(got) == 1, "%s %s: %d notifications %s" % (tid, tpl, len(got), got)
        # Nothing left in flight, nothing refused.
        dead = c.redis.keys("{s*}:dl:*")
        assert not dead, "dead letters: %r" % dead
        c.check_alive()
        log("kill test: %d tickets, %d kills, every effect once" % (N, sum(chaos.kills.values())))
    print("kill_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
