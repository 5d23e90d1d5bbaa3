#!/usr/bin/python3
# ctest: TIMEOUT 400 LABELS integration threads
"""End-to-end test of asp-notification and asp-sim-customer.

Starts its own redis-server(s) (harness.Redis), asp-notification and
asp-sim-customer from ASP_BIN_DIR on free ports (harness.free_port), a
Python stand-in for intake's survey endpoint, a Python webhook that always
fails, and talks to the notification service's bus like another service
would (a DEALER sending envelopes, reading ACK/NAK, resending what is
unanswered).

Covers: every event type -> one webhook with the right template, text,
contact and data; a redelivered message -> one notification; an unknown
contact; garbage frames and unknown types -> NAK with a reason while the
service keeps serving; webhook down for a while -> retried, delivered
later; webhook failing for good -> dead letter after ASP_NOTIFY_RETRIES
attempts (and at once on a 4xx); SIGKILL mid-stream and restart -> every
notification delivered, none made twice; survey_request -> the simulated
customer answers the survey (through 409 not_completed, and treats 409
already_answered as done); a full queue (ASP_NOTIFY_MAX_QUEUE) holds
events back unacknowledged; the file and stdout channels; the sink's
validation and /stats; English texts; metrics; masked phones in logs;
configuration errors (exit 2); clean exit on SIGTERM; no sanitizer reports.

Exit status 0 when everything passed.
"""
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import msgpack

import harness
from harness import Redis, binary, envelope, free_port, new_id, run, scaled, wait_for

SLOW = harness.TIMEOUT_SCALE            # timeouts scale up under sanitizers
KILL_BATCH = scaled(300, 120)           # events in the SIGKILL test
PHONE = "13812345678"
TOKEN = "sim-test-token"

WORK = tempfile.mkdtemp(prefix="notify-test-")
PROCS = []                              # every process started, for the log checks
REDIS = []                              # every redis-server started


def sk(name, ticket):
    """A notification key (common/asp_keys.h) in ticket's shard."""
    return "{s%d}:%s" % (harness.shard_of(ticket), name)


def qlen(redis, cmd, name):
    """LLEN or ZCARD of one queue, summed over the shards."""
    return sum(redis.cmd(cmd, k) for k in harness.shard_keys(name))


def log(msg):
    print(msg, flush=True)


def fail(msg):
    raise AssertionError(msg)


def expected_nid(msg_id, template):
    return "N" + hashlib.sha1(("%s/%s" % (msg_id, template)).encode()).hexdigest()[:24]


# --- processes ---------------------------------------------------------------

class Proc(harness.Proc):
    """A harness.Proc that logs into WORK and is remembered for the log checks."""

    def __init__(self, name, argv, env):
        super().__init__(name, argv, env, os.path.join(WORK, name + ".log"))

    def start(self):
        super().start()
        if self not in PROCS:
            PROCS.append(self)
        return self

    def term(self, timeout=15):
        """SIGTERM; returns the exit status (fails when it hangs)."""
        status = self.terminate(timeout * SLOW)
        if status is None:
            fail("%s did not stop within %ds of SIGTERM" % (self.name, timeout * SLOW))
        return status

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def start_redis(name):
    """A throwaway redis-server (AOF, a password) whose files stay in WORK."""
    redis = Redis(dir=os.path.join(WORK, name), log_path=os.path.join(WORK, name + ".log"))
    REDIS.append(redis)
    return redis.start()


_BUS_CERTS = []


def bus_certs():
    """The bus certificates (harness.BusCerts in WORK), made once."""
    if not _BUS_CERTS:
        _BUS_CERTS.append(harness.BusCerts(os.path.join(WORK, "bus-certs")))
    return _BUS_CERTS[0]


def notification_env(redis, bus_port, metrics_port, webhook, **extra):
    env = dict(os.environ)
    # Every bus endpoint on a free port of our own: the outbox must never
    # reach another test's (or a real) service.
    env.update(redis.env())
    env.update({
        "ASP_NOTIFICATION_BUS": "tcp://127.0.0.1:%d" % bus_port,
        "ASP_METRICS_PORT": str(metrics_port),
        "ASP_NOTIFY_WEBHOOK_URL": webhook,
        "ASP_NOTIFY_WORKERS": "2", "ASP_NOTIFY_RETRIES": "8",
        "ASP_NOTIFY_BACKOFF_MS": "200", "ASP_NOTIFY_BACKOFF_MAX_MS": "800",
        "ASP_NOTIFY_TIMEOUT_MS": "3000", "ASP_RESEND_MS": "500",
        "ASP_LOG_LEVEL": "info", "TZ": "Asia/Shanghai",
        # Tests must not depend on the hour they run at (rules_test turns
        # the shipped quiet hours on to test them).
        "ASP_NOTIFY_QUIET_HOURS": "off",
    })
    for var in ("ASP_INTAKE_BUS", "ASP_ROUTING_BUS", "ASP_SLA_BUS", "ASP_FEEDBACK_BUS"):
        env[var] = "tcp://127.0.0.1:%d" % free_port()
    env.pop("ASP_NOTIFY_FILE", None)
    env.pop("ASP_BUS_BIND", None)
    env.update(bus_certs().env("notification"))
    env.update(extra)
    return env


def request(method, url, body=None, headers=None, timeout=5):
    """(status, parsed JSON or text)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def metric(port, name):
    status, text = request("GET", "http://127.0.0.1:%d/metrics" % port)
    if status != 200:
        return None
    m = re.search(r"^asp_%s\{service=\"notification\"\} ([0-9.e+]+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


# --- the bus -------------------------------------------------------------------

class Bus(harness.Bus):
    """A producer as the outbox is: posts envelopes without waiting, collects
    the ACKs / NAKs as they come (pump) and resends what is unanswered."""

    def __init__(self, endpoint):
        super().__init__(endpoint, curve=bus_certs().curve("notification"))
        self.acked = set()
        self.naks = {}              # id -> reason
        self.anonymous = []         # NAKs for frames without a readable id

    @staticmethod
    def encode(etype, ticket, body, msg_id=None):
        """(message id, encoded envelope)."""
        msg_id = msg_id or new_id("m")
        return msg_id, envelope(etype, ticket, body, id=msg_id)

    def pump(self, timeout_ms=50):
        while self.sock.poll(timeout_ms):
            timeout_ms = 0
            frames = [f.decode("utf-8", "replace") for f in self.sock.recv_multipart()]
            if frames[0] == "ACK":
                self.acked.update(frames[1:])
            elif frames[0] == "NAK" and len(frames) == 3:
                if frames[1]:
                    self.naks[frames[1]] = frames[2]
                else:
                    self.anonymous.append(frames[2])
            else:
                fail("unexpected reply on the bus: %r" % frames)

    def post(self, frame):
        self.sock.send(frame)

    def call(self, etype, ticket, body, msg_id=None, timeout=10):
        """Sends until answered (as the outbox resends); ('ACK'|'NAK', reason)."""
        msg_id, frame = self.encode(etype, ticket, body, msg_id)
        return msg_id, self.call_frame(msg_id, frame, timeout)

    def call_frame(self, msg_id, frame, timeout=10):
        self.acked.discard(msg_id)
        self.naks.pop(msg_id, None)
        sent = [0.0]

        def answered():
            if time.monotonic() - sent[0] >= 1:       # resend once a second
                self.post(frame)
                sent[0] = time.monotonic()
            self.pump(50)
            if msg_id in self.acked:
                return ("ACK", None)
            if msg_id in self.naks:
                return ("NAK", self.naks[msg_id])
            return None
        return wait_for(answered, timeout, interval=0, what="an answer on the bus for %s" % msg_id)

    def raw(self, frames, timeout=5):
        """Sends frames that may not even decode; returns the NAK reason."""
        before = len(self.anonymous)
        self.sock.send_multipart(frames)
        wait_for(lambda: self.pump(50) or len(self.anonymous) > before, timeout, what="a NAK")
        return self.anonymous[before]


# --- intake stand-in and a failing webhook --------------------------------------

class Intake(http.server.ThreadingHTTPServer):
    """POST /v1/tickets/{id}/survey: 409 not_completed twice, then 202, then
    409 already_answered (as intake does)."""
    daemon_threads = True

    def __init__(self, port):
        self.posts = []
        self.answered = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), IntakeHandler)


class IntakeHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        m = re.fullmatch(r"/v1/tickets/([A-Za-z0-9._:-]+)/survey", self.path)
        srv = self.server
        with srv.lock:
            if not m:
                status, reply = 404, {"error": {"code": "not_found", "message": "no such endpoint"}}
            else:
                ticket = m.group(1)
                tries = sum(1 for p in srv.posts if p["ticket"] == ticket)
                if ticket in srv.answered:
                    status, reply = 409, {"error": {"code": "already_answered", "message": "answered"}}
                elif tries < 2:
                    status, reply = 409, {"error": {"code": "not_completed", "message": "retry later"}}
                else:
                    srv.answered.add(ticket)
                    status, reply = 202, {"ticket_id": ticket, "status": "survey_received"}
                srv.posts.append({"ticket": ticket, "auth": self.headers.get("Authorization"),
                                  "body": json.loads(body), "status": status})
        send_json(self, status, json.dumps(reply).encode())

    def log_message(self, *args):
        pass


class FailingHook(http.server.ThreadingHTTPServer):
    """A webhook that answers 503 to everything, 422 to tickets TREF*."""
    daemon_threads = True

    def __init__(self, port):
        self.posts = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), FailingHandler)


class FailingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with self.server.lock:
            self.server.posts.append({"key": self.headers.get("Idempotency-Key"),
                                      "attempt": self.headers.get("X-ASP-Attempt"), "body": body})
        status = 422 if body["ticket_id"].startswith("TREF") else 503
        send_json(self, status, b'{"error":{"code":"nope","message":"not today"}}')

    def log_message(self, *args):
        pass


def send_json(handler, status, raw):
    """Writes one JSON answer of a stand-in server."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


# --- the sink's record ------------------------------------------------------------

def records(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass            # a line being written right now
    except FileNotFoundError:
        pass
    return out


def for_ticket(path, ticket):
    return [r for r in records(path) if r.get("ticket_id") == ticket]


# --- the scenarios -------------------------------------------------------------

class World:
    pass


def run_selftests(redis):
    """The class self-tests; the store's uses this Redis before the service does."""
    env = dict(os.environ, **redis.env())
    env.pop("ASP_NOTIFY_WEBHOOK_URL", None)
    env.pop("ASP_NOTIFY_FILE", None)
    for b in ("asp-notification", "asp-sim-customer"):
        r = subprocess.run([binary(b), "--selftest"], env=env, capture_output=True,
                           timeout=60 * SLOW)
        if r.returncode != 0:
            fail("%s --selftest: status %s\n%s" % (b, r.returncode, (r.stdout + r.stderr).decode()[-2000:]))
    log("ok - self-tests of asp-notification and asp-sim-customer")


def start_world():
    w = World()
    w.redis = start_redis("redis")
    run_selftests(w.redis)
    w.bus_port, w.metrics_port = free_port(), free_port()
    w.sim_port, w.intake_port = free_port(), free_port()
    w.record = os.path.join(WORK, "sink.jsonl")
    w.intake = serve(Intake(w.intake_port))
    w.sim = start_sim(w)
    w.env = notification_env(w.redis, w.bus_port, w.metrics_port,
                             "http://127.0.0.1:%d/webhook" % w.sim_port)
    w.notify = start_notification(w, "notification")
    w.bus = Bus("tcp://127.0.0.1:%d" % w.bus_port)
    return w


def start_sim(w):
    env = dict(os.environ, ASP_SIM_TOKEN=TOKEN, ASP_SIM_SURVEY_TRIES="10", ASP_LOG_LEVEL="info")
    p = Proc("sim-customer", [binary("asp-sim-customer"), "--port", str(w.sim_port),
                              "--record", w.record, "--intake", "http://127.0.0.1:%d" % w.intake_port],
             env).start()
    wait_for(lambda: http_ok("http://127.0.0.1:%d/stats" % w.sim_port), 10, what="the sim customer")
    return p


def start_notification(w, name, env=None, port=None):
    p = Proc(name, [binary("asp-notification")], env or w.env).start()
    port = port or w.metrics_port
    wait_for(lambda: http_ok("http://127.0.0.1:%d/healthz" % port), 10, what=name + " /healthz")
    return p


def http_ok(url):
    try:
        return request("GET", url, timeout=1)[0] == 200
    except OSError:
        return False


def sim_stats(w):
    return request("GET", "http://127.0.0.1:%d/stats" % w.sim_port)[1]


def created_body(name="张三", phone=PHONE):
    return {"type": "repair", "tier": "standard", "priority": 3, "category": "washer",
            "region": "SH", "model": "XQG-80", "serial": "SN0001", "summary": "drum does not spin",
            "customer_name": name, "customer_phone": phone, "customer_class": "B", "channel": "hotline"}


def test_every_event(w):
    t = new_id("T")
    wo = "W" + t
    due = int(time.time() * 1000) + 3600 * 1000
    events = [
        ("ticket.created", created_body(), "received", "customer", "已受理"),
        ("workorder.assigned", {"wo_id": wo, "offer_id": wo + ".1", "partner_id": "P001"},
         "partner_assigned", "customer", "服务网点 P001"),
        ("workorder.progress", {"wo_id": wo, "partner_id": "P001", "seq": 1, "stage": "scheduled",
                                "appointment_ms": due}, "progress", "customer", "已预约上门服务"),
        ("workorder.completed", {"wo_id": wo, "partner_id": "P001", "result": "fixed",
                                 "technician": "李工"}, "completed", "customer", "已维修完成"),
        ("visit.scheduled", {"visit_id": "V" + t, "due_ms": due}, "survey_request", "customer", "评价"),
        ("ticket.closed", {"reason": "survey", "score": 5}, "closed", "customer", "已关闭"),
        ("sla.warning", {"clock": "resolution", "due_ms": due, "level": 1}, "sla_warning", "staff",
         "解决时限将于"),
        ("sla.breached", {"clock": "response", "due_ms": due, "level": 2}, "sla_breached", "staff",
         "响应时限已于"),
    ]
    sent = {}
    for etype, body, tpl, audience, words in events:
        msg_id, (answer, why) = w.bus.call(etype, t, body)
        if answer != "ACK":
            fail("%s refused: %s" % (etype, why))
        sent[tpl] = (msg_id, etype, body, audience, words)
    got = wait_for(lambda: len(for_ticket(w.record, t)) >= 8 and for_ticket(w.record, t), 15,
                   what="8 webhooks for " + t)
    time.sleep(0.5)
    got = for_ticket(w.record, t)
    if len(got) != 8:
        fail("expected 8 webhooks for %s, got %d" % (t, len(got)))
    for r in got:
        tpl = r["template"]
        if tpl not in sent:
            fail("unexpected template %s" % tpl)
        msg_id, etype, body, audience, words = sent.pop(tpl)
        if r["event"] != etype or r["audience"] != audience or r["lang"] != "zh-CN":
            fail("wrong event/audience/lang in %r" % r)
        if r["id"] != expected_nid(msg_id, tpl):
            fail("id %s is not derived from message %s and template %s" % (r["id"], msg_id, tpl))
        if t not in r["text"] or words not in r["text"]:
            fail("text of %s is %r" % (tpl, r["text"]))
        if r["data"] != body:
            fail("data of %s is %r, sent %r" % (tpl, r["data"], body))
        if audience == "customer" and r["to"] != {"name": "张三", "phone": PHONE}:
            fail("%s: 'to' is %r" % (tpl, r["to"]))
        if audience == "staff" and r["to"] is not None:
            fail("%s: staff notification has 'to' %r" % (tpl, r["to"]))
        if r["duplicate"] or not isinstance(r["created_ms"], int):
            fail("bad record %r" % r)
    log("ok - every event type made one webhook with the right template, text, contact and data")
    return t


def test_unknown_contact(w):
    t = new_id("T")
    _, (answer, why) = w.bus.call("workorder.assigned", t, {"wo_id": "W" + t, "offer_id": "W" + t + ".1",
                                                            "partner_id": "P002"})
    if answer != "ACK":
        fail("refused: %s" % why)
    r = wait_for(lambda: for_ticket(w.record, t), 10, what="the webhook for " + t)[0]
    if r["to"] is not None or r["template"] != "partner_assigned":
        fail("unknown contact: %r" % r)
    log("ok - a ticket whose contact is unknown is still notified, with \"to\": null")


def test_redelivery(w):
    t = new_id("T")
    msg_id, frame = Bus.encode("ticket.created", t, created_body("Wang", "13900001111"))
    for _ in range(3):
        if w.bus.call_frame(msg_id, frame) != ("ACK", None):
            fail("redelivered message not acknowledged")
    wait_for(lambda: for_ticket(w.record, t), 10, what="the webhook for " + t)
    time.sleep(1.0)
    got = for_ticket(w.record, t)
    if len(got) != 1 or got[0]["duplicate"]:
        fail("the same message sent 3 times made %d webhooks: %r" % (len(got), got))
    if (metric(w.metrics_port, "bus_duplicate_total") or 0) < 2:
        fail("bus_duplicate_total did not count the repeats")
    log("ok - the same message sent three times made one notification")


def test_survey(w, ticket):
    # The visit.scheduled of test_every_event asked for a survey.
    wait_for(lambda: any(p["status"] == 202 for p in w.intake.posts if p["ticket"] == ticket), 20,
             what="the survey answer for " + ticket)
    posts = [p for p in w.intake.posts if p["ticket"] == ticket]
    if [p["status"] for p in posts] != [409, 409, 202]:
        fail("survey posts: %r" % [p["status"] for p in posts])
    for p in posts:
        b = p["body"]
        if p["auth"] != "Bearer " + TOKEN:
            fail("survey without the bearer token: %r" % p["auth"])
        if b.get("score") not in (4, 5) or b.get("resolved") is not True or not b.get("comment"):
            fail("survey body %r" % b)
    st = wait_for(lambda: (lambda s: s["surveys_answered"] == 1 and s)(sim_stats(w)), 5, what="stats")
    # A second survey request for the same ticket (a new message): intake
    # says already_answered, which the customer takes as done.
    _, (answer, _) = w.bus.call("visit.scheduled", ticket, {"visit_id": "V2" + ticket})
    if answer != "ACK":
        fail("second visit.scheduled refused")
    st = wait_for(lambda: (lambda s: s["surveys_already_answered"] == 1 and s)(sim_stats(w)), 15,
                  what="already_answered to be taken as done")
    if st["surveys_failed"] or st["surveys_pending"]:
        fail("survey stats %r" % st)
    log("ok - survey_request: the sim customer answered (after 2x 409 not_completed), "
        "and took 409 already_answered as done")


def test_garbage(w):
    cases = [
        ([b"\x00\x01garbage"], "bad msgpack"),
        ([b"\xdd\xff\x00\x00\x00"], "bad msgpack"),
        ([msgpack.packb([1, "ticket.created"])], "array of 7"),
        ([b"a", b"b"], "exactly one frame"),
        ([b"\x97\x01\x01\x01\x01\x01\x01"], "bad msgpack"),      # 6 of 7 elements
        ([b"\xc1" * 70000], "exceeds"),
    ]
    for frames, words in cases:
        why = w.bus.raw(frames)
        if words not in why:
            fail("garbage %r: NAK reason %r lacks %r" % (frames[0][:16], why, words))
    t = new_id("T")
    typed = [
        ("ticket.exploded", t, {}, "does not handle message type 'ticket.exploded'"),
        ("survey.submitted", t, {"score": 5}, "does not handle message type 'survey.submitted'"),
        ("workorder.assigned", t, {"wo_id": "W" + t, "partner_id": 7}, "'partner_id' must be a string"),
        ("sla.warning", t, {"clock": "response"}, "'due_ms' is required"),
        ("ticket.created", "", created_body(), "ticket_id is required"),
        ("workorder.progress", t, {"wo_id": "W" + t, "stage": "note", "appointment_ms": "soon"},
         "'appointment_ms' must be an integer"),
    ]
    for etype, ticket, body, words in typed:
        _, (answer, why) = w.bus.call(etype, ticket, body)
        if answer != "NAK" or words not in why:
            fail("%s: expected NAK with %r, got %s %r" % (etype, words, answer, why))
    if not w.notify.running():
        fail("asp-notification died on bad input")
    if for_ticket(w.record, t):
        fail("a refused message made a notification")
    # Still serving.
    t2 = new_id("T")
    _, (answer, _) = w.bus.call("ticket.created", t2, created_body())
    if answer != "ACK":
        fail("valid message after garbage refused")
    wait_for(lambda: for_ticket(w.record, t2), 10, what="a webhook after the garbage")
    if (metric(w.metrics_port, "bus_refused_total") or 0) < len(cases) + len(typed):
        fail("bus_refused_total did not count the refusals")
    log("ok - garbage frames and unknown types got NAKs with reasons; the service kept serving")


def test_webhook_down(w):
    status = w.sim.term()
    if status != 0:
        fail("sim customer exited %s on SIGTERM" % status)
    retried = metric(w.metrics_port, "notify_retried_total") or 0
    t = new_id("T")
    msg_id, (answer, _) = w.bus.call("ticket.created", t, created_body())
    if answer != "ACK":
        fail("refused while the webhook is down")
    wait_for(lambda: (metric(w.metrics_port, "notify_retried_total") or 0) >= retried + 2, 15,
             what="failed attempts while the webhook is down")
    w.sim = start_sim(w)
    got = wait_for(lambda: for_ticket(w.record, t), 15, what="the delayed webhook")
    nid = expected_nid(msg_id, "received")
    h = wait_for(lambda: (lambda h: h.get("state") == "delivered" and h)(w.redis.hgetall(sk("notify:n:" + nid, t))),
                 5, what="delivered state")
    if int(h["attempts"]) < 3 or len(got) != 1:
        fail("expected one delivery after >= 3 attempts: %r, %d records" % (h, len(got)))
    log("ok - webhook down for a while: retried (%s attempts) and delivered later" % h["attempts"])


def test_dead_letters(w):
    """A second Redis and notification whose webhook always fails."""
    redis = start_redis("redis-failing")
    hook_port, bus_port, metrics_port = free_port(), free_port(), free_port()
    hook = serve(FailingHook(hook_port))
    env = notification_env(redis, bus_port, metrics_port, "http://127.0.0.1:%d/hook" % hook_port,
                           ASP_NOTIFY_RETRIES="3", ASP_NOTIFY_BACKOFF_MS="100", ASP_NOTIFY_WORKERS="1",
                           ASP_NOTIFY_MAX_QUEUE="32")
    p = start_notification(w, "notification-failing", env, metrics_port)
    bus = Bus("tcp://127.0.0.1:%d" % bus_port)
    t = new_id("T")
    msg_id, (answer, _) = bus.call("ticket.created", t, created_body())
    if answer != "ACK":
        fail("refused")
    nid = expected_nid(msg_id, "received")
    wait_for(lambda: nid in (redis.cmd("LRANGE", sk("notify:dead", t), 0, -1) or []), 15, what="the dead letter")
    time.sleep(0.5)
    posts = [x for x in hook.posts if x["body"]["ticket_id"] == t]
    if [x["attempt"] for x in posts] != ["1", "2", "3"] or {x["key"] for x in posts} != {nid}:
        fail("expected 3 attempts with Idempotency-Key %s: %r" % (nid, [(x["key"], x["attempt"]) for x in posts]))
    h = redis.hgetall(sk("notify:n:" + nid, t))
    if h.get("state") != "dead" or h.get("attempts") != "3" or "503" not in h.get("last_error", ""):
        fail("dead notification: %r" % h)
    # A 4xx refusal is final: dead after one attempt.
    tref = "TREF" + new_id("")
    msg_id, _ = bus.call("ticket.created", tref, created_body())
    nref = expected_nid(msg_id, "received")
    wait_for(lambda: nref in (redis.cmd("LRANGE", sk("notify:dead", tref), 0, -1) or []), 10,
             what="the refused one")
    if len([x for x in hook.posts if x["body"]["ticket_id"] == tref]) != 1:
        fail("a 422 was retried")
    wait_for(lambda: metric(metrics_port, "notify_dead_letters") == 2, 5, what="the dead-letter gauge")
    if metric(metrics_port, "notify_dead_total") != 2 or metric(metrics_port, "notify_retried_total") != 2:
        fail("dead/retried counters wrong")
    if "moved to dead letters" not in p.text():
        fail("no log line for the dead letter")
    # Bounded: with ASP_NOTIFY_MAX_QUEUE=32, 2 waiting per shard, an event
    # is neither applied nor acknowledged (its producer keeps it) until
    # there is room in its ticket's shard.
    far = 9999999999999
    tq = new_id("T")
    redis.cmd("ZADD", sk("notify:retry", tq), far, "Nfiller1", far, "Nfiller2")
    msg_id, frame = Bus.encode("ticket.created", tq, created_body())
    bus.post(frame)
    time.sleep(1.5 * SLOW)
    bus.pump(100)
    nq = expected_nid(msg_id, "received")
    if msg_id in bus.acked or msg_id in bus.naks or redis.hgetall(sk("notify:n:" + nq, tq)):
        fail("an event was taken although the queue was full")
    redis.cmd("ZREM", sk("notify:retry", tq), "Nfiller1")
    if bus.call_frame(msg_id, frame) != ("ACK", None):
        fail("the event was not taken once there was room")
    wait_for(lambda: nq in (redis.cmd("LRANGE", sk("notify:dead", tq), 0, -1) or []), 10,
             what="the held-back event")
    redis.cmd("ZREM", sk("notify:retry", tq), "Nfiller2")
    if "notification queue full" not in p.text():
        fail("the full queue was not logged")
    status = p.term()
    if status != 0:
        fail("notification exited %s on SIGTERM" % status)
    if "notification workers stopped" not in p.text():
        fail("workers did not report stopping")
    hook.shutdown()
    log("ok - failing for good: dead letter after ASP_NOTIFY_RETRIES=3 attempts (same Idempotency-Key), "
        "at once on 422; a full queue holds events back unacknowledged; clean exit on SIGTERM")
    return redis


def test_channels(w, redis):
    """ASP_NOTIFY_FILE, then neither: JSON lines in the file, on stdout."""
    path = os.path.join(WORK, "notifications.jsonl")
    for kind in ("file", "stdout"):
        bus_port, metrics_port = free_port(), free_port()
        env = notification_env(redis, bus_port, metrics_port, "")
        env.pop("ASP_NOTIFY_WEBHOOK_URL")
        if kind == "file":
            env["ASP_NOTIFY_FILE"] = path
        p = start_notification(w, "notification-" + kind, env, metrics_port)
        bus = Bus("tcp://127.0.0.1:%d" % bus_port)
        t = new_id("T")
        msg_id, (answer, _) = bus.call("workorder.completed", t, {"wo_id": "W" + t, "partner_id": "P9",
                                                                  "result": "installed"})
        if answer != "ACK":
            fail("refused")
        nid = expected_nid(msg_id, "completed")

        def line():
            text = open(path, encoding="utf-8").read() if kind == "file" else p.text()
            for raw in text.splitlines():
                try:
                    j = json.loads(raw)
                except ValueError:
                    continue
                if j.get("id") == nid and "level" not in j:      # not a log line
                    return j
        j = wait_for(line, 10, what="the %s line" % kind)
        if j["template"] != "completed" or "已安装完成" not in j["text"] or j["to"] is not None:
            fail("%s line %r" % (kind, j))
        if p.term() != 0:
            fail("notification (%s) did not exit cleanly" % kind)
    redis.stop()
    log("ok - the file and stdout channels write one JSON line per notification")


def test_kill(w):
    """SIGKILL mid-stream, restart; the bus resends what was not acknowledged."""
    msgs = {}                       # ticket -> (msg_id, frame)
    for _ in range(KILL_BATCH):
        t = new_id("TK")
        msgs[t] = Bus.encode("ticket.created", t, created_body("Kill", "13700000000"))
    order = list(msgs)
    bus = w.bus
    for t in order:
        bus.post(msgs[t][1])
    # Kill once part of it reached the sink.
    kill_at = KILL_BATCH // 4
    wait_for(lambda: sum(1 for r in records(w.record) if r["ticket_id"].startswith("TK")) >= kill_at,
             20, what="deliveries before the kill")
    w.notify.kill()
    bus.pump(100)
    # Simulate the worst moment for one of them: taken by a worker, sent or
    # not, not settled. Recovery must send it again.
    if not qlen(w.redis, "LLEN", "notify:processing"):
        for n in range(harness.SHARDS):
            if w.redis.cmd("LMOVE", "{s%d}:notify:pending" % n, "{s%d}:notify:processing" % n, "RIGHT", "LEFT"):
                break
    left = qlen(w.redis, "LLEN", "notify:processing")
    w.notify = start_notification(w, "notification")
    # Like the outbox: resend everything unacknowledged, and some that were
    # acknowledged (an ACK lost in the crash).
    acked_before = [t for t in order if msgs[t][0] in bus.acked]
    for t in random.sample(acked_before, min(20, len(acked_before))):
        bus.post(msgs[t][1])

    def all_acked():
        for t in order:
            if msgs[t][0] not in bus.acked:
                bus.post(msgs[t][1])
        bus.pump(300)
        return all(msgs[t][0] in bus.acked for t in order)
    wait_for(all_acked, 30, what="every message acknowledged after the restart")

    def all_delivered():
        seen = {r["ticket_id"] for r in records(w.record)}
        return all(t in seen for t in order)
    wait_for(all_delivered, 30, what="every notification delivered")
    time.sleep(1.0)
    by_ticket = {}
    for r in records(w.record):
        if r["ticket_id"] in msgs:
            by_ticket.setdefault(r["ticket_id"], []).append(r)
    dups = 0
    for t in order:
        ids = {r["id"] for r in by_ticket[t]}
        if ids != {expected_nid(msgs[t][0], "received")}:
            fail("ticket %s got notifications %r" % (t, ids))
        firsts = [r for r in by_ticket[t] if not r["duplicate"]]
        if len(firsts) != 1:
            fail("ticket %s: %d first deliveries" % (t, len(firsts)))
        dups += len(by_ticket[t]) - 1
    wait_for(lambda: qlen(w.redis, "LLEN", "notify:processing") == 0 and
             qlen(w.redis, "LLEN", "notify:pending") == 0 and qlen(w.redis, "ZCARD", "notify:retry") == 0,
             10, what="empty queues")
    if left and "left in processing" not in w.notify.text():
        fail("no recovery logged although %d were in processing" % left)
    log("ok - SIGKILL mid-stream: all %d delivered, none created twice (%d redelivered with the same id, "
        "%d recovered from processing)" % (len(order), dups, left))


def test_english(w):
    w.notify.term()
    env = dict(w.env, ASP_NOTIFY_LANG="en")
    w.notify = start_notification(w, "notification", env)
    t = new_id("T")
    _, (answer, _) = w.bus.call("ticket.created", t, created_body())
    if answer != "ACK":
        fail("refused")
    r = wait_for(lambda: for_ticket(w.record, t), 10, what="the English webhook")[0]
    if r["lang"] != "en" or not r["text"].startswith("Your service ticket %s has been received" % t):
        fail("English text: %r" % r)
    log("ok - ASP_NOTIFY_LANG=en renders English texts")


def test_sink(w):
    base = "http://127.0.0.1:%d" % w.sim_port
    before = sim_stats(w)
    status, body = request("POST", base + "/webhook", b"{not json", {"Content-Type": "application/json"})
    if status != 400 or body["error"]["code"] != "invalid_json":
        fail("garbage: %s %r" % (status, body))
    good = {"id": "Nsinktest", "ticket_id": "Tsink", "event": "ticket.closed", "template": "closed",
            "audience": "customer", "lang": "en", "text": "closed", "to": None, "data": {},
            "created_ms": 1}
    bad = dict(good, template="fireworks")
    status, body = request("POST", base + "/webhook", bad, {"Idempotency-Key": "Nsinktest"})
    if status != 400 or "template" not in body["error"]["message"]:
        fail("bad template: %s %r" % (status, body))
    status, body = request("POST", base + "/webhook", good)
    if status != 400 or "Idempotency-Key" not in body["error"]["message"]:
        fail("missing key: %s %r" % (status, body))
    for dup in (False, True):
        status, body = request("POST", base + "/webhook", good, {"Idempotency-Key": "Nsinktest"})
        if status != 200 or body["duplicate"] != dup:
            fail("valid post: %s %r" % (status, body))
    st = sim_stats(w)
    if st["received"] != before["received"] + 2 or st["duplicates"] != before["duplicates"] + 1 \
            or st["invalid"] < before["invalid"] + 3:
        fail("stats %r after %r" % (st, before))
    if [r["duplicate"] for r in for_ticket(w.record, "Tsink")] != [False, True]:
        fail("record of the sink test")
    if request("GET", base + "/webhook")[0] != 405 or request("GET", base + "/nowhere")[0] != 404:
        fail("405/404")
    log("ok - the sink validates (400 with reasons), flags duplicates, serves /stats")


def test_metrics_and_logs(w):
    status, text = request("GET", "http://127.0.0.1:%d/metrics" % w.metrics_port)
    for name in ("asp_notify_queued_total", "asp_notify_delivered_total", "asp_notify_retried_total",
                 "asp_notify_dead_total", "asp_notify_delivery_seconds_bucket", "asp_notify_pending"):
        if name not in text:
            fail("metric %s missing" % name)
    if (metric(w.metrics_port, "notify_delivered_total") or 0) < 1:
        fail("nothing counted as delivered")
    logs = [p for p in PROCS if p.name.startswith("notification") or p.name == "sim-customer"]
    for p in logs:
        t = p.text()
        if PHONE in t or "13700000000" in t:
            fail("a full phone number in the log of %s" % p.name)
        if "138****5678" not in t and p.name == "notification":
            fail("no masked phone in the log of %s" % p.name)
    log("ok - metrics present; phone numbers masked in every log")


def test_bad_config(w):
    """A wrong setting stops the service at start with status 2 and a reason."""
    cases = [
        ({"ASP_NOTIFY_LANG": "fr"}, "ASP_NOTIFY_LANG"),
        ({"ASP_NOTIFY_WORKERS": "0"}, "ASP_NOTIFY_WORKERS"),
        ({"ASP_NOTIFY_RETRIES": "many"}, "ASP_NOTIFY_RETRIES"),
        ({"ASP_NOTIFY_WEBHOOK_SECRET": "too-short"}, "ASP_NOTIFY_WEBHOOK_SECRET: secret 1 is 9 bytes"),
        ({"ASP_NOTIFY_CHANNEL": "pigeon"}, "ASP_NOTIFY_CHANNEL='pigeon'"),
        ({"ASP_NOTIFY_CHANNEL": "email"}, "ASP_NOTIFY_CHANNEL='email'"),
        ({"ASP_NOTIFY_SMTP_URL": "smtp://127.0.0.1:1"}, "ASP_NOTIFY_SMTP_FROM"),
        ({"ASP_NOTIFY_SMS_URL": "http://127.0.0.1:1/sms"}, "ASP_NOTIFY_SMS_TOKEN"),
        ({"ASP_NOTIFY_WEBHOOK_URL": "ftp://example.com/"}, "http:// or https://"),
    ]
    for extra, words in cases:
        env = notification_env(w.redis, free_port(), 0, "http://127.0.0.1:1/", **extra)
        env["ASP_METRICS_PORT"] = "0"
        r = subprocess.run([binary("asp-notification")], env=env, capture_output=True,
                           timeout=20 * SLOW)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 2 or words not in out:
            fail("bad config %r: status %s, output %r" % (extra, r.returncode, out[-300:]))
    r = subprocess.run([binary("asp-sim-customer"), "--port", "nope"], capture_output=True,
                       timeout=20 * SLOW)
    if r.returncode != 2 or b"--port" not in r.stderr:
        fail("sim customer with a bad port: %s %r" % (r.returncode, r.stderr))
    log("ok - configuration errors stop both programs with status 2 and a reason")


def finish(ok, servers=()):
    """The end of a test that started processes through this module: kills
    them, stops the redis-servers and the receivers (servers), removes WORK
    after a pass (ASP_KEEP_TMP=1 keeps it), shows the logs' tails after a
    failure."""
    for p in PROCS:
        p.kill()
    for r in REDIS:
        r.stop()
    for s in servers:
        s.stop()
    if ok and os.environ.get("ASP_KEEP_TMP") != "1":
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        log("logs kept in %s" % WORK)
    if not ok:
        for p in PROCS:
            log("--- tail of %s" % p.name)
            log(p.tail(15))


def check_sanitizers():
    """Under ASP_SANITIZE any report in any log is a failure."""
    for p in PROCS:
        t = p.text()
        for words in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if words in t:
                fail("%s in the log of %s" % (words, p.name))
    log("ok - no sanitizer reports in any log")


def main():
    ok = False
    w = None
    try:
        for b in ("asp-notification", "asp-sim-customer"):
            binary(b)               # a clear error when it is not built
        w = start_world()
        ticket = test_every_event(w)
        test_unknown_contact(w)
        test_redelivery(w)
        test_garbage(w)
        test_survey(w, ticket)
        test_webhook_down(w)
        test_channels(w, test_dead_letters(w))
        test_kill(w)
        test_english(w)
        test_sink(w)
        test_metrics_and_logs(w)
        test_bad_config(w)
        status = w.notify.term()
        if status != 0:
            fail("notification exited %s on SIGTERM" % status)
        status = w.sim.term()
        if status != 0:
            fail("sim customer exited %s on SIGTERM" % status)
        log("ok - clean exit of both on SIGTERM")
        check_sanitizers()
        ok = True
    finally:
        for p in PROCS:
            p.kill()
        for r in REDIS:
            r.stop()
        if w:
            w.intake.shutdown()
        if ok and os.environ.get("ASP_KEEP_TMP") != "1":
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            log("logs kept in %s" % WORK)
        if not ok:
            shown = set()
            for p in PROCS:
                if (p.name.startswith("notification") or p.name == "sim-customer") and p.log_path not in shown:
                    shown.add(p.log_path)
                    log("--- tail of %s" % p.name)
                    log(p.tail(15))


if __name__ == "__main__":
    run(main, name="notification_test")
