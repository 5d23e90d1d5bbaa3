"""List and search tickets, and the agent's queue counts, over the real
cluster: tickets in many shards with different types, regions, owners,
phones, statuses (some closed by a partner's whole life, the rest waiting
while routing is down) and SLA warnings. Every filter returns exactly the
tickets that match it (computed here from each ticket's own record), both
sorts come in order, paging with the cursor yields every ticket once (also
while new tickets arrive), a small scan budget gives partial pages that the
cursor continues, the counts add up, and every refusal changes nothing."""

import time
import urllib.parse

from harness import Cluster, HarnessError, log, run, scaled, shard_of, sla_policy

# Field work only: a complaint has no partner and would never close by
# itself (staff close it).
TYPES = ("repair", "installation", "maintenance")
REGIONS = ("north", "south", "east")
AGENTS = ("agent-1", "agent-2")
BUDGET = 25                 # ASP_SEARCH_SCAN_MAX: smaller than the tickets made


def query(c, params, headers=None):
    r = c.http("GET", "/v1/tickets?" + urllib.parse.urlencode(params), None, headers)
    assert r.status == 200, (params, r.status, r.body)
    return r.body


def walk(c, params, limit=100, between=None):
    """Every page of a query, following next_cursor: the ids in order, and
    how many pages were partial."""
    ids, partial, cursor = [], 0, None
    for _ in range(1000):
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        page = query(c, p)
        ids += [t["id"] for t in page["tickets"]]
        partial += page["partial"]
        assert page["scanned"] <= BUDGET, page
        assert len(page["tickets"]) <= limit
        if page["partial"]:
            assert page["next_cursor"], page
        cursor = page["next_cursor"]
        if not cursor:
            return ids, partial
        if between:
            between()
    raise HarnessError("no end of pages for %r" % (params,))


def order(tickets, desc):
    return [t["id"] for t in sorted(tickets, key=lambda t: (t["created_ms"], t["id"]), reverse=desc)]


def make(c, n, i0):
    """n tickets with fields that vary with their number; their bodies by id."""
    made = {}
    for i in range(i0, i0 + n):
        phone = ("+86 139-%04d-%04d" if i % 2 else "139%04d%04d") % (i, 7000 + i)
        body = dict(type=TYPES[i % 3], agent=AGENTS[i % 2],
                    customer={"region": REGIONS[(i // 2) % 3], "phone": phone},
                    product={"serial": "SRCH-%04d" % i})
        made[c.new_ticket(**body)] = body
    return made


def truth(c, made):
    """Each ticket as its record says (the phone as sent: GET masks it)."""
    out = []
    for tid, body in made.items():
        t = c.ticket(tid)
        alerted = any(e["type"] in ("sla.warning", "sla.breached") for e in c.timeline(tid))
        out.append(dict(id=tid, created_ms=t["created_ms"], status=t["status"], type=t["type"],
                        region=t["customer"]["region"], owner=t["owner"], serial=t["product"]["serial"],
                        partner=t.get("partner_id"), digits="".join(ch for ch in body["customer"]["phone"]
                                                                    if ch.isdigit()),
                        at_risk=alerted and t["status"] != "closed"))
    return out


def check_filters(c, tickets):
    day = time.strftime("%Y-%m-%d", time.gmtime(tickets[0]["created_ms"] / 1000))
    mid = sorted(t["created_ms"] for t in tickets)[len(tickets) // 2]
    last = max(t["created_ms"] for t in tickets)
    some = tickets[len(tickets) // 3]
    cases = [
        ({}, lambda t: True),
        ({"status": "closed"}, lambda t: t["status"] == "closed"),
        ({"status": "received"}, lambda t: t["status"] == "received"),
        ({"type": "complaint"}, lambda t: t["type"] == "complaint"),
        ({"region": "south", "type": "repair"}, lambda t: t["region"] == "south" and t["type"] == "repair"),
        ({"partner": "P001"}, lambda t: t["partner"] == "P001"),
        ({"owner": "agent-2"}, lambda t: t["owner"] == "agent-2"),
        ({"owner": "agent-1", "status": "received"},
         lambda t: t["owner"] == "agent-1" and t["status"] == "received"),
        ({"serial": some["serial"]}, lambda t: t["id"] == some["id"]),
        ({"phone": some["digits"]}, lambda t: t["id"] == some["id"]),
        ({"from": day, "to": day}, lambda t: True),
        ({"from": str(mid)}, lambda t: t["created_ms"] >= mid),
        ({"to": str(mid), "region": "north"}, lambda t: t["created_ms"] <= mid and t["region"] == "north"),
        ({"from": str(last + 1)}, lambda t: False),
        ({"at_risk": "true"}, lambda t: t["at_risk"]),
        ({"at_risk": "true", "owner": "agent-2"}, lambda t: t["at_risk"] and t["owner"] == "agent-2"),
    ]
    for params, want in cases:
        expect = [t for t in tickets if want(t)]
        for sort, desc in (("created", False), ("-created", True)):
            got, partial = walk(c, dict(params, sort=sort), limit=7)
            assert got == order(expect, desc), (params, sort, got, order(expect, desc))
        log("filter %r: %d tickets" % (params, len(expect)))
    assert any(t["at_risk"] for t in tickets), "no ticket at risk: the SLA warning did not come"
    # The phone matches by its digits, however it is written.
    formatted = next(t for t in tickets if t["digits"].startswith("86"))
    shown = "+%s %s-%s" % (formatted["digits"][:2], formatted["digits"][2:7], formatted["digits"][7:])
    assert walk(c, {"phone": shown})[0] == [formatted["id"]]
    # The default sort is newest first; a page holds limit tickets.
    page = query(c, {"limit": 5})
    assert [t["id"] for t in page["tickets"]] == order(tickets, True)[:5], page
    assert page["next_cursor"] and page["partial"] is False
    t = page["tickets"][0]
    assert "*" in t["customer"]["phone"] and t["customer"]["phone"][-4:].isdigit(), t
    assert set(t) >= {"id", "status", "type", "tier", "priority", "owner", "customer", "product",
                      "sla_alert", "created_ms", "updated_ms"}, t


def check_budget(c, tickets):
    # A rare filter over more tickets than the budget: partial pages, each
    # with a cursor, until the one match; every page examined <= BUDGET.
    rare = sorted(tickets, key=lambda t: t["created_ms"])[0]
    got, partial = walk(c, {"serial": rare["serial"]})
    assert got == [rare["id"]] and partial >= 1, (got, partial)
    page = query(c, {"serial": rare["serial"]})
    assert page["partial"] is True and page["tickets"] == [] and page["scanned"] == BUDGET, page


def check_paging_while_arriving(c, tickets, i0):
    existing = {t["id"] for t in tickets}
    new = []

    def arrive():
        new.extend(make(c, 1, i0 + len(new)))
    # Newest first: the new tickets come before the cursor, never on a page.
    got, _ = walk(c, {"sort": "-created"}, limit=4, between=arrive)
    assert len(got) == len(set(got)), "a ticket twice: %r" % got
    assert set(got) == existing, (set(got) ^ existing)
    # Oldest first: each existing ticket once, new ones at the end.
    got, _ = walk(c, {"sort": "created"}, limit=4, between=arrive)
    assert len(got) == len(set(got)), "a ticket twice: %r" % got
    assert existing <= set(got) and set(got) <= existing | set(new), got
    assert got[:len(existing)] == order(tickets, False)
    return new


def check_counts(c, tickets):
    r = c.http("GET", "/v1/tickets/counts")
    assert r.status == 200, r
    counts = r["counts"]
    for status in ("received", "closed"):
        assert counts[status] == sum(t["status"] == status for t in tickets), (status, r.body)
    assert r["total"] == len(tickets), r.body
    assert set(counts) >= {"received", "offered", "assigned", "in_progress", "completed",
                           "visit_scheduled", "closed"}, counts
    r = c.http("GET", "/v1/tickets/counts?owner=agent-2")
    assert r.status == 200 and r["owner"] == "agent-2", r
    for status, n in r["queue"].items():
        assert n == sum(t["status"] == status and t["owner"] == "agent-2" for t in tickets), (status, r.body)
    r = c.http("GET", "/v1/tickets/counts?owner=nobody")
    assert r.status == 200 and sum(r["queue"].values()) == 0, r


def intake_keys(c):
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:ix:*") + c.redis.keys("{s*}:idem:*"))


def check_refusals(c):
    before = intake_keys(c)
    cursor = query(c, {"limit": 1, "region": "north"})["next_cursor"]
    edited = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    bad = [
        ("bogus=1", "invalid_query", "bogus"),
        ("status=open", "invalid_query", "status"),
        ("status=", "invalid_query", "status"),
        ("status=closed&status=received", "invalid_query", "status"),
        ("type=teleport", "invalid_query", "type"),
        ("limit=0", "invalid_query", "limit"),
        ("limit=101", "invalid_query", "limit"),
        ("limit=ten", "invalid_query", "limit"),
        ("sort=priority", "invalid_query", "sort"),
        ("at_risk=yes", "invalid_query", "at_risk"),
        ("from=2024-02-30", "invalid_query", "from"),
        ("from=yesterday", "invalid_query", "from"),
        ("to=-5", "invalid_query", "to"),
        ("from=2024-03-02&to=2024-03-01", "invalid_query", "from"),
        ("phone=call%20me", "invalid_query", "phone"),
        ("region=" + "x" * 65, "invalid_query", "region"),
        ("owner=a%01b", "invalid_query", "owner"),
        ("cursor=garbage", "invalid_cursor", "cursor"),
        ("cursor=" + "A" * 250, "invalid_query", "cursor"),
        ("region=north&cursor=" + edited, "invalid_cursor", "cursor"),
        # A cursor of another query (region) or sort is refused too.
        ("region=south&cursor=" + cursor, "invalid_cursor", "cursor"),
        ("region=north&sort=created&cursor=" + cursor, "invalid_cursor", "cursor"),
    ]
    for qs, code, names in bad:
        r = c.http("GET", "/v1/tickets?" + qs)
        assert r.status == 400 and r["error"]["code"] == code, (qs, r.status, r.body)
        assert names in r["error"]["message"], (qs, r.body)
    for qs in ("bogus=1", "owner=", "owner=a&owner=b", "status=closed"):
        r = c.http("GET", "/v1/tickets/counts?" + qs)
        assert r.status == 400 and r["error"]["code"] == "invalid_query", (qs, r.status, r.body)
    r = c.http("POST", "/v1/tickets/counts", {})
    assert r.status == 405, r
    assert intake_keys(c) == before, "a refused query changed Redis"


def check_ties(c, tickets):
    # Many entries of one created_ms in one shard (more than a read holds):
    # the walk reads past them, in id order, and ends. They name no record
    # (as a ticket whose record is gone would), so pages skip them.
    t = tickets[len(tickets) // 2]
    zset = "{s%d}:ix:all" % shard_of(t["id"])
    fakes = ["T0tie%03d" % i for i in range(150)] + ["Tzztie%03d" % i for i in range(150)]
    for i in range(0, len(fakes), 50):
        args = []
        for f in fakes[i:i + 50]:
            args += [t["created_ms"], f]
        c.redis.cmd("ZADD", zset, *args)
    try:
        for sort, desc in (("created", False), ("-created", True)):
            got, partial = walk(c, {"sort": sort}, limit=7)
            assert got == order(tickets, desc), (sort, got)
            assert partial >= 300 // BUDGET, partial
    finally:
        c.redis.cmd("ZREM", zset, *fakes)


ROLES = ("agent", "supervisor", "ops", "admin", "system")


def check_auth():
    tokens = ",".join("%s-tok:%s" % (r, r) for r in ROLES) + ",lw-tok:agent:li.wei"
    with Cluster(partners=0, customer=False, token=None, env={"ASP_API_TOKENS": tokens},
                 name="search-auth") as c:
        lw = {"Authorization": "Bearer lw-tok"}
        made = [c.create_ticket(headers=lw) for _ in range(2)]
        assert all(r.status == 201 for r in made), made
        for path in ("/v1/tickets", "/v1/tickets/counts"):
            r = c.http("GET", path)
            assert r.status == 401 and r["error"]["code"] == "unauthorized", r
            for role in ROLES:
                r = c.http("GET", path, None, {"Authorization": "Bearer %s-tok" % role})
                assert r.status == 200, (role, path, r)
            # A customer's token opens its own ticket, never the lists.
            customer = {"Authorization": "Bearer " + made[0]["customer_token"]}
            r = c.http("GET", path, None, customer)
            assert r.status == 403 and r["error"]["code"] == "forbidden", (path, r)
        # The first-contact owner is the token's name: the agent's queue.
        r = c.http("GET", "/v1/tickets/counts?owner=li.wei", None, lw)
        assert r["queue"]["received"] == 2 and r["counts"]["received"] == 2, r
        page = query(c, {"owner": "li.wei"}, lw)
        assert {t["id"] for t in page["tickets"]} == {m["id"] for m in made}, page


def main():
    env = {"ASP_SEARCH_SCAN_MAX": BUDGET}
    # A partner must accept within 4 s (warned at 2 s).
    policy = sla_policy("[policy standard]\nwarn = 50%\npartner_acceptance = 4s calendar\n")
    with Cluster(partners=1, env=env, service_env={"sla-timer": {"ASP_SLA_POLICY_FILE": policy}},
                 name="search") as c:
        # Some tickets live their whole life (closed, with a partner) ...
        made = make(c, 6, 0)
        for tid in made:
            c.wait_status(tid, "closed", timeout=scaled(60, 120))
        # ... the rest wait: routing is down, so they stay received, and
        # their partner_acceptance clock warns (at 50% of 4 s).
        c.kill("routing")
        waiting = make(c, 24, 6)
        made.update(waiting)
        c.wait_for(lambda: all(any(e["type"] == "sla.warning" for e in c.timeline(t)) for t in waiting),
                   scaled(15, 30), interval=0.2, what="SLA warnings")
        # An escalation names the ticket's first-contact owner.
        for tid in list(waiting)[:3]:
            warn = [e for e in c.timeline(tid) if e["type"] == "sla.warning"][0]
            assert warn["data"]["owner"] == c.ticket(tid)["owner"] != "", warn
        tickets = truth(c, made)
        shards = {shard_of(t["id"]) for t in tickets}
        assert len(shards) >= 8, "tickets in only %d shards" % len(shards)
        check_filters(c, tickets)
        check_budget(c, tickets)
        check_counts(c, tickets)
        check_refusals(c)
        check_ties(c, tickets)
        new = check_paging_while_arriving(c, tickets, 100)
        log("paged through %d tickets while %d arrived" % (len(tickets), len(new)))
        c.check_alive([n for n in c.names() if n != "routing"])
    check_auth()


if __name__ == "__main__":
    run(main, name="search_test")
