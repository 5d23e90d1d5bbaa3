#!/usr/bin/python3
# ctest: TIMEOUT 400 LABELS integration threads
"""notification's channels against real local receivers (tests/receivers.py).

Starts its own redis-server, asp-notification with the webhook (two secrets:
a rotation), the e-mail channel (an SMTP server in Python, asyncio) and the
SMS channel (a gateway in Python) configured, and talks to its bus as
another service would. Nothing is stubbed.

Covers:
- the worked example of docs/notifications.md, recomputed with Python's hmac;
- webhook: every request's two signatures verified with hmac, its timestamp
  inside the 300 s window; a receiver that answers slowly (past
  ASP_NOTIFY_TIMEOUT_MS), never (accepts, never answers), 5xx then 2xx,
  garbage bytes instead of HTTP: retried within ASP_NOTIFY_RETRIES, each id
  answered 2xx exactly once, none lost; 422: a dead letter after one attempt;
- the simulated customer with a secret: a good signature 200, a wrong
  secret, a stale timestamp, none: 401;
- SMTP: headers (the UTF-8 subject decoded, Message-ID <id@domain>, To) and
  the base64 body; the connection dropped mid-DATA: retried, delivered, the
  same Message-ID; 550: a dead letter after one attempt; 451: retried;
- SMS gateway: the bearer token, the body's fields, 429 then 2xx;
- appointment times in the customer's own time zone (the contact's tz),
  else the service's TZ;
- the customer's preference and language: e-mail + en gets "received" by
  e-mail in English (and the next notification of the ticket too); sms gets
  an SMS; none gets the default (webhook); a preference not configured in
  the process goes by the default, logged and counted;
- SIGKILL of notification mid-delivery: restarted, nothing lost, repeats
  carry the same id;
- a short secret: exit 2 with the reason;
- the template files: a bad one (exit 2 with file:line), a missing
  language, a bad reload (the old templates stay), a good change, SIGHUP.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/channels_test.py
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness
import notification_test as nt
import receivers
from harness import binary, free_port, new_id, run, wait_for

WORK = nt.WORK
SECRET_NEW = b"whsec_new_0123456789abcdef0123456789abcdef"
SECRET_OLD = b"whsec_old_0123456789abcdef0123456789abcdef"
SMS_TOKEN = "sms-gateway-token-for-tests"
FROM = "service@brand.example"
RETRIES = 6
TIMEOUT_MS = 1000
log, fail = nt.log, nt.fail


def dead_ids(redis, ticket):
    return redis.cmd("LRANGE", nt.sk("notify:dead", ticket), 0, -1)


def created(name="李雷", phone=nt.PHONE, email=None, channel=None, language=None, tz=None):
    body = nt.created_body(name, phone)
    for k, v in (("customer_email", email), ("customer_channel", channel), ("customer_language", language),
                 ("customer_tz", tz)):
        if v is not None:
            body[k] = v
    return body


class World:
    pass


# --- misbehaviour on cue, by ticket prefix or address --------------------------

def hook_cue(body, n):
    t = body.get("ticket_id", "")
    if t.startswith("TSLOW") and n == 0:
        return "slow:%f" % (TIMEOUT_MS / 1000 * 2.5)
    if t.startswith("TNEVER") and n == 0:
        return "never"
    if t.startswith("TFLAKY") and n < 2:
        return 503
    if t.startswith("TGARB") and n == 0:
        return "garbage"
    if t.startswith("TREFUSE"):
        return 422
    if t.startswith("TKILL"):
        return "delay:0.15"         # answered in time, slowly: a kill lands mid-post
    return None


def smtp_cue(rcpt, n):
    local = rcpt.split("@")[0]
    if local.startswith("drop") and n == 0:
        return "drop"
    if local.startswith("busy") and n < 2:
        return "451"
    if local.startswith("nobody"):
        return "550"
    return None


def sms_cue(body, n):
    return 429 if "TS429" in body.get("text", "") and n == 0 else None


# --- the world -------------------------------------------------------------------

def start(w, name="notification", **extra):
    env = nt.notification_env(w.redis, w.bus_port, w.metrics_port, w.hook.url, **{
        "ASP_NOTIFY_WEBHOOK_SECRET": (SECRET_NEW + b"," + SECRET_OLD).decode(),
        "ASP_NOTIFY_SMTP_URL": w.smtp.url, "ASP_NOTIFY_SMTP_FROM": FROM,
        "ASP_NOTIFY_SMS_URL": w.sms.url, "ASP_NOTIFY_SMS_TOKEN": SMS_TOKEN,
        "ASP_NOTIFY_RETRIES": str(RETRIES), "ASP_NOTIFY_TIMEOUT_MS": str(TIMEOUT_MS),
        "ASP_NOTIFY_CONNECT_TIMEOUT_MS": "500",
        "ASP_NOTIFY_BACKOFF_MS": "100", "ASP_NOTIFY_BACKOFF_MAX_MS": "300"})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return nt.start_notification(w, name, env)


def start_world():
    w = World()
    w.redis = nt.start_redis("redis")
    w.hook = receivers.Webhook([SECRET_NEW, SECRET_OLD], hook_cue).start()
    w.smtp = receivers.SmtpServer(smtp_cue).start()
    w.sms = receivers.SmsGateway(SMS_TOKEN, sms_cue).start()
    w.bus_port, w.metrics_port = free_port(), free_port()
    w.notify = start(w)
    w.bus = nt.Bus("tcp://127.0.0.1:%d" % w.bus_port)
    return w


def send(w, etype, ticket, body):
    """Sends one event until ACKed; the notification id it makes."""
    msg_id, (answer, why) = w.bus.call(etype, ticket, body)
    if answer != "ACK":
        fail("%s for %s: %s %s" % (etype, ticket, answer, why))
    return nt.expected_nid(msg_id, {"ticket.created": "received",
                                    "workorder.assigned": "partner_assigned"}[etype])


# --- the tests --------------------------------------------------------------------

def test_worked_example():
    """docs/notifications.md's example, recomputed with Python's hmac."""
    text = open(os.path.join(harness.SOURCE_DIR, "docs", "notifications.md"), encoding="utf-8").read()
    field = {k: v for k, v in re.findall(r"^(secret|timestamp|body|signed|signature|rotated):\s+(.*)$", text, re.M)}
    if len(field) != 6:
        fail("docs/notifications.md: the worked example lacks a line: %r" % sorted(field))
    if field["signed"] != field["timestamp"] + "." + field["body"]:
        fail("the example's signed payload is not timestamp.body")
    want = "v1=" + receivers.sign(field["secret"].encode(), field["timestamp"], field["body"].encode())
    if field["signature"] != want:
        fail("the example's signature is %s; hmac says %s" % (field["signature"], want))
    old = re.search(r"ASP_NOTIFY_WEBHOOK_SECRET=%s,(\S+?)`" % re.escape(field["secret"]), text)
    rotated = want + ",v1=" + receivers.sign(old.group(1).encode(), field["timestamp"], field["body"].encode())
    if field["rotated"] != rotated:
        fail("the rotated example is %s; hmac says %s" % (field["rotated"], rotated))
    log("ok - docs/notifications.md's worked example verifies with Python's hmac (and its rotation)")


def test_webhook(w):
    """Every misbehaviour: bounded retries, each id 2xx once, none lost."""
    kinds = ["TOK", "TOK", "TOK", "TSLOW", "TNEVER", "TFLAKY", "TGARB", "TREFUSE"]
    sent = {}
    for k in kinds:
        t = new_id(k)
        sent[send(w, "ticket.created", t, created())] = t
    refused = [n for n, t in sent.items() if t.startswith("TREFUSE")]

    def settled():
        return all(w.hook.answered_2xx(n) for n in sent if n not in refused) and \
            all(n in dead_ids(w.redis, sent[n]) for n in refused)
    wait_for(settled, 30, what="every webhook delivered or dead")
    time.sleep(TIMEOUT_MS / 1000 * 1.5)         # a stray repeat would come by now
    want_attempts = {"TOK": 1, "TSLOW": 2, "TNEVER": 2, "TFLAKY": 3, "TGARB": 2, "TREFUSE": 1}
    for nid, t in sent.items():
        reqs = w.hook.seen(nid)
        for r in reqs:
            if r["bad"]:
                fail("%s: %s" % (t, r["bad"]))
            if r["headers"].get("Idempotency-Key") != nid:
                fail("%s: a repeat with another Idempotency-Key" % t)
        kind = re.match(r"T[A-Z]+", t).group(0)
        if len(reqs) != want_attempts[kind] or len(reqs) > RETRIES:
            fail("%s: %d requests, want %d" % (t, len(reqs), want_attempts[kind]))
        ok = w.hook.answered_2xx(nid)
        if kind != "TREFUSE" and len(ok) != 1:
            fail("%s: answered 2xx %d times" % (t, len(ok)))
        attempts = [int(r["headers"]["X-ASP-Attempt"]) for r in reqs]
        if attempts != list(range(1, len(reqs) + 1)):
            fail("%s: attempts %r" % (t, attempts))
    log("ok - webhook: two signatures (new, old) verified with hmac on every request, timestamps in the window; "
        "slow, never, 5xx, garbage retried and each delivered 2xx once; 422 a dead letter after one attempt")


def test_sim_customer(w):
    """The simulated customer verifies with libsodium: 401 for a bad one."""
    port = free_port()
    env = dict(os.environ, ASP_NOTIFY_WEBHOOK_SECRET=SECRET_NEW.decode(), ASP_LOG_LEVEL="info")
    sim = nt.Proc("sim-customer", [binary("asp-sim-customer"), "--port", str(port),
                                   "--intake", "http://127.0.0.1:1"], env).start()
    url = "http://127.0.0.1:%d/webhook" % port
    wait_for(lambda: nt.http_ok("http://127.0.0.1:%d/stats" % port), 10, what="the sim customer")
    nid = "N" + hashlib.sha1(new_id().encode()).hexdigest()[:24]
    body = json.dumps({"id": nid, "ticket_id": new_id("T"), "event": "ticket.created",
                       "template": "received", "audience": "customer", "lang": "en", "text": "hi",
                       "to": None, "data": {}, "created_ms": 1}).encode()

    def post(secret, ts, sig=True):
        h = {"Content-Type": "application/json", "Idempotency-Key": nid, "X-ASP-Timestamp": str(ts)}
        if sig:
            h["X-ASP-Signature"] = "v1=" + receivers.sign(secret, ts, body)
        return nt.request("POST", url, body, h)
    now = int(time.time())
    for secret, ts, sig, what in ((SECRET_OLD, now, True, "a wrong secret"),
                                  (SECRET_NEW, now - 310, True, "a stale timestamp"),
                                  (SECRET_NEW, now + 310, True, "a future timestamp"),
                                  (SECRET_NEW, now, False, "no signature")):
        status, reply = post(secret, ts, sig)
        if status != 401 or reply["error"]["code"] != "bad_signature":
            fail("sim customer, %s: %s %r" % (what, status, reply))
    status, reply = post(SECRET_NEW, now - 290)
    if status != 200 or reply.get("duplicate") is not False:
        fail("sim customer, a good signature: %s %r" % (status, reply))
    stats = nt.request("GET", "http://127.0.0.1:%d/stats" % port)[1]
    if stats["forged"] != 4 or stats["received"] != 1:
        fail("sim customer stats %r" % stats)
    sim.term()
    log("ok - sim customer: a good signature 200; a wrong secret, a stale or future timestamp, none: 401")


def decoded_body(msg):
    return msg.get_content().strip()


def test_smtp(w):
    """E-mail: headers, body, a drop mid-DATA, 451, 550."""
    cases = {}
    for local, lang in (("ok", "en"), ("ok", None), ("drop", "en"), ("busy", None), ("nobody", "en")):
        t = new_id("TM")
        addr = "%s.%s@example.com" % (local, t.lower())
        nid = send(w, "ticket.created", t, created(email=addr, channel="email", language=lang))
        cases[nid] = (t, addr, lang)

    def settled():
        return all(w.smtp.received(a) or nid in dead_ids(w.redis, t) for nid, (t, a, _) in cases.items())
    wait_for(settled, 30, what="every e-mail delivered or dead")
    for nid, (t, addr, lang) in cases.items():
        got = w.smtp.received(addr)
        local = addr.split(".")[0]
        if local == "nobody":
            if got or nid not in dead_ids(w.redis, t) or w.smtp.rcpts[addr] != 1:
                fail("550: %d messages, %d RCPTs, dead %r" % (len(got), w.smtp.rcpts[addr], dead_ids(w.redis, t)))
            continue
        if len(got) != 1:
            fail("%s: %d messages" % (addr, len(got)))
        m = got[0]
        if m["Message-ID"] != "<%s@brand.example>" % nid or m["To"] != addr or FROM not in m["From"]:
            fail("%s: headers %r" % (addr, dict(m.items())))
        if not m["Date"] or m["MIME-Version"] != "1.0" or m.get_content_charset() != "utf-8" \
                or m["Content-Transfer-Encoding"] != "base64":
            fail("%s: headers %r" % (addr, dict(m.items())))
        subject, text = str(m["Subject"]), decoded_body(m)
        if lang == "en":
            if subject != "Your service ticket %s" % t or not text.startswith("Your service ticket %s has been received" % t):
                fail("%s: %r / %r" % (addr, subject, text))
        elif subject != "您的服务单 %s" % t or "已受理" not in text or "=?UTF-8?B?" not in m.as_string():
            fail("%s: zh-CN %r / %r" % (addr, subject, text))
        if local == "busy" and w.smtp.rcpts[addr] != 3:
            fail("451 twice: %d RCPTs" % w.smtp.rcpts[addr])
        if local == "drop":
            partial = [d for d in w.smtp.dropped if ("<%s@brand.example>" % nid).encode() in d]
            if len(partial) != 1 or w.smtp.rcpts[addr] != 2:
                fail("drop mid-DATA: %d partial messages with the Message-ID, %d RCPTs" % (len(partial), w.smtp.rcpts[addr]))
    log("ok - e-mail: From/To/Date/MIME headers, UTF-8 subject (RFC 2047) decoded, Message-ID <id@domain>, base64 body "
        "in the customer's language; a drop mid-DATA retried with the same Message-ID; 451 retried; 550 a dead letter at once")
    return cases


def test_sms(w):
    """SMS gateway: token, fields, 429 then 2xx."""
    t1, t2 = new_id("TS429"), new_id("TS")
    n1 = send(w, "ticket.created", t1, created(phone="13900001111", channel="sms"))
    n2 = send(w, "ticket.created", t2, created(phone="13900002222", channel="sms", language="en",
                                               email="x@example.com"))
    wait_for(lambda: w.sms.answered_2xx(n1) and w.sms.answered_2xx(n2), 20, what="both SMS")
    r1, r2 = w.sms.seen(n1), w.sms.seen(n2)
    if [r["status"] for r in r1] != [429, 200] or [r["status"] for r in r2] != [200]:
        fail("sms statuses %r %r" % ([r["status"] for r in r1], [r["status"] for r in r2]))
    b1, b2 = r1[-1]["body"], r2[0]["body"]
    if b1["to"] != "13900001111" or t1 not in b1["text"] or "已受理" not in b1["text"]:
        fail("sms body %r" % b1)
    if b2["to"] != "13900002222" or not b2["text"].startswith("Your service ticket %s" % t2):
        fail("sms body (en) %r" % b2)
    if any(w.hook.seen(n) for n in (n1, n2)):
        fail("an SMS customer's notification also went by webhook")
    log("ok - SMS gateway: bearer token, {id, to, text} in the customer's language; 429 then 2xx")


def test_preferences(w, email_cases):
    """The preference holds for later notifications; none: the default."""
    nid, (t, addr, lang) = next((n, c) for n, c in email_cases.items() if c[1].startswith("ok") and c[2] == "en")
    n2 = send(w, "workorder.assigned", t, {"wo_id": "W" + t, "partner_id": "P7"})
    wait_for(lambda: len(w.smtp.received(addr)) == 2, 20, what="the second e-mail")
    m = w.smtp.received(addr)[1]
    if m["Message-ID"] != "<%s@brand.example>" % n2 or "service center P7" not in decoded_body(m):
        fail("partner_assigned e-mail %r" % decoded_body(m))
    if w.hook.seen(nid) or w.hook.seen(n2):
        fail("an e-mail customer's notification also went by webhook")
    t3 = new_id("TD")
    n3 = send(w, "ticket.created", t3, created(email="d@example.com"))     # no preference
    wait_for(lambda: w.hook.answered_2xx(n3), 20, what="the default channel")
    body = w.hook.seen(n3)[0]["body"]
    if body["channel"] != "webhook" or body["to"]["email"] != "d@example.com" or body["lang"] != "zh-CN":
        fail("default-channel body %r" % body)
    if w.smtp.received("d@example.com"):
        fail("no preference, yet an e-mail")
    log("ok - preferences: e-mail + en by e-mail in English, and the ticket's next notification too; none: the default (webhook)")


def test_time_zone(w):
    """Appointment times in the customer's own zone (the contact's tz), else TZ."""
    at = 1609459200000                      # 2021-01-01 00:00 UTC
    for tz, shown in (("America/New_York", "2020-12-31 19:00"), (None, "2021-01-01 08:00")):
        t = new_id("TZ")
        n1 = send(w, "ticket.created", t, created(phone="13900003333", channel="sms", language="en",
                                                  **({"tz": tz} if tz else {})))
        msg_id, (answer, why) = w.bus.call("workorder.appointment", t,
                                           {"wo_id": "W" + t, "partner_id": "P7", "appointment_ms": at})
        if answer != "ACK":
            fail("workorder.appointment: %s %s" % (answer, why))
        n2 = nt.expected_nid(msg_id, "appointment")
        wait_for(lambda: w.sms.answered_2xx(n1) and w.sms.answered_2xx(n2), 20, what="the appointment SMS")
        text = w.sms.seen(n2)[-1]["body"]["text"]
        if "is booked for %s." % shown not in text:
            fail("tz %s: %r, want %s" % (tz, text, shown))
    log("ok - appointment times in the customer's time zone (America/New_York), else the service's TZ")


def test_fallback(w):
    """A preference not configured here: the default, logged and counted."""
    w.notify.term()
    w.notify = start(w, "notification-nosms", ASP_NOTIFY_SMS_URL=None)
    t = new_id("TF")
    nid = send(w, "ticket.created", t, created(channel="sms"))
    wait_for(lambda: w.hook.answered_2xx(nid), 20, what="the fallback to the webhook")
    if w.sms.seen(nid):
        fail("sent by SMS in a process without SMS")
    wait_for(lambda: "preferred channel not configured here" in w.notify.text(), 5, what="the log line")
    if nt.metric(w.metrics_port, "notify_channel_fallback_total") != 1:
        fail("fallback metric %r" % nt.metric(w.metrics_port, "notify_channel_fallback_total"))
    w.notify.term()
    w.notify = start(w, "notification-2")
    log("ok - a preferred channel not configured here: sent by the default, logged, counted")


def test_kill(w):
    """SIGKILL mid-delivery: nothing lost, repeats carry the same id."""
    sent = {}
    for _ in range(harness.scaled(40, 15)):
        t = new_id("TKILL")
        sent[send(w, "ticket.created", t, created())] = t
    wait_for(lambda: sum(1 for n in sent if w.hook.seen(n)) >= 3, 20, what="deliveries under way")
    w.notify.kill()
    w.notify = start(w, "notification-3")
    wait_for(lambda: all(w.hook.answered_2xx(n) for n in sent), 60, what="every notification after the restart")
    repeats = 0
    for nid in sent:
        reqs = w.hook.seen(nid)
        if any(r["bad"] or r["headers"]["Idempotency-Key"] != nid or r["body"]["id"] != nid for r in reqs):
            fail("%s: a bad or mismatched request after the kill" % nid)
        repeats += len(reqs) - 1
    log("ok - SIGKILL mid-delivery: all %d delivered, %d repeat(s), each with the same id and a good signature"
        % (len(sent), repeats))


def test_bad_config(w):
    """A secret shorter than 32 bytes stops notification (exit 2, the reason)."""
    env = nt.notification_env(w.redis, free_port(), 0, w.hook.url, ASP_NOTIFY_WEBHOOK_SECRET="x" * 31)
    r = subprocess.run([binary("asp-notification")], env=env, capture_output=True, timeout=20 * nt.SLOW)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 2 or "secret 1 is 31 bytes; it must be 32..255 bytes" not in out:
        fail("short secret: status %s, %r" % (r.returncode, out[-300:]))
    env.pop("ASP_NOTIFY_WEBHOOK_SECRET")
    env["ASP_METRICS_PORT"] = str(free_port())
    p = nt.Proc("notification-unsigned", [binary("asp-notification")], env).start()
    wait_for(lambda: "webhooks go unsigned" in p.text(), 10, what="the unsigned warning")
    p.term()
    log("ok - a short secret: exit 2 with the reason; none: a warning at start")


def test_templates(w):
    """A bad templates folder: exit 2 with file:line; a bad reload keeps the
    templates in use; a good one (a change, or SIGHUP) takes effect."""
    src = os.path.join(harness.SOURCE_DIR, "deploy", "notify", "templates")
    tdir = os.path.join(WORK, "templates")
    shutil.copytree(src, tdir)
    en = os.path.join(tdir, "en.conf")
    good = open(en, encoding="utf-8").read()
    bad = good.replace("received = Your service ticket {ticket}", "received = Your ticket {tiket}", 1)
    line = good[:good.index("received = ")].count("\n") + 1
    open(en, "w", encoding="utf-8").write(bad)
    env = nt.notification_env(w.redis, free_port(), 0, w.hook.url, ASP_NOTIFY_TEMPLATES=tdir)
    r = subprocess.run([binary("asp-notification")], env=env, capture_output=True, timeout=20 * nt.SLOW)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 2 or "%s:%d: unknown variable {tiket}" % (en, line) not in out:
        fail("bad templates at start: status %s, %r" % (r.returncode, out[-400:]))
    os.remove(os.path.join(tdir, "zh-CN.conf"))
    r = subprocess.run([binary("asp-notification")], env=env, capture_output=True, timeout=20 * nt.SLOW)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 2 or "zh-CN.conf:0: cannot read" not in out:
        fail("missing language: status %s, %r" % (r.returncode, out[-400:]))
    shutil.copy(os.path.join(src, "zh-CN.conf"), tdir)
    open(en, "w", encoding="utf-8").write(good)
    w.notify.term()
    w.notify = start(w, "notification-templates", ASP_NOTIFY_TEMPLATES=tdir, ASP_NOTIFY_LANG="en")

    def received(words):
        t = new_id("TT")
        nid = send(w, "ticket.created", t, created())
        got = wait_for(lambda: w.hook.answered_2xx(nid), 20, what="a notification")
        text = w.hook.seen(nid)[0]["body"]["text"]
        if not text.startswith(words % t):
            fail("text %r, want %r" % (text, words % t))
    received("Your service ticket %s has been received")
    open(en, "w", encoding="utf-8").write(bad)
    wait_for(lambda: nt.metric(w.metrics_port, "notify_templates_reload_errors_total") == 1, 10,
             what="the refused reload")
    if "en.conf:%d: unknown variable {tiket}" % line not in w.notify.text():
        fail("the refused reload's reason is not logged")
    received("Your service ticket %s has been received")            # the old ones stay
    open(en, "w", encoding="utf-8").write(good.replace("received = Your service ticket {ticket} has been received.",
                                                       "received = Ticket {ticket} is in.", 1))
    wait_for(lambda: nt.metric(w.metrics_port, "notify_templates_reloads_total") == 1, 10, what="the reload")
    received("Ticket %s is in.")
    open(en, "w", encoding="utf-8").write(good)
    os.kill(w.notify.pid, signal.SIGHUP)
    wait_for(lambda: nt.metric(w.metrics_port, "notify_templates_reloads_total") == 2, 10, what="the SIGHUP reload")
    received("Your service ticket %s has been received")
    w.notify.term()
    w.notify = start(w, "notification-4")
    log("ok - templates: a bad file or a missing language refused at start (exit 2, file:line); a bad change "
        "keeps the templates in use (logged, counted); a good change and SIGHUP reload")


def test_end_to_end(w):
    """Through the real intake: the archive's e-mail, channel and language
    reach the customer; bad ones are 400 with the reason."""
    notify_env = {"ASP_NOTIFY_SMTP_URL": w.smtp.url, "ASP_NOTIFY_SMTP_FROM": FROM,
                  "ASP_NOTIFY_SMS_URL": w.sms.url, "ASP_NOTIFY_SMS_TOKEN": SMS_TOKEN,
                  "ASP_NOTIFY_BACKOFF_MS": "100", "ASP_NOTIFY_BACKOFF_MAX_MS": "300"}
    with harness.Cluster(partners=0, name="channels", service_env={"notification": notify_env}) as c:
        for body, why in (({"email": "li@localhost"}, "email: the domain must have a dot"),
                          ({"email": "li lei@example.com"}, "email: the part before @ may hold"),
                          ({"channel": "fax"}, "channel must be sms, email or webhook"),
                          ({"channel": "email"}, "channel email needs the customer's email"),
                          ({"email": ["x@y.z"]}, "email"),
                          ({"tz": "Mars/Olympus"}, "tz must be a time zone of tzdata")):
            cust = dict({"name": "Li Lei", "phone": "139%08d" % (hash(why) % 10 ** 8), "region": "north"}, **body)
            status, reply = c.http("POST", "/v1/customers", cust)
            if status != 400 or reply["error"]["code"] != "invalid_field" or why not in reply["error"]["message"]:
                fail("POST /v1/customers %r: %s %r" % (body, status, reply))
        made = {}
        for key, extra in (("email_en", {"email": "li.lei@example.com", "channel": "email", "language": "en"}),
                           ("sms", {"channel": "sms"}), ("none", {})):
            phone = "137%08d" % (len(made) + 1000 * os.getpid() % 10 ** 8)
            status, cust = c.http("POST", "/v1/customers", dict({"name": "Li Lei", "phone": phone, "region": "north"}, **extra))
            if status != 201 or any(cust.get(k) != v for k, v in extra.items()):
                fail("POST /v1/customers %r: %s %r" % (extra, status, cust))
            status, t = c.create_ticket(customer=None, customer_id=cust["id"])
            if status != 201:
                fail("ticket for %s: %s %r" % (key, status, t))
            made[key] = (t["id"], phone)
        tid, _ = made["email_en"]
        wait_for(lambda: any(str(m["Subject"]) == "Your service ticket %s" % tid for m in w.smtp.received("li.lei@example.com")),
                 30, what="the English e-mail")
        m = [m for m in w.smtp.received("li.lei@example.com") if tid in str(m["Subject"])][0]
        if not decoded_body(m).startswith("Your service ticket %s has been received" % tid):
            fail("e-mail body %r" % decoded_body(m))
        tid, phone = made["sms"]
        wait_for(lambda: any(tid in r["body"].get("text", "") and r["status"] == 200 for r in w.sms.requests),
                 30, what="the SMS")
        sms = [r["body"] for r in w.sms.requests if tid in r["body"].get("text", "")][0]
        if sms["to"] != phone or "已受理" not in sms["text"]:
            fail("SMS %r" % sms)
        tid, _ = made["none"]

        def by_default():
            return [n for n in c.customer_records() if n.get("ticket_id") == tid and n.get("template") == "received"]
        got = wait_for(by_default, 30, what="the default channel (the simulated customer)")
        if got[0]["channel"] != "webhook" or got[0]["lang"] != "zh-CN":
            fail("default-channel notification %r" % got[0])
    log("ok - through intake: bad email, channel, tz 400 with the reason; e-mail + en gets \"received\" by e-mail in English, "
        "sms by SMS, none by the default webhook")


def main():
    ok = False
    w = None
    try:
        for b in ("asp-notification", "asp-sim-customer"):
            binary(b)
        test_worked_example()
        w = start_world()
        test_webhook(w)
        test_sim_customer(w)
        email_cases = test_smtp(w)
        test_sms(w)
        test_preferences(w, email_cases)
        test_time_zone(w)
        test_fallback(w)
        test_kill(w)
        test_bad_config(w)
        test_templates(w)
        test_end_to_end(w)
        if w.notify.term() != 0:
            fail("notification did not exit cleanly on SIGTERM")
        nt.check_sanitizers()
        ok = True
    finally:
        nt.finish(ok, (w.hook, w.sms, w.smtp) if w else ())


if __name__ == "__main__":
    run(main, name="channels_test")
