"""The OpenAPI document (docs/openapi/) as the tests read it: one reader
for openapi_test.py, roles_test.py and docs_vocab_test.py.

    Doc()                  the root openapi.yaml with its fragments; $refs
                           (in-file "#/..." and "./file.yaml#/...") are
                           followed lazily, relative to the file that
                           holds them
    Doc.operations()       every Operation of the root, in the document's
                           order (paths, then each item's operations as
                           written: examples run in that order)
    Doc.validate(v, s)     errors of value v against schema s: the subset
                           of JSON Schema OpenAPI 3.0 uses here
    Operation.runs()       the runnable examples (the x-run convention of
                           docs/openapi/README.md), as Run objects
    Doc.vocab_enums()      every schema that names an asp_vocab
                           vocabulary (x-asp-vocab) with its enum

Stdlib + python3-yaml (Debian's) only: the machine has no PyPI.
"""
import hashlib
import hmac
import json
import os
import random
import re
import time
import urllib.parse

import yaml

import harness

OPENAPI_DIR = os.path.join(harness.SOURCE_DIR, "docs", "openapi")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class DocError(Exception):
    """The document breaks a convention the tests rely on."""


class Node:
    """A value of the document and the file it is in (for relative $refs)."""

    def __init__(self, value, file, pointer=""):
        self.value = value
        self.file = file
        self.pointer = pointer

    def where(self):
        return "%s#%s" % (os.path.basename(self.file), self.pointer)


class Doc:
    def __init__(self, root=None):
        self.root_file = os.path.abspath(root or os.path.join(OPENAPI_DIR, "openapi.yaml"))
        self.files = {}
        self.root = Node(self.load(self.root_file), self.root_file)

    def load(self, path):
        if path not in self.files:
            with open(path, encoding="utf-8") as f:
                self.files[path] = yaml.safe_load(f)
        return self.files[path]

    def deref(self, node):
        """node with every $ref at its top followed (a chain of them too)."""
        seen = 0
        while isinstance(node.value, dict) and "$ref" in node.value:
            ref = node.value["$ref"]
            target, _, pointer = ref.partition("#")
            file = os.path.normpath(os.path.join(os.path.dirname(node.file), target)) if target else node.file
            value = self.load(file)
            for part in [p for p in pointer.split("/") if p]:
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(value, dict) or part not in value:
                    raise DocError("%s: $ref %s does not resolve" % (node.where(), ref))
                value = value[part]
            node = Node(value, file, pointer)
            seen += 1
            if seen > 32:
                raise DocError("%s: $ref loop" % node.where())
        return node

    def child(self, node, *keys):
        """node[k1][k2]... with $refs followed at each step; None if absent."""
        node = self.deref(node)
        for k in keys:
            if not isinstance(node.value, dict) or k not in node.value:
                return None
            node = self.deref(Node(node.value[k], node.file, "%s/%s" % (node.pointer, k)))
        return node

    def operations(self):
        paths = self.child(self.root, "paths")
        for path in paths.value:
            item = self.child(paths, path)
            # As written: a list's examples find what the create's made.
            for method in [k for k in item.value if k in METHODS]:
                yield Operation(self, method.upper(), path, self.child(item, method), item)

    # -- the JSON Schema subset ------------------------------------------------------
    def validate(self, value, schema, path="$"):
        """A list of errors (empty: valid) of value against schema (a Node)."""
        s = self.deref(schema)
        v = s.value
        if v is True or v == {}:
            return []
        errors = []
        for part in v.get("allOf", []):
            errors += self.validate(value, Node(part, s.file), path)
        for key in ("oneOf", "anyOf"):
            if key in v:
                ok = [p for p in v[key] if not self.validate(value, Node(p, s.file), path)]
                if not ok or (key == "oneOf" and len(ok) > 1):
                    errors.append("%s: matches %d of %s" % (path, len(ok), key))
        if value is None:
            if v.get("nullable") or "type" not in v:
                return errors
            return errors + ["%s: null, want %s" % (path, v["type"])]
        want = v.get("type")
        if want and not _is_type(value, want):
            return errors + ["%s: %r is not of type %s" % (path, value, want)]
        if "enum" in v and value not in v["enum"]:
            errors.append("%s: %r not in enum %r" % (path, value, v["enum"]))
        if isinstance(value, str):
            if len(value) < v.get("minLength", 0) or len(value) > v.get("maxLength", len(value)):
                errors.append("%s: length %d out of %s..%s" % (path, len(value), v.get("minLength"),
                                                                v.get("maxLength")))
            if "pattern" in v and not re.search(v["pattern"], value):
                errors.append("%s: %r does not match %s" % (path, value, v["pattern"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in v and value < v["minimum"] or "maximum" in v and value > v["maximum"]:
                errors.append("%s: %r out of %s..%s" % (path, value, v.get("minimum"), v.get("maximum")))
        if isinstance(value, list) and "items" in v:
            for i, item in enumerate(value):
                errors += self.validate(item, Node(v["items"], s.file), "%s[%d]" % (path, i))
        if isinstance(value, dict):
            errors += self._validate_object(value, s, path)
        return errors

    def _validate_object(self, value, s, path):
        v = s.value
        errors = ["%s: %s is required" % (path, k) for k in v.get("required", []) if k not in value]
        props = v.get("properties", {})
        extra = v.get("additionalProperties", True)
        for k, item in value.items():
            if k in props:
                errors += self.validate(item, Node(props[k], s.file), "%s.%s" % (path, k))
            elif extra is False:
                errors.append("%s: %s is not documented (additionalProperties: false)" % (path, k))
            elif isinstance(extra, dict):
                errors += self.validate(item, Node(extra, s.file), "%s.%s" % (path, k))
        return errors

    def vocab_enums(self):
        """[(where, vocabulary name, enum list)] of every schema in the
        document's files that carries x-asp-vocab."""
        for f in os.listdir(OPENAPI_DIR):
            if f.endswith(".yaml"):
                self.load(os.path.join(OPENAPI_DIR, f))
        out = []

        def walk(value, where):
            if isinstance(value, dict):
                if "x-asp-vocab" in value:
                    out.append((where, value["x-asp-vocab"], value.get("enum")))
                for k, item in value.items():
                    walk(item, "%s/%s" % (where, k))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, "%s/%d" % (where, i))
        for path, value in sorted(self.files.items()):
            walk(value, os.path.basename(path) + "#")
        return out


def _is_type(value, want):
    if want == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer())
    return {
        "object": lambda: isinstance(value, dict),
        "array": lambda: isinstance(value, list),
        "string": lambda: isinstance(value, str),
        "number": lambda: isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": lambda: isinstance(value, bool),
    }[want]()


class Run:
    """One request to make and what must come back (docs/openapi/README.md):
    the fields of x-run, merged over the operation's own x-run defaults.
    expect_status: the status the answer must have; expect_code: the error
    code (error examples); name: where in the document it comes from."""

    FIELDS = {"role", "params", "query", "example", "merge", "body", "raw", "raw_size", "headers",
              "before", "redis"}

    def __init__(self, op, name, spec, expect_status, expect_code=None):
        unknown = set(spec) - self.FIELDS
        if unknown:
            raise DocError("%s %s: unknown x-run fields %s (docs/openapi/README.md)"
                           % (op, name, sorted(unknown)))
        self.op = op
        self.name = name
        self.spec = spec
        self.expect_status = expect_status
        self.expect_code = expect_code

    def get(self, key, default=None):
        return self.spec.get(key, default)

    def body(self, resolve=lambda v: v):
        """(bytes or None, content type or None) to send; resolve maps the
        JSON value's $values (the Runner's fixtures) before it is sent."""
        if "raw" in self.spec:
            return self.spec["raw"].encode(), "application/json"
        if "raw_size" in self.spec:
            return b" " * int(self.spec["raw_size"]), "application/json"
        value = None
        if "example" in self.spec:
            value = self.op.request_example(self.spec["example"])
        if "body" in self.spec:
            value = self.spec["body"]
        if "merge" in self.spec:
            value = harness._drop_none(harness._merge(value or {}, self.spec["merge"]))
        if value is None:
            return None, None
        return json.dumps(resolve(value), ensure_ascii=False).encode(), "application/json"

    def __repr__(self):
        return "%s %s [%s]" % (self.op.method, self.op.path, self.name)


class Operation:
    def __init__(self, doc, method, path, node, item):
        self.doc = doc
        self.method = method
        self.path = path
        self.node = node
        self.item = item
        self.id = node.value.get("operationId")
        self.defaults = dict(node.value.get("x-run") or {})

    def __repr__(self):
        return "%s %s" % (self.method, self.path)

    def secured(self):
        """False when the operation is open (security: [])."""
        sec = self.node.value.get("security", self.doc.root.value.get("security"))
        return bool(sec)

    def request_examples(self):
        """{name: example Node} of the JSON request body."""
        media = self.doc.child(self.node, "requestBody", "content", "application/json")
        if media is None or "examples" not in media.value:
            return {}
        return {n: self.doc.child(media, "examples", n) for n in media.value["examples"]}

    def request_example(self, name):
        ex = self.request_examples().get(name)
        if ex is None:
            raise DocError("%s: no request example %r" % (self, name))
        return ex.value["value"]

    def request_schema(self):
        return self.doc.child(self.node, "requestBody", "content", "application/json", "schema")

    def responses(self):
        """{status (int): response Node}."""
        rs = self.doc.child(self.node, "responses")
        return {int(code): self.doc.child(rs, code) for code in rs.value}

    def response_schema(self, status, content_type):
        """The documented schema for an answer (None: not documented)."""
        r = self.responses().get(status)
        if r is None:
            return None
        media = (content_type or "").split(";")[0].strip()
        return self.doc.child(r, "content", media, "schema")

    def runs(self):
        """(runs, skipped): every request example and every response
        example as a Run, and [(where, reason)] of those marked
        x-run-skip."""
        runs, skipped = [], []
        success = sorted(s for s in self.responses() if s < 300)
        for name, ex in self.request_examples().items():
            spec = dict(self.defaults, example=name, **(ex.value.get("x-run") or {}))
            status = spec.pop("status", success[0] if len(success) == 1 else None)
            if status is None:
                raise DocError("%s: request example %r needs x-run.status" % (self, name))
            runs.append(Run(self, "request example " + name, spec, int(status)))
        for status, resp in sorted(self.responses().items()):
            content = (resp.value.get("content") or {})
            for media in content:
                mnode = self.doc.child(resp, "content", media)
                for name in (mnode.value.get("examples") or {}):
                    ex = self.doc.child(mnode, "examples", name)
                    where = "%s response %d example %s" % (self, status, name)
                    if "x-run-skip" in ex.value:
                        skipped.append((where, ex.value["x-run-skip"]))
                        continue
                    spec = dict(self.defaults, **(ex.value.get("x-run") or {}))
                    if "status" in spec:
                        raise DocError("%s: a response example's status is its response's" % where)
                    value = ex.value.get("value")
                    code = value["error"]["code"] if status >= 400 and isinstance(value, dict) \
                        and isinstance(value.get("error"), dict) else None
                    runs.append(Run(self, "response %d example %s" % (status, name), spec, status, code))
        return runs, skipped


def shape(path):
    """A path with its parameters' names erased (/v1/tickets/{}): the
    route table, the matrix and the document may name them differently."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def route_table():
    """[(method, pattern)] of intake's route table (services/intake/
    intake_api.c, s_routes): what the document must describe."""
    src = open(os.path.join(harness.SOURCE_DIR, "services", "intake", "intake_api.c"),
               encoding="utf-8").read()
    table = src.split("s_routes [] = {", 1)[1].split("};", 1)[0]
    return re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)"', table)


def roles_matrix():
    """(roles, {(method, path): {role: cell}}) of the Roles table in
    docs/http-api.md: each route cell names one or more `METHOD /path`;
    a role's cell is "yes", "—" or "own ticket"."""
    text = open(os.path.join(harness.SOURCE_DIR, "docs", "http-api.md"), encoding="utf-8").read()
    if "### Roles" not in text:
        raise DocError("http-api.md has no '### Roles' section")
    lines = []
    for line in text.split("### Roles", 1)[1].splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break               # the first table of the section ends
    header = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    if header[0] != "route":
        raise DocError("http-api.md: the Roles table must start with a 'route' column")
    roles = header[1:]
    matrix = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        routes = re.findall(r"`([A-Z]+) (/[^`]*)`", cells[0])
        if not routes or len(cells) != len(header):
            raise DocError("http-api.md Roles: malformed row %r" % line)
        for route in routes:
            matrix[route] = dict(zip(roles, cells[1:]))
    return roles, matrix


# --- running requests against a live Cluster ----------------------------------------

STAFF_ROLES = ("agent", "supervisor", "ops", "admin", "system")
# One named token per staff role (ASP_API_TOKENS "token:role:name").
TOKENS = {role: "%s-token-%s" % (role, "x" * 8) for role in STAFF_ROLES}
# The key that signs customers' tokens (ASP_CUSTOMER_TOKEN_KEY): the test
# knows it, so it can mint a token with any expiry the honest way.
CUSTOMER_KEY = bytes(range(32))
UNKNOWN_ID = "Tnope0000000000000000"


def cluster_env():
    """The environment that makes intake check tokens as production does."""
    return {
        "ASP_API_TOKENS": ",".join("%s:%s:%s.one" % (TOKENS[r], r, r) for r in STAFF_ROLES),
        "ASP_CUSTOMER_TOKEN_KEY": CUSTOMER_KEY.hex(),
    }


def customer_token(ticket, expiry_s, key=CUSTOMER_KEY):
    """A customer's access token as intake mints it (services/intake/
    intake_auth.h): "c1.<ticket>.<expiry>." + hex(mac) where mac is
    libsodium's crypto_auth. Its primitive is HMAC-SHA-512-256
    (crypto_auth_PRIMITIVE "hmacsha512256"), which libsodium's
    documentation (Advanced, "HMAC-SHA-2") describes as "truncated
    HMAC-SHA-512": standard HMAC-SHA-512 under the 32-byte key, its first
    32 bytes. roles_test proves it: a token made here is accepted."""
    signed = "c1.%s.%d" % (ticket, expiry_s)
    mac = hmac.new(key, signed.encode(), hashlib.sha512).digest()[:32]
    return "%s.%s" % (signed, mac.hex())


def redis_state(c):
    """Every key in Redis and its content: what a refused request must
    leave as it was. Compare it once the cluster settled (settled())."""
    return c.redis.snapshot()


def settled(c, state=redis_state, quiet_s=0.15, timeout=30.0):
    """state(c) once it stayed the same for quiet_s and nothing is left to
    deliver (c.drained(): other services finish applying what earlier
    requests started, however slow a loaded machine makes that)."""
    last = [state(c)]

    def quiet():
        time.sleep(quiet_s)
        now = state(c)
        same = now == last[0] and c.drained()
        last[0] = now
        return same
    c.wait_for(quiet, timeout, interval=0, what="Redis to settle")
    return last[0]


# --- the staff actions' fixtures (docs/openapi/actions.yaml) ----------------------

class ActionFixtures:
    """The tickets the staff actions' examples act on (a Runner's part),
    each brought to its state through the API itself, as staff would:
        open_ticket          received (no partner serves its region)
        waiting_ticket       received, parked (POST .../waiting)
        cancelled_ticket     received, then cancelled
        supervisor_ticket    received, created (so owned) by supervisor.one:
                             another agent's ticket for agent.one
        consultation_ticket  a received consultation (no express tier; staff
                             close it without a completion)
        closed_ticket        completed, then closed by its owner
        old_closed_ticket    closed, its closed_ms set 31 days back: the
                             reopen window (ASP_REOPEN_DAYS, 30) has
                             passed, as tests/actions_test.py makes it
        not_fixed_ticket     its first work order completed not_fixed (the
                             cluster's partner for NOT_FIXED_REGION runs
                             with --fail-first)
        assigned_ticket      a partner accepted it and holds it (the
                             cluster's partner for HOLD_REGION never
                             finishes): stuck work to re-dispatch
    Those that need a partner's work are NEEDS_PARTNER (roles_test, which
    has none, aliases them to $ticket)."""

    ACTION_FIXTURES = {"open_ticket", "waiting_ticket", "cancelled_ticket", "supervisor_ticket",
                       "consultation_ticket", "closed_ticket", "old_closed_ticket", "not_fixed_ticket",
                       "assigned_ticket"}
    # A success on these changes the state they exist for: a fresh one.
    ACTION_CONSUMABLE = {"open_ticket", "waiting_ticket", "supervisor_ticket", "consultation_ticket",
                         "closed_ticket", "not_fixed_ticket", "assigned_ticket"}
    NEEDS_PARTNER = {"closed_ticket", "old_closed_ticket", "not_fixed_ticket", "assigned_ticket",
                     "visit", "claimed_visit", "answered_visit", "ended_visit"}
    NOT_FIXED_REGION = "fail"
    HOLD_REGION = "hold"
    REOPEN_DAYS = 30

    def _make_action(self, name):
        unroutable = {"customer": {"region": "nowhere"}}
        if name == "open_ticket":
            return self._create(**unroutable)
        if name == "supervisor_ticket":
            r = self.c.create_ticket(headers=self.auth("supervisor"), **unroutable)
            if r.status != 201:
                raise harness.HarnessError("fixture: POST /v1/tickets: %s %r" % (r.status, r.body))
            return r["id"], r["customer_token"]
        if name == "consultation_ticket":
            return self._create(type="consultation", **unroutable)
        if name in ("waiting_ticket", "cancelled_ticket"):
            made = self._create(**unroutable)
            if name == "waiting_ticket":
                self._call("POST", "/v1/tickets/%s/waiting" % made[0],
                           {"reason": "customer abroad until Monday"}, 200)
            else:
                self._call("POST", "/v1/tickets/%s/cancel" % made[0],
                           {"reason": "customer bought a new unit"}, 200)
            return made
        if name in ("closed_ticket", "old_closed_ticket"):
            made = self._make("completed_ticket")
            self._call("POST", "/v1/tickets/%s/close" % made[0], {"reason": "no answer after three calls"},
                       200)
            if name == "old_closed_ticket":
                past = int(time.time() * 1000) - (self.REOPEN_DAYS + 1) * 86400000
                self.c.redis.cmd("HSET", harness.key("t:%s", made[0]), "closed_ms", str(past))
            return made
        if name == "assigned_ticket":
            made = self._create(customer={"region": self.HOLD_REGION})
            self.c.wait_for(lambda: self._ticket(made[0]).get("status") in ("assigned", "in_progress"), 60,
                            interval=0.1, what="ticket %s accepted" % made[0])
            return made
        # not_fixed_ticket: a not_fixed completion schedules no visit.
        made = self._create(customer={"region": self.NOT_FIXED_REGION})
        self.c.wait_for(lambda: self._ticket(made[0]).get("result") == "not_fixed", 60, interval=0.1,
                        what="ticket %s completed not_fixed" % made[0])
        return made

    def _ticket(self, tid):
        r = self.c.http("GET", "/v1/tickets/" + tid, None, self.auth("agent"))
        return r.body if r.status == 200 and isinstance(r.body, dict) else {}


class Runner(ActionFixtures):
    """Sends a Run to a Cluster started with cluster_env(): fills path
    parameters, query and body values from fixtures ("$ticket", ...),
    chooses the token of the run's role and builds the body.

    Fixtures (each made once, except that a run expecting success on a
    consumable one gets a fresh one):
        ticket            a ticket no partner can serve: stays received
        other_ticket      another such ticket
        completed_ticket  a partner reported it completed; survey open
        answered_ticket   completed, and its survey answered
        customer          a customer made by a ticket (as ticket): one
                          phone, one unit, one ticket
        other_customer    another such customer
        duplicate         another such customer, to merge (consumable)
        merged_customer   a customer merged into another (not customer)
        unit              a unit (its serial) owned by customer
        lone_unit         a unit without a customer
        full_unit         a unit whose parts list is full (PARTS_MAX)
        repeat_ticket     a ticket no partner can serve, created with a
                          fault code and a purchase date (so a 三包
                          remedy), then reported again: one repeat contact
        partner           a partner in the registry (active, region
                          "nowhere", a CURVE key: fact curve_key)
        spare_partner     another such partner (consumable: to remove)
        removed_partner   a partner removed from the registry
        recovery          an open service-recovery record with its action,
                          on a ticket of its own (fact ticket; consumable:
                          resolving it closes it)
        bare_recovery     the same without an action
        closed_recovery   the same, resolved
        visit             the open return visit of a completed ticket
                          (consumable)
        claimed_visit     such a visit claimed by agent.one (consumable)
        answered_visit    the visit of answered_ticket, done
        ended_visit       the visit of a ticket staff closed, cancelled
    A value "$<fixture>" is its id (a unit's serial); "$<fixture>.<fact>"
    one of its facts: a customer's phone and serial (of its unit), a
    ticket's customer_id and serial. "$key:<name>", "$phone:<name>" and
    "$serial:<name>", "$partner_id:<name>", "$curve_key:<name>" are a
    fresh Idempotency-Key, phone, serial, partner id or CURVE public key
    (Z85), the same for the same name within a Runner.
    "$now+<n><unit>", "$now-<n><unit>" (s, m, h, d) are a time that far
    from now, ms since the epoch (an integer).
    Roles: a staff role; "customer" (the token of the ticket in the path);
    "foreign_customer" (the token of other_ticket); "none" (no header).
    aliases maps a fixture to another (roles_test has no partners)."""

    CONSUMABLE = {"completed_ticket", "duplicate", "spare_partner", "recovery", "visit", "claimed_visit"}
    PARTS_MAX = 200     # a unit's parts list (intake_archive_routes.c, S_PARTS_MAX)
    # repeat_ticket's unit: bought 90 days ago, within every warranty (a free repair).
    PURCHASE_DATE = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 90 * 86400))
    # "$now+2h", "$now-1h", "$now+91d": a time (ms since the epoch) that far from now.
    NOW = re.compile(r"^\$now([+-])([0-9]+)([smhd])$")
    VALUE = re.compile(r"^\$(key|phone|serial|partner_id|curve_key):[A-Za-z0-9_-]+$|^\$([a-z_]+)(?:\.([a-z_]+))?$")

    def __init__(self, c, aliases=None):
        self.c = c
        self.aliases = dict(aliases or {})
        self.made = {}          # fixture -> (id, customer token or None)
        self.facts = {}         # id -> {fact: value}
        self.fresh = {}         # "$key:<name>", "$phone:<name>", ... -> its value
        self.run_made = {}      # consumable fixture -> the fresh one of the run being prepared

    # -- fixtures -----------------------------------------------------------------
    def _call(self, method, path, body, status, role="agent"):
        r = self.c.http(method, path, body, self.auth(role))
        if r.status != status:
            raise harness.HarnessError("fixture: %s %s: %s %r" % (method, path, r.status, r.body))
        return r

    def _create(self, body=None, **overrides):
        body = body or self.c.ticket_body(**overrides)
        r = self.c.create_ticket(headers=self.auth("agent"), body=body)
        if r.status != 201:
            raise harness.HarnessError("fixture: POST /v1/tickets: %s %r" % (r.status, r.body))
        self.facts[r["id"]] = {"customer_id": r["customer_id"], "serial": r["serial"]}
        self.facts[r["customer_id"]] = {"phone": body["customer"]["phone"], "serial": r["serial"]}
        return r["id"], r["customer_token"]

    def _unit(self, **fields):
        serial = "SN-" + harness.new_id("u")[-12:]
        self._call("POST", "/v1/units", dict(serial=serial, model="WH-200", category="water_heater",
                                             **fields), 201)
        return serial, None

    def _make(self, name):
        if name in self.ACTION_FIXTURES:
            return self._make_action(name)
        unroutable = {"customer": {"region": "nowhere"}}
        if name in ("ticket", "other_ticket"):
            return self._create(**unroutable)
        if name == "repeat_ticket":
            body = self.c.ticket_body(fault="E4", product={"purchase_date": self.PURCHASE_DATE}, **unroutable)
            made = self._create(body)
            self._call("POST", "/v1/tickets", body, 200)        # the same fault again: joins it
            return made
        if name in ("completed_ticket", "answered_ticket"):
            tid, token = self._create()
            self.c.wait_for(lambda: self._status(tid) in ("completed", "visit_scheduled"), 60,
                            interval=0.1, what="ticket %s completed" % tid)
            if name == "answered_ticket":
                self._call("POST", "/v1/tickets/%s/survey" % tid, {"score": 5, "resolved": True}, 202)
            return tid, token
        if name in ("visit", "claimed_visit", "answered_visit", "ended_visit"):
            return self._make_visit(name)
        if name in ("customer", "other_customer", "duplicate"):
            return self.facts[self._create(**unroutable)[0]]["customer_id"], None
        if name == "merged_customer":
            keep, dup = self._make("other_customer")[0], self._make("other_customer")[0]
            self._call("POST", "/v1/customers/%s/merge" % keep, {"from": dup}, 200, role="supervisor")
            return dup, None
        if name == "unit":
            return self._unit(customer_id=self.fixture("customer")[0])
        if name == "lone_unit":
            return self._unit()
        if name in ("partner", "spare_partner", "removed_partner"):
            pid, key = harness.new_id("P"), _curve_key()
            self._call("POST", "/v1/partners", {"partner_id": pid, "name": "Fixture " + pid, "regions": ["nowhere"],
                                                "categories": ["water_heater"], "capacity_cap": 2,
                                                "curve_key": key}, 201, role="ops")
            if name == "removed_partner":
                self._call("PATCH", "/v1/partners/" + pid, {"status": "removed"}, 200, role="ops")
            self.facts[pid] = {"curve_key": key}
            return pid, None
        if name in ("recovery", "bare_recovery", "closed_recovery"):
            # A service-recovery record on a ticket of its own (a ticket
            # holds at most 20): open with its action, without, or resolved.
            tid = self._create(**unroutable)[0]
            body = {"category": "delay"} if name == "bare_recovery" else {"category": "delay", "action": "called back"}
            rid = self._call("POST", "/v1/tickets/%s/recovery" % tid, body, 201)["id"]
            if name == "closed_recovery":
                self._call("PATCH", "/v1/tickets/%s/recovery/%s" % (tid, rid), {"outcome": "resolved"}, 200)
            self.facts[rid] = {"ticket": tid}
            return rid, None
        if name == "full_unit":
            serial, _ = self._unit()
            for i in range(self.PARTS_MAX):
                self._call("PATCH", "/v1/units/" + serial, {"add_part": {"part": "filter %d" % i}}, 200)
            return serial, None
        raise DocError("unknown fixture $%s (tests/openapi_doc.py, Runner)" % name)

    def _make_visit(self, name):
        """A return visit (docs/openapi/visits.yaml) in the state its name
        says, waited for: feedback applies what intake sends."""
        made = {"visit": "completed_ticket", "claimed_visit": "completed_ticket",
                "answered_visit": "answered_ticket", "ended_visit": "closed_ticket"}[name]
        tid, token = self._make(made) if name != "answered_visit" else self.fixture(made)
        vid = "V" + tid

        def state():
            r = self.c.http("GET", "/v1/visits/" + vid, None, self.auth("agent"))
            return r.get("state") if r.status == 200 and isinstance(r.body, dict) else None
        if name == "claimed_visit":
            self.c.wait_for(lambda: state() == "open", 30, interval=0.1, what="visit %s open" % vid)
            self._call("POST", "/v1/visits/%s/claim" % vid, None, 202)
        want = {"visit": "open", "claimed_visit": "assigned", "answered_visit": "done",
                "ended_visit": "cancelled"}[name]
        self.c.wait_for(lambda: state() == want, 30, interval=0.1, what="visit %s %s" % (vid, want))
        return vid, token

    def _status(self, tid):
        r = self.c.http("GET", "/v1/tickets/" + tid, None, self.auth("agent"))
        return r.get("status")

    def fixture(self, name, fresh=False):
        name = self.aliases.get(name, name)
        if fresh and name in self.CONSUMABLE | self.ACTION_CONSUMABLE:
            # One fresh one per run: "$recovery.ticket" and "$recovery" in
            # one request name the same record.
            if name not in self.run_made:
                self.run_made[name] = self._make(name)
            return self.run_made[name]
        if name not in self.made:
            self.made[name] = self._make(name)
        return self.made[name]

    def resolve(self, value, fresh=False):
        """value (JSON) with its $values replaced (see the class)."""
        if isinstance(value, dict):
            return {k: self.resolve(v, fresh) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, fresh) for v in value]
        n = self.NOW.match(value) if isinstance(value, str) else None
        if n:
            ms = int(n.group(2)) * {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[n.group(3)]
            return int(time.time() * 1000) + (ms if n.group(1) == "+" else -ms)
        m = self.VALUE.match(value) if isinstance(value, str) else None
        if m is None or value == "$next_cursor":
            return value
        if m.group(1):
            return self.fresh.setdefault(value, {
                "key": lambda: harness.new_id("idem"),
                "phone": lambda: "137%08d" % random.randint(0, 99999999),
                "serial": lambda: "SN-" + harness.new_id("s")[-12:],
                "partner_id": lambda: harness.new_id("P"),
                "curve_key": _curve_key}[m.group(1)]())
        id_, _ = self.fixture(m.group(2), fresh)
        if not m.group(3):
            return id_
        fact = self.facts.get(id_, {}).get(m.group(3))
        if fact is None:
            raise DocError("fixture $%s has no fact %s (tests/openapi_doc.py, Runner)" % (m.group(2), m.group(3)))
        return fact

    # -- requests --------------------------------------------------------------------
    def auth(self, role, ticket=None, ticket_token=None):
        if role == "none":
            return {"Authorization": None}
        if role in TOKENS:
            return {"Authorization": "Bearer " + TOKENS[role]}
        if role == "customer":
            # A route without a ticket in its path: the token of $ticket.
            if ticket is None:
                ticket, ticket_token = self.fixture("ticket")
            token = ticket_token or customer_token(ticket, int(time.time()) + 3600)
            return {"Authorization": "Bearer " + token}
        if role == "foreign_customer":
            return {"Authorization": "Bearer " + self.fixture("other_ticket")[1]}
        raise DocError("unknown role %r in x-run" % role)

    def prepare(self, run, role=None):
        """(method, path, body, headers) of run, fixtures made."""
        self.run_made = {}
        params = run.get("params") or {}
        names = re.findall(r"\{([^}]+)\}", run.op.path)
        if params == "$unknown":
            params = {n: UNKNOWN_ID for n in names}
        path, ticket, token = run.op.path, None, None
        fresh = run.expect_status < 300
        for n in names:
            v = params.get(n)
            if v is None:
                raise DocError("%s: x-run gives no value for {%s}" % (run, n))
            if isinstance(v, str) and self.VALUE.match(v) and "." not in v and ":" not in v:
                v, token = self.fixture(v[1:], fresh)
            else:
                v = self.resolve(v, fresh)
            ticket = ticket or v
            path = path.replace("{%s}" % n, v)
        role = role or run.get("role") or "agent"
        body, ctype = run.body(lambda v: self.resolve(v, fresh))
        headers = {"Content-Type": ctype} if body is not None else {}
        if run.op.secured():
            headers.update(self.auth(role, ticket, token))
        else:
            headers["Authorization"] = None
        headers.update(self.resolve(run.get("headers") or {}))
        path += self._query(run, path, headers, fresh)
        return run.op.method, path, body, headers

    def _query(self, run, path, headers, fresh):
        """The query string of run's x-run query ("" when none; a null
        value leaves that parameter out; $values resolved). The value
        $next_cursor is the next_cursor of the same request sent first
        without that parameter: the query's second page."""
        query = {k: _query_value(self.resolve(v, fresh)) for k, v in (run.get("query") or {}).items()
                 if v is not None}
        for name, v in query.items():
            if v == "$next_cursor":
                first = {k: x for k, x in query.items() if k != name}
                r = self.send((run.op.method, path + _query_string(first), None, headers))
                if r.status != 200 or not r.get("next_cursor"):
                    raise DocError("%s: $next_cursor: the first page has none (%s %r); examples run "
                                   "in the document's order, after those that make tickets"
                                   % (run, r.status, r.body))
                query[name] = r["next_cursor"]
            elif v.startswith("$"):
                raise DocError("%s: x-run query %s: unknown value %s (docs/openapi/README.md)" % (run, name, v))
        return _query_string(query)

    def send(self, prepared):
        method, path, body, headers = prepared
        return self.c.http(method, path, body, headers)


def _curve_key():
    """A fresh CURVE public key in Z85 (what a partner's certificate holds)."""
    import zmq
    return zmq.curve_keypair()[0].decode()


def _query_value(v):
    """A YAML value as a query parameter: true/false as JSON writes them."""
    return json.dumps(v) if isinstance(v, bool) else str(v)


def _query_string(query):
    """"?a=1&b=x%20y" ("" when empty): every byte but unreserved ones
    percent-encoded (a space as %20, never +)."""
    return "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
