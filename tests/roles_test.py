#!/usr/bin/python3
"""Every "no" of the Roles matrix is a 403, and every "yes" gets through.

Reads the Roles table of docs/http-api.md (columns: the staff roles and
the customer; a row names one or more `METHOD /path`) and, against the
live cluster with one named token per staff role (ASP_API_TOKENS) and a
customer's per-ticket token, calls every route of the matrix with every
role, sending the operation's own documented request (its x-run in
docs/openapi/, tests/openapi_doc.py):

- each "—" must be 403 `forbidden` naming the role, with Redis unchanged;
- each "yes" / "own ticket" must not be 401 or 403;
- where the customer may use a route on their own ticket, their token on
  another ticket is 403 `forbidden`, Redis unchanged.

Then, on every route, the ways a token is refused with 401, Redis
unchanged: none, an unknown staff token (`unauthorized`), a customer token
past its expiry (`token_expired`), one whose MAC was altered, and one
signed with another key (`unauthorized`). The customer tokens are made
here the honest way: intake's key is configured (ASP_CUSTOMER_TOKEN_KEY),
and the token is HMAC-SHA-512-256 over "c1.<ticket>.<expiry>" (see
openapi_doc.customer_token): one made here with a future expiry must be
accepted, which proves the construction.

The matrix must name exactly the document's secured operations.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/roles_test.py
"""
# ctest: TIMEOUT 600 LABELS integration docs

import time

from harness import Cluster, HarnessError, log, run
from openapi_doc import STAFF_ROLES, Doc, Run, Runner, cluster_env, customer_token, redis_state, roles_matrix, settled, shape

ROLES = STAFF_ROLES + ("customer",)


def call(c, runner, op, role, headers=None):
    """The operation's documented default request as role, and the answer."""
    r = Run(op, "roles", dict(op.defaults), 403)
    method, path, body, hdrs = runner.prepare(r, role=role)
    hdrs.update(headers or {})
    return c.http(method, path, body, hdrs)


def refusal(c, runner, op, role, status, code, headers=None, names_role=False):
    """One refused call: its status, code and (names_role) message."""
    r = call(c, runner, op, role, headers)
    where = "%s as %s%s" % (op, role, " (%s)" % headers if headers else "")
    if r.status != status or not isinstance(r.body, dict) or r.body.get("error", {}).get("code") != code:
        raise HarnessError("%s: want %d %s, got %s %r" % (where, status, code, r.status, r.body))
    if names_role and role not in r["error"]["message"]:
        raise HarnessError("%s: the 403 does not name the role: %r" % (where, r.body))
    return where


def refused_all(c, runner, op, calls):
    """Every refusal of one route, Redis unchanged by them: checked once
    for the whole batch (a settle is most of a refusal's cost), and call
    by call only when the batch changed something, to name the culprit.
    A change none of them makes alone was the background's (an event
    landing): the batch is then done again."""
    for _ in range(3):
        before = settled(c)
        for role, status, kw in calls:
            refusal(c, runner, op, role, status, **kw)
        if redis_state(c) == before:
            return
        for role, status, kw in calls:
            one = settled(c)
            where = refusal(c, runner, op, role, status, **kw)
            if redis_state(c) != one:
                raise HarnessError("%s: refused, yet Redis changed" % where)
    raise HarnessError("%s: Redis kept changing during its refusals" % op)


def admitted(c, runner, op, role):
    r = call(c, runner, op, role)
    if r.status in (0, 401, 403):
        raise HarnessError("%s as %s: the matrix says yes, got %s %r" % (op, role, r.status, r.body))


def check_matrix(doc, roles, matrix):
    if tuple(roles) != ROLES:
        raise HarnessError("http-api.md Roles: columns %r, want %r" % (roles, ROLES))
    ops = {(op.method, shape(op.path)): op for op in doc.operations() if op.secured()}
    rows = {(m, shape(p)) for m, p in matrix}
    if rows != set(ops):
        raise HarnessError("the Roles matrix and the OpenAPI operations differ: only in the matrix %s, "
                           "only documented %s" % (sorted(rows - set(ops)), sorted(set(ops) - rows)))
    return ops


def main():
    doc = Doc()
    roles, matrix = roles_matrix()
    ops = check_matrix(doc, roles, matrix)
    with Cluster(partners=0, customer=False, env=cluster_env(), name="roles") as c:
        # No partner here: every ticket fixture that needs one is the received $ticket.
        aliases = {name: "ticket" for name in Runner.NEEDS_PARTNER | {"completed_ticket", "answered_ticket"}}
        runner = Runner(c, aliases=aliases)
        tid, _ = runner.fixture("ticket")
        runner.fixture("other_ticket")
        # Every fixture a default request names, made now: a refusal below
        # must find Redis as it was, fixtures included.
        for op in ops.values():
            runner.prepare(Run(op, "roles", dict(op.defaults), 403))
        counts = {"no": 0, "yes": 0, "foreign": 0, "401": 0}
        future, past = int(time.time()) + 3600, int(time.time()) - 10
        good = customer_token(tid, future)
        forged = good[:-1] + ("0" if good[-1] != "0" else "1")
        # The refusals first, route by route: each must leave Redis as it
        # was, so none may come after an admission still settling.
        for (method, path), cells in sorted(matrix.items()):
            op = ops[(method, shape(path))]
            calls = []
            for role in roles:
                cell = cells[role]
                if cell == "—":
                    calls.append((role, 403, {"code": "forbidden", "names_role": True}))
                    counts["no"] += 1
                elif cell not in ("yes", "own ticket"):
                    raise HarnessError("http-api.md Roles: %s %s, %s: unknown cell %r" % (method, path, role, cell))
            if cells["customer"] == "own ticket":
                calls.append(("foreign_customer", 403, {"code": "forbidden"}))
                counts["foreign"] += 1
            # The 401s, on every route.
            for role, code, token in (("none", "unauthorized", None),
                                      ("agent", "unauthorized", "not-a-token"),
                                      ("customer", "token_expired", customer_token(tid, past)),
                                      ("customer", "unauthorized", forged),
                                      ("customer", "unauthorized", customer_token(tid, future, key=bytes(32)))):
                headers = {"Authorization": "Bearer " + token} if token else None
                calls.append((role, 401, {"code": code, "headers": headers}))
                counts["401"] += 1
            refused_all(c, runner, op, calls)
        for (method, path), cells in sorted(matrix.items()):
            op = ops[(method, shape(path))]
            for role in roles:
                if cells[role] in ("yes", "own ticket"):
                    admitted(c, runner, op, role)
                    counts["yes"] += 1
        # The token made here is the one intake accepts.
        r = c.http("GET", "/v1/tickets/" + tid, None, {"Authorization": "Bearer " + customer_token(tid, future)})
        if r.status != 200 or r["id"] != tid:
            raise HarnessError("a customer token made as libsodium's crypto_auth was refused: %s %r" % r)
        log("roles: %(no)d refusals (403), %(yes)d admissions, %(foreign)d foreign tickets, "
            "%(401)d 401s" % counts)


if __name__ == "__main__":
    run(main, name="roles_test")
