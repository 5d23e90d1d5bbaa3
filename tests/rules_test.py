#!/usr/bin/python3
# ctest: TIMEOUT 300 LABELS integration threads
"""notification's rules file (docs/notifications.md, "Rules") against real
local receivers: a webhook, an SMTP server and an SMS gateway
(tests/receivers.py), a real redis-server, asp-notification on its bus.

Covers:
- a bad rules file at start: exit 2 with <file>:<line>: <why>;
- one sla.escalated fanned out to the customer (e-mail, en), the ticket's
  owner (from ticket.created; e-mail, en, from the directory) and the
  supervisor sla-timer named in `to` (SMS, zh-CN), each with its own id
  (source, template, recipient) and address; a redelivery makes nothing new;
- ticket.owner_changed: the next owner notification goes to the new owner;
- de-duplication: a second sla.warning of the same clock within the window
  is recorded 'deduplicated' (counted in /metrics) and not sent; another
  clock's is sent;
- rate limit (2 SMS per window per address): the third is deferred to
  the next window (state 'deferred', in the retry set), not sent, not lost;
- quiet hours: a customer whose zone (picked from the current UTC hour) is
  at 02:00 now gets no SMS: recorded 'scheduled' until 08:00 their time, in
  the retry set; SIGKILL of notification and a restart lose nothing; when
  the time comes (the score moved to now) it is sent; an urgent rule's SMS
  passes at night;
- business hours: a business_hours rule for a staff member whose calendar is
  closed now waits for its next opening; the same sla.breached reaches the
  ticket region's supervisor as sla-timer's policy file names them;
- reload: a bad change refused with file:line (the rules in use stay,
  counted), a good change and SIGHUP take effect.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/rules_test.py
"""
import datetime
import hashlib
import os
import signal
import subprocess
import time
import zoneinfo

import notification_test as nt
import receivers
from harness import binary, free_port, new_id, run, wait_for

WORK = nt.WORK
SMS_TOKEN = "sms-gateway-token-for-tests"
SECRET = b"whsec_rules_0123456789abcdef0123456789abcdef"
log, fail = nt.log, nt.fail

def office_hours():
    """Daily hours (UTC) that open 2 hours from now: closed now."""
    start = (datetime.datetime.now(datetime.timezone.utc).hour + 2) % 24
    return "mon-sun %02d:00-%02d:%s" % (start, start if start == 23 else start + 1, "59" if start == 23 else "00"), start


OFFICE, OPENS = office_hours()

RULES = """\
[settings]
quiet = sms 21:00-08:00
rate = sms 2/1d

[event ticket.created]
notify = customer received preferred
notify = owner received preferred

[event sla.escalated]
notify = customer sla_escalated preferred
notify = owner sla_escalated preferred
notify = supervisor sla_escalated preferred

[event sla.warning]
notify = owner sla_warning email dedup=10m

[event sla.compensation]
notify = customer sla_compensation preferred urgent

[event ticket.closed]
notify = customer closed preferred

[event sla.breached]
notify = staff:office.o sla_breached email business_hours
notify = supervisor sla_breached email

[staff sup-duty@brand.example]
email = sup-duty@brand.example

[calendar office]
zone = UTC
hours = %s

[staff office.o]
email = office.o@brand.example
calendar = office

[staff li.lei]
email = li.lei@brand.example
channel = email
lang = en

[staff han.mm]
email = han.mm@brand.example
sms = 13900000002
lang = zh-CN

[staff sup.wang]
sms = 13900000001
channel = sms
lang = zh-CN

[staff rate.r]
sms = 13900000077
lang = en
""" % OFFICE


def nid(msg_id, tpl, rcpt=None):
    what = "%s/%s" % (msg_id, tpl) + ("/%s" % rcpt if rcpt else "")
    return "N" + hashlib.sha1(what.encode()).hexdigest()[:24]


def note(w, ticket, n):
    return w.redis.hgetall(nt.sk("notify:n:" + n, ticket))


class World:
    pass


def start(w, name, **extra):
    env = nt.notification_env(w.redis, w.bus_port, w.metrics_port, w.hook.url, **{
        "ASP_NOTIFY_SMTP_URL": w.smtp.url, "ASP_NOTIFY_SMTP_FROM": "service@brand.example",
        "ASP_NOTIFY_SMS_URL": w.sms.url, "ASP_NOTIFY_SMS_TOKEN": SMS_TOKEN,
        "ASP_NOTIFY_RULES": w.rules, "ASP_NOTIFY_QUIET_HOURS": "on",
        "ASP_NOTIFY_WEBHOOK_SECRET": SECRET.decode(),
        "ASP_NOTIFY_BACKOFF_MS": "100", "ASP_NOTIFY_BACKOFF_MAX_MS": "300"})
    env.update(extra)
    return nt.start_notification(w, name, env)


def send(w, etype, ticket, body, msg_id=None):
    msg_id, (answer, why) = w.bus.call(etype, ticket, body, msg_id=msg_id)
    if answer != "ACK":
        fail("%s for %s: %s %s" % (etype, ticket, answer, why))
    return msg_id


def created(owner, phone, **customer):
    body = nt.created_body("李雷", phone)
    body["owner"] = owner
    body.update({"customer_" + k: v for k, v in customer.items()})
    return body


def mails(w, to, ticket):
    return [m for m in w.smtp.received(to) if ticket in m.get_content()]


def sms_to(w, phone, ticket=None):
    return [r["body"] for r in w.sms.requests
            if r["body"].get("to") == phone and r["status"] == 200 and (ticket is None or ticket in r["body"]["text"])]


def test_bad_at_start(w):
    path = os.path.join(WORK, "bad.conf")
    with open(path, "w") as f:
        f.write(RULES.replace("notify = owner sla_warning email dedup=10m", "notify = owner sla_warning pigeon"))
    line = RULES[:RULES.index("notify = owner sla_warning")].count("\n") + 1
    env = nt.notification_env(w.redis, free_port(), 0, w.hook.url, ASP_NOTIFY_RULES=path)
    r = subprocess.run([binary("asp-notification")], env=env, capture_output=True, timeout=20 * nt.SLOW)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 2 or "%s:%d: unknown channel 'pigeon'" % (path, line) not in out:
        fail("bad rules at start: status %s, %r" % (r.returncode, out[-400:]))
    log("ok - a bad rules file at start: exit 2 with file:line")


def test_fan_out(w):
    t = new_id("TF")
    send(w, "ticket.created", t, created("li.lei", "13700000001", email="cust@example.com", channel="email",
                                          language="en"))
    body = {"clock": "resolution", "role": "supervisor", "step": 1, "to": "sup.wang", "due_ms": 1}
    m = send(w, "sla.escalated", t, body)
    ids = {"customer": nid(m, "sla_escalated"), "owner": nid(m, "sla_escalated", "owner:li.lei"),
           "supervisor": nid(m, "sla_escalated", "supervisor:sup.wang")}
    want = {"customer": ("email", "cust@example.com", "en"), "owner": ("email", "li.lei@brand.example", "en"),
            "supervisor": ("sms", "13900000001", "zh-CN")}
    for who, n in ids.items():
        h = wait_for(lambda: note(w, t, n).get("state") == "delivered" and note(w, t, n), 20,
                     what="%s's notification delivered" % who)
        if (h["channel"], h["to"], h["lang"]) != want[who]:
            fail("%s: %r, want %r" % (who, (h["channel"], h["to"], h["lang"]), want[who]))
    if len(mails(w, "cust@example.com", t)) != 2 or len(mails(w, "li.lei@brand.example", t)) != 2:
        fail("e-mails: customer %d, owner %d (want 2 each: received, escalated)"
             % (len(mails(w, "cust@example.com", t)), len(mails(w, "li.lei@brand.example", t))))
    owner_text = [x for x in mails(w, "li.lei@brand.example", t) if "received" not in x.get_content()]
    sms = sms_to(w, "13900000001", t)
    if len(sms) != 1 or sms[0]["id"] != ids["supervisor"]:
        fail("supervisor's SMS %r" % sms)
    if not any("\u4e00" <= ch <= "\u9fff" for ch in sms[0]["text"]):
        fail("supervisor's SMS is not in Chinese: %r" % sms[0]["text"])
    if not owner_text or any("\u4e00" <= ch <= "\u9fff" for ch in owner_text[0].get_content()):
        fail("owner's e-mail is not in English: %r" % [x.get_content() for x in owner_text])
    send(w, "sla.escalated", t, body, msg_id=m)         # a redelivery
    time.sleep(0.5)
    if len(sms_to(w, "13900000001", t)) != 1 or len(mails(w, "li.lei@brand.example", t)) != 2:
        fail("a redelivered event notified again")
    send(w, "ticket.owner_changed", t, {"owner": "han.mm", "previous": "li.lei"})
    m2 = send(w, "sla.warning", t, {"clock": "first_response", "due_ms": 1})
    wait_for(lambda: mails(w, "han.mm@brand.example", t), 20, what="the new owner's e-mail")
    if mails(w, "li.lei@brand.example", t)[2:] or note(w, t, nid(m2, "sla_warning", "owner:han.mm"))["to"] != "han.mm@brand.example":
        fail("sla.warning after owner_changed did not go to the new owner only")
    log("ok - one sla.escalated: customer (e-mail, en), owner (e-mail, en), supervisor from `to` (SMS, zh-CN), "
        "own ids; a redelivery makes nothing new; owner_changed moves the owner's notifications")
    return t


def test_dedup(w, t):
    before = nt.metric(w.metrics_port, "notify_deduplicated_total") or 0
    m1 = send(w, "sla.warning", t, {"clock": "resolution", "due_ms": 1})
    m2 = send(w, "sla.warning", t, {"clock": "resolution", "due_ms": 2})
    m3 = send(w, "sla.warning", t, {"clock": "onsite_arrival", "due_ms": 3})
    n1, n2, n3 = (nid(m, "sla_warning", "owner:han.mm") for m in (m1, m2, m3))
    wait_for(lambda: note(w, t, n1).get("state") == "delivered" and note(w, t, n3).get("state") == "delivered",
             20, what="the first warning of each clock")
    h2 = note(w, t, n2)
    if h2.get("state") != "deduplicated" or h2.get("duplicate_of") != n1:
        fail("the repeat: %r" % h2)
    wait_for(lambda: nt.metric(w.metrics_port, "notify_deduplicated_total") == before + 1, 10,
             what="notify_deduplicated_total")
    if len([x for x in mails(w, "han.mm@brand.example", t) if "resolution" in x.get_content().lower()
            or "解决" in x.get_content()]) > 1 or len(mails(w, "han.mm@brand.example", t)) != 3:
        fail("e-mails to the owner: %d (want 3: first_response, resolution, onsite_arrival)"
             % len(mails(w, "han.mm@brand.example", t)))
    log("ok - de-duplication: the same clock's second warning recorded 'deduplicated' (counted), not sent; "
        "another clock's sent")


def test_rate(w):
    # Not within a few seconds of the day's window end (windows are aligned
    # to the epoch): the three must fall into one window.
    day = 86400
    left = day - time.time() % day
    if left < 30:
        time.sleep(left + 1)
    tickets = [new_id("TR") for _ in range(3)]
    ids = []
    for i, t in enumerate(tickets):
        m = send(w, "ticket.created", t, created("rate.r", "1360000000%d" % i))
        ids.append(nid(m, "received", "owner:rate.r"))
    wait_for(lambda: sorted(note(w, t, n).get("state") for t, n in zip(tickets, ids))
             == ["deferred", "delivered", "delivered"], 20, what="two delivered, one deferred")
    t, n = [(t, n) for t, n in zip(tickets, ids) if note(w, t, n)["state"] == "deferred"][0]
    due = int(note(w, t, n)["due_ms"])
    next_window = (int(time.time()) // day + 1) * day * 1000
    if due != next_window or w.redis.cmd("ZSCORE", nt.sk("notify:retry", t), n) in (None, b"", ""):
        fail("deferred to %s (want %s), in retry: %r" % (due, next_window, w.redis.cmd("ZSCORE", nt.sk("notify:retry", t), n)))
    if len(sms_to(w, "13900000077")) != 2:
        fail("rate-limited address got %d SMS" % len(sms_to(w, "13900000077")))
    wait_for(lambda: nt.metric(w.metrics_port, "notify_rate_deferred_total") == 1, 10, what="notify_rate_deferred_total")
    log("ok - rate limit: the third SMS to one address in the window deferred to the next window, not sent, kept")


def night_zone():
    """An Etc/GMT zone where it is 02:00-02:59 now (6 h from 08:00)."""
    off = (2 - datetime.datetime.now(datetime.timezone.utc).hour) % 24
    if off > 14:
        off -= 24
    # Etc/GMT signs are inverted: Etc/GMT-9 is UTC+9.
    return "Etc/GMT%+d" % -off if off else "Etc/UTC"


def test_quiet(w):
    zone = night_zone()
    t = new_id("TQ")
    phone = "13600000009"
    m = send(w, "ticket.created", t, created("", phone, channel="sms", tz=zone))
    n = nid(m, "received")
    h = wait_for(lambda: note(w, t, n).get("state") == "scheduled" and note(w, t, n), 10, what="scheduled")
    local = datetime.datetime.now(zoneinfo.ZoneInfo(zone))
    eight = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if int(h["due_ms"]) != int(eight.timestamp() * 1000):
        fail("scheduled for %s, want 08:00 in %s (%s)" % (h["due_ms"], zone, int(eight.timestamp() * 1000)))
    # An urgent rule passes at night, to the same customer.
    u = send(w, "sla.compensation", t, {"clock": "onsite_arrival", "amount": 500, "rule": "late_onsite",
                                        "approver": "agent"})
    wait_for(lambda: note(w, t, nid(u, "sla_compensation")).get("state") == "delivered", 20, what="the urgent SMS")
    w.notify.kill()                                     # SIGKILL while it waits
    w.notify = start(w, "notification-after-kill")
    time.sleep(0.5)
    score = w.redis.cmd("ZSCORE", nt.sk("notify:retry", t), n)
    if note(w, t, n).get("state") != "scheduled" or int(float(score)) != int(h["due_ms"]):
        fail("after SIGKILL: %r, score %r" % (note(w, t, n), score))
    if [s for s in sms_to(w, phone) if s["id"] == n]:
        fail("the SMS went out during the quiet hours")
    # 08:00 comes: the same entry, due now, is promoted and sent.
    w.redis.cmd("ZADD", nt.sk("notify:retry", t), str(int(time.time() * 1000)), n)
    wait_for(lambda: [s for s in sms_to(w, phone) if s["id"] == n], 20, what="the SMS after the quiet hours")
    log("ok - quiet hours (%s, 02:xx now): SMS scheduled for 08:00 their time, kept across SIGKILL, sent when due; "
        "an urgent one sent at night" % zone)


def test_business_hours(w):
    t = new_id("TB")
    send(w, "ticket.created", t, created("", "13400000001"))     # region SH
    m = send(w, "sla.breached", t, {"clock": "resolution", "due_ms": 1})
    # The region's supervisor: sla-timer's policy file (the built-in one:
    # [region *] supervisor = sup-duty@brand.example), not a second list.
    sup = nid(m, "sla_breached", "supervisor:sup-duty@brand.example")
    wait_for(lambda: note(w, t, sup).get("state") == "delivered", 20, what="the region's supervisor's e-mail")
    if note(w, t, sup)["to"] != "sup-duty@brand.example" or not mails(w, "sup-duty@brand.example", t):
        fail("supervisor: %r" % note(w, t, sup))
    n = nid(m, "sla_breached", "staff:office.o")
    h = wait_for(lambda: note(w, t, n).get("state") == "scheduled" and note(w, t, n), 10, what="scheduled")
    now = datetime.datetime.now(datetime.timezone.utc)
    opens = now.replace(hour=OPENS, minute=0, second=0, microsecond=0)
    if opens < now:
        opens += datetime.timedelta(days=1)
    if int(h["due_ms"]) != int(opens.timestamp() * 1000) or w.smtp.received("office.o@brand.example"):
        fail("business hours: due %s, want %s (%s); sent %d" % (h["due_ms"], int(opens.timestamp() * 1000), OFFICE,
                                                               len(w.smtp.received("office.o@brand.example"))))
    log("ok - business hours: a business_hours rule waits for the staff calendar's next opening (%s UTC); "
        "the region's supervisor from sla-timer's policy file told at once" % OFFICE)


def test_reload(w):
    t = new_id("TL")
    path = w.rules
    bad = RULES.replace("[event ticket.closed]", "[event ticket.closed]\nnotify = owner closed carrier-pigeon")
    line = bad[:bad.index("notify = owner closed")].count("\n") + 1
    with open(path, "w") as f:
        f.write(bad)
    wait_for(lambda: nt.metric(w.metrics_port, "notify_rules_reload_errors_total") == 1, 10, what="the refused reload")
    if "%s:%d: unknown channel 'carrier-pigeon'" % (path, line) not in w.notify.text():
        fail("the refused reload's reason is not logged")
    send(w, "ticket.created", t, created("li.lei", "13500000001"))
    m = send(w, "ticket.closed", t, {"reason": "done"})
    wait_for(lambda: note(w, t, nid(m, "closed")).get("state") == "delivered", 20, what="closed (old rules)")
    if note(w, t, nid(m, "closed", "owner:li.lei")):
        fail("the refused rules were used")
    with open(path, "w") as f:
        f.write(bad.replace("carrier-pigeon", "email"))
    wait_for(lambda: nt.metric(w.metrics_port, "notify_rules_reloads_total") == 1, 10, what="the reload")
    m = send(w, "ticket.closed", t, {"reason": "again"})
    wait_for(lambda: note(w, t, nid(m, "closed", "owner:li.lei")).get("state") == "delivered", 20,
             what="the owner's closed (new rules)")
    with open(path, "w") as f:
        f.write(RULES)
    os.kill(w.notify.pid, signal.SIGHUP)
    wait_for(lambda: nt.metric(w.metrics_port, "notify_rules_reloads_total") == 2, 10, what="the SIGHUP reload")
    m = send(w, "ticket.closed", t, {"reason": "third"})
    wait_for(lambda: note(w, t, nid(m, "closed")).get("state") == "delivered", 20, what="closed")
    if note(w, t, nid(m, "closed", "owner:li.lei")):
        fail("the owner rule outlived the SIGHUP reload")
    log("ok - reload: a bad change refused with file:line (old rules stay, counted); a change and SIGHUP reload")


def main():
    ok = False
    w = World()
    try:
        binary("asp-notification")
        w.redis = nt.start_redis("redis")
        w.hook = receivers.Webhook([SECRET], None).start()
        w.smtp = receivers.SmtpServer(None).start()
        w.sms = receivers.SmsGateway(SMS_TOKEN, None).start()
        w.bus_port, w.metrics_port = free_port(), free_port()
        w.rules = os.path.join(WORK, "rules.conf")
        with open(w.rules, "w") as f:
            f.write(RULES)
        test_bad_at_start(w)
        w.notify = start(w, "notification")
        w.bus = nt.Bus("tcp://127.0.0.1:%d" % w.bus_port)
        t = test_fan_out(w)
        test_dedup(w, t)
        test_rate(w)
        test_quiet(w)
        test_business_hours(w)
        test_reload(w)
        if w.notify.term() != 0:
            fail("notification did not exit 0 on SIGTERM")
        nt.check_sanitizers()
        ok = True
    finally:
        nt.finish(ok, [x for x in (getattr(w, k, None) for k in ("hook", "sms", "smtp")) if x])

if __name__ == "__main__":
    run(main, name="rules_test")
