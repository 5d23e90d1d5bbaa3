# ctest: LABELS integration threads
"""A repair ticket's whole life through the real cluster, read back over
the API: received -> offered -> assigned -> in progress -> completed ->
return visit scheduled -> survey answered (by the simulated customer, who
got the survey request by webhook) -> closed. Then the HTTP API's refusals:
every bad request gets a clear error and changes nothing."""


from harness import Cluster, log, new_id, run

ORDER = ["ticket.created", "workorder.offered", "workorder.assigned", "workorder.progress",
         "workorder.completed", "visit.scheduled", "survey.submitted", "ticket.closed"]


def check_life(c):
    tid = c.new_ticket(type="repair", tier="express")
    t = c.ticket(tid)
    assert t["status"] in ("received", "offered", "assigned", "in_progress", "completed",
                           "visit_scheduled", "closed"), t
    assert t["customer"]["phone"].count("*") == 4, "phone must be masked: %r" % t["customer"]
    closed = c.wait_status(tid, "closed", timeout=60)
    assert closed["partner_id"] in ("P001", "P002"), closed
    assert closed["wo_id"] == "W" + tid, closed
    assert 1 <= closed["score"] <= 5, closed
    tl = c.timeline(tid)
    types = tl.types()
    for t in ORDER:
        assert types.count(t) >= 1, "timeline lacks %s: %s" % (t, types)
    for t in ("ticket.created", "workorder.assigned", "workorder.completed",
              "visit.scheduled", "survey.submitted", "ticket.closed"):
        assert types.count(t) == 1, "%s %d times: %s" % (t, types.count(t), types)
    # Causal order within the timeline for the steps one service does after another.
    pos = {t: types.index(t) for t in ORDER}
    assert pos["ticket.created"] == 0
    assert pos["survey.submitted"] < pos["ticket.closed"]
    # The customer heard about every step that matters to them (delivery is
    # asynchronous: the last one may still be on its way when intake says
    # closed, and a sanitized build is slower).
    wanted = {"received", "partner_assigned", "completed", "survey_request", "closed"}

    def templates():
        return {n["template"] for n in c.customer_records() if n.get("ticket_id") == tid}
    c.wait_for(lambda: wanted <= templates(), 30, what="every notification of the life")
    # A second survey is refused, the first stands.
    r = c.survey(tid, score=1)
    assert r.status == 409 and r["error"]["code"] == "already_answered", r
    assert c.ticket(tid)["score"] == closed["score"]
    # The partner's journal shows one job for this work order.
    jobs = [e for p in ("P001", "P002") for e in c.journal(p)
            if e.get("wo_id") == "W" + tid and e.get("event") == "complete"]
    assert len({e["partner"] for e in jobs}) == 1, jobs
    log("life ok: %s" % " -> ".join(types))
    return tid


def check_idempotency(c):
    key = new_id("idem")
    body = c.ticket_body()
    a = c.create_ticket(idempotency_key=key, body=body)
    b = c.create_ticket(idempotency_key=key, body=body)
    assert a.status == 201 and b.status == 200, (a, b)
    assert a["id"] == b["id"] and b["idempotent_replay"] is True
    # The same key with another request is refused (as payment APIs do),
    # naming the ticket the key made; nothing is written.
    before = intake_keys(c)
    other = dict(body, description="Another fault entirely.")
    r = c.create_ticket(idempotency_key=key, body=other)
    assert r.status == 422 and r["error"]["code"] == "idempotency_key_reused", r
    assert a["id"] in r["error"]["message"], r
    assert intake_keys(c) == before, "a refused replay changed Redis"
    # The same request with the fields in another order is the same request.
    reordered = dict(reversed(list(body.items())))
    r = c.create_ticket(idempotency_key=key, body=reordered)
    assert r.status == 200 and r["id"] == a["id"], r


def intake_keys(c):
    """What a refused request could have written: tickets, idempotency keys."""
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:idem:*"))


def check_refusals(c, tid):
    # Other services keep working on earlier tickets meanwhile, so compare
    # only what intake's API writes.
    before = intake_keys(c)
    cases = [
        ("POST", "/v1/tickets", "{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
        ("POST", "/v1/tickets", "[]", None, 400, "invalid_field"),
        ("POST", "/v1/tickets", {"type": "teleport"}, None, 400, "invalid_field"),
        ("POST", "/v1/tickets", "{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        ("POST", "/v1/tickets", "x" * (70 * 1024), None, 413, "too_large"),
        ("GET", "/v1/tickets/Tnope", None, None, 404, "not_found"),
        ("GET", "/v1/tickets/..%2f..%2fetc", None, None, 404, "not_found"),
        ("GET", "/v1/tickets/Tnope/timeline", None, None, 404, "not_found"),
        ("POST", "/v1/tickets/Tnope/survey", {"score": 5, "resolved": True}, None, 404, "not_found"),
        ("DELETE", "/v1/tickets/" + tid, None, None, 405, "method_not_allowed"),
        ("GET", "/v2/anything", None, None, 404, "not_found"),
        ("POST", "/v1/tickets/%s/survey" % tid, {"score": 9, "resolved": True}, None, 400, "invalid_field"),
        ("POST", "/v1/tickets/%s/survey" % tid, {"score": 5}, None, 400, "invalid_field"),
        ("POST", "/v1/tickets", "{\"type\":\"repair\"}\u0000", None, 400, "invalid_json"),
    ]
    for method, path, body, headers, status, code in cases:
        r = c.http(method, path, body, headers)
        assert r.status == status, "%s %s: want %d got %s %r" % (method, path, status, r.status, r.body)
        assert isinstance(r.body, dict) and r["error"]["code"] == code, (method, path, r.body)
        assert r["error"]["message"], r.body
    bad_fields = [
        {"customer": {"phone": "call me maybe"}},
        {"customer": {"name": ""}},
        {"product": {"category": 7}},
        {"product": {"serial": "S1"}},
        {"priority": 0},
        {"priority": "high"},
        {"tier": "platinum"},
        {"description": "x" * 2001},
        {"extra": 1},
        {"customer": {"class": "Z"}},
    ]
    for override in bad_fields:
        r = c.create_ticket(**override)
        assert r.status == 400 and r["error"]["code"] == "invalid_field", (override, r)
    r = c.create_ticket(idempotency_key="bad key with spaces")
    assert r.status == 400 and r["error"]["code"] == "invalid_header", r
    assert intake_keys(c) == before, "refused requests changed Redis"


def main():
    with Cluster(name="life") as c:
        tid = check_life(c)
        check_idempotency(c)
        check_refusals(c, tid)
        c.check_alive()


if __name__ == "__main__":
    run(main, name="life_test")
