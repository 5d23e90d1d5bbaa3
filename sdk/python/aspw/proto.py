"""aspw.proto: the Partner Worker Protocol (ASPW/1) codec, partner side.

The spec is docs/partner-protocol.md; the C codec partner/aspw_proto.c is the
reference this module behaves like. A message on the wire is three frames,
[b"ASPW1", COMMAND, body], the body one msgpack map with string keys.

decode(frames) reads a message from the platform strictly and totally:
frame count, size, signature, command name and direction, the msgpack body
(no bombs: msgpack-python bounds every length by the input's size), and every
field the command carries, with its type, range, UTF-8 validity and word
list. Any defect raises DecodeError with a reason; after a failure the error
holds the name, wo_id and offer_id that could be read, so that an OFFER whose
other fields are unreadable can still be declined. Unknown keys are ignored
(forward compatibility); a nil value counts as absent, as in the C codec.

encode(command, body) builds the frames of a command to the platform; the
Partner checks each field before it queues a command (check_* below).
"""
import msgpack

SIGNATURE = b"ASPW1"
MSG_MAX = 64 * 1024             # bigger: refused (ERROR bad_message on the platform)
TRANSPORT_MAX = 1024 * 1024     # bigger: dropped by the transport (ZMQ_MAXMSGSIZE)
STR_MAX = 256                   # a string field, in bytes
NOTE_MAX = 2000                 # note and summary
LIST_MAX = 64                   # skills, regions, features, parts entries
CAPACITY_MAX = 1000
PRIORITY_MAX = 5
NAME_MAX = 15                   # a command name
CODE_MAX = 63                   # an ERROR code
INT32_MAX = 2 ** 31 - 1
INT64_MAX = 2 ** 63 - 1
RESOLUTION_MAX = 64
QTY_MAX = 1000
FEE_MAX = 100000000
WITHDRAW_CANCELLED = "cancelled"

# The words of section 2.1, in the platform's enum order (common/asp_vocab.c;
# the SDK's unit test checks them against the platform's asp-vocab).
KINDS = ("installation", "repair", "maintenance", "complaint", "consultation", "return")
TIERS = ("standard", "express")
STAGES = ("scheduled", "on_the_way", "on_site", "waiting_parts", "note")
RESULTS = ("fixed", "not_fixed", "installed")
# UNABLE reasons a partner may give (partner_removed is set by the platform only).
UNABLE_REASONS = ("no_skill", "no_parts", "out_of_area", "customer_refused", "unsafe", "other")

# Extensions negotiated through READY/WELCOME "features".
FEATURE_LIST = "list"
FEATURE_UNABLE = "unable"
FEATURE_APPOINTMENT = "appointment"
FEATURE_DETAIL = "detail"
FEATURES = (FEATURE_LIST, FEATURE_UNABLE, FEATURE_APPOINTMENT, FEATURE_DETAIL)

FROM_PARTNER = ("READY", "ACCEPT", "DECLINE", "PROGRESS", "COMPLETE", "UNABLE", "LIST",
                "HEARTBEAT", "DISCONNECT")
FROM_PLATFORM = ("WELCOME", "OFFER", "ASSIGNED", "CONFIRM", "WITHDRAW", "ERROR", "LISTED",
                 "HEARTBEAT", "DISCONNECT")
# Commands the platform confirms (CONFIRM ref) and keeps until it has.
CONFIRMED = ("ACCEPT", "DECLINE", "PROGRESS", "COMPLETE", "UNABLE")


class DecodeError(ValueError):
    """A malformed message. name, wo_id, offer_id: what could be read."""

    def __init__(self, reason, msg=None):
        super().__init__(reason)
        self.reason = reason
        self.name = msg.name if msg is not None else ""
        self.wo_id = msg.get("wo_id", "") if msg is not None else ""
        self.offer_id = msg.get("offer_id", "") if msg is not None else ""


class Message(dict):
    """A decoded message: the command in .name, its fields as dict items
    (optional fields that were absent are absent)."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def __repr__(self):
        return "%s %s" % (self.name, dict.__repr__(self))


# --- text -------------------------------------------------------------------

def text_error(s, limit=STR_MAX):
    """None when s is text the protocol allows (UTF-8, no control characters
    but tab, CR and LF, no NUL, at most limit bytes), else why not."""
    if not isinstance(s, str):
        return "must be a string"
    try:
        data = s.encode("utf-8")        # lone surrogates (invalid input) fail here
    except UnicodeEncodeError:
        return "must be valid UTF-8 text"
    if len(data) > limit:
        return "must be a string of at most %d bytes" % limit
    for ch in s:
        c = ord(ch)
        if (c < 0x20 and ch not in "\t\n\r") or c == 0x7f:
            return "must be valid UTF-8 text"
    return None


# --- field readers (on a decoded body) ----------------------------------------

def _absent(body, key):
    return body.get(key) is None


def _text(body, msg, key, required=False, nonempty=False, limit=STR_MAX):
    if _absent(body, key):
        if required or nonempty:
            raise DecodeError("field '%s' is required" % key, msg)
        return
    value = body[key]
    why = text_error(value, limit)
    if why:
        raise DecodeError("field '%s' %s" % (key, why), msg)
    if nonempty and not value:
        raise DecodeError("field '%s' must not be empty" % key, msg)
    msg[key] = value


def _int(body, msg, key, lo, hi, required=False):
    if _absent(body, key):
        if required:
            raise DecodeError("field '%s' is required" % key, msg)
        return
    value = body[key]
    if type(value) is not int or not lo <= value <= hi:       # bool is not an int here
        raise DecodeError("field '%s' must be an integer in %d..%d" % (key, lo, hi), msg)
    msg[key] = value


def _bool(body, msg, key):
    if _absent(body, key):
        raise DecodeError("field '%s' is required" % key, msg)
    if type(body[key]) is not bool:
        raise DecodeError("field '%s' must be a boolean" % key, msg)
    msg[key] = body[key]


def _word(body, msg, key, words, required=True):
    if _absent(body, key):
        if required:
            raise DecodeError("field '%s' is required" % key, msg)
        return
    if body[key] not in words or not isinstance(body[key], str):
        raise DecodeError("field '%s' must be one of %s" % (key, ", ".join(words)), msg)
    msg[key] = body[key]


def _list(body, msg, key, lo=1, required=True):
    if _absent(body, key):
        if required:
            raise DecodeError("field '%s' is required" % key, msg)
        return
    value = body[key]
    if not isinstance(value, list) or not lo <= len(value) <= LIST_MAX:
        raise DecodeError("field '%s' must be an array of %d..%d strings" % (key, lo, LIST_MAX), msg)
    for e in value:
        if not isinstance(e, str) or not e or text_error(e):
            raise DecodeError("field '%s' must hold non-empty UTF-8 strings of at most %d bytes"
                              % (key, STR_MAX), msg)
    msg[key] = list(value)


# --- decoders, one per command from the platform ----------------------------------

def _welcome(b, m):
    _text(b, m, "partner_id", nonempty=True)
    _int(b, m, "heartbeat_ms", 10, 3600000, required=True)
    _int(b, m, "liveness", 1, 100, required=True)
    _int(b, m, "offer_timeout_ms", 0, 86400000, required=True)
    _list(b, m, "features", lo=0, required=False)
    m.setdefault("features", [])


def _job(b, m):
    # wo_id and offer_id first: a partner can name (and decline) an offer
    # whose other fields it cannot read.
    _text(b, m, "wo_id", nonempty=True)
    _text(b, m, "offer_id", nonempty=True)
    _text(b, m, "ticket_id", nonempty=True)
    _word(b, m, "kind", KINDS)
    _text(b, m, "category", required=True)
    _text(b, m, "region", required=True)
    _int(b, m, "priority", 1, PRIORITY_MAX, required=True)
    _word(b, m, "tier", TIERS)
    _text(b, m, "summary", required=True, limit=NOTE_MAX)
    if m.name == "OFFER":
        _int(b, m, "expires_ms", 0, 86400000, required=True)
        return
    _int(b, m, "seq", 0, INT32_MAX)
    m.setdefault("seq", 0)
    # What the platform last recorded of the job (all optional).
    _word(b, m, "stage", STAGES, required=False)
    _int(b, m, "appointment_ms", 0, INT64_MAX)
    _int(b, m, "end_ms", 0, INT64_MAX)
    _text(b, m, "technician")
    _text(b, m, "note", limit=NOTE_MAX)


def _confirm(b, m):
    _text(b, m, "ref", required=True)
    if m["ref"] not in CONFIRMED:
        raise DecodeError("field 'ref' must be one of %s" % ", ".join(CONFIRMED), m)
    _text(b, m, "wo_id", nonempty=True)
    _text(b, m, "offer_id")
    _int(b, m, "seq", 1, INT32_MAX, required=m["ref"] == "PROGRESS")
    _bool(b, m, "duplicate")


def _error(b, m):
    _text(b, m, "ref", required=True)
    _text(b, m, "wo_id", required=True)
    _text(b, m, "offer_id")
    _text(b, m, "code", nonempty=True, limit=CODE_MAX)
    _text(b, m, "reason", required=True)
    _int(b, m, "seq", 0, INT32_MAX)


def _withdraw(b, m):
    _text(b, m, "wo_id", nonempty=True)
    _text(b, m, "reason", required=True)


def _listed(b, m):
    for key in ("count", "assigned", "offered"):
        _int(b, m, key, 0, INT32_MAX, required=True)


def _disconnect(b, m):
    # The reason is informative: whatever it says the partner must
    # reconnect, so a malformed one does not void the DISCONNECT.
    reason = b.get("reason")
    m["reason"] = reason if text_error(reason) is None else "(none)"


_DECODERS = {"WELCOME": _welcome, "OFFER": _job, "ASSIGNED": _job, "CONFIRM": _confirm,
             "ERROR": _error, "WITHDRAW": _withdraw, "LISTED": _listed,
             "DISCONNECT": _disconnect, "HEARTBEAT": lambda b, m: None}


def _name(frame):
    """The command name when the frame looks like one, else ""."""
    if not 0 < len(frame) <= NAME_MAX:
        return ""
    if all(0x41 <= c <= 0x5a or c == 0x5f for c in frame):
        return frame.decode("ascii")
    return ""


def _first_wins(pairs):
    """A map whose repeated keys keep their first value, as the C codec reads them."""
    out = {}
    for k, v in pairs:
        out.setdefault(k, v)
    return out


def _unpack(data, msg):
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True,
                               unicode_errors="surrogateescape", object_pairs_hook=_first_wins)
    except Exception as e:              # ExtraData, OutOfData, ValueError, ... all malformed
        raise DecodeError("bad msgpack body: %s" % (str(e) or type(e).__name__), msg)
    if not isinstance(body, dict):
        raise DecodeError("body must be a msgpack map", msg)
    if not all(isinstance(k, str) for k in body):
        raise DecodeError("body keys must be strings", msg)
    return body


def decode(frames):
    """The Message in frames (a list of bytes-like, as a DEALER receives
    them) sent by the platform; DecodeError when it is malformed."""
    frames = [bytes(f) for f in frames]
    msg = Message(_name(frames[1]) if len(frames) > 1 else "")
    if len(frames) != 3:
        raise DecodeError("expected 3 frames (signature, command, body), got %d" % len(frames), msg)
    size = sum(len(f) for f in frames)
    if size > MSG_MAX:
        raise DecodeError("message of %d bytes exceeds the %d byte limit" % (size, MSG_MAX), msg)
    if frames[0] != SIGNATURE:
        raise DecodeError("bad protocol signature (expected ASPW1)", msg)
    if msg.name not in FROM_PLATFORM:
        raise DecodeError("unknown command '%s'" % msg.name, msg)
    body = _unpack(frames[2], msg)
    _DECODERS[msg.name](body, msg)
    return msg


# --- encoders (partner -> platform) -------------------------------------------------

def encode(command, body=None):
    """The frames of command with body (a dict; None = {}): keys whose value
    is None are left out."""
    if command not in FROM_PARTNER:
        raise ValueError("%s is not a partner command" % command)
    body = {k: v for k, v in (body or {}).items() if v is not None}
    return [SIGNATURE, command.encode("ascii"), msgpack.packb(body, use_bin_type=True)]


# --- checks of what a partner sends (the SDK refuses locally what the
# --- platform would refuse) ---------------------------------------------------------

def check_text(name, value, limit=STR_MAX, nonempty=False):
    """Raises ValueError naming the field when value is not protocol text."""
    why = text_error(value, limit)
    if why:
        raise ValueError("%s %s" % (name, why))
    if nonempty and not value:
        raise ValueError("%s must not be empty" % name)


def check_int(name, value, lo, hi):
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError("%s must be an integer in %d..%d" % (name, lo, hi))


def check_word(name, value, words):
    if value not in words:
        raise ValueError("%s must be one of %s" % (name, ", ".join(words)))


def check_list(name, values, lo=1):
    if not isinstance(values, (list, tuple)) or not lo <= len(values) <= LIST_MAX:
        raise ValueError("%s must hold %d..%d entries" % (name, lo, LIST_MAX))
    for v in values:
        check_text("%s entry" % name, v, nonempty=True)


def check_resolution(name, value):
    """A resolution code: 1..64 of [a-z0-9_]."""
    ok = isinstance(value, str) and 0 < len(value) <= RESOLUTION_MAX and all(
        c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in value)
    if not ok:
        raise ValueError("%s must be 1..%d of [a-z0-9_]" % (name, RESOLUTION_MAX))


def check_parts(name, parts):
    """Parts used: at most 64 of {"part": text, "qty": 1..1000}; returns a
    clean copy."""
    if not isinstance(parts, (list, tuple)) or len(parts) > LIST_MAX:
        raise ValueError("%s must be a list of at most %d entries" % (name, LIST_MAX))
    out = []
    for p in parts:
        if not isinstance(p, dict) or set(p) != {"part", "qty"}:
            raise ValueError("each part must be {'part': str, 'qty': int}")
        check_text("part", p["part"], nonempty=True)
        check_int("qty", p["qty"], 1, QTY_MAX)
        out.append({"part": p["part"], "qty": p["qty"]})
    return out
