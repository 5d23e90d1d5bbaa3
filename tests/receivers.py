"""Local receivers for notification's channels (stdlib only): a webhook that
verifies signatures with Python's hmac (the independent implementation of
docs/notifications.md, section 2), an SMTP server (asyncio, section 3) and
an SMS gateway (section 4). tests/channels_test.py and bench/notify_bench.py
start them; each records what it got and can misbehave on cue.

    hook = Webhook(secrets=[b"..."], misbehave=lambda body, n: None).start()
    smtp = SmtpServer(misbehave=lambda rcpt, n: None).start()
    sms  = SmsGateway(token="...", misbehave=lambda body, n: None).start()

misbehave gets the request (the JSON body; for SMTP the recipient) and the
number of requests for that id (recipient) before this one, and returns
None (behave) or what to do instead: for HTTP an int status, "delay:<s>"
(answer after s seconds, in time), "slow:<s>" (answer 200 after s seconds,
past the sender's timeout: recorded late), "never" (read the request, never answer),
"garbage" (bytes that are not HTTP, then close); for SMTP "451", "550"
(the answer to RCPT TO) or "drop" (close the connection in the middle of
DATA).
"""

import asyncio
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

WINDOW_S = 300


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sign(secret, timestamp, body):
    """v1 signature (hex) of body at timestamp: the spec, in Python."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class _Http(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Receiver:
    """What the HTTP receivers share: a server thread and a request log."""

    handler = None

    def __init__(self, misbehave=None, port=None):
        self.misbehave = misbehave or (lambda body, n: None)
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.requests = []          # dicts: id, headers, body, status, late, ...
        self.server = _Http(("127.0.0.1", self.port), self.handler)
        self.server.owner = self

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def seen(self, nid):
        with self.lock:
            return [r for r in self.requests if r["id"] == nid]

    def answered_2xx(self, nid):
        """Requests for nid answered 2xx in time (the sender saw them)."""
        return [r for r in self.seen(nid) if 200 <= r["status"] < 300 and not r["late"]]

    def count(self):
        with self.lock:
            return len(self.requests)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # headers and body go in two writes

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        try:
            self.wfile.write(raw)
        except OSError:
            pass                        # a late answer: the sender hung up

    def do_POST(self):
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        nid = body.get("id", "")
        rec = {"id": nid, "headers": dict(self.headers), "raw": raw, "body": body, "status": 0,
               "late": False, "time": time.time()}
        check = owner.check(self.headers, raw, body, rec)
        with owner.lock:
            before = sum(1 for r in owner.requests if r["id"] == nid)
            owner.requests.append(rec)
        todo = owner.misbehave(body, before) if check is None else None
        if isinstance(todo, str) and todo.startswith("delay:"):
            time.sleep(float(todo[6:]))
            todo = None
        if isinstance(todo, str) and todo.startswith("slow:"):
            time.sleep(float(todo[5:]))
            rec["late"] = True          # the sender has given up by now
            todo = None
        if todo == "never":
            rec["status"] = -1
            time.sleep(3600)
            return
        if todo == "garbage":
            rec["status"] = -2
            self.wfile.write(b"\x00\xffthis is not HTTP\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if check is not None:
            rec["status"] = check[0]
            self.answer(check[0], {"error": {"code": "refused", "message": check[1]}})
            return
        status = todo if isinstance(todo, int) else 200
        rec["status"] = status
        if 200 <= status < 300:
            with owner.lock:
                rec["duplicate"] = nid in owner.done
                owner.done.add(nid)
            self.answer(status, {"id": nid, "duplicate": rec["duplicate"]})
        else:
            self.answer(status, {"error": {"code": "not_now", "message": "status %d on cue" % status}})


class Webhook(_Receiver):
    """A webhook receiver that verifies every request as docs/notifications.md
    says, with Python's hmac: each v1= signature against the secret in the
    same position (rotation: new first), the timestamp within 300 s, the
    Idempotency-Key equal to the body's id. A request failing any of it is
    answered 401 and recorded with bad set to the reason."""

    handler = _Handler

    def __init__(self, secrets, misbehave=None, port=None):
        self.secrets = list(secrets)
        self.done = set()               # ids answered 2xx
        super().__init__(misbehave, port)

    def check(self, headers, raw, body, rec):
        rec["bad"] = None
        ts = headers.get("X-ASP-Timestamp", "")
        sigs = [s.strip() for s in headers.get("X-ASP-Signature", "").split(",") if s.strip()]
        rec["timestamp"], rec["signatures"] = ts, sigs
        if not ts.isdigit() or abs(time.time() - int(ts)) > WINDOW_S:
            rec["bad"] = "timestamp %r outside the window" % ts
        elif len(sigs) != len(self.secrets):
            rec["bad"] = "%d signatures for %d secrets" % (len(sigs), len(self.secrets))
        else:
            for secret, sig in zip(self.secrets, sigs):
                if not sig.startswith("v1=") or not hmac.compare_digest(sig[3:], sign(secret, ts, raw)):
                    rec["bad"] = "signature %r does not verify" % sig
        if rec["bad"] is None and headers.get("Idempotency-Key") != body.get("id"):
            rec["bad"] = "Idempotency-Key %r is not the body's id" % headers.get("Idempotency-Key")
        return (401, rec["bad"]) if rec["bad"] else None


class SmsGateway(_Receiver):
    """An SMS gateway adapter as docs/notifications.md section 4 specifies:
    Bearer token checked (401), body {"id","to","text"} checked (422)."""

    handler = _Handler

    def __init__(self, token, misbehave=None, port=None):
        self.token = token
        self.done = set()
        super().__init__(misbehave, port)

    def check(self, headers, raw, body, rec):
        if headers.get("Authorization") != "Bearer " + self.token:
            return (401, "bad token")
        if sorted(body) != ["id", "text", "to"] or not all(isinstance(body[k], str) and body[k] for k in body):
            return (422, "the body must be {id, to, text}, non-empty strings")
        if headers.get("Idempotency-Key") != body["id"]:
            return (422, "Idempotency-Key is not the id")
        return None


class SmtpServer:
    """A small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA,
    RSET, NOOP, QUIT) on its own asyncio loop in a thread. Each message
    taken is parsed (email.policy.default) into messages; misbehave(rcpt, n)
    (n: the RCPTs to that address before) may answer RCPT 451 or 550, or
    drop the connection in the middle of DATA ("drop"; the lines read so
    far are kept in dropped)."""

    def __init__(self, misbehave=None, port=None):
        self.misbehave = misbehave or (lambda rcpt, n: None)
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.messages = []          # (envelope rcpts, email.message.EmailMessage)
        self.rcpts = {}             # address -> RCPTs seen
        self.replies = []           # (address, code) of every RCPT
        self.dropped = []           # partial DATA of each drop
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    def received(self, to=None):
        with self.lock:
            return [m for rcpts, m in self.messages if to is None or to in rcpts]

    async def _session(self, reader, writer):
        def say(line):
            writer.write(line.encode() + b"\r\n")
        say("220 test ESMTP ready")
        rcpts, drop = [], False
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").strip()
                verb = cmd[:4].upper()
                if verb in ("EHLO", "HELO"):
                    say("250-test" if verb == "EHLO" else "250 test")
                    if verb == "EHLO":
                        say("250-8BITMIME")
                        say("250 SIZE 10000000")
                elif verb == "MAIL":
                    rcpts, drop = [], False
                    say("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr = cmd[cmd.find("<") + 1:cmd.rfind(">")]
                    with self.lock:
                        n = self.rcpts.get(addr, 0)
                        self.rcpts[addr] = n + 1
                    todo = self.misbehave(addr, n)
                    with self.lock:
                        self.replies.append((addr, todo if todo in ("451", "550") else "250"))
                    if todo == "451":
                        say("451 4.3.0 try again later")
                    elif todo == "550":
                        say("550 5.1.1 no such mailbox")
                    else:
                        drop = drop or todo == "drop"
                        rcpts.append(addr)
                        say("250 2.1.5 ok")
                elif verb == "DATA":
                    if not rcpts:
                        say("503 5.5.1 no recipients")
                        continue
                    say("354 go ahead")
                    await writer.drain()
                    data = []
                    while True:
                        raw = await reader.readline()
                        if not raw:
                            return
                        if raw in (b".\r\n", b".\n"):
                            break
                        data.append(raw[1:] if raw.startswith(b"..") else raw)
                        if drop and len(data) >= 8:
                            with self.lock:
                                self.dropped.append(b"".join(data))
                            writer.transport.abort()        # mid-DATA, no reply
                            return
                    msg = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                    with self.lock:
                        self.messages.append((list(rcpts), msg))
                    say("250 2.0.0 queued")
                elif verb == "RSET":
                    rcpts, drop = [], False
                    say("250 2.0.0 ok")
                elif verb == "NOOP":
                    say("250 2.0.0 ok")
                elif verb == "QUIT":
                    say("221 2.0.0 bye")
                    await writer.drain()
                    writer.close()
                    return
                else:
                    say("502 5.5.2 not implemented")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
