# ctest: LABELS integration threads
"""三包 warranty through the real intake: the policy route, decisions at
the periods' edges, a live reload (the file rewritten, the next check
uses the new periods), a reload by SIGHUP alone, a bad file on reload
(the old policy stays, the error names file:line, is logged and counted),
a bad file at start (exit 2 naming it), and the refusals (400, 401, 403
with tokens) that change nothing."""

import datetime
import os
import signal
import time

from harness import Cluster, Proc, binary, log, run

ROLES = ("agent", "supervisor", "ops", "admin", "system")
GOOD = """# 三包 periods for the warranty test
# category    refund exchange repair_months repairs_for_exchange
*             7      15       12            2
water_heater  7      15       36            2   # heaters: three years
"""


def day(days_ago):
    return (datetime.datetime.now(datetime.timezone.utc).date()
            - datetime.timedelta(days=days_ago)).isoformat()


def check(c, auth, category="water_heater", type="return", purchase=None, repairs=None, status=200):
    body = {"category": category, "type": type}
    if purchase is not None:
        body["purchase_date"] = purchase
    if repairs is not None:
        body["same_fault_repairs"] = repairs
    r = c.http("POST", "/v1/warranty/check", body, auth)
    assert r.status == status, (body, r.status, r.body)
    return r.body


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def check_decisions(c, auth):
    r = check(c, auth, purchase=day(5))
    assert r["remedy"] == "refund" and r["days_since_purchase"] == 5, r
    assert r["reason"] == "purchased 5 days ago: within the 7-day refund period for water_heater", r
    assert r["rule"] == {"category": "water_heater", "refund_days": 7, "exchange_days": 15,
                         "repair_months": 36, "repairs_for_exchange": 2}, r
    assert check(c, auth, purchase=day(7))["remedy"] == "refund"
    assert check(c, auth, purchase=day(8))["remedy"] == "exchange"
    assert check(c, auth, purchase=day(15))["remedy"] == "exchange"
    assert check(c, auth, purchase=day(16))["remedy"] == "repair"
    assert check(c, auth, type="repair", purchase=day(400))["remedy"] == "repair"     # 36 months
    tv = check(c, auth, category="tv", type="repair", purchase=day(400))
    assert tv["remedy"] == "paid_repair" and tv["rule"]["category"] == "*", tv
    assert "(default policy)" in tv["reason"], tv
    r = check(c, auth, type="repair", purchase=day(30), repairs=2)
    assert r["remedy"] == "exchange" and "repaired 2 times for the same fault" in r["reason"], r
    assert check(c, auth, type="maintenance", purchase=day(30), repairs=1)["remedy"] == "repair"
    unknown = check(c, auth, type="repair")
    assert unknown["remedy"] == "paid_repair" and unknown["days_since_purchase"] is None, unknown
    assert "purchase date unknown" in unknown["reason"], unknown
    none = check(c, auth, type="installation", purchase=day(1))
    assert none["remedy"] is None and "no 三包 remedy" in none["reason"], none


def check_reload(c, auth, path):
    pol = c.http("GET", "/v1/warranty/policy", None, auth)
    assert pol.status == 200 and pol["source"] == path and pol["last_error"] is None, pol
    assert [x["category"] for x in pol["rules"]] == ["*", "water_heater"], pol
    reloads = c.metric("intake", "asp_warranty_reloads_total")
    # Ops shorten the heaters' refund period: the next check (the file is
    # looked at once a second) uses it, without a restart.
    write(path, GOOD.replace("water_heater  7      15", "water_heater  3      15"))
    c.wait_for(lambda: check(c, auth, purchase=day(5))["remedy"] == "exchange", 10,
               what="the rewritten policy to be used")
    assert c.metric("intake", "asp_warranty_reloads_total") == reloads + 1
    # A bad file: the old policy stays, the error names file:line.
    write(path, GOOD + "tv 7 15\n")
    errors = c.metric("intake", "asp_warranty_reload_errors_total")

    def refused():
        e = c.http("GET", "/v1/warranty/policy", None, auth)["last_error"]
        return e if e else None
    e = c.wait_for(refused, 10, what="the bad policy to be refused")
    assert e["message"].startswith(path + ":5: expected 5 fields"), e
    assert c.metric("intake", "asp_warranty_reload_errors_total") == errors + 1
    assert check(c, auth, purchase=day(5))["remedy"] == "exchange", "the old policy must stay"
    assert any("policy refused" in line and path + ":5:" in line for line in c.log_text("intake").splitlines())
    # SIGHUP alone: same size, same mtime, so only the signal reloads it.
    stat = os.stat(path)
    fixed = GOOD.replace("water_heater  7      15", "water_heater  9      15")
    fixed += "#" * (stat.st_size - len(fixed.encode()) - 1) + "\n"
    with open(path, "r+", encoding="utf-8") as f:
        f.write(fixed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    time.sleep(1.2)
    assert check(c, auth, purchase=day(5))["remedy"] == "exchange", "no reload without a change"
    os.kill(c.proc("intake").pid, signal.SIGHUP)
    c.wait_for(lambda: check(c, auth, purchase=day(5))["remedy"] == "refund", 10,
               what="SIGHUP to reload the policy")
    assert c.http("GET", "/v1/warranty/policy", None, auth)["last_error"] is None
    c.check_alive(["intake"])


def intake_keys(c):
    """What intake writes: tickets, idempotency keys."""
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:idem:*"))


def check_refusals(c, auth, customer):
    before = intake_keys(c)
    bad = [
        ({"category": "tv", "type": "upgrade"}, "type must be one of"),
        ({"category": "tv"}, "type is required"),
        ({"type": "repair"}, "category is required"),
        ({"category": "tv", "type": "repair", "purchase_date": "2999-01-01"}, "may not be in the future"),
        ({"category": "tv", "type": "repair", "purchase_date": "2024-02-30"}, "not a calendar date"),
        ({"category": "tv", "type": "repair", "same_fault_repairs": -1}, "same_fault_repairs"),
        ({"category": "tv", "type": "repair", "colour": "red"}, "unknown field colour"),
        ([1, 2], "must be a JSON object"),
    ]
    for body, why in bad:
        r = c.http("POST", "/v1/warranty/check", body, auth)
        assert r.status == 400 and r["error"]["code"] == "invalid_field" and why in r["error"]["message"], \
            (body, r)
    r = c.http("POST", "/v1/warranty/check", "{not json", auth)
    assert r.status == 400 and r["error"]["code"] == "invalid_json", r
    r = c.http("POST", "/v1/warranty/check", b"{}", dict(auth, **{"Content-Type": "text/plain"}))
    assert r.status == 415, r
    r = c.http("GET", "/v1/warranty/policy")
    assert r.status == 401 and r["error"]["code"] == "unauthorized", r
    for path, body in (("/v1/warranty/policy", None), ("/v1/warranty/check", {"category": "tv", "type": "repair"})):
        r = c.http("POST" if body else "GET", path, body, {"Authorization": "Bearer " + customer})
        assert r.status == 403 and r["error"]["code"] == "forbidden", (path, r)
    r = c.http("DELETE", "/v1/warranty/policy", None, auth)
    assert r.status == 405, r
    assert intake_keys(c) == before, "a refused request changed Redis"


def check_roles(c):
    for role in ROLES:
        a = {"Authorization": "Bearer %s-tok" % role}
        assert c.http("GET", "/v1/warranty/policy", None, a).status == 200, role
        assert check(c, a, purchase=day(1))["remedy"] in ("refund", "exchange"), role


def check_bad_start(c, path):
    write(path, GOOD + "\n\nwater_heater 1 2 3 4\n")
    c.proc("intake").terminate()
    env = c.service_environment("intake")
    env["ASP_WARRANTY_FILE"] = path
    p = Proc("intake-bad", [binary("asp-intake")], env, os.path.join(c.log_dir, "intake-bad.log")).start()
    c.wait_for(lambda: not p.running(), 20, what="intake to refuse its policy file")
    p.killed = True
    assert p.popen.returncode == 2, p.popen.returncode
    text = p.tail(20)
    assert "ASP_WARRANTY_FILE" in text and path + ":7: category water_heater is defined twice" in text, text
    write(path, GOOD)
    c.start_proc("intake")


def main():
    tokens = ",".join("%s-tok:%s" % (r, r) for r in ROLES)
    c = Cluster(partners=0, customer=False, start=False, name="warranty",
                env={"ASP_API_TOKENS": tokens})
    path = os.path.join(c.dir, "warranty.conf")
    write(path, GOOD)
    c.service_env["intake"] = {"ASP_WARRANTY_FILE": path}
    with c:
        c.start()
        auth = {"Authorization": "Bearer agent-tok"}
        created = c.create_ticket(headers=auth)
        assert created.status == 201, created
        check_decisions(c, auth)
        check_refusals(c, auth, created["customer_token"])
        check_roles(c)
        check_reload(c, auth, path)
        check_bad_start(c, path)
        loaded = c.http("GET", "/v1/warranty/policy", None, auth)["loaded_ms"]
        assert check(c, auth, purchase=day(5))["remedy"] == "refund"
        # The file docker-compose mounts is a valid policy.
        deploy = os.path.join(os.environ.get("ASP_SOURCE_DIR", ".."), "deploy", "warranty", "warranty.conf")
        with open(deploy, encoding="utf-8") as f:
            write(path, f.read())
        c.wait_for(lambda: c.http("GET", "/v1/warranty/policy", None, auth)["loaded_ms"] > loaded, 10,
                   what="the deployed policy file to load")
        pol = c.http("GET", "/v1/warranty/policy", None, auth)
        assert pol["last_error"] is None and len(pol["rules"]) == 2, pol
        c.check_alive()
    log("warranty ok")


if __name__ == "__main__":
    run(main, name="warranty_test")
