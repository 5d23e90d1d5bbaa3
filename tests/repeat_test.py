# ctest: LABELS integration
"""Repeat contacts and the automatic reopen (issue 6), through the real
cluster: a second request about the same unit and fault while its ticket
is open joins that ticket (counted, on its timeline) instead of opening
another; a retry of the same request is not counted twice; concurrent
requests about one new fault make one ticket; the same fault back within
ASP_REOPEN_DAYS of closing reopens the closed ticket (a repeat repair,
a new work order); later than that, or another fault, is a new ticket."""

import threading
import time

from harness import Cluster, key, log, new_id, run


def contacts_of(c, tid):
    return [e for e in c.timeline(tid) if e["type"] == "contact.repeated"]


def check_join(c):
    body = c.ticket_body()
    a = c.create_ticket(body=body)
    assert a.status == 201, a
    tid = a["id"]
    again = dict(body, description="Still no hot water, second call.", channel="app")
    r = c.create_ticket(body=again)
    assert r.status == 200 and r["joined"] is True and r["id"] == tid, r
    assert r["reopened"] is False and r["contacts"] == 1, r
    assert r["customer_token"].startswith("c1.%s." % tid), r
    # A retry of one request (its Idempotency-Key) counts once.
    k = new_id("idem")
    r1 = c.create_ticket(body=dict(again, description="Third call."), idempotency_key=k)
    r2 = c.create_ticket(body=dict(again, description="Third call."), idempotency_key=k)
    assert r1.status == r2.status == 200 and r1["contacts"] == r2["contacts"] == 2, (r1, r2)
    entries = contacts_of(c, tid)
    assert len(entries) == 2, entries
    assert entries[0]["data"]["channel"] == "app" and "second call" in entries[0]["data"]["description"]
    assert c.ticket(tid)["contacts"] == 2, c.ticket(tid)
    # Another fault on the same unit is another ticket.
    other = c.create_ticket(body=dict(body, fault="E2", description="Leaks at the valve."))
    assert other.status == 201 and other["id"] != tid, other
    assert c.redis.cmd("ZCARD", key("u:%s:tickets", body["product"]["serial"])) == 2
    # A bad fault code is refused and changes nothing.
    before = c.redis.keys("{s*}:t:*")
    r = c.create_ticket(body=dict(body, fault="no heat!"))
    assert r.status == 400 and r["error"]["code"] == "invalid_field" and "fault" in r["error"]["message"], r
    assert sorted(c.redis.keys("{s*}:t:*")) == sorted(before)
    return body, tid


def check_concurrent(c):
    body = c.ticket_body()
    answers = []

    def one(i):
        answers.append(c.create_ticket(body=dict(body, description="Call %d." % i)))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [r for r in answers if r.status == 201]
    joined = [r for r in answers if r.status == 200]
    assert len(made) == 1 and len(joined) == 5, [(r.status, r.body) for r in answers]
    assert {r["id"] for r in joined} == {made[0]["id"]}
    assert c.redis.cmd("ZCARD", key("u:%s:tickets", body["product"]["serial"])) == 1
    assert len(contacts_of(c, made[0]["id"])) == 5


def check_reopen(c, body, tid):
    closed = c.wait_status(tid, "closed", timeout=60)
    assert closed["status"] == "closed", closed
    r = c.create_ticket(body=dict(body, description="It broke again the same way."))
    assert r.status == 200 and r["id"] == tid and r["reopened"] is True, r
    t = c.ticket(tid)
    assert t["status"] != "closed" and str(t["repeat_repairs"]) == "1", t
    assert t["wo_id"] == "W%s.2" % tid, t
    types = c.timeline(tid).types()
    assert "ticket.reopened" in types, types
    assert "contact.repeated" in types[types.index("ticket.reopened"):], types
    # The new work order goes to a partner and the ticket closes again.
    c.wait_status(tid, "closed", timeout=60)
    # Closed longer ago than the window: a new ticket.
    c.redis.cmd("HSET", key("t:%s", tid), "closed_ms", str(int(time.time() * 1000) - 31 * 86400 * 1000))
    r = c.create_ticket(body=dict(body, description="Once more, a month later."))
    assert r.status == 201 and r["id"] != tid, r


def check_warranty(c):
    """The 三包 remedy recorded at creation (default policy: refund within
    7 days, exchange within 15, repair for 12 months, exchange after 2
    repairs of the same fault)."""
    day = 86400

    def date(days_ago):
        return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days_ago * day))
    r = c.create_ticket(type="return", product={"purchase_date": date(3)})
    assert r.status == 201 and r["remedy"] == "refund", r
    assert c.ticket(r["id"])["remedy"] == "refund"
    r = c.create_ticket(product={"purchase_date": date(400)})
    assert r.status == 201 and r["remedy"] == "paid_repair", r
    r = c.create_ticket(product={"purchase_date": None})
    assert r.status == 201 and r["remedy"] == "paid_repair" and "purchase" in r["remedy_reason"], r
    r = c.create_ticket(type="consultation")
    assert r.status == 201 and "remedy" not in r.body, r
    # Two repairs of one fault, then the third request qualifies for exchange.
    body = c.ticket_body(product={"purchase_date": date(60)}, fault="E7")
    for want in ("repair", "repair", "exchange"):
        r = c.create_ticket(body=body)
        assert r.status == 201 and r["remedy"] == want, (want, r)
        t = c.http("POST", "/v1/tickets/%s/cancel" % r["id"], {"reason": "test: the next visit"})
        assert t.status == 200, t
    # A future purchase date is refused.
    r = c.create_ticket(product={"purchase_date": date(-2)})
    assert r.status == 400 and "purchase_date" in r["error"]["message"], r


def check_staff_handled(c):
    """A consultation or complaint is handled by staff: no work order goes
    to a partner, and staff close it when they have answered."""
    tid = c.create_ticket(type="consultation", description="How do I descale it?")["id"]
    repair = c.create_ticket()["id"]
    # The repair created at the same time gets its work order; the
    # consultation, handled by the same routing, gets none.
    c.wait_for(lambda: c.redis.cmd("EXISTS", key("rt:wo:W%s", repair)) == 1, 20, what="the repair's work order")
    assert c.redis.cmd("EXISTS", key("rt:wo:W%s", tid)) == 0
    assert c.ticket(tid)["status"] == "received"
    r = c.http("POST", "/v1/tickets/%s/redispatch" % tid, {"reason": "x"})
    assert r.status == 409 and r["error"]["code"] == "not_redispatchable", r
    r = c.http("POST", "/v1/tickets/%s/close" % tid, {"reason": "answered on the phone"})
    assert r.status == 200 and r["status"] == "closed", r
    assert c.ticket(tid)["status"] == "closed"
    # A repair is closed only after its work is done.
    r = c.http("POST", "/v1/tickets/%s/close" % repair, {"reason": "x"})
    assert r.status == 409 and r["error"]["code"] == "not_completed", r


def check_link(c, link):
    """The message that tells the customer their ticket was received holds
    their own link to it (ASP_CUSTOMER_LINK + ticket + access token), and
    so does the survey request after the work is done (notification kept
    it with the contact: that event does not carry it)."""
    tid = c.create_ticket()["id"]

    def sent(template):
        return lambda: [n for n in c.customer_records() if n.get("ticket_id") == tid and n.get("template") == template]
    want = "%s?ticket=%s&token=c1.%s." % (link, tid, tid)
    for template in ("received", "survey_request"):
        rec = c.wait_for(sent(template), 60, what="the %s message" % template)[0]
        assert want in rec["text"], rec


def main():
    link = "https://service.example.com/track"
    with Cluster(name="repeat", service_env={"intake": {"ASP_CUSTOMER_LINK": link}}) as c:
        check_link(c, link)
        body, tid = check_join(c)
        check_concurrent(c)
        check_warranty(c)
        check_staff_handled(c)
        check_reopen(c, body, tid)
        c.check_alive()
    log("repeat ok")


if __name__ == "__main__":
    run(main, name="repeat_test")
