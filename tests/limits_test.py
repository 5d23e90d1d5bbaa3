# ctest: LABELS integration
"""intake's request rate limit per caller (ASP_API_RATE / ASP_API_BURST):
beyond the allowance a caller gets 429 rate_limited with Retry-After and
nothing changes; other callers are not affected; the allowance comes back
with time. Also the body checks every route shares: nesting too deep,
text that is not UTF-8."""

import json
import os
import subprocess
import time

from harness import Cluster, binary, free_port, log, run

RATE, BURST = 2, 4


def intake_keys(c):
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:idem:*"))


def check_bad_settings():
    """A malformed setting stops intake at start, naming the variable."""
    for var, value in (("ASP_CUSTOMER_LINK", "ftp://x.example/t"), ("ASP_CUSTOMER_LINK", "https://a b/"),
                       ("ASP_API_RATE", "fast"), ("ASP_CUSTOMER_TOKEN_KEY", "abcd"),
                       ("ASP_API_TOKENS", "tok:wizard")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
        env.update({"ASP_BUS_INSECURE": "1", "ASP_REDIS_PORT": "1", "ASP_HTTP_PORT": str(free_port()),
                    "ASP_INTAKE_BUS": "tcp://127.0.0.1:%d" % free_port(), var: value})
        p = subprocess.run([binary("asp-intake")], env=env, capture_output=True, timeout=30)
        assert p.returncode == 2 and var.encode() in p.stderr + p.stdout, (var, value, p.returncode, p.stderr[-300:])


def main():
    check_bad_settings()
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
