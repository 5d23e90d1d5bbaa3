"""A partner written to the first ASPW/1 spec, frozen (docs/partner-protocol.md
as of commit 3dbe37d, before the extensions of issue 7). Do not update it
when the protocol grows: it stands for a partner company that upgrades on
its own schedule, and tests/partner_legacy_test.py runs it against the
current platform.

Self-contained on purpose (python3-zmq and python3-msgpack only; not
tests/aspw.py, which follows the current spec) and strict: a message that
is not exactly what that spec describes - an unknown command, a word not in
its lists, a required key missing or mistyped, a bin where a str belongs -
raises ProtocolViolation. Unknown keys are ignored, as that spec says.
"""
import re
import time

import msgpack
import zmq

SIGNATURE = b"ASPW1"
FROM_PLATFORM = ("WELCOME", "OFFER", "ASSIGNED", "CONFIRM", "WITHDRAW", "ERROR", "HEARTBEAT",
                 "DISCONNECT")
KINDS = ("installation", "repair", "maintenance", "complaint", "consultation", "return")
TIERS = ("standard", "express")
STAGES = ("scheduled", "on_the_way", "on_site", "waiting_parts", "note")
RESULTS = ("fixed", "not_fixed", "installed")
REFS = ("ACCEPT", "DECLINE", "PROGRESS", "COMPLETE")
CODES = ("bad_message", "not_ready", "unknown_work_order", "not_yours", "offer_expired",
         "not_accepted", "bad_state")

STR, INT, BOOL = "str", "int", "bool"
JOB = {"wo_id": STR, "offer_id": STR, "ticket_id": STR, "kind": KINDS, "category": STR,
       "region": STR, "priority": INT, "tier": TIERS, "summary": STR}
# Required keys of each command from the platform, with their types.
REQUIRED = {
    "WELCOME": {"partner_id": STR, "heartbeat_ms": INT, "liveness": INT, "offer_timeout_ms": INT},
    "OFFER": dict(JOB, expires_ms=INT),
    "ASSIGNED": dict(JOB, seq=INT),
    "CONFIRM": {"ref": REFS, "wo_id": STR, "duplicate": BOOL},
    "WITHDRAW": {"wo_id": STR, "reason": STR},
    "ERROR": {"ref": STR, "wo_id": STR, "code": CODES, "reason": STR},
    "HEARTBEAT": {},
    "DISCONNECT": {},
}


class ProtocolViolation(Exception):
    pass


def write_cert(path, public, secret=None, meta=None):
    """A CZMQ zcert file, as that spec describes it."""
    lines = ["#   ZeroMQ CURVE certificate", "metadata"]
    lines += ['    %s = "%s"' % kv for kv in (meta or {}).items()]
    lines += ["curve", '    public-key = "%s"' % public.decode()]
    if secret:
        lines.append('    secret-key = "%s"' % secret.decode())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_public_key(path):
    return re.search(r'public-key = "(.{40})"', open(path).read()).group(1).encode()


def _typed(value, kind):
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    return isinstance(value, str) and value in kind          # a word list


def decode(frames):
    """(command, body) of a message from the platform, strictly."""
    if len(frames) != 3 or frames[0] != SIGNATURE:
        raise ProtocolViolation("not [ASPW1, command, body]: %r" % frames[:2])
    cmd = frames[1].decode("ascii", "replace")
    if cmd not in FROM_PLATFORM:
        raise ProtocolViolation("unknown command %r" % cmd)
    body = msgpack.unpackb(frames[2], raw=False)
    if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
        raise ProtocolViolation("%s body is not a map of str keys: %r" % (cmd, body))
    for key, kind in REQUIRED[cmd].items():
        if key not in body or not _typed(body[key], kind):
            raise ProtocolViolation("%s: key %r missing or not %s: %r" % (cmd, key, kind, body))
    for key in ("offer_id", "seq", "reason"):       # optional, typed when present
        if key in body and not _typed(body[key], INT if key == "seq" else STR):
            raise ProtocolViolation("%s: %r mistyped: %r" % (cmd, key, body))
    if cmd in ("OFFER", "ASSIGNED") and not 1 <= body["priority"] <= 5:
        raise ProtocolViolation("priority out of range: %r" % body)
    return cmd, body


class LegacyPartner:
    """One connection of an ASPW/1 partner: READY, heartbeats, commands."""

    def __init__(self, endpoint, public, secret, server_key, capacity=2):
        self.endpoint, self.public, self.secret, self.server_key = endpoint, public, secret, server_key
        self.capacity = capacity
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.heartbeat_ms = 1000
        self.last_hb = 0.0
        self.inbox = []

    def connect(self):
        """A fresh socket (the spec: never reuse one after a loss) and READY."""
        if self.sock is not None:
            self.sock.close(0)
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = self.public, self.secret, self.server_key
        s.connect(self.endpoint)
        self.sock = s
        self.inbox = []
        self.send("READY", {"capacity": self.capacity, "skills": ["*"], "regions": ["*"],
                            "software": "legacy-aspw1"})
        welcome = self.expect("WELCOME", timeout=10)
        self.heartbeat_ms = welcome["heartbeat_ms"]
        return welcome

    def send(self, cmd, body=None):
        self.sock.send_multipart([SIGNATURE, cmd.encode(), msgpack.packb(body or {}, use_bin_type=True)])

    def pump(self, seconds):
        end = time.time() + seconds
        while True:
            now = time.time()
            if now - self.last_hb >= self.heartbeat_ms / 1000.0:
                self.send("HEARTBEAT")
                self.last_hb = now
            if self.sock.poll(max(0, min(50, int((end - now) * 1000)))):
                cmd, body = decode(self.sock.recv_multipart())
                if cmd != "HEARTBEAT":
                    self.inbox.append((cmd, body))
            if time.time() >= end:
                return

    def expect(self, cmds, pred=None, timeout=10.0):
        cmds = (cmds,) if isinstance(cmds, str) else cmds
        end = time.time() + timeout
        while True:
            for i, (cmd, body) in enumerate(self.inbox):
                if cmd in cmds and (pred is None or pred(body)):
                    del self.inbox[i]
                    return body
            if time.time() >= end:
                raise ProtocolViolation("no %s within %.0f s; got %r" % (cmds, timeout, self.inbox))
            self.pump(0.05)

    def command(self, cmd, body):
        """Sends a command and waits for its CONFIRM (an ERROR fails)."""
        self.send(cmd, body)
        reply = self.expect(("CONFIRM", "ERROR"), lambda b: b["wo_id"] == body["wo_id"]
                            and b.get("ref") == cmd)
        if "code" in reply:
            raise ProtocolViolation("%s %r refused: %r" % (cmd, body, reply))
        return reply

    def close(self):
        if self.sock is not None:
            self.send("DISCONNECT")
            self.sock.close(0)
            self.sock = None
