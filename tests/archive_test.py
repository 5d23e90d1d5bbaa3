# ctest: TIMEOUT 900 LABELS integration threads
"""The customer and product archive through the real cluster (issue 6):
customers and units created, read, changed and merged; the lookup an agent
starts every call with (customer, units, past and open tickets); tickets
that find or create their customer and unit and never duplicate them (the
same phone twice, concurrent creates, a SIGKILL of intake between the
steps of a creation, then the same Idempotency-Keys again); the installer
of record filled when an installation completes; every refusal with its
code and Redis unchanged after it; who may do what."""

import random
import threading
import time

from harness import Cluster, HarnessError, key, log, new_id, run, scaled


def phone():
    return "139%08d" % random.randint(0, 99999999)


def serial():
    return "SN-%s" % new_id("u")[-12:]


def archive_keys(c):
    """What the archive's and ticket routes could write: the archive's
    keys with their values, and which tickets exist (other services keep
    changing earlier tickets meanwhile)."""
    keys = []
    for pattern in ("{s*}:c:*", "{s*}:ph:*", "{s*}:u:*", "{s*}:idem:*"):
        keys += c.redis.keys(pattern)
    tickets = [k for k in c.redis.keys("{s*}:t:*") if k.count(":") == 2]
    return sorted((k, str(dump(c, k))) for k in keys) + sorted(tickets)


# What the events of a unit's tickets write on the unit meanwhile (a
# partner's completion: its installer, its latest repair), not the routes.
EVENT_FIELDS = ("installer_", "install_date", "installed_by_ticket", "last_repair_", "updated_ms")


def dump(c, k):
    t = c.redis.cmd("TYPE", k)
    if t == "hash" and ":u:" in k:
        return sorted((f, v) for f, v in c.redis.hgetall(k).items() if not f.startswith(EVENT_FIELDS))
    if t == "hash":
        return sorted(c.redis.hgetall(k).items())
    if t == "string":
        return c.redis.cmd("GET", k)
    if t == "set":
        return sorted(c.redis.cmd("SMEMBERS", k))
    if t == "zset":
        return c.redis.cmd("ZRANGE", k, "0", "-1", "WITHSCORES")
    if t == "list":
        return c.redis.cmd("LRANGE", k, "0", "-1")
    return t


def expect(r, status, code=None):
    assert r.status == status, "want %d got %s %r" % (status, r.status, r.body)
    if code:
        assert isinstance(r.body, dict) and r["error"]["code"] == code, r.body
        assert r["error"]["message"], r.body
    return r


def check_customers(c):
    p1, p2 = phone(), phone()
    r = expect(c.http("POST", "/v1/customers", {"name": "王芳", "phones": [p1, "+86 " + p2],
                                                "region": "east", "address": "2 River Rd",
                                                "class": "A", "language": "en"}), 201)
    cid = r["id"]
    assert r["phones"] == [p1, "+86 " + p2] and r["class"] == "A" and r["language"] == "en", r.body
    assert r["units"] == [] and r["tickets"] == 0, r.body
    assert c.redis.cmd("GET", key("ph:%s", p1)) == cid
    assert c.redis.cmd("GET", key("ph:%s", "86" + p2)) == cid
    got = expect(c.get("/v1/customers/" + cid), 200)
    assert got["name"] == "王芳" and got["region"] == "east", got.body
    # The same phone again (either one, any spelling) names its customer.
    before = archive_keys(c)
    for ph in (p1, "86-" + p2):
        r = expect(c.http("POST", "/v1/customers", {"name": "x", "phone": ph, "region": "e"}), 409,
                   "phone_taken")
        assert cid in r["error"]["message"], r.body
    assert archive_keys(c) == before, "a refused customer changed Redis"
    # Changes; a further phone gets its own index.
    p3 = phone()
    r = expect(c.http("PATCH", "/v1/customers/" + cid, {"name": "王芳芳", "add_phone": p3, "class": "B"}), 200)
    assert r["name"] == "王芳芳" and r["class"] == "B" and p3 in r["phones"], r.body
    assert c.redis.cmd("GET", key("ph:%s", p3)) == cid
    other = expect(c.http("POST", "/v1/customers", {"name": "Other", "phone": phone(), "region": "w"}), 201)
    before = archive_keys(c)
    r = expect(c.http("PATCH", "/v1/customers/" + other["id"], {"add_phone": p3}), 409, "phone_taken")
    assert archive_keys(c) == before
    return cid


def check_units(c, cid):
    s = serial()
    body = {"serial": s, "model": "WH-200", "category": "water_heater", "customer_id": cid,
            "purchase_date": "2024-03-01", "purchase_channel": "jd.com",
            "attributes": {"water_hardness": "high", "floor": 3}}
    u = expect(c.http("POST", "/v1/units", body), 201)
    assert u["serial"] == s and u["customer_id"] == cid and u["purchase_date"] == "2024-03-01", u.body
    assert u["attributes"] == {"water_hardness": "high", "floor": 3} and u["parts"] == [], u.body
    assert s in expect(c.get("/v1/customers/" + cid), 200)["units"]
    before = archive_keys(c)
    expect(c.http("POST", "/v1/units", body), 409, "unit_exists")
    assert archive_keys(c) == before
    # A replaced consumable, an attribute changed and one removed.
    r = expect(c.http("PATCH", "/v1/units/" + s, {"add_part": {"part": "filter F-2", "qty": 2,
                                                                "date": "2024-06-01"},
                                                   "attributes": {"floor": None, "pipe": "pex"}}), 200)
    assert r["parts"] == [{"part": "filter F-2", "qty": 2, "date": "2024-06-01"}], r.body
    assert r["attributes"] == {"water_hardness": "high", "pipe": "pex"}, r.body
    r = expect(c.http("PATCH", "/v1/units/" + s, {"add_part": {"part": "anode"}, "install_date": "2024-03-02"}), 200)
    assert len(r["parts"]) == 2 and r["parts"][1]["qty"] == 1 and r["install_date"] == "2024-03-02", r.body
    # A unit without an owner yet.
    s2 = serial()
    u2 = expect(c.http("POST", "/v1/units", {"serial": s2, "model": "M", "category": "cooker"}), 201)
    assert u2["customer_id"] is None, u2.body
    return s


def check_refusals(c, cid, s):
    before = archive_keys(c)
    future = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
    cases = [
        ("POST", "/v1/customers", {"phone": phone(), "region": "n"}, 400, "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phone": "call me", "region": "n"}, 400, "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phones": [], "region": "n"}, 400, "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phones": [phone() for _ in range(6)], "region": "n"}, 400,
         "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phone": phone(), "region": "n", "class": "Z"}, 400,
         "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phone": phone(), "region": "n", "language": "fr"}, 400,
         "invalid_field"),
        ("POST", "/v1/customers", {"name": 5, "phone": phone(), "region": "n"}, 400, "invalid_field"),
        ("POST", "/v1/customers", {"name": "A", "phone": phone(), "region": "n", "vip": True}, 400,
         "invalid_field"),
        ("POST", "/v1/customers", b'{"name":"\xff\xfe","phone":"13900000000","region":"n"}', 400,
         "invalid_field"),
        ("POST", "/v1/customers", "[1]", 400, "invalid_field"),
        ("POST", "/v1/customers", "{nope", 400, "invalid_json"),
        ("PATCH", "/v1/customers/" + cid, {}, 400, "invalid_field"),
        ("PATCH", "/v1/customers/" + cid, {"add_phone": "12"}, 400, "invalid_field"),
        ("PATCH", "/v1/customers/Cnope", {"name": "B"}, 404, "not_found"),
        ("GET", "/v1/customers/Cnope", None, 404, "not_found"),
        ("POST", "/v1/customers/%s/merge" % cid, {"from": cid}, 400, "invalid_field"),
        ("POST", "/v1/customers/%s/merge" % cid, {"from": "Cnope"}, 404, "not_found"),
        ("POST", "/v1/customers/Cnope/merge", {"from": cid}, 404, "not_found"),
        ("POST", "/v1/units", {"serial": "S1", "model": "M", "category": "c"}, 400, "invalid_field"),
        ("POST", "/v1/units", {"serial": "SN 0001", "model": "M", "category": "c"}, 400, "invalid_field"),
        ("POST", "/v1/units", {"serial": serial(), "category": "c"}, 400, "invalid_field"),
        ("POST", "/v1/units", {"serial": serial(), "model": "M", "category": "c", "purchase_date": future},
         400, "invalid_field"),
        ("POST", "/v1/units", {"serial": serial(), "model": "M", "category": "c", "purchase_date": "2024-02-30"},
         400, "invalid_field"),
        ("POST", "/v1/units", {"serial": serial(), "model": "M", "category": "c", "attributes": {"a": {}}},
         400, "invalid_field"),
        ("POST", "/v1/units", {"serial": serial(), "model": "M", "category": "c", "customer_id": "Cnope"},
         422, "unknown_customer"),
        ("PATCH", "/v1/units/" + s, {"add_part": {"qty": 1}}, 400, "invalid_field"),
        ("PATCH", "/v1/units/" + s, {"customer_id": "Cnope"}, 422, "unknown_customer"),
        ("PATCH", "/v1/units/SN-none-here", {"model": "M"}, 404, "not_found"),
        ("GET", "/v1/units/SN-none-here", None, 404, "not_found"),
        ("GET", "/v1/lookup", None, 400, "invalid_query"),
        ("GET", "/v1/lookup?phone=13900000000&serial=" + s, None, 400, "invalid_query"),
        ("GET", "/v1/lookup?phone=abc", None, 400, "invalid_query"),
        ("GET", "/v1/lookup?serial=a%20b", None, 400, "invalid_query"),
        ("GET", "/v1/lookup?phone=10000000001", None, 404, "not_found"),
        ("GET", "/v1/lookup?serial=SN-none-here", None, 404, "not_found"),
        ("DELETE", "/v1/customers/" + cid, None, 405, "method_not_allowed"),
    ]
    for method, path, body, status, code in cases:
        headers = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
        r = c.http(method, path, body, headers)
        assert r.status == status and r["error"]["code"] == code, (method, path, body, r.status, r.body)
    # Tickets that name what the archive does not hold.
    bad_tickets = [
        ({"customer_id": "Cnope", "customer": None}, 422, "unknown_customer"),
        ({"product": {"serial": "SN-none-here", "model": None, "category": None}}, 422, "unknown_unit"),
        ({"customer": None, "product": {"serial": "SN-none-here"}}, 422, "customer_required"),
        ({"customer_id": cid}, 400, "invalid_field"),
        ({"product": {"serial": "x y z w"}}, 400, "invalid_field"),
    ]
    for override, status, code in bad_tickets:
        r = c.create_ticket(**override)
        assert r.status == status and r["error"]["code"] == code, (override, r)
    # A unit without an owner and a ticket without a customer.
    s3 = serial()
    expect(c.http("POST", "/v1/units", {"serial": s3, "model": "M", "category": "c"}), 201)
    before = archive_keys(c)
    r = c.create_ticket(customer=None, product={"serial": s3, "model": None, "category": None})
    assert r.status == 422 and r["error"]["code"] == "customer_required", r
    assert archive_keys(c) == before, "refused requests changed Redis"


def check_intent_first(c):
    """What a SIGKILL between two steps leaves behind: references written
    before what they point to. Readers skip them; writers may take them."""
    r = expect(c.http("POST", "/v1/customers", {"name": "Zhao", "phone": phone(), "region": "n"}), 201)
    cid, ph = r["id"], r["phones"][0]
    s = serial()
    expect(c.http("POST", "/v1/units", {"serial": s, "model": "M", "category": "c", "customer_id": cid}), 201)
    # A ticket listed on the customer but never made, a unit listed whose
    # owner is now someone else, a unit listed but never made.
    c.redis.cmd("ZADD", key("c:%s:tickets", cid), "1", "Tnevermade0000000000")
    other = serial()
    expect(c.http("POST", "/v1/units", {"serial": other, "model": "M", "category": "c"}), 201)
    c.redis.cmd("SADD", key("c:%s:units", cid), other, "SN-nevermade")
    r = expect(c.get("/v1/lookup?phone=" + ph), 200)
    assert [u["serial"] for u in r["units"]] == [s] and r["tickets"] == [], r.body
    # A further phone claimed for a customer that was never written: the
    # phone is free for the next customer, and for a ticket.
    p2, p3 = phone(), phone()
    c.redis.cmd("SET", key("ph:%s", p2), "Cnevermade000000000000")
    c.redis.cmd("SET", key("ph:%s", p3), "Cnevermade000000000001")
    expect(c.get("/v1/lookup?phone=" + p2), 404, "not_found")
    r = expect(c.http("POST", "/v1/customers", {"name": "Qian", "phone": p2, "region": "n"}), 201)
    assert c.redis.cmd("GET", key("ph:%s", p2)) == r["id"]
    t = expect(c.create_ticket(customer={"phone": p3}), 201)
    assert c.redis.cmd("GET", key("ph:%s", p3)) == t["customer_id"] != "Cnevermade000000000001"
    # Media type and size on the archive's routes too.
    before = archive_keys(c)
    expect(c.http("POST", "/v1/customers", "{}", {"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    expect(c.http("PATCH", "/v1/units/" + s, "x" * (70 * 1024)), 413, "too_large")
    assert archive_keys(c) == before


def check_find_or_create(c):
    body = c.ticket_body()
    ph, sn = body["customer"]["phone"], body["product"]["serial"]
    a = expect(c.create_ticket(body=body), 201)
    # Another fault of the same unit is another ticket (the same fault
    # would join the open one: repeat_test).
    b = expect(c.create_ticket(body=dict(body, description="Leaks at the valve.", fault="E2")), 201)
    assert a["customer_id"] == b["customer_id"] and a["id"] != b["id"], (a.body, b.body)
    cid = a["customer_id"]
    assert c.redis.cmd("GET", key("ph:%s", ph)) == cid
    assert c.redis.cmd("ZCARD", key("c:%s:tickets", cid)) == 2
    assert c.redis.cmd("ZCARD", key("u:%s:tickets", sn)) == 2
    assert c.redis.cmd("SMEMBERS", key("c:%s:units", cid)) == [sn]
    assert c.redis.hgetall(key("u:%s", sn))["customer"] == cid
    t = c.ticket(a["id"])
    assert t["customer"]["id"] == cid and t["product"]["serial"] == sn, t
    # The ticket lives in its unit's shard.
    assert c.redis.cmd("EXISTS", key("t:%s", a["id"])) == 1 and key("t:%s", a["id"]).split(":")[0] == \
        key("u:%s", sn).split(":")[0]
    # By reference: the customer's id and a known serial only.
    r = expect(c.create_ticket(customer=None, customer_id=cid, fault="E3",
                               product={"serial": sn, "model": None, "category": None}), 201)
    t = c.ticket(r["id"])
    assert t["customer"]["name"] == body["customer"]["name"] and t["product"]["model"] == "WH-100", t
    # Only the serial: the unit's owner is the customer.
    r = expect(c.create_ticket(customer=None, fault="E4",
                               product={"serial": sn, "model": None, "category": None}), 201)
    assert r["customer_id"] == cid, r.body
    assert c.redis.cmd("ZCARD", key("c:%s:tickets", cid)) == 4

    # Concurrent creates for one new phone and one new serial: one
    # customer, one unit, every ticket listed on both.
    body = c.ticket_body()
    ph, sn = body["customer"]["phone"], body["product"]["serial"]
    results = []

    def create(i):
        # Each about another fault (one fault would join one ticket).
        results.append(c.create_ticket(body=dict(body, description="call %d" % i, fault="F%d" % i)))
    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 201 for r in results), [(r.status, r.body) for r in results]
    cids = {r["customer_id"] for r in results}
    assert len(cids) == 1, cids
    cid = cids.pop()
    named = [k for k in c.redis.keys("{s*}:c:*") if not k.endswith(("tickets", "units"))
             and c.redis.hgetall(k).get("phones") == ph]
    assert len(named) == 1, named
    assert c.redis.cmd("ZCARD", key("c:%s:tickets", cid)) == 8
    assert c.redis.cmd("ZCARD", key("u:%s:tickets", sn)) == 8
    log("find-or-create ok: 8 concurrent creates, one customer %s" % cid)


def check_lookup_and_installer(c):
    body = c.ticket_body(type="installation")
    ph, sn = body["customer"]["phone"], body["product"]["serial"]
    first = c.new_ticket(type="installation", customer=body["customer"], product=body["product"])
    done = c.wait_status(first, "closed", timeout=90)
    assert done["status"] == "closed"
    # The installer of record came from the completion.
    unit = c.wait_for(lambda: (lambda u: u if u.get("installer_partner") else None)(
        expect(c.get("/v1/units/" + sn), 200).body), 20, what="the installer of record")
    assert unit["installer_partner"] in ("P001", "P002"), unit
    assert unit["installer_technician"] == "sim-technician" and unit["installed_by_ticket"] == first, unit
    assert unit["install_date"] == time.strftime("%Y-%m-%d", time.gmtime()) or unit["install_date"], unit
    assert unit["tickets"] == [first], unit
    # A second, open ticket; then the agent's screen by phone and by serial.
    second = expect(c.create_ticket(customer=body["customer"], product={"serial": sn}, type="repair"), 201)["id"]
    for q in ("phone=%s" % ph, "serial=%s" % sn):
        r = expect(c.get("/v1/lookup?" + q), 200)
        assert r["customer"]["phones"] == [ph], r.body          # staff see it whole
        assert [u["serial"] for u in r["units"]] == [sn], r.body
        ids = [t["id"] for t in r["tickets"]]
        assert ids == [second, first], r.body                   # newest first
        assert r["tickets"][1]["status"] == "closed" and r["tickets"][1]["open"] is False, r.body
        assert r["tickets"][0]["open"] is True and r["open_tickets"] == 1, r.body
        assert r["tickets"][0]["serial"] == sn and r["tickets"][0]["summary"], r.body
    log("lookup ok: %s" % ", ".join("%s %s" % (t["id"], t["status"]) for t in r["tickets"]))


def check_merge(c):
    a = c.ticket_body()
    b = c.ticket_body()
    ta = expect(c.create_ticket(body=a), 201)
    tb = expect(c.create_ticket(body=b), 201)
    keep, dup = ta["customer_id"], tb["customer_id"]
    r = expect(c.http("POST", "/v1/customers/%s/merge" % keep, {"from": dup}), 200)
    assert set(r["units"]) == {a["product"]["serial"], b["product"]["serial"]}, r.body
    assert r["tickets"] == 2 and b["customer"]["phone"] in r["phones"], r.body
    # The duplicate points at the survivor; its phone and unit follow.
    d = expect(c.get("/v1/customers/" + dup), 200)
    assert d.body == {"id": dup, "merged_into": keep}, d.body
    assert c.redis.cmd("GET", key("ph:%s", b["customer"]["phone"])) == keep
    assert c.redis.hgetall(key("u:%s", b["product"]["serial"]))["customer"] == keep
    look = expect(c.get("/v1/lookup?phone=" + b["customer"]["phone"]), 200)
    assert look["customer"]["id"] == keep and len(look["tickets"]) == 2, look.body
    # The same merge again is harmless; merging into the duplicate is not.
    expect(c.http("POST", "/v1/customers/%s/merge" % keep, {"from": dup}), 200)
    before = archive_keys(c)
    expect(c.http("POST", "/v1/customers/%s/merge" % dup, {"from": keep}), 409, "already_merged")
    expect(c.http("PATCH", "/v1/customers/" + dup, {"name": "x"}), 409, "customer_merged")
    assert archive_keys(c) == before
    # A ticket for the duplicate's phone lands on the survivor.
    r = expect(c.create_ticket(customer=b["customer"], product={"serial": b["product"]["serial"]}, fault="E9"), 201)
    assert r["customer_id"] == keep, r.body
    log("merge ok: %s -> %s" % (dup, keep))


def check_kill(c):
    """SIGKILL intake while it creates tickets with Idempotency-Keys, then
    send the same requests again: every ticket exists once, every customer
    and unit once, every ticket listed on both."""
    n = scaled(240, 60)
    # Three tickets per customer and unit.
    phones = [phone() for _ in range(n // 3)]
    serials = [serial() for _ in phones]
    reqs = []
    for i in range(n):
        body = c.ticket_body(description="kill test call %d" % i)
        body["customer"]["phone"] = phones[i % len(phones)]
        body["product"]["serial"] = serials[i % len(phones)]
        body["fault"] = "K%d" % i         # three faults: three tickets, not joins
        reqs.append((new_id("idem"), body))
    stop = threading.Event()
    answered = []

    def hammer(part):
        for k, body in part:
            if stop.is_set():
                return
            answered.append(c.create_ticket(idempotency_key=k, body=body).status)
    threads = [threading.Thread(target=hammer, args=(reqs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    # Kill it in the middle of the stream, with requests in flight.
    c.wait_for(lambda: len(answered) >= n // 3, 30, interval=0.001, what="a third of the creates")
    c.kill("intake")
    stop.set()
    for t in threads:
        t.join()
    log("intake killed after %d answers (%d cut off)" % (len(answered), answered.count(0)))
    c.start_proc("intake")
    ids = {}
    for k, body in reqs:
        r = c.wait_for(lambda: (lambda r: r if r.status in (200, 201) else None)(
            c.create_ticket(idempotency_key=k, body=body)), 30, what="a retried create")
        ids[k] = r.body
    assert len({r["id"] for r in ids.values()}) == n, "a retry made a second ticket"
    for ph in phones:
        owners = {r["customer_id"] for (k, b), r in zip(reqs, ids.values()) if b["customer"]["phone"] == ph}
        assert len(owners) == 1, (ph, owners)
        assert c.redis.cmd("GET", key("ph:%s", ph)) in owners
    customers = [k for k in c.redis.keys("{s*}:c:*") if not k.endswith(("tickets", "units"))]
    mine = [k for k in customers if c.redis.hgetall(k).get("phones") in phones]
    assert len(mine) == len(phones), "duplicate customers: %d for %d phones" % (len(mine), len(phones))
    for (k, body), r in zip(reqs, ids.values()):
        tid, cid, sn = r["id"], r["customer_id"], body["product"]["serial"]
        assert c.redis.cmd("EXISTS", key("t:%s", tid)) == 1
        assert c.redis.cmd("ZSCORE", key("c:%s:tickets", cid), tid) is not None, (tid, cid)
        assert c.redis.cmd("ZSCORE", key("u:%s:tickets", sn), tid) is not None, (tid, sn)
        assert c.redis.hgetall(key("u:%s", sn))["customer"] == cid
    log("kill ok: %d tickets, %d customers after kill -9 intake and retries" % (n, len(phones)))


# Who may do what (docs/http-api.md, Roles).
ROLES = ("agent", "supervisor", "ops", "admin", "system")
WRITERS = {"agent", "supervisor", "admin", "system"}
MATRIX = {
    "customer_create": WRITERS, "customer_read": set(ROLES), "customer_patch": WRITERS,
    "merge": {"supervisor", "admin"}, "unit_create": WRITERS, "unit_read": set(ROLES),
    "unit_patch": WRITERS, "lookup": set(ROLES),
}


def check_auth():
    tokens = ",".join("%s-tok:%s" % (r, r) for r in ROLES)
    with Cluster(partners=0, customer=False, env={"ASP_API_TOKENS": tokens}, name="arcauth") as c:
        auth = {role: {"Authorization": "Bearer %s-tok" % role} for role in ROLES}
        expect(c.http("GET", "/v1/lookup?phone=13900000000"), 401, "unauthorized")
        ph = phone()
        cid = expect(c.http("POST", "/v1/customers", {"name": "A", "phone": ph, "region": "n"},
                            auth["agent"]), 201)["id"]
        dup = expect(c.http("POST", "/v1/customers", {"name": "B", "phone": phone(), "region": "n"},
                            auth["agent"]), 201)["id"]
        s = serial()
        expect(c.http("POST", "/v1/units", {"serial": s, "model": "M", "category": "c", "customer_id": cid},
                      auth["agent"]), 201)
        before = archive_keys(c)
        calls = {
            # Invalid bodies: an allowed role gets 400, never 403, and nothing is written.
            "customer_create": ("POST", "/v1/customers", {"name": ""}),
            "customer_read": ("GET", "/v1/customers/" + cid, None),
            "customer_patch": ("PATCH", "/v1/customers/" + cid, {}),
            "merge": ("POST", "/v1/customers/%s/merge" % cid, {"from": cid}),
            "unit_create": ("POST", "/v1/units", {"serial": "S"}),
            "unit_read": ("GET", "/v1/units/" + s, None),
            "unit_patch": ("PATCH", "/v1/units/" + s, {}),
            "lookup": ("GET", "/v1/lookup?phone=" + ph, None),
        }
        for role in ROLES:
            for route, (method, path, body) in calls.items():
                r = c.http(method, path, body, auth[role])
                if role in MATRIX[route]:
                    assert r.status in (200, 400), (role, route, r.status, r.body)
                else:
                    assert r.status == 403 and r["error"]["code"] == "forbidden", (role, route, r)
                    assert role in r["error"]["message"], r.body
        assert archive_keys(c) == before, "a refused role changed Redis"
        # Ops and systems see phones masked; the staff who call back do not.
        assert expect(c.http("GET", "/v1/lookup?phone=" + ph, None, auth["agent"]), 200)["customer"]["phones"] == [ph]
        masked = expect(c.http("GET", "/v1/lookup?phone=" + ph, None, auth["ops"]), 200)["customer"]["phones"][0]
        assert masked != ph and masked.count("*") == 4, masked
        # An agent may not merge; a supervisor may.
        expect(c.http("POST", "/v1/customers/%s/merge" % cid, {"from": dup}, auth["agent"]), 403, "forbidden")
        expect(c.http("POST", "/v1/customers/%s/merge" % cid, {"from": dup}, auth["supervisor"]), 200)


def main():
    with Cluster(name="archive") as c:
        cid = check_customers(c)
        s = check_units(c, cid)
        check_refusals(c, cid, s)
        check_intent_first(c)
        check_find_or_create(c)
        check_merge(c)
        check_lookup_and_installer(c)
        check_kill(c)
        c.check_alive()
    check_auth()


if __name__ == "__main__":
    run(main, "archive_test")
