#!/usr/bin/python3
# ctest: TIMEOUT 180 LABELS integration threads
"""asp-sim-customer loses no survey to a SIGKILL.

The customer answers a survey_request webhook 200 and then posts the
survey to intake from its own thread, retrying 409 not_completed. A kill
in between used to lose the answer (the ticket then waits for the 7-day
auto-close: harness_selftest's flake). Against a Python stand-in for
intake's survey endpoint, with the customer SIGKILLed:

- before its first post (a long survey delay) and while it retries
  409 not_completed: after a restart both surveys are answered (202);
- after the answers were taken: a restart queues nothing again
  (<record>.surveys settles them);
- with <record>.surveys lost: a restart posts both again, intake says
  already_answered, the customer takes it as done;
- the record keeps one line per notification throughout (other tests
  count them); SIGTERM exits 0.
"""
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.request

import harness
from harness import binary, free_port, new_id, run, wait_for

WORK = tempfile.mkdtemp(prefix="sim-customer-test-")


class Intake(http.server.ThreadingHTTPServer):
    """POST /v1/tickets/{id}/survey: 409 not_completed until opened, then
    202 once per ticket, then 409 already_answered (as intake does)."""
    daemon_threads = True

    def __init__(self, port):
        self.posts = []
        self.answered = set()
        self.open = False
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), IntakeHandler)

    def statuses(self, ticket):
        with self.lock:
            return [p["status"] for p in self.posts if p["ticket"] == ticket]


class IntakeHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        m = re.fullmatch(r"/v1/tickets/([A-Za-z0-9._:-]+)/survey", self.path)
        srv = self.server
        with srv.lock:
            if not m:
                status, code = 404, "not_found"
            elif m.group(1) in srv.answered:
                status, code = 409, "already_answered"
            elif not srv.open:
                status, code = 409, "not_completed"
            else:
                srv.answered.add(m.group(1))
                status, code = 202, None
            if m:
                srv.posts.append({"ticket": m.group(1), "status": status})
        if code:
            raw = json.dumps({"error": {"code": code, "message": code}}).encode()
        else:
            raw = json.dumps({"ticket_id": m.group(1), "status": "survey_received"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


def request(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Customer:
    def __init__(self, intake_port):
        self.port = free_port()
        self.record = os.path.join(WORK, "customer.jsonl")
        self.intake = "http://127.0.0.1:%d" % intake_port
        self.proc = None

    def start(self, delay_ms=0):
        argv = [binary("asp-sim-customer"), "--port", str(self.port), "--record", self.record,
                "--intake", self.intake, "--survey-tries", "1000", "--survey-delay-ms", str(delay_ms)]
        env = dict(os.environ, ASP_LOG_LEVEL="info")
        self.proc = harness.Proc("customer", argv, env, os.path.join(WORK, "customer.log")).start()
        # The record is read back (and surveys queued again) before the port opens.
        wait_for(lambda: self.alive_stats(), 10, what="the sim customer")
        return self

    def alive_stats(self):
        try:
            return self.stats()
        except OSError:
            if not self.proc.running():
                raise AssertionError("the sim customer exited: %s" % self.proc.tail(10))
            return None

    def stats(self):
        return request("GET", "http://127.0.0.1:%d/stats" % self.port)[1]

    def survey_request(self, ticket):
        nid = new_id("N")
        body = {"id": nid, "ticket_id": ticket, "event": "visit.scheduled", "template": "survey_request",
                "audience": "customer", "lang": "en", "text": "How did we do?", "to": None,
                "data": {}, "created_ms": 1}
        status, reply = request("POST", "http://127.0.0.1:%d/webhook" % self.port, body,
                                {"Idempotency-Key": nid})
        assert status == 200 and reply["duplicate"] is False, (status, reply)
        return nid

    def lines(self):
        with open(self.record, encoding="utf-8") as f:
            return f.read().splitlines()


def main():
    binary("asp-sim-customer")
    intake = Intake(free_port())
    threading.Thread(target=intake.serve_forever, daemon=True).start()
    c = Customer(intake.server_address[1])
    ok = False
    try:
        t1, t2 = new_id("T"), new_id("T")

        # Killed after the 200, before its first post.
        c.start(delay_ms=3600 * 1000)
        c.survey_request(t1)
        c.proc.kill()
        assert intake.statuses(t1) == [], intake.posts

        # Killed while retrying 409 not_completed (t1 queued again at start).
        c.start()
        c.survey_request(t2)
        wait_for(lambda: intake.statuses(t1) and intake.statuses(t2), 10,
                 what="both surveys tried (409 not_completed)")
        assert c.stats().get("surveys_resumed") == 1, c.stats()
        c.proc.kill()
        harness.log("ok - killed after the 200 and while retrying 409 not_completed")

        # Intake takes answers now: the restarted customer answers both.
        with intake.lock:
            intake.open = True
        c.start()
        wait_for(lambda: 202 in intake.statuses(t1) and 202 in intake.statuses(t2), 20,
                 what="both surveys answered (202)")
        for t in (t1, t2):
            assert intake.statuses(t).count(202) == 1, intake.statuses(t)
        assert c.stats().get("surveys_resumed") == 2, c.stats()
        assert len(c.lines()) == 2, c.lines()
        harness.log("ok - after a restart both surveys are answered")

        # Settled answers are not queued again.
        c.proc.kill()
        c.start()
        st = c.stats()
        assert st["surveys_resumed"] == 0 and st["surveys_pending"] == 0, st
        harness.log("ok - a restart after the answers queues nothing")

        # Without the done file (as if killed between 202 and its line):
        # posted again, already_answered taken as done.
        c.proc.kill()
        os.unlink(c.record + ".surveys")
        c.start()
        assert c.stats()["surveys_resumed"] == 2, c.stats()
        st = wait_for(lambda: (lambda s: s["surveys_already_answered"] == 2 and s)(c.stats()), 20,
                      what="already_answered taken as done")
        assert st["surveys_failed"] == 0 and st["surveys_pending"] == 0, st
        for t in (t1, t2):
            assert intake.statuses(t)[-1] == 409 and intake.statuses(t).count(202) == 1, intake.statuses(t)
        assert len(c.lines()) == 2, c.lines()
        with open(c.record + ".surveys", encoding="utf-8") as f:
            assert sorted(line.split()[1] for line in f) == sorted([t1, t2])
        harness.log("ok - a survey answered twice: already_answered is done")

        assert c.proc.terminate() == 0, c.proc.tail(10)
        assert not c.proc.failures, c.proc.failures
        harness.log("ok - one record line per notification; SIGTERM exits 0")
        ok = True
    finally:
        if c.proc:
            c.proc.kill()
        intake.shutdown()
        if ok and os.environ.get("ASP_KEEP_TMP") != "1":
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            harness.log("logs kept in %s" % WORK)
            if c.proc:
                harness.log(c.proc.tail(30))


if __name__ == "__main__":
    run(main, name="sim_customer_test")
