# ctest: LABELS integration
"""intake's request rate limit per caller (ASP_API_RATE / ASP_API_BURST):
beyond the allowance a caller gets 429 rate_limited with Retry-After and
nothing changes; other callers are not affected; the allowance comes back
with time. Also the body checks every route shares: nesting too deep,
text that is not UTF-8."""

import json
import time

from harness import Cluster, log, run

RATE, BURST = 2, 4


def intake_keys(c):
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:idem:*"))


def main():
    tokens = "a-tok:agent:li.wei,b-tok:agent:wang.fang,sup-tok:supervisor"
    env = {"ASP_API_TOKENS": tokens, "ASP_API_RATE": RATE, "ASP_API_BURST": BURST}
    with Cluster(partners=0, customer=False, env=env, name="limits") as c:
        a = {"Authorization": "Bearer a-tok"}
        b = {"Authorization": "Bearer b-tok"}
        r = c.create_ticket(headers=a)
        assert r.status == 201, r
        tid = r["id"]
        # The burst is spent (one create above), then 429s.
        answers = [c.http("GET", "/v1/tickets/" + tid, None, a) for _ in range(BURST + 3)]
        codes = [x.status for x in answers]
        assert 429 in codes, codes
        limited = [x for x in answers if x.status == 429][0]
        assert limited["error"]["code"] == "rate_limited", limited.body
        assert "li.wei" in limited["error"]["message"], limited.body
        assert int(limited.headers.get("retry-after", "0")) >= 1, limited.headers
        # A refused create writes nothing.
        before = intake_keys(c)
        r = c.create_ticket(headers=a)
        assert r.status == 429, r
        assert intake_keys(c) == before, "a rate-limited create changed Redis"
        # Another caller has its own allowance.
        r = c.http("GET", "/v1/tickets/" + tid, None, b)
        assert r.status == 200, r
        # Time gives the allowance back.
        time.sleep(1.0 / RATE + 0.6)
        r = c.http("GET", "/v1/tickets/" + tid, None, a)
        assert r.status == 200, r
        # The owner is the agent whose token created the ticket.
        time.sleep(1.0)
        r = c.http("GET", "/v1/tickets/" + tid, None, {"Authorization": "Bearer sup-tok"})
        assert r.status == 200 and r["owner"] == "li.wei", r
        # Bodies: too deep, not UTF-8 (the message names the field).
        sup = {"Authorization": "Bearer sup-tok"}
        deep = '{"type":"repair","x":' + "[" * 9 + "]" * 9 + "}"
        r = c.http("POST", "/v1/tickets", deep, sup)
        assert r.status == 400 and r["error"]["code"] == "too_deep", r
        body = c.ticket_body()
        raw = (json.dumps(body).replace('"description": "', '"description": "\\u00e9 ')
               .encode().replace(b"\\u00e9", b"\xff\xfe"))
        time.sleep(1.0)
        r = c.http("POST", "/v1/tickets", raw, dict(sup, **{"Content-Type": "application/json"}))
        assert r.status == 400 and r["error"]["code"] == "invalid_field", r
        assert "description" in r["error"]["message"] and "UTF-8" in r["error"]["message"], r
        assert intake_keys(c) == before, "refused bodies changed Redis"
        c.check_alive()
    log("limits ok")


if __name__ == "__main__":
    run(main, name="limits_test")
