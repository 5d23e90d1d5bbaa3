#!/usr/bin/python3
"""The OpenAPI document (docs/openapi/) is valid and true.

1. A real OpenAPI linter (@redocly/cli, pinned in tools/openapi/, installed
   by scripts/openapi.sh with npm ci) lints the root document with all its
   fragments under Redocly's recommended rules, every warning an error
   (docs/openapi/redocly.yaml). The pinned packages' engines admit Debian
   12's nodejs 18.
2. The document describes exactly intake's routes (services/intake/
   intake_api.c, s_routes) plus /healthz and /metrics, each response has
   an example, and every error code its examples show is in the Errors
   table of docs/http-api.md.
3. Against the real cluster (tokens on, partners that complete work),
   every documented example runs (the x-run convention, docs/openapi/
   README.md): each request example, and each response example with the
   request that produces it. The answer's status must be the example's,
   its body must validate against the documented schema for that status
   (tests/openapi_doc.py: a JSON-schema subset), an error's code must be
   the example's, a documented required header must be there, and a
   refusal (4xx) must leave Redis as it was (every key and value, once
   the services settled). Examples
   that need Redis down run last, after Redis is killed.

Exit 77 (skipped), loudly, only when npm is missing so the linter cannot be
installed; the examples still run first, so a wrong example fails anyway.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/openapi_test.py
"""
# ctest: TIMEOUT 600 LABELS integration docs

import os
import re
import subprocess

import harness
from harness import Cluster, HarnessError, log, run
from openapi_doc import Doc, Run, Runner, cluster_env, redis_state, route_table, settled, shape

# Served beside the route table: the built-ins and the dashboard's files
# (services/intake/intake_dashboard.c).
OPEN_ROUTES = {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/dashboard/{}")}
# Debian 12's nodejs (apt-cache policy nodejs): CI starts from it.
DEBIAN_NODE = "18.20.4"


def check_routes(doc):
    documented = {(op.method, shape(op.path)) for op in doc.operations()}
    code = {(m, shape(p)) for m, p in route_table()} | OPEN_ROUTES
    if documented != code:
        raise HarnessError("the OpenAPI paths and intake's route table differ: only documented %s, "
                           "only in s_routes %s" % (sorted(documented - code), sorted(code - documented)))
    listed = errors_table()
    for op in doc.operations():
        runs, _ = op.runs()
        for r in runs:
            if r.expect_code and r.expect_code not in listed:
                raise HarnessError("%r: code %s is not in the Errors table of docs/http-api.md"
                                   % (r, r.expect_code))
        if not op.id:
            raise HarnessError("%s has no operationId" % op)
        for status, resp in op.responses().items():
            for media, m in (resp.value.get("content") or {}).items():
                if not m.get("examples"):
                    raise HarnessError("%s response %d (%s) has no examples" % (op, status, media))


def errors_table():
    """The codes of the Errors table of docs/http-api.md."""
    codes = set()
    for line in open(os.path.join(harness.SOURCE_DIR, "docs", "http-api.md"), encoding="utf-8"):
        cells = line.split("|")
        if len(cells) > 3 and re.fullmatch(r" [1-5][0-9][0-9] ", cells[1]):
            codes.update(re.findall(r"`([a-z_]+)`", cells[2]))
    return codes


def lint():
    """Runs the pinned linter; False when npm is missing (skip later)."""
    script = os.path.join(harness.SOURCE_DIR, "scripts", "openapi.sh")
    r = subprocess.run(["bash", script, "lint"], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    if r.returncode == harness.SKIP_CODE:
        log("!!! OpenAPI LINT NOT RUN: %s" % out.strip())
        return False
    if r.returncode != 0:
        raise HarnessError("redocly lint failed (status %d):\n%s" % (r.returncode, out))
    log("lint: %s" % " ".join(out.split()[-12:]))
    check_engines()
    return True


def check_engines():
    """Every package of the pinned lock admits Debian 12's node (semver, as
    npm itself checks it, from the installed tree)."""
    cache = os.environ.get("ASP_OPENAPI_CACHE") or os.path.join(harness.SOURCE_DIR, ".cache", "openapi")
    lock = os.path.join(harness.SOURCE_DIR, "tools", "openapi", "package-lock.json")
    script = """
      const semver = require(process.argv[1] + '/node_modules/semver');
      const lock = require(process.argv[2]);
      const bad = Object.entries(lock.packages).filter(([name, p]) =>
          p.engines && p.engines.node && !semver.satisfies(process.argv[3], p.engines.node));
      console.log(JSON.stringify(bad.map(([name, p]) => name + ' ' + p.engines.node)));
    """
    r = subprocess.run(["node", "-e", script, cache, lock, DEBIAN_NODE], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0 or r.stdout.strip() != "[]":
        raise HarnessError("pinned packages that refuse node %s: %s %s" % (DEBIAN_NODE, r.stdout, r.stderr))


def check_answer(doc, r, answer):
    """What a documented example promises of the answer."""
    status, body = answer.status, answer.body
    if status != r.expect_status:
        raise HarnessError("%r: want %d, got %s %r" % (r, r.expect_status, status, body))
    ctype = answer.headers.get("content-type", "")
    schema = r.op.response_schema(status, ctype)
    if schema is None:
        raise HarnessError("%r: answer's Content-Type %r is not documented for %d" % (r, ctype, status))
    errors = doc.validate(body, schema)
    if errors:
        raise HarnessError("%r: the answer does not match its schema: %s\n%r" % (r, errors[:5], body))
    if r.expect_code and body["error"]["code"] != r.expect_code:
        raise HarnessError("%r: want code %s, got %r" % (r, r.expect_code, body))
    resp = r.op.responses()[status]
    for name, h in (resp.value.get("headers") or {}).items():
        if doc.deref(doc.child(resp, "headers", name)).value.get("required") \
                and name.lower() not in answer.headers:
            raise HarnessError("%r: no %s header" % (r, name))


def run_one(c, doc, runner, r, state=None):
    """Runs example r; a refusal must leave Redis as it was. state: Redis
    as a refusal just before this one left it (refusals in a row share
    one settle, most of their cost). Returns the state to pass on: None
    after an example that may change Redis."""
    for before in r.get("before") or []:
        spec = dict(r.spec, **before)
        spec.pop("before", None)
        runner.send(runner.prepare(Run(r.op, r.name + " (before)", spec, 200)))
        state = None
    prepared = runner.prepare(r)
    if not 400 <= r.expect_status < 500:
        check_answer(doc, r, runner.send(prepared))
        return None
    # A change may be the background's (an event landing, routing's grace
    # timer marking a fixture unroutable, which no settle can wait for):
    # the refusal is sent again on a freshly settled Redis. One that
    # changes Redis itself does so every time.
    for attempt in range(4):
        if attempt or state is None:
            state = settled(c)
        check_answer(doc, r, runner.send(prepared))
        after = redis_state(c)
        if after == state:
            return state
    changed = sorted(k for k in set(state) | set(after) if state.get(k) != after.get(k))
    raise HarnessError("%r: a refusal changed Redis: %s" % (r, changed[:20]))


def run_examples(doc):
    partner = {"regions": ["north", "south"], "skills": ["water_heater", "washing_machine"],
               "capacity": 20, "accept_delay_ms": 20, "work_ms": 100}
    # Completes each ticket's first work order not_fixed ($not_fixed_ticket).
    failing = dict(partner, regions=[Runner.NOT_FIXED_REGION], fail_first=1)
    # Accepts and never finishes, silently (no PROGRESS that could change
    # Redis during a refusal): $assigned_ticket.
    holding = dict(partner, regions=[Runner.HOLD_REGION], work_ms=600000, progress=0)
    # Partners' scores are published on feedback's timer, which would change
    # Redis during a refusal's check: once an hour here.
    with Cluster(partners=[partner, failing, holding], customer=False, env=cluster_env(),
                 service_env={"feedback": {"ASP_SCORE_INTERVAL_MS": "3600000"}},
                 name="openapi") as c:
        runner = Runner(c)
        later, count, skipped, state = [], 0, [], None
        for op in doc.operations():
            runs, skips = op.runs()
            skipped += skips
            for r in runs:
                if r.get("redis") == "down":
                    later.append((r, runner.prepare(r)))
                    state = None
                    continue
                state = run_one(c, doc, runner, r, state)
                count += 1
        log("Redis killed for %d examples that need it down" % len(later))
        c.redis.kill()
        for r, prepared in later:
            # /healthz checks Redis periodically: the answer may lag.
            last = []
            c.wait_for(lambda: last.append(runner.send(prepared)) or last[-1].status == r.expect_status,
                       10, interval=0.2, what="%r" % r)
            check_answer(doc, r, last[-1])
            count += 1
        c.redis.restart()
        # One line per reason: the shared 429 is skipped on every operation.
        reasons = {}
        for where, why in skipped:
            reasons.setdefault(why, []).append(where)
        for why, wheres in reasons.items():
            log("not run: %s: %s" % ("; ".join(wheres) if len(wheres) < 3 else
                                     "%d examples (%s, ...)" % (len(wheres), wheres[0]), why))
        log("%d documented examples ran against the cluster, %d marked x-run-skip" % (count, len(skipped)))


def main():
    doc = Doc()
    check_routes(doc)
    linted = lint()
    run_examples(doc)
    if not linted:
        harness.skip("npm is missing: the OpenAPI document was NOT linted (run scripts/deps.sh)")


if __name__ == "__main__":
    run(main, name="openapi_test")
