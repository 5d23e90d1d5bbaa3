#!/usr/bin/python3
# ctest: TIMEOUT 600 LABELS integration
"""The ops dashboard's API: GET /v1/ops/summary and GET /v1/ops/stream
(services/intake/intake_ops.h, intake_ops_stream.h; docs/http-api.md "Ops").

One whole cluster (tokens on): a partner that serves the regions north,
soon, late and late2 and holds its work (it never completes), an SLA
policy of seconds (region soon: a clock warned at once, due in 100 s;
late: breached at 2 s, escalated at 4 s; late2: breached, no ladder),
and a webhook that refuses every notification of one ticket (dead
letters). Tickets of several types and regions; one parked waiting for
the customer, one whose partner waits for parts (its PROGRESS on the
bus), one cancelled, one no partner serves (unroutable).

- every number of the summary is the reality: the status counts as
  GET /v1/tickets/counts has them, open tickets by type as the tickets
  are, the queues and the SLA risk exactly the tickets made so, the
  unroutable queue and the dead letters as their own routes count them;
  each drill-down (GET /v1/tickets?status=|type=&open=true|queue=|sla=,
  with region and partner) lists exactly the tickets behind its number;
- services: a service's figures (asp:svcstat:<svc>, as each service
  writes them) show, a stale or absent one is down with nulls;
- the stream: a summary at once; a `tickets` frame with a new ticket
  within seconds of its POST, then with it cancelled; summaries as
  things change; keepalives in silence; Last-Event-ID resumes after the
  cursor (a ticket made while away arrives), a cursor that is not one
  gets `event: reset`; ASP_OPS_STREAM_MAX streams, the next 503 with
  Retry-After, and a slot freed when a client goes away; SIGKILL of
  intake mid-stream: the client reconnects with its cursor and resumes;
- roles: agent and customer 403, no token 401; garbage query
  parameters 400 (both routes, and the drill-down's values).

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/ops_test.py
"""
import json
import socket
import threading
import time

import receivers
from harness import Cluster, log, run, scaled, sla_policy
from openapi_doc import TOKENS, cluster_env, customer_token

SECRET = b"whsec_ops_0123456789abcdef0123456789abcdef"
STREAM_MAX = 3
KEEPALIVE_MS = 1000

POLICY = """
[ladder quick]
step = supervisor 2s

[policy standard]
first_response = 10h calendar ladder=none

[policy soon]
match = region=soon
warn = 2%
first_response = 100s calendar ladder=none

[policy late]
match = region=late
warn = 50%
ladder = quick
first_response = 2s calendar

[policy late2]
match = region=late2
warn = 50%
first_response = 2s calendar ladder=none
"""


class World:
    refuse = set()          # ticket ids whose notifications the webhook refuses


def cue(body, n):
    return 422 if body.get("ticket_id") in World.refuse else None


def auth(role):
    return {"Authorization": "Bearer " + TOKENS[role]}


def get(c, path, role="ops"):
    return c.http("GET", path, None, auth(role))


class Sse:
    """One client of GET /v1/ops/stream over a plain socket: the status,
    the headers, and every frame as it comes (a thread reads them)."""

    def __init__(self, c, role="ops", last_id=None, token=None):
        self.sock = socket.create_connection(("127.0.0.1", c.ports["http"]), timeout=30)
        head = "GET /v1/ops/stream HTTP/1.1\r\nHost: intake\r\n"
        token = token or TOKENS[role]
        head += "Authorization: Bearer %s\r\n" % token
        if last_id is not None:
            head += "Last-Event-ID: %s\r\n" % last_id
        self.sock.sendall((head + "\r\n").encode())
        self.buf = b""
        self.status, self.headers, self.body = None, {}, b""
        self.frames = []            # {"event", "id", "data", "comment"}
        self.closed = False
        self.lock = threading.Lock()
        self._head()
        if self.status == 200:
            threading.Thread(target=self._loop, daemon=True).start()

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _head(self):
        self.status = int(self._line().split()[1])
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 200:
            self.body = json.loads(self._exact(int(self.headers.get("content-length", "0"))) or b"null")
            self.sock.close()

    def _loop(self):
        text = ""
        try:
            while True:
                size = int(self._line().split(";")[0], 16)
                if size == 0:
                    break
                text += self._exact(size).decode()
                self._exact(2)
                while "\n\n" in text:
                    block, text = text.split("\n\n", 1)
                    self._frame(block)
        except (EOFError, OSError, ValueError):
            pass
        with self.lock:
            self.closed = True

    def _frame(self, block):
        f = {"event": "message", "id": None, "data": None, "comment": False}
        for line in block.split("\n"):
            if line.startswith(":"):
                f["comment"] = True
            elif line.startswith("event: "):
                f["event"] = line[7:]
            elif line.startswith("id: "):
                f["id"] = line[4:]
            elif line.startswith("data: "):
                f["data"] = json.loads(line[6:])
        with self.lock:
            self.frames.append(f)

    def seen(self):
        with self.lock:
            return list(self.frames)

    def wait(self, c, pred, timeout, what, since=0):
        """The first frame after index since that pred accepts."""
        def found():
            for f in self.seen()[since:]:
                if pred(f):
                    return f
            return None
        return c.wait_for(found, timeout, what=what)

    def change(self, c, tid, status, timeout, since=0):
        def has(f):
            return f["event"] == "tickets" and any(
                x["id"] == tid and x["status"] == status for x in f["data"]["changes"])
        return self.wait(c, has, timeout, "a tickets frame with %s %s" % (tid, status), since)

    def last_id(self):
        ids = [f["id"] for f in self.seen() if f["event"] == "tickets"]
        return ids[-1] if ids else None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def admitted(c, last_id=None):
    """A stream client, when one is admitted now (slots of clients that
    left free at their next keepalive); else None."""
    s = Sse(c, last_id=last_id)
    return s if s.status == 200 else None


def summary(c):
    r = get(c, "/v1/ops/summary")
    assert r.status == 200, r
    return r.body


def listed(c, query, role="ops"):
    """Every ticket id GET /v1/tickets?query lists, all pages."""
    ids, cursor = [], None
    while True:
        path = "/v1/tickets?limit=100&" + query + ("&cursor=" + cursor if cursor else "")
        r = get(c, path, role)
        assert r.status == 200, (query, r)
        ids += [t["id"] for t in r["tickets"]]
        cursor = r["next_cursor"]
        if not cursor:
            return set(ids)


def make_world(c):
    """The tickets, each in the state the test names it by."""
    t = {}
    t["n1"] = c.new_ticket()
    t["n2"] = c.new_ticket(type="installation")
    t["n3"] = c.new_ticket(type="maintenance")
    t["n4"] = c.new_ticket()
    t["c1"] = c.new_ticket(type="consultation")
    t["x1"] = c.new_ticket()
    t["s1"] = c.new_ticket(customer={"region": "soon"})
    t["l1"] = c.new_ticket(customer={"region": "late"})
    t["l2"] = c.new_ticket(customer={"region": "late2"})
    e1 = c.new_ticket(customer={"region": "east"})
    World.refuse.add(e1)
    t["e1"] = e1
    field = [t[k] for k in ("n1", "n2", "n3", "n4", "x1", "s1", "l1", "l2")]
    c.wait_for(lambda: all(c.ticket(x)["status"] == "assigned" for x in field), scaled(20, 60),
               what="the partner holds the field work")
    # Parked for the customer; the partner waits for parts.
    r = c.http("POST", "/v1/tickets/%s/waiting" % t["n4"], {"reason": "customer abroad"}, auth("supervisor"))
    assert r.status == 200, r
    bus = c.bus("intake")
    r = bus.publish("workorder.progress", t["n3"], {"wo_id": "W" + t["n3"], "partner_id": "P001", "seq": 1,
                                                     "stage": "waiting_parts"})
    assert r[0] == "ACK", r
    r = c.http("POST", "/v1/tickets/%s/cancel" % t["x1"], {"reason": "customer changed mind"}, auth("supervisor"))
    assert r.status == 200, r
    return t


def check_summary(c, t):
    # The SLA clocks and the unroutable queue settle on their own time.
    c.wait_for(lambda: summary(c)["sla"]["escalated"] == 1 and summary(c)["sla"]["breached"] == 2
               and summary(c)["sla"]["due_1h"] == 1, scaled(30, 90), what="the SLA risk")
    c.wait_for(lambda: get(c, "/v1/queues/unroutable")["count"] == 1, scaled(30, 90), what="e1 unroutable")
    c.wait_for(lambda: get(c, "/v1/notifications/dead")["count"] > 0, scaled(30, 90), what="dead letters")
    c.wait_for(lambda: c.ticket(t["n3"])["status"] == "in_progress", 10, what="n3 in progress")
    s = summary(c)
    log("summary: %s" % json.dumps(s))
    # Tickets by status: as the counts route has them, and each status's
    # drill-down lists exactly the tickets in it.
    counts = get(c, "/v1/tickets/counts")["counts"]
    assert s["tickets"]["by_status"] == counts, (s["tickets"]["by_status"], counts)
    status = {x: c.ticket(x)["status"] for x in t.values()}
    for st, n in s["tickets"]["by_status"].items():
        want = {x for x, v in status.items() if v == st}
        assert n == len(want) and listed(c, "status=" + st) == want, (st, n, want)
    open_ = {x for x, v in status.items() if v not in ("closed", "cancelled")}
    assert s["tickets"]["open"] == len(open_), s["tickets"]
    types = {x: c.ticket(x)["type"] for x in t.values()}
    for ty, n in s["tickets"]["by_type"].items():
        want = {x for x in open_ if types[x] == ty}
        assert n == len(want) and listed(c, "type=%s&open=true" % ty) == want, (ty, n, want)
    assert s["tickets"]["by_type"]["repair"] == 6, s["tickets"]["by_type"]     # x1 cancelled
    # The queues.
    q = s["queues"]
    assert (q["waiting_parts"], q["waiting_customer"], q["survey_pending"]) == (1, 1, 0), q
    assert listed(c, "queue=waiting_parts") == {t["n3"]}
    assert listed(c, "queue=waiting_customer") == {t["n4"]}
    assert listed(c, "queue=survey_pending") == set()
    assert q["unroutable"] == get(c, "/v1/queues/unroutable")["count"] == 1, q
    assert get(c, "/v1/queues/unroutable")["items"][0]["ticket_id"] == t["e1"]
    assert q["dead_letters"] == get(c, "/v1/notifications/dead")["count"] == s["notifications"]["dead"], q
    assert q["visits_open"] == len(get(c, "/v1/visits?state=open&limit=100", "supervisor")["visits"]) == 0, q
    # The SLA risk, and its breakdowns, each as its drill-down lists.
    sla = s["sla"]
    assert listed(c, "sla=due_1h") == {t["s1"]}
    assert listed(c, "sla=breached") == {t["l1"], t["l2"]}
    assert listed(c, "sla=escalated") == {t["l1"]}
    regions = {g["region"]: (g["due_1h"], g["breached"], g["escalated"]) for g in sla["by_region"]}
    assert regions == {"soon": (1, 0, 0), "late": (0, 1, 1), "late2": (0, 1, 0)}, regions
    assert listed(c, "sla=breached&region=late2") == {t["l2"]}
    assert listed(c, "sla=escalated&region=late2") == set()
    assert sla["by_partner"] == [{"partner": "P001", "due_1h": 1, "breached": 2, "escalated": 1}], sla
    assert listed(c, "sla=breached&partner=P001") == {t["l1"], t["l2"]}
    assert listed(c, "sla=due_1h&partner=P001&region=soon") == {t["s1"]}
    assert sla["partial"] is False
    # Partners: none in the registry here (the simulated one is admitted by
    # its certificate); offers pending are the offered tickets.
    p = s["partners"]
    assert p["registered"] == 0 and p["top"] == [] and p["offers_pending"] == s["tickets"]["by_status"]["offered"], p
    # Routing's live view (rt_live, every 2 s): P001 connected, holding
    # the open field work it accepted, within its capacity (20).
    held = {x for x in open_ if c.ticket(x).get("partner_id") == "P001"}
    assert len(held) == 7, held
    c.wait_for(lambda: (lambda p: (p["connected"], p["load"], p["capacity"]))(summary(c)["partners"]) == (1, 7, 20),
               scaled(10, 30), what="routing's live view: P001 connected, 7 held of 20")
    for n in ("pending", "failing", "dead"):
        assert isinstance(s["notifications"][n], int), s["notifications"]
    assert [x["name"] for x in s["services"]] == ["intake", "routing", "sla-timer", "notification", "feedback"]
    log("summary: every number is its drill-down's")
    return s


def check_services(c):
    """The services' figures as each writes them (asp:svcstat:<svc>): shown
    while fresh; a stale or absent one is down, with nulls. Played on
    feedback while it is down (no writer of its own to race), then it
    starts again."""
    for x in summary(c)["services"]:
        if x["up"]:
            assert 0 <= x["age_ms"] <= 30000 and None not in (x["rate_per_s"], x["p50_ms"], x["p99_ms"]), x
        else:
            assert x["rate_per_s"] is None and x["p50_ms"] is None and x["p99_ms"] is None, x

    def feedback():
        return {x["name"]: x for x in summary(c)["services"]}["feedback"]
    c.kill("feedback")
    key = "asp:svcstat:feedback"
    c.redis.cmd("DEL", key)
    f = feedback()
    assert f == {"name": "feedback", "up": False, "age_ms": None, "rate_per_s": None, "p50_ms": None,
                 "p99_ms": None}, f
    now = int(time.time() * 1000)
    c.redis.cmd("HSET", key, "time_ms", str(now), "rate_per_s", "12.5", "p50_ms", "0.8", "p99_ms", "4.1")
    f = feedback()
    assert f["up"] is True and f["rate_per_s"] == 12.5 and f["p50_ms"] == 0.8 and f["p99_ms"] == 4.1, f
    assert 0 <= f["age_ms"] < 30000, f
    c.redis.cmd("HSET", key, "time_ms", str(now - 60000))
    f = feedback()
    assert f["up"] is False and f["rate_per_s"] is None and f["age_ms"] >= 60000, f
    c.redis.cmd("DEL", key)
    c.start_proc("feedback")
    log("services: figures shown, stale or absent ones down with nulls")


def check_refusals(c, tid):
    for path in ("/v1/ops/summary", "/v1/ops/stream"):
        for role in ("agent", "system"):
            r = get(c, path, role)
            assert r.status == 403 and r["error"]["code"] == "forbidden" and role in r["error"]["message"], r
        r = c.http("GET", path, None, {"Authorization": "Bearer " + customer_token(tid, int(time.time()) + 600)})
        assert r.status == 403, r
        r = c.http("GET", path, None, {"Authorization": None})
        assert r.status == 401, r
        r = get(c, path + "?region=north")
        assert r.status == 400 and r["error"]["code"] == "invalid_query" and "region" in r["error"]["message"], r
        assert get(c, path, "supervisor").status == 200
    for q, word in (("queue=lunch", "queue"), ("sla=late", "sla"), ("open=false", "open"), ("sla=", "sla"),
                    ("queue=waiting_parts&queue=waiting_parts", "queue")):
        r = get(c, "/v1/tickets?" + q)
        assert r.status == 400 and r["error"]["code"] == "invalid_query" and word in r["error"]["message"], (q, r)
    log("refusals: roles 403/401, garbage 400")


def check_stream(c, s0):
    a = Sse(c)
    assert a.status == 200 and a.headers["content-type"] == "text/event-stream", (a.status, a.headers)
    first = a.wait(c, lambda f: f["event"] == "summary", 10, "the first summary")
    assert first["data"]["tickets"]["by_status"] == summary(c)["tickets"]["by_status"], first
    # A new ticket, then its end, arrive as changes; the summary follows.
    mark = len(a.seen())
    tid = c.new_ticket(customer={"region": "east"})
    f = a.change(c, tid, "received", scaled(10, 30), mark)
    x = [x for x in f["data"]["changes"] if x["id"] == tid][0]
    assert x["type"] == "repair" and x["region"] == "east" and x["partner"] is None and x["priority"] == 3, x
    assert x["updated_ms"] > 0 and f["data"]["more"] is False and f["id"], f
    a.wait(c, lambda f: f["event"] == "summary"
           and f["data"]["tickets"]["open"] == first["data"]["tickets"]["open"] + 1, scaled(10, 30),
           "a summary with one more open ticket", mark)
    r = c.http("POST", "/v1/tickets/%s/cancel" % tid, {"reason": "test"}, auth("supervisor"))
    assert r.status == 200, r
    a.change(c, tid, "cancelled", scaled(10, 30), mark)
    log("stream: summary at once, a ticket's creation and end within seconds")
    # Silence: keepalives.
    mark = len(a.seen())
    a.wait(c, lambda f: f["comment"], scaled(5, 15), "a keepalive", mark)
    # Away, then back with the cursor: what happened meanwhile arrives.
    cursor = a.last_id()
    a.close()
    t2 = c.new_ticket(customer={"region": "east"})
    b = Sse(c, last_id=cursor)
    assert b.status == 200, (b.status, b.body)
    b.change(c, t2, "received", scaled(10, 30))
    assert not [f for f in b.seen() if f["event"] == "reset"], b.seen()
    assert b.seen()[0]["event"] == "summary", b.seen()[0]
    b.close()
    # A cursor that is not one: reset, a summary, changes from now.
    g = Sse(c, last_id="1-0.garbage")
    g.wait(c, lambda f: f["event"] == "reset", 10, "a reset")
    assert [f["event"] for f in g.seen()[:2]] == ["reset", "summary"], g.seen()[:2]
    g.close()
    log("stream: keepalive, Last-Event-ID resumes, a bad cursor resets")
    # The cap: STREAM_MAX clients, the next 503; one leaves, a slot frees.
    # (The clients above left: their slots free at their next keepalive.)
    held = []

    def fill():
        h = Sse(c, "supervisor")
        if h.status == 200:
            held.append(h)
        return len(held) == STREAM_MAX
    c.wait_for(fill, scaled(15, 45), interval=0.5, what="%d clients" % STREAM_MAX)
    for h in held:
        h.wait(c, lambda f: f["event"] == "summary", 10, "a summary")
    extra = Sse(c)
    assert extra.status == 503 and extra.body["error"]["code"] == "too_many_streams", (extra.status, extra.body)
    assert int(extra.headers["retry-after"]) >= 1, extra.headers
    held.pop().close()
    one = c.wait_for(lambda: admitted(c), scaled(15, 45), interval=0.5, what="a slot freed by a client that left")
    for h in held + [one]:
        h.close()
    log("stream: %d clients, then 503 with Retry-After; a client that leaves frees its slot" % STREAM_MAX)


def check_kill(c, quiet):
    """SIGKILL of intake mid-stream: the client sees the end, reconnects
    with its cursor once intake is back, and gets what changed."""
    a = c.wait_for(lambda: admitted(c), scaled(20, 60), interval=0.5, what="a free slot")
    mark = len(a.seen())
    t1 = c.new_ticket(customer={"region": "east"})
    a.change(c, t1, "received", scaled(10, 30), mark)
    cursor = a.last_id()
    c.kill("intake")
    c.wait_for(lambda: a.closed, 10, what="the stream ends with intake")
    c.start_proc("intake")
    t2 = c.new_ticket(customer={"region": "east"})
    b = c.wait_for(lambda: admitted(c, cursor), scaled(20, 60), interval=0.5, what="the stream back")
    b.change(c, t2, "received", scaled(10, 30))
    assert not [f for f in b.seen() if f["event"] == "reset"], b.seen()
    # Only what changed after the cursor: not the ticket cancelled long
    # before (t1 itself may come again: routing's unroutable event changes it).
    assert not [f for f in b.seen() if f["event"] == "tickets"
                and any(x["id"] == quiet for x in f["data"]["changes"])], "an old change after the cursor"
    b.close()
    log("stream: SIGKILL of intake, the client resumes after its cursor")


def main():
    hook = receivers.Webhook(secrets=[SECRET], misbehave=cue).start()
    env = cluster_env()
    env.update({"ASP_NOTIFY_WEBHOOK_SECRET": SECRET.decode(), "ASP_NOTIFY_RETRIES": "2",
                "ASP_NOTIFY_BACKOFF_MS": "100", "ASP_NOTIFY_BACKOFF_MAX_MS": "200"})
    partner = {"capacity": 20, "accept_ratio": 1.0, "accept_delay_ms": 50, "work_ms": 3600000, "progress": 0,
               "regions": "north,soon,late,late2"}
    try:
        with Cluster(partners=[partner], customer=False, env=env, name="ops", token=TOKENS["supervisor"],
                     service_env={"notification": {"ASP_NOTIFY_WEBHOOK_URL": hook.url},
                                  "sla-timer": {"ASP_SLA_POLICY_FILE": sla_policy(POLICY)},
                                  "intake": {"ASP_OPS_STREAM_MAX": str(STREAM_MAX),
                                             "ASP_OPS_KEEPALIVE_MS": str(KEEPALIVE_MS),
                                             "ASP_OPS_STREAM_MS": "250"}}) as c:
            t = make_world(c)
            s = check_summary(c, t)
            check_services(c)
            check_refusals(c, t["n1"])
            check_stream(c, s)
            check_kill(c, t["x1"])
    finally:
        hook.stop()


if __name__ == "__main__":
    run(main, name="ops_test")
