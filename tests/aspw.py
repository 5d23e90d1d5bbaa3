"""The Partner Worker Protocol (ASPW/1) as the Python fakes in the tests
speak it: one description instead of a copy per test.

The C codec (partner/aspw_proto.[ch]) is the reference; this module mirrors
its framing, command table and limits, and takes the vocabularies from the
C code itself (asp-vocab prints common/asp_vocab's tables as JSON), so a
word cannot differ between the platform, the SDK and the fakes.
Stdlib + zmq-free: sockets stay in the tests.
"""
import json
import os
import re
import subprocess

import msgpack

SIGNATURE = b"ASPW1"
EMPTY_BODY = b"\x80"                  # an empty msgpack map

MSG_MAX = 64 * 1024                   # bigger: ERROR bad_message
TRANSPORT_MAX = 1024 * 1024           # bigger: the connection is dropped
STR_MAX = 256
NOTE_MAX = 2000
LIST_MAX = 64
CAPACITY_MAX = 1000

PARTS_MAX = 64
QTY_MAX = 1000
FEE_MAX = 100000000
RESOLUTION_MAX = 64

# LIST and UNABLE (from the partner) and LISTED (from the platform) are
# extensions: sent only when WELCOME lists them in its features.
FROM_PARTNER = ("READY", "ACCEPT", "DECLINE", "PROGRESS", "COMPLETE", "HEARTBEAT", "DISCONNECT",
                "LIST", "UNABLE")
FROM_PLATFORM = ("WELCOME", "OFFER", "ASSIGNED", "CONFIRM", "WITHDRAW", "ERROR", "HEARTBEAT",
                 "DISCONNECT", "LISTED")
ERROR_CODES = ("bad_message", "not_ready", "unknown_work_order", "not_yours", "offer_expired",
               "not_accepted", "bad_state", "bad_appointment", "rate_limited")
# What the platform offers in WELCOME's features.
FEATURES = ("list", "unable", "appointment", "detail")


def frames(cmd, body=None):
    """The frames of one message: [signature, command, msgpack body]."""
    return [SIGNATURE, cmd.encode(), msgpack.packb(body or {}, use_bin_type=True)]


def parse(parts, sender="platform"):
    """(command, body) of a received message (routing id already removed);
    ValueError when it is not well-formed ASPW/1 from sender."""
    parts = [bytes(p) for p in parts]
    if len(parts) != 3 or parts[0] != SIGNATURE:
        raise ValueError("malformed ASPW/1 message %r" % parts[:2])
    cmd = parts[1].decode("ascii", "replace")
    if cmd not in (FROM_PLATFORM if sender == "platform" else FROM_PARTNER):
        raise ValueError("unknown command %r from the %s" % (cmd, sender))
    body = msgpack.unpackb(parts[2], raw=False)
    if not isinstance(body, dict):
        raise ValueError("%s body is not a map: %r" % (cmd, body))
    return cmd, body


_VOCAB = None


def vocab(name=None):
    """The domain vocabularies from asp-vocab (ASP_BIN_DIR): a dict of
    name -> list of words in enum order, or one list when name is given."""
    global _VOCAB
    if _VOCAB is None:
        bin_dir = os.environ.get("ASP_BIN_DIR") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin")
        out = subprocess.run([os.path.join(bin_dir, "asp-vocab")], check=True,
                             capture_output=True, text=True, timeout=10).stdout
        _VOCAB = json.loads(out)
    return _VOCAB if name is None else _VOCAB[name]


# --- CURVE certificates in CZMQ's zcert format ----------------------------------

def write_cert(path, public, secret=None, meta=None):
    """Writes a zcert file; the public one of a partner carries partner_id."""
    with open(path, "w") as f:
        f.write("#   ZeroMQ CURVE certificate (tests)\n")
        f.write("metadata\n")
        for k, v in (meta or {}).items():
            f.write('    %s = "%s"\n' % (k, v))
        f.write("curve\n")
        f.write('    public-key = "%s"\n' % public.decode())
        if secret:
            f.write('    secret-key = "%s"\n' % secret.decode())


def read_cert(path):
    """(public, secret or None) of a zcert file, as bytes."""
    text = open(path).read()
    pub = re.search(r'public-key = "(.{40})"', text).group(1).encode()
    sec = re.search(r'secret-key = "(.{40})"', text)
    return pub, sec.group(1).encode() if sec else None
