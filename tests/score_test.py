# ctest: LABELS integration threads
"""The partners' quality score through the real cluster: five partners with
different histories end with partner.scored events in the expected order,
each with exactly the components docs/architecture.md's formula gives.

  P001 "good"     2 tickets: booked, fixed, surveys 5, on time
  P002 "missed"   2 tickets: booked, changed late, missed; fixed, surveys 5
                  (no answer on punctuality)
  P003 "fail"     2 tickets: first work order not_fixed, re-dispatched by
                  staff, the second fixed; surveys 5, on time
  P004 "unhappy"  2 tickets: booked, fixed, surveys 1 (not resolved), on time
  P005 "repeat"   1 ticket: booked, fixed, survey 5, reopened (a repeat
                  repair), booked again, fixed, survey 5, on time

Routing's appointment events are another engineer's part: the test injects
workorder.appointment(_missed) onto feedback's bus inbox as routing would.
partner.scored goes to routing's bus address as feedback knows it; the test
points feedback's ASP_ROUTING_BUS at a CURVE server of its own holding
routing's bus key, which records every event and acknowledges it, exactly
as routing's inbox would (so the test does not depend on routing's consumer,
and sees what reaches routing, once per id). Also: at most one event per
partner per ASP_SCORE_INTERVAL_MS, no mark left, nothing dead-lettered, and
a malformed ASP_SCORE_WEIGHTS stops feedback with exit 2 naming it; the
last event of each partner is what GET /v1/partners/{id}/quality answers
(an agent is refused, an unknown partner is 404)."""

import os
import subprocess
import threading
import time

import msgpack
import zmq
import zmq.auth

from harness import (Cluster, binary, free_port, key, log, run, shard_keys)

INTERVAL_MS = 1000
TOKENS = "alice-tok:agent:alice,adm-tok:admin:ada"
ALICE = {"Authorization": "Bearer alice-tok"}
ADMIN = {"Authorization": "Bearer adm-tok"}
PARTNERS = [{"regions": r, "work_ms": 200, "progress": 0, "accept_delay_ms": 20}
            for r in ("good", "missed", "fail", "unhappy", "repeat")]
PARTNERS[2]["fail_first"] = 1

# The expected events (defaults: weights on_time 20, first_fix 20, repeat 15,
# install_return 10, satisfaction 15, complaints 10, sla 10; prior 700, 10
# samples; c = (1000 × good + 7000) / (n + 10), score = Σ w c / 100,
# rounded), every fact of today, so both windows (30 and 90 days) give the
# same:
#   on_time n = bookings + answers on punctuality: 4 of 4 kept -> 11000/14 = 786;
#     P002: 2 bookings, 2 late changes + 2 missed, no answers -> 7000/12 = 583
#   first_fix n = completed: 2 of 2 -> 9000/12 = 750; P003 2 of 4 -> 9000/14 = 643;
#     P005 1 of 2 (the reopened one was redone) -> 8000/12 = 667
#   repeat n = done: 2 of 2 -> 750; P005 1 of 2 -> 667
#   install_return n = installations: none -> the prior, 700
#   satisfaction n = surveys: all 5 -> 750; P004 all 1 -> 7000/12 = 583
#   complaints, sla n = completed, none -> 9000/12 = 750; P003 11000/14 = 786
#   samples = the sum of the seven n
EXPECTED = {
    "P001": dict(on_time=786, first_fix=750, repeat=750, satisfaction=750, complaints=750, sla=750,
                 score=752, samples=14),
    "P003": dict(on_time=786, first_fix=643, repeat=750, satisfaction=750, complaints=786, sla=786,
                 score=738, samples=20),
    "P004": dict(on_time=786, first_fix=750, repeat=750, satisfaction=583, complaints=750, sla=750,
                 score=727, samples=14),
    "P005": dict(on_time=786, first_fix=667, repeat=667, satisfaction=750, complaints=750, sla=750,
                 score=723, samples=14),
    "P002": dict(on_time=583, first_fix=750, repeat=750, satisfaction=750, complaints=750, sla=750,
                 score=712, samples=12),
}
# The simulated partners name one technician for all their work: its
# scores are the partner's. No complaint, breach or compensation.
for e in EXPECTED.values():
    e.update(install_return=700, complaints_n=0, breaches=0, compensation=0)
    e.update({"short_" + k: v for k, v in list(e.items())})
    e.update(technicians=[dict(e, technician_id="sim-technician")], window_days=90, short_days=30)


class Routing:
    """routing's bus inbox as feedback sees it (or another service's, svc):
    a ROUTER, CURVE server with that service's bus key, that records each
    envelope and answers ACK."""

    def __init__(self, c, endpoint, svc="routing"):
        public, secret = zmq.auth.load_certificate(c.bus_certs.secret(svc))
        self.sock = zmq.Context.instance().socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_publickey, self.sock.curve_secretkey = public, secret
        self.sock.curve_server = True
        self.sock.bind(endpoint)
        self.events = {}            # id -> (type, time_ms, body), first copy
        self.copies = 0
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            if not self.sock.poll(100):
                continue
            who, data = self.sock.recv_multipart()
            _, type, id, _, _, time_ms, body = msgpack.unpackb(data, raw=False)
            with self.lock:
                self.copies += 1
                self.events.setdefault(id, (type, time_ms, body))
            self.sock.send_multipart([who, b"ACK", id.encode()])

    def bodies(self, type):
        """The (time_ms, body) of each event of type, in time order."""
        with self.lock:
            events = list(self.events.values())
        return sorted(((t, b) for e, t, b in events if e == type), key=lambda x: x[0])

    def scored(self):
        """partner id -> its events' (time_ms, body), in order."""
        with self.lock:
            events = list(self.events.values())
        # A complaint also sends partner.strike (the three-strike ladder,
        # strikes_test's business): only the scores are looked at here.
        assert all(e[0] in ("partner.scored", "partner.strike") for e in events), events
        events = [e for e in events if e[0] == "partner.scored"]
        out = {}
        for _, t, body in sorted(events, key=lambda e: e[1]):
            out.setdefault(body["partner_id"], []).append((t, body))
        return out

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close(0)


def inject(c, type, tid, wo, partner, **extra):
    """An appointment event, as routing would send it, onto feedback's inbox."""
    body = {"wo_id": wo, "partner_id": partner, "appointment_ms": int(time.time() * 1000) + 3600000}
    body.update(extra)
    answer = c.bus("feedback").publish(type, tid, body)
    assert answer and answer[0] == "ACK", (type, body, answer)


def book(c, tid, wo, partner):
    inject(c, "workorder.appointment", tid, wo, partner, end_ms=0, previous_ms=0, late=False, changes=0)


def survey(c, tid, score, resolved=True, on_time=None):
    extra = {} if on_time is None else {"on_time": on_time}
    r = c.http("POST", "/v1/tickets/%s/survey" % tid, dict(score=score, resolved=resolved, **extra), ALICE)
    assert r.status == 202, r


def create(c, region):
    r = c.create_ticket(headers=ALICE, customer={"region": region})
    assert r.status == 201, r
    return r["id"]


def histories(c):
    """Drives every partner's tickets to closed (in parallel per step)."""
    tickets = {p: [create(c, PARTNERS[i]["regions"]) for _ in range(1 if p == "P005" else 2)]
               for i, p in enumerate(sorted(EXPECTED))}
    for p, tids in tickets.items():
        for tid in tids:
            book(c, tid, "W" + tid, p)
    for tid in tickets["P002"]:
        previous = int(time.time() * 1000) + 3600000
        inject(c, "workorder.appointment", tid, "W" + tid, "P002", end_ms=0, previous_ms=previous,
               late=True, changes=1)
        inject(c, "workorder.appointment_missed", tid, "W" + tid, "P002")
        # A change with notice counts nothing.
        inject(c, "workorder.appointment", tid, "W" + tid, "P002", end_ms=0, previous_ms=previous + 1,
               late=False, changes=2)
    for tid in tickets["P003"]:
        t = c.wait_status(tid, "completed", 30)
        assert t["result"] == "not_fixed" and t["partner_id"] == "P003", t
        r = c.http("POST", "/v1/tickets/%s/redispatch" % tid, {"reason": "still leaking"}, ALICE)
        assert r.status == 200, r
    answers = {"P001": (5, True, True), "P002": (5, True, None), "P003": (5, True, True),
               "P004": (1, False, True), "P005": (5, True, True)}
    for p, tids in tickets.items():
        for tid in tids:
            t = c.wait_status(tid, "visit_scheduled", 60)
            assert t["partner_id"] == p, t
            survey(c, tid, *answers[p])
    tid = tickets["P005"][0]
    c.wait_status(tid, "closed", 30)
    r = c.http("POST", "/v1/tickets/%s/reopen" % tid, {"reason": "no hot water again"}, ALICE)
    assert r.status == 200, r
    book(c, tid, "W%s.2" % tid, "P005")
    t = c.wait_status(tid, "visit_scheduled", 60)
    assert t["partner_id"] == "P005" and t["wo_id"] == "W%s.2" % tid, t
    survey(c, tid, 5, True, True)
    for tids in tickets.values():
        for tid in tids:
            c.wait_status(tid, "closed", 30)
    return tickets


def check_bad_weights():
    """A malformed ASP_SCORE_WEIGHTS stops feedback at start, naming it."""
    for value in ("on_time=25,speed=3", "on_time=0", "first_fix=30,first_fix=1", "on_time=x"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
        env.update({"ASP_BUS_INSECURE": "1", "ASP_REDIS_PORT": "1", "ASP_METRICS_PORT": "0",
                    "ASP_FEEDBACK_BUS": "tcp://127.0.0.1:%d" % free_port(), "ASP_SCORE_WEIGHTS": value})
        p = subprocess.run([binary("asp-feedback")], env=env, capture_output=True, timeout=30)
        out = p.stderr + p.stdout
        assert p.returncode == 2 and b"ASP_SCORE_WEIGHTS" in out, (value, p.returncode, out[-300:])


def main():
    check_bad_weights()
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    env = {"ASP_API_TOKENS": TOKENS, "ASP_SCORE_INTERVAL_MS": INTERVAL_MS}
    with Cluster(partners=PARTNERS, customer=False, token="adm-tok", env=env, name="score",
                 service_env={"feedback": {"ASP_ROUTING_BUS": endpoint}}) as c:
        routing = Routing(c, endpoint)
        try:
            histories(c)

            def settled():
                got = {p: evs[-1][1] for p, evs in routing.scored().items()}
                want = {p: dict(e, partner_id=p) for p, e in EXPECTED.items()}
                return got == want and not any(c.redis.cmd("HLEN", k) for k in shard_keys("fb:dirty"))
            try:
                c.wait_for(settled, 30, interval=0.2, what="every partner's final score")
            except Exception:
                log("last events: %r" % {p: evs[-1][1] for p, evs in routing.scored().items()})
                raise
            scored = routing.scored()
            final = {p: evs[-1][1]["score"] for p, evs in scored.items()}
            order = sorted(final, key=lambda p: -final[p])
            assert order == ["P001", "P003", "P004", "P005", "P002"], final
            # At most one per partner per interval (the script's guard).
            for p, evs in scored.items():
                gaps = [b[0] - a[0] for a, b in zip(evs, evs[1:])]
                assert all(g >= 0.9 * INTERVAL_MS for g in gaps), (p, gaps)
            # Each event committed once (resends carry the same id).
            published = c.metric("feedback", "asp_partner_scores_published_total")
            assert published == sum(map(len, scored.values())), (published, scored)
            # The last score is kept in the partner's shard, and ops read
            # the last event's body through intake (agents may not).
            for p, score in final.items():
                assert c.redis.cmd("HGET", key("fb:scores", p), p + ":score") == str(score)
                r = c.http("GET", "/v1/partners/%s/quality" % p, None, ADMIN)
                assert r.status == 200, r
                got = dict(r.body)
                assert got.pop("scored_ms") == scored[p][-1][0] and got == scored[p][-1][1], (p, r.body)
            r = c.http("GET", "/v1/partners/P001/quality", None, ALICE)
            assert r.status == 403 and r["error"]["code"] == "forbidden", r
            r = c.http("GET", "/v1/partners/P999/quality", None, ADMIN)
            assert r.status == 404, r
            # Nothing refused, nothing left to send.
            time.sleep(1.5 * INTERVAL_MS / 1000)
            assert routing.scored() == scored, "a score was published with nothing changed"
            assert not c.redis.keys("{s*}:dl:feedback:*")
            assert not any(c.redis.cmd("HLEN", k) for k in shard_keys("ob:feedback:routing"))
            c.check_alive()
            log("scores: %s (%d events, %d copies)" % (
                ", ".join("%s %d" % (p, final[p]) for p in order), sum(map(len, scored.values())),
                routing.copies))
        finally:
            routing.close()
    print("score_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main, name="score_test")
