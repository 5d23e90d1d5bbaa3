"""aspw.partner: the partner side of ASPW/1, for partners who write Python.

It behaves like the C SDK (partner/asp_partner.c): one Partner per identity
connects a DEALER to the platform's ROUTER with CURVE, says READY, and then
lives on its own small event loop (run(), or step() from yours). It answers
nothing by itself except heartbeats; it hands offers and resumed work orders
to your callbacks and sends your ACCEPT / DECLINE / PROGRESS / COMPLETE /
UNABLE, keeping each until the platform confirms it (sent again after
2 x heartbeat and after every WELCOME, oldest first: the platform must see
ACCEPT before PROGRESS before COMPLETE of one work order).

The connection is a small state machine driven by the loop's tick:

    WAITING --(reconnect_at)--> CONNECTING --(WELCOME)--> ACTIVE
       ^                            |                        |
       +---- lost: no WELCOME, silence, DISCONNECT, not_ready +

Losing a connection always closes the socket (a fresh socket drops what was
queued for the dead peer) and waits reconnect_ms, doubling to at most
reconnect_max_ms (1 s..32 s by default; back to 1 s after a WELCOME), each
plus a random 0..50 %, so that partners cut off together (a platform
restart) do not all come back in one burst (protocol section 6).

Work orders are deduplicated by wo_id: an OFFER or ASSIGNED for a wo_id the
partner holds is the same job, never a second one; an ASSIGNED for a job
whose ACCEPT is unconfirmed is that ACCEPT's confirmation.

Callbacks run on the loop's thread and may call the actions (accept,
decline, progress, complete, unable, list_work, set_capacity). Nothing else
is thread-safe except call_later() and stop(). The library never prints:
it logs through the optional on_log callback and the "aspw" logger (which
has only a NullHandler unless you configure logging).
"""
import heapq
import itertools
import logging
import random
import threading
import time

import zmq

from . import cert as certs
from . import proto

logger = logging.getLogger("aspw")
logger.addHandler(logging.NullHandler())

DEBUG, INFO, WARN, ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR

# Where a job stands, as this partner sees it.
OFFERED = "offered"         # offered, not answered yet
ACCEPTING = "accepting"     # ACCEPT sent, not confirmed
ACCEPTED = "accepted"       # ours: accepted and confirmed, or ASSIGNED
DECLINING = "declining"     # DECLINE sent, not confirmed
COMPLETING = "completing"   # COMPLETE sent, not confirmed
DONE = "done"               # COMPLETE confirmed (kept a while for dedup)
RETURNING = "returning"     # UNABLE sent, not confirmed

MAX_RECV_BATCH = 64             # messages read per wake-up
MAX_PENDING_PER_JOB = 64        # unconfirmed PROGRESS per job
MAX_ORPHANS = 256
DONE_KEEP_S = 600.0
DONE_KEEP_MAX = 1024
_GONE = ("not_yours", "unknown_work_order")
_RETRYABLE = ("not_accepted", "rate_limited")


class UsageError(ValueError):
    """An action or a setting refused locally (nothing was sent)."""


class Job:
    """One work order. Read its attributes; do not change them."""

    _FIELDS = ("wo_id", "offer_id", "ticket_id", "kind", "category", "region", "priority",
               "tier", "summary")
    # What ASSIGNED may say the platform last recorded.
    _RECORDED = ("stage", "appointment_ms", "end_ms", "technician", "note")

    def __init__(self, m):
        for f in self._FIELDS:
            setattr(self, f, m[f])
        self.expires_ms = m.get("expires_ms", 0)      # as received in OFFER; 0 for ASSIGNED
        self.seq = 0                # last PROGRESS seq sent or known to the platform
        self.state = OFFERED
        for f in self._RECORDED:
            setattr(self, f, None)
        self.expires_at = 0.0       # monotonic s when an unanswered offer lapses
        self.done_at = 0.0
        self.complete_body = None   # kept to answer a late OFFER or ASSIGNED

    def recorded(self, m):
        """Takes what an ASSIGNED says the platform recorded."""
        for f in self._RECORDED:
            if f in m:
                setattr(self, f, m[f])

    def __repr__(self):
        return "Job(%s %s %s seq=%d)" % (self.wo_id, self.offer_id, self.state, self.seq)


class PartnerError:
    """An ERROR from the platform: ref, wo_id ("" when not about one), code,
    reason, seq (PROGRESS, else 0), job_dropped (the partner no longer
    holds wo_id)."""

    def __init__(self, ref, wo_id, code, reason, seq, job_dropped):
        self.ref, self.wo_id, self.code, self.reason = ref, wo_id, code, reason
        self.seq, self.job_dropped = seq, job_dropped

    def __repr__(self):
        return "PartnerError(%s %s %s: %s)" % (self.ref, self.wo_id, self.code, self.reason)


class _Pending:
    """A command waiting for CONFIRM or ERROR."""

    def __init__(self, cmd, wo_id, body=None):
        self.cmd = cmd
        self.wo_id = wo_id
        self.offer_id = ""          # ACCEPT, DECLINE
        self.reason = None          # DECLINE
        self.seq = 0                # PROGRESS
        self.body = body
        self.sent_at = None         # monotonic s of the last send; None never; -1 on an old connection
        self.sends = 0              # sends on this connection, all unanswered

    def answer_body(self):
        """ACCEPT and DECLINE bodies are rebuilt when a re-offer changes the
        offer_id; the others are built once by the caller."""
        self.body = {"wo_id": self.wo_id, "offer_id": self.offer_id}
        if self.cmd == "DECLINE" and self.reason:
            self.body["reason"] = self.reason


def _split(value, name):
    """A list setting: a list of words or a comma list; None or "" = ["*"]."""
    if value is None or value == "":
        return ["*"]
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    try:
        proto.check_list(name, items)
    except ValueError as e:
        raise UsageError(str(e))
    return items


def _now():
    return time.monotonic()


class Partner:
    """A partner connection. Settings (keyword arguments):

        endpoint          e.g. "tcp://routing:7110" (required)
        cert_file         this partner's secret certificate (required)
        server_key        the platform's public key, Z85 (40 chars), or
        server_cert_file  the platform's public certificate file
        capacity          0..1000 work orders held at once (default 1; 0 =
                          finish accepted work, take no new offers)
        skills, regions   lists (or comma lists) of words, default ["*"]
        software          optional, sent in READY
        features          extensions this partner can use, sent in READY
                          (default: every one the SDK knows)
        heartbeat_ms, liveness      until WELCOME says otherwise (1000, 3)
        reconnect_ms, reconnect_max_ms  back-off bounds (1000, 32000)

    Callbacks (keyword arguments; on_offer and on_assigned are required):

        on_offer(partner, job)       a new offer: accept or decline it
                                     before job.expires_ms
        on_assigned(partner, job)    a work order that is yours and that
                                     this partner did not know (e.g. after a
                                     restart): resume it after job.seq
        on_withdraw(partner, wo_id, reason)   an offer is no longer yours
                                     (reason "cancelled": even accepted work)
        on_error(partner, error)     the platform refused a command for good
                                     (a PartnerError)
        on_confirm(partner, ref, wo_id, seq, duplicate)  a command is
                                     recorded; an ASSIGNED that proves an
                                     unconfirmed ACCEPT is reported once as
                                     ref ACCEPT, duplicate True
        on_welcome(partner, partner_id, features)
        on_listed(partner, listed)   the answer to list_work(): a dict with
                                     count, assigned, offered (the
                                     platform's), wo_ids (listed), missing
                                     (jobs held here as accepted that the
                                     platform did not list)
        on_log(partner, level, msg, fields)   level is a logging level
    """

    def __init__(self, endpoint, cert_file, server_key=None, server_cert_file=None, capacity=1,
                 skills=None, regions=None, software=None, features=proto.FEATURES,
                 heartbeat_ms=1000, liveness=3, reconnect_ms=1000, reconnect_max_ms=32000,
                 on_offer=None, on_assigned=None, on_withdraw=None, on_error=None,
                 on_confirm=None, on_welcome=None, on_listed=None, on_log=None, context=None):
        if not on_offer or not on_assigned:
            raise UsageError("on_offer and on_assigned are required")
        if not endpoint:
            raise UsageError("no endpoint given")
        self.endpoint = endpoint
        self._cert = self._load_cert(cert_file)
        self._server_key = self._load_server_key(server_key, server_cert_file)
        self._check_capacity(capacity)
        self._capacity = capacity
        self._skills = _split(skills, "skills")
        self._regions = _split(regions, "regions")
        if software is not None:
            try:
                proto.check_text("software", software)
            except ValueError as e:
                raise UsageError(str(e))
        self._software = software
        self._features = list(features or ())
        if not (heartbeat_ms >= 10 and 1 <= liveness <= 100 and 0 < reconnect_ms <= reconnect_max_ms):
            raise UsageError("bad timing settings (heartbeat >= 10 ms, liveness 1..100, "
                             "0 < reconnect_ms <= reconnect_max_ms)")
        self._cfg_heartbeat = heartbeat_ms / 1000.0
        self._cfg_liveness = liveness
        self._reconnect = reconnect_ms / 1000.0
        self._reconnect_max = reconnect_max_ms / 1000.0
        self._cb = {"offer": on_offer, "assigned": on_assigned, "withdraw": on_withdraw,
                    "error": on_error, "confirm": on_confirm, "welcome": on_welcome,
                    "listed": on_listed, "log": on_log}
        self._ctx = context or zmq.Context.instance()
        # Session
        self._state = "idle"
        self._sock = None
        self._poller = None
        self._heartbeat = self._cfg_heartbeat
        self._liveness = self._cfg_liveness
        self.offer_timeout_ms = 0
        self._failures = 0
        self._reconnect_at = 0.0
        self._handshake_deadline = 0.0
        self._heartbeat_at = 0.0
        self._expiry_at = 0.0
        self._partner_id = ""
        self.platform_features = frozenset()
        self._listing = None            # wo_ids seen since LIST, None when not listing
        # Work
        self._jobs = {}                 # wo_id -> Job
        self._pending = []              # _Pending, oldest first
        self._done = []                 # wo_ids of DONE jobs, oldest first
        self._orphans = []              # [cmd, wo_id, offer_id, count]; reset per connection
        # Loop
        self._stop = threading.Event()
        self._timers = []               # heap of (due, n, fn)
        self._timer_n = itertools.count()
        self._timer_lock = threading.Lock()
        self._next_tick = 0.0
        self._set_tick(min(self._heartbeat, self._reconnect))
        self.stats = dict(connects=0, welcomes=0, received=0, bad_messages=0, sent=0,
                          resends=0, auto_declines=0)

    # -- settings ---------------------------------------------------------------
    @staticmethod
    def _load_cert(path):
        if not path:
            raise UsageError("no partner certificate given")
        try:
            c = certs.load(path)
        except certs.CertError as e:
            raise UsageError(str(e))
        if not c.secret or c.secret == "0" * certs.Z85_LEN:
            raise UsageError("%s holds no secret key (give the _secret file)" % path)
        return c

    @staticmethod
    def _load_server_key(key, path):
        if key:
            if not certs.z85_valid(key):
                raise UsageError("server key is not a 40-character Z85 key")
            return key
        if path:
            try:
                return certs.load(path).public
            except certs.CertError as e:
                raise UsageError("cannot load platform certificate: %s" % e)
        raise UsageError("no platform key or platform certificate given")

    @staticmethod
    def _check_capacity(capacity):
        if type(capacity) is not int or not 0 <= capacity <= proto.CAPACITY_MAX:
            raise UsageError("capacity %r is not in 0..%d" % (capacity, proto.CAPACITY_MAX))

    def _set_tick(self, base):
        self._tick = min(0.1, max(0.005, base / 4))

    # -- small helpers -----------------------------------------------------------
    def _log(self, level, msg, **fields):
        f = dict(partner=self.partner_id)
        f.update(fields)
        if logger.isEnabledFor(level):
            logger.log(level, "%s %s", msg, " ".join("%s=%s" % kv for kv in f.items()))
        if self._cb["log"]:
            self._cb["log"](self, level, msg, f)

    def _call(self, name, *args):
        if self._cb[name]:
            self._cb[name](self, *args)

    # -- sending -------------------------------------------------------------------
    def _send(self, cmd, body=None):
        if not self._sock:
            return False
        # Never blocks: a full pipe (dead peer) fails now instead of blocking
        # the loop. Whatever needs delivery is pending and goes again after
        # the next WELCOME.
        try:
            self._sock.send_multipart(proto.encode(cmd, body), flags=zmq.NOBLOCK)
        except zmq.ZMQError as e:
            self._log(DEBUG, "partner: send failed", command=cmd, error=str(e))
            return False
        self.stats["sent"] += 1
        return True

    def _ready_body(self):
        body = {"capacity": self._capacity, "skills": self._skills, "regions": self._regions,
                "software": self._software}
        if self._features:
            body["features"] = self._features
        return body

    def _pending_send(self, p, resend):
        if self._state != "active":
            return                      # goes out after the next WELCOME
        if self._send(p.cmd, p.body):
            p.sends += 1
            if resend:
                self.stats["resends"] += 1
        # Counted as sent even when the pipe refused it: retried after 2 x hb.
        p.sent_at = _now()

    # -- pending commands ------------------------------------------------------------
    def _pending_add(self, p, front=False):
        if front:
            self._pending.insert(0, p)
        else:
            self._pending.append(p)
        self._pending_send(p, False)

    def _pending_match(self, cmd, wo_id, seq=0, offer_id=None):
        """Oldest pending cmd for wo_id, and for seq unless 0, and for
        offer_id unless None or ""."""
        for p in self._pending:
            if p.cmd == cmd and p.wo_id == wo_id and (not seq or p.seq == seq) \
                    and (not offer_id or p.offer_id == offer_id):
                return p
        return None

    def _orphan_note(self, p, count):
        """Answers still owed to ACCEPT/DECLINE sends for an offer we no
        longer wait on (withdrawn, re-offered under a new offer_id, or
        answered while resent copies were in flight). The platform answers
        in order, so when an answer does not name its offer_id these absorb
        it before it can be taken for the answer to the current offer."""
        if count <= 0 or p.cmd not in ("ACCEPT", "DECLINE"):
            return
        if len(self._orphans) >= MAX_ORPHANS:
            self._orphans.pop(0)        # bounded; costs a resend at worst
        self._orphans.append([p.cmd, p.wo_id, p.offer_id, count])

    def _orphan_take(self, cmd, wo_id, offer_id):
        for o in self._orphans:
            if o[0] == cmd and o[1] == wo_id and (not offer_id or o[2] == offer_id):
                o[3] -= 1
                if o[3] == 0:
                    self._orphans.remove(o)
                return True
        return False

    def _pending_remove(self, p, answered):
        """Removes p; answered says whether an answer to it arrived (the
        other sends of it are still owed an answer each)."""
        self._orphan_note(p, p.sends - 1 if answered else p.sends)
        self._pending.remove(p)

    def _pending_drop(self, wo_id, cmd=None):
        for p in [p for p in self._pending if p.wo_id == wo_id and (cmd is None or p.cmd == cmd)]:
            self._pending_remove(p, False)

    def _answer(self, cmd, wo_id, offer_id, reason=None, front=False):
        """Queues ACCEPT or DECLINE for wo_id/offer_id, or, when one is
        queued already (a re-offer carries a new offer_id), updates it and
        sends it now. reason None keeps the queued one's reason."""
        p = self._pending_match(cmd, wo_id)
        fresh = p is None
        if fresh:
            p = _Pending(cmd, wo_id)
        elif p.offer_id != offer_id:
            self._orphan_note(p, p.sends)
            p.sends = 0
        p.offer_id = offer_id
        if reason is not None:
            p.reason = reason
        p.answer_body()
        if fresh:
            self._pending_add(p, front)
        else:
            self._pending_send(p, True)

    def _recomplete(self, job):
        """Queues the stored COMPLETE of a job again."""
        if job.complete_body is None or self._pending_match("COMPLETE", job.wo_id):
            return
        self._pending_add(_Pending("COMPLETE", job.wo_id, dict(job.complete_body)))

    # -- jobs ------------------------------------------------------------------------
    def _job_drop(self, wo_id):
        self._pending_drop(wo_id)
        self._jobs.pop(wo_id, None)

    def held(self):
        """Jobs counted against capacity: what the partner still has to do.
        A job being declined, completed or returned is free as soon as the
        caller decided, so a CONFIRM that races a new OFFER never looks like
        an overflow."""
        return sum(1 for j in self._jobs.values() if j.state in (OFFERED, ACCEPTING, ACCEPTED))

    def _seen(self, wo_id):
        if self._listing is not None:
            self._listing.add(wo_id)

    # -- commands from the platform ----------------------------------------------------
    def _on_welcome(self, m):
        self._partner_id = m["partner_id"]
        self._heartbeat = m["heartbeat_ms"] / 1000.0
        self._liveness = m["liveness"]
        self.offer_timeout_ms = m["offer_timeout_ms"]
        self.platform_features = frozenset(m["features"])
        self._state = "active"
        self._failures = 0
        now = _now()
        self._expiry_at = now + self._heartbeat * self._liveness
        self._heartbeat_at = now + self._heartbeat
        self.stats["welcomes"] += 1
        self._set_tick(min(self._heartbeat, self._reconnect))
        self._listing = None
        self._log(INFO, "partner: welcomed", heartbeat_ms=m["heartbeat_ms"],
                  pending=len(self._pending), features=",".join(m["features"]))
        # Everything unconfirmed goes again, oldest first: the platform may
        # have lost it with the old connection, and duplicates are harmless.
        for p in list(self._pending):
            if p.cmd == "UNABLE" and proto.FEATURE_UNABLE not in self.platform_features:
                self._unable_unsupported(p)
            else:
                self._pending_send(p, p.sent_at is not None)
        self._call("welcome", self._partner_id, self.platform_features)

    def _unable_unsupported(self, p):
        # The platform no longer offers UNABLE (it was downgraded): the job
        # is still ours; say so to the caller, who must finish it.
        self._pending_remove(p, False)
        job = self._jobs.get(p.wo_id)
        if job and job.state == RETURNING:
            job.state = ACCEPTED
        self._log(WARN, "partner: UNABLE dropped: the platform does not offer it", wo_id=p.wo_id)
        self._call("error", PartnerError("UNABLE", p.wo_id, "unsupported",
                                         "the platform does not offer UNABLE", 0, False))

    def _reoffer(self, job, m):
        """An OFFER for a work order we hold: the same job, never a new one."""
        same = job.offer_id == m["offer_id"]
        job.offer_id = m["offer_id"]
        job.expires_ms = m["expires_ms"]
        job.expires_at = _now() + m["expires_ms"] / 1000.0
        self._log(INFO, "partner: offer for a work order already held (same job)",
                  wo_id=job.wo_id, offer_id=job.offer_id)
        if job.state in (ACCEPTING, DECLINING):
            # Our answer named an older offer: answer this one.
            if not same:
                self._answer("ACCEPT" if job.state == ACCEPTING else "DECLINE", job.wo_id, job.offer_id)
        elif job.state == ACCEPTED:
            # The platform forgot our ACCEPT (its state went back): say it
            # again before anything else we have queued for this job.
            self._answer("ACCEPT", job.wo_id, job.offer_id, front=True)
            job.state = ACCEPTING
        elif job.state in (COMPLETING, RETURNING):
            self._answer("ACCEPT", job.wo_id, job.offer_id, front=True)
        elif job.state == DONE:
            self._answer("ACCEPT", job.wo_id, job.offer_id, front=True)
            self._recomplete(job)
            job.state = COMPLETING
        # OFFERED: the caller is still deciding.

    def _on_offer(self, m):
        self._seen(m["wo_id"])
        job = self._jobs.get(m["wo_id"])
        if job:
            self._reoffer(job, m)
            return
        if self.held() >= self._capacity:
            # The platform must not do this (credit); refusing keeps our
            # memory bounded whatever it does.
            self.stats["auto_declines"] += 1
            self._log(WARN, "partner: offer over capacity declined", wo_id=m["wo_id"])
            self._answer("DECLINE", m["wo_id"], m["offer_id"], "over capacity")
            return
        job = Job(m)
        job.expires_at = _now() + m["expires_ms"] / 1000.0
        self._jobs[job.wo_id] = job
        self._log(DEBUG, "partner: offer", wo_id=job.wo_id, offer_id=job.offer_id)
        self._call("offer", job)

    def _on_bad_offer(self, e):
        """An OFFER we can name but not read is declined at once, so that it
        goes to another partner now instead of waiting for its timeout."""
        if not e.wo_id or not e.offer_id or e.wo_id in self._jobs:
            return
        self._answer("DECLINE", e.wo_id, e.offer_id, ("malformed offer: %s" % e.reason)[:proto.STR_MAX])

    def _on_assigned(self, m):
        wo_id = m["wo_id"]
        self._seen(wo_id)
        job = self._jobs.get(wo_id)
        resume = confirmed = False
        if job is None:
            job = Job(m)
            self._jobs[wo_id] = job
            resume = True
        elif job.state == OFFERED:
            resume = True               # ours now; tell the caller to do it
        elif job.state == ACCEPTING:
            # ASSIGNED proves our ACCEPT was recorded. The caller hears it as
            # that ACCEPT's CONFIRM: it may wait for one before it starts the
            # work, and the CONFIRM itself may never come (a platform that
            # restarted after recording the ACCEPT answers the resent one
            # only after this ASSIGNED, and that answer then matches nothing).
            self._pending_drop(wo_id, "ACCEPT")
            job.state = ACCEPTED
            confirmed = True
        elif job.state == DECLINING:
            self._log(WARN, "partner: work order assigned while our DECLINE is pending", wo_id=wo_id)
            self._pending_drop(wo_id, "DECLINE")
            resume = True
        elif job.state == DONE:
            # The platform did not keep our COMPLETE: say it again.
            self._recomplete(job)
            job.state = COMPLETING
        # ACCEPTED, COMPLETING, RETURNING: same job; pending commands carry on.
        job.recorded(m)
        job.seq = max(job.seq, m["seq"])
        if resume:
            job.state = ACCEPTED
            job.expires_ms = 0
            self._log(INFO, "partner: resuming assigned work order", wo_id=wo_id, seq=job.seq)
            self._call("assigned", job)
        if confirmed:
            self._call("confirm", "ACCEPT", wo_id, 0, True)

    def _on_confirm(self, m):
        ref, wo_id = m["ref"], m["wo_id"]
        # offer_id (when the platform echoes it) tells the answer to an old
        # offer from the answer to the current one.
        if self._orphan_take(ref, wo_id, m.get("offer_id", "")):
            self._log(DEBUG, "partner: CONFIRM for an earlier offer", ref=ref, wo_id=wo_id)
            return
        seq = m.get("seq", 0) if ref == "PROGRESS" else 0
        p = self._pending_match(ref, wo_id, seq, m.get("offer_id", ""))
        if p is None:
            # The answer to a resent copy: the first answer did the work.
            self._log(DEBUG, "partner: CONFIRM for nothing pending", ref=ref, wo_id=wo_id)
            return
        self._pending_remove(p, True)
        job = self._jobs.get(wo_id)
        if job:
            if ref == "ACCEPT" and job.state == ACCEPTING:
                job.state = ACCEPTED
            elif ref == "DECLINE" and job.state == DECLINING:
                self._job_drop(wo_id)
            elif ref == "UNABLE" and job.state == RETURNING:
                self._job_drop(wo_id)       # back to routing: no longer ours
            elif ref == "COMPLETE":
                # Kept a while, so that a late OFFER or ASSIGNED for it is
                # recognised as this job, not a new one.
                self._pending_drop(wo_id, "PROGRESS")
                job.state = DONE
                job.done_at = _now()
                self._done.append(wo_id)
        self._call("confirm", ref, wo_id, seq, m["duplicate"])

    def _on_withdraw(self, m):
        wo_id, reason = m["wo_id"], m["reason"]
        job = self._jobs.get(wo_id)
        if job is None:
            self._pending_drop(wo_id)       # e.g. an offer we declined without holding it
            return
        cancelled = reason == proto.WITHDRAW_CANCELLED
        if not cancelled and job.state in (ACCEPTED, COMPLETING, DONE, RETURNING):
            # Accepted work orders stay ours unless the platform cancelled
            # them; any other WITHDRAW for one is a platform mistake, and
            # dropping the job would strand it.
            self._log(WARN, "partner: WITHDRAW for an accepted work order ignored",
                      wo_id=wo_id, reason=reason)
            return
        state = job.state
        self._job_drop(wo_id)
        self._log(INFO, "partner: work order cancelled" if cancelled else "partner: offer withdrawn",
                  wo_id=wo_id, reason=reason)
        if state != DECLINING:
            self._call("withdraw", wo_id, reason)

    def _on_error(self, m):
        ref, wo_id, code = m["ref"], m["wo_id"], m["code"]
        if code == "not_ready":
            # The platform does not know this connection: nothing was refused
            # for good. Reconnect; pending commands go again after WELCOME.
            self._lost("platform says not_ready")
            return
        # Without offer_id, an offer_expired for an ACCEPT of an older offer
        # would end the job we just accepted again under its new offer_id.
        if wo_id and self._orphan_take(ref, wo_id, m.get("offer_id", "")):
            self._log(DEBUG, "partner: ERROR for an earlier offer", ref=ref, wo_id=wo_id)
            return
        if ref == "LIST":
            self._listing = None        # no LISTED will come for it
        answerable = ref in proto.CONFIRMED
        p = self._pending_match(ref, wo_id, m.get("seq", 0), m.get("offer_id", "")) \
            if answerable and wo_id else None
        if p is None and answerable:
            self._log(DEBUG, "partner: ERROR for nothing pending", ref=ref, wo_id=wo_id)
            return
        self._log(WARN, "partner: platform refused a command", ref=ref, wo_id=wo_id, code=code)
        if p and code in _RETRYABLE:
            # not_accepted: our ACCEPT of the current offer crossed this
            # command; rate_limited (when it names one): the platform dropped
            # it. Keep it: the next resend comes after 2 x heartbeat.
            self._log(INFO, "partner: command kept for a later resend", ref=ref, wo_id=wo_id, code=code)
            return
        dropped = False
        if p:
            self._pending_remove(p, True)
            job = self._jobs.get(wo_id)
            # A refused PROGRESS costs that step only, unless the job is not
            # ours at all; anything else (ACCEPT, COMPLETE, UNABLE...) ends
            # the job here (protocol section 4).
            gone = ref != "PROGRESS" or code in _GONE
            if job and gone:
                self._job_drop(wo_id)
            dropped = gone or job is None
        self._call("error", PartnerError(ref, wo_id, code, m["reason"], m.get("seq", 0), dropped))

    def _on_listed(self, m):
        wo_ids = sorted(self._listing or ())
        missing = sorted(w for w, j in self._jobs.items() if j.state == ACCEPTED and w not in wo_ids)
        self._listing = None
        listed = dict(count=m["count"], assigned=m["assigned"], offered=m["offered"],
                      wo_ids=wo_ids, missing=missing)
        self._log(INFO, "partner: listed", count=m["count"], missing=len(missing))
        self._call("listed", listed)

    def _handle(self, frames):
        """Decodes, then dispatches. Only a well-formed message is a sign of
        life: a peer that sends garbage is as good as gone."""
        try:
            m = proto.decode(frames)
        except proto.DecodeError as e:
            self.stats["bad_messages"] += 1
            self._log(WARN, "partner: ignored malformed message from platform",
                      reason=("%s: %s" % (e.name, e.reason)) if e.name else e.reason)
            if e.name == "OFFER":
                self._on_bad_offer(e)
            return
        self.stats["received"] += 1
        self._expiry_at = _now() + self._heartbeat * self._liveness
        handler = {"WELCOME": self._on_welcome, "OFFER": self._on_offer,
                   "ASSIGNED": self._on_assigned, "CONFIRM": self._on_confirm,
                   "WITHDRAW": self._on_withdraw, "ERROR": self._on_error,
                   "LISTED": self._on_listed,
                   "DISCONNECT": lambda m: self._lost("platform sent DISCONNECT: %s" % m["reason"])
                   }.get(m.name)
        if handler:                     # HEARTBEAT: a sign of life
            handler(m)

    # -- connection -----------------------------------------------------------------
    def _close(self):
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None
            self._poller = None

    def _lost(self, why):
        self._close()
        self._state = "waiting"
        base = min(self._reconnect_max, self._reconnect * 2 ** min(self._failures, 30))
        delay = base + random.uniform(0, base / 2)
        self._failures += 1
        self._reconnect_at = _now() + delay
        self._log(WARN, "partner: connection lost", reason=why, retry_in_ms=int(delay * 1000))

    def _connect(self):
        self._close()
        self.stats["connects"] += 1
        try:
            sock = self._ctx.socket(zmq.DEALER)
            sock.curve_secretkey = self._cert.secret.encode()
            sock.curve_publickey = self._cert.public.encode()
            sock.curve_serverkey = self._server_key.encode()
            sock.setsockopt(zmq.MAXMSGSIZE, proto.TRANSPORT_MAX)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.endpoint)
        except zmq.ZMQError as e:
            self._lost("cannot create or connect the socket: %s" % e)
            return
        self._sock = sock
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        self._state = "connecting"
        # Until WELCOME names them, our own settings bound the handshake.
        self._heartbeat = self._cfg_heartbeat
        self._liveness = self._cfg_liveness
        self._handshake_deadline = _now() + self._heartbeat * self._liveness
        # Pending commands were sent on the old connection; they go again
        # after WELCOME. Answers to the old connection's sends never come now.
        for p in self._pending:
            p.sent_at = -1 if p.sent_at is not None else None
            p.sends = 0
        self._orphans = []
        self._listing = None
        self._log(INFO, "partner: connecting", endpoint=self.endpoint)
        self._send("READY", self._ready_body())

    def _expire_offers(self, now):
        """Offers nobody answered and the platform could not withdraw (we
        were away when they lapsed): dropped a little after their expiry."""
        grace = 2 * self._heartbeat
        for wo_id in [w for w, j in self._jobs.items() if j.state == OFFERED and now > j.expires_at + grace]:
            self._job_drop(wo_id)
            self._log(INFO, "partner: unanswered offer expired", wo_id=wo_id)
            self._call("withdraw", wo_id, "expired")

    def _prune_done(self, now):
        while self._done:
            wo_id = self._done[0]
            job = self._jobs.get(wo_id)
            if job and job.state == DONE and now - job.done_at < DONE_KEEP_S \
                    and len(self._done) <= DONE_KEEP_MAX:
                break
            # Entries of jobs that came back to life are stale: skip them.
            if job and job.state == DONE:
                del self._jobs[wo_id]
            self._done.pop(0)

    def _on_tick(self, now):
        if self._state == "waiting" and now >= self._reconnect_at:
            self._connect()
        elif self._state == "connecting" and now >= self._handshake_deadline:
            self._lost("no WELCOME within %d ms (check the endpoint, the platform key, and that "
                       "our certificate is registered)" % (self._heartbeat * self._liveness * 1000))
        elif self._state == "active" and now >= self._expiry_at:
            self._lost("platform silent for %d ms" % (self._heartbeat * self._liveness * 1000))
        elif self._state == "active":
            if now >= self._heartbeat_at:
                self._send("HEARTBEAT")
                self._heartbeat_at = now + self._heartbeat
            patience = 2 * self._heartbeat
            for p in list(self._pending):
                if p.sent_at is None or p.sent_at < 0 or now - p.sent_at >= patience:
                    self._pending_send(p, True)
        self._expire_offers(now)
        self._prune_done(now)

    # -- the loop ----------------------------------------------------------------------
    def start(self):
        """Connects and sends READY (the loop does the rest)."""
        if self._state != "idle":
            raise UsageError("already started")
        self._connect()

    def call_later(self, delay, fn, *args):
        """Runs fn(*args) on the loop's thread after delay seconds. The only
        action that may be called from another thread."""
        with self._timer_lock:
            heapq.heappush(self._timers, (_now() + delay, next(self._timer_n), fn, args))

    def stop(self):
        """Makes run() return (from a callback, another thread or a signal
        handler)."""
        self._stop.set()

    def step(self, timeout=0.1):
        """Waits up to timeout seconds for the platform, handles what came,
        runs due timers and the tick. Starts the partner when needed."""
        if self._state == "idle":
            self.start()
        now = _now()
        wait = max(0.0, min(timeout, self._next_tick - now, self._next_timer() - now))
        if self._poller is not None:
            sock = self._sock
            if self._poller.poll(int(wait * 1000)):
                for _ in range(MAX_RECV_BATCH):
                    if self._sock is not sock:
                        break           # replaced under us (DISCONNECT, not_ready)
                    try:
                        frames = sock.recv_multipart(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._handle(frames)
        elif wait > 0:
            time.sleep(wait)
        now = _now()
        self._run_timers(now)
        if now >= self._next_tick:
            self._next_tick = now + self._tick
            self._on_tick(now)

    def _next_timer(self):
        with self._timer_lock:
            return self._timers[0][0] if self._timers else float("inf")

    def _run_timers(self, now):
        while True:
            with self._timer_lock:
                if not self._timers or self._timers[0][0] > now:
                    return
                _, _, fn, args = heapq.heappop(self._timers)
            fn(*args)

    def run(self):
        """Runs the loop until stop(), then says DISCONNECT and closes."""
        self._stop.clear()
        try:
            while not self._stop.is_set():
                self.step(0.1)
        finally:
            self.close()

    def close(self):
        """Says DISCONNECT when connected (accepted work orders stay ours),
        then closes the socket. The partner can be started again."""
        if self._sock is not None and self._state == "active":
            self._sock.setsockopt(zmq.LINGER, 500)   # goodbye must leave first
            self._send("DISCONNECT")
            self._log(INFO, "partner: disconnected")
        self._close()
        self._state = "idle"

    # -- actions -------------------------------------------------------------------------
    def _job_for(self, wo_id):
        job = self._jobs.get(wo_id)
        if job is None:
            raise UsageError("unknown work order %.64s" % wo_id)
        return job

    def accept(self, wo_id):
        """Takes an offered work order."""
        job = self._job_for(wo_id)
        if job.state in (ACCEPTING, ACCEPTED):
            return                      # already ours or on its way
        if job.state != OFFERED:
            raise UsageError("work order %.64s is not an open offer" % wo_id)
        job.state = ACCEPTING
        self._answer("ACCEPT", job.wo_id, job.offer_id)

    def decline(self, wo_id, reason=None):
        job = self._job_for(wo_id)
        if reason is not None:
            self._check(proto.check_text, "reason", reason)
        if job.state == DECLINING:
            return
        if job.state != OFFERED:
            raise UsageError("work order %.64s is not an open offer" % wo_id)
        job.state = DECLINING
        self._answer("DECLINE", job.wo_id, job.offer_id, reason or "")

    @staticmethod
    def _check(fn, *args):
        try:
            return fn(*args)
        except ValueError as e:
            raise UsageError(str(e))

    def _optional(self, body, key, value, check, *limits):
        """Puts value under key unless it is None, after check(key, value,
        *limits) (which may return a cleaned copy)."""
        if value is not None:
            cleaned = self._check(check, key, value, *limits)
            body[key] = value if cleaned is None else cleaned

    def _working(self, wo_id):
        job = self._job_for(wo_id)
        if job.state not in (ACCEPTING, ACCEPTED):
            raise UsageError("work order %.64s is not accepted, or already completed or returned" % wo_id)
        return job

    def progress(self, wo_id, stage, note=None, appointment_ms=None, end_ms=None, part=None,
                 technician=None):
        """Reports a step (a stage word of section 2.1). scheduled with
        appointment_ms books or changes the appointment (end_ms: the slot's
        end); part names the part waited for (waiting_parts). Returns the
        seq used (>= 1)."""
        job = self._working(wo_id)
        self._check(proto.check_word, "stage", stage, proto.STAGES)
        body = {"wo_id": job.wo_id, "stage": stage}
        self._optional(body, "note", note, proto.check_text, proto.NOTE_MAX)
        self._optional(body, "part", part, proto.check_text)
        self._optional(body, "technician", technician, proto.check_text)
        self._optional(body, "appointment_ms", appointment_ms, proto.check_int, 0, proto.INT64_MAX)
        self._optional(body, "end_ms", end_ms, proto.check_int, 0, proto.INT64_MAX)
        if end_ms is not None and (stage != "scheduled" or appointment_ms is None or end_ms <= appointment_ms):
            raise UsageError("end_ms needs a scheduled appointment that starts before it")
        if sum(1 for p in self._pending if p.wo_id == wo_id and p.cmd == "PROGRESS") >= MAX_PENDING_PER_JOB:
            raise UsageError("%d progress reports of %.64s wait for confirmation" % (MAX_PENDING_PER_JOB, wo_id))
        job.seq += 1
        body["seq"] = job.seq
        p = _Pending("PROGRESS", job.wo_id, body)
        p.seq = job.seq
        self._pending_add(p)
        return job.seq

    def complete(self, wo_id, result, note=None, technician=None, resolution=None, parts=None, fee=None):
        """The work is done: result is a result word of section 2.1;
        resolution a code of [a-z0-9_], parts a list of {"part", "qty"},
        fee in minor currency units."""
        job = self._working(wo_id)
        self._check(proto.check_word, "result", result, proto.RESULTS)
        body = {"wo_id": job.wo_id, "result": result}
        self._optional(body, "note", note, proto.check_text, proto.NOTE_MAX)
        self._optional(body, "technician", technician, proto.check_text)
        self._optional(body, "resolution", resolution, proto.check_resolution)
        self._optional(body, "parts", parts, proto.check_parts)
        self._optional(body, "fee", fee, proto.check_int, 0, proto.FEE_MAX)
        job.complete_body = body
        job.state = COMPLETING
        self._pending_add(_Pending("COMPLETE", job.wo_id, dict(body)))

    def unable(self, wo_id, reason, note=None):
        """Gives an accepted (and confirmed) work order back (an
        unable_reason word); it goes back to routing and this partner gets
        it no more. Only when the platform's WELCOME listed "unable"."""
        job = self._job_for(wo_id)
        if job.state == RETURNING:
            return                      # on its way
        if job.state != ACCEPTED:
            raise UsageError("work order %.64s is not accepted (confirmed), or already completed" % wo_id)
        if proto.FEATURE_UNABLE not in self.platform_features:
            raise UsageError("the platform does not offer UNABLE")
        self._check(proto.check_word, "reason", reason, proto.UNABLE_REASONS)
        body = {"wo_id": job.wo_id, "reason": reason}
        self._optional(body, "note", note, proto.check_text, proto.NOTE_MAX)
        job.state = RETURNING
        self._pending_add(_Pending("UNABLE", job.wo_id, body))

    def list_work(self):
        """Asks the platform for every open work order of this partner: an
        ASSIGNED per accepted one and an OFFER per open offer (handled as
        usual, deduplicated), then on_listed. Only when connected and the
        platform's WELCOME listed "list"."""
        if proto.FEATURE_LIST not in self.platform_features:
            raise UsageError("the platform does not offer LIST")
        if self._state != "active":
            raise UsageError("not connected")
        self._listing = set()
        if not self._send("LIST"):
            self._listing = None
            raise UsageError("LIST could not be sent")

    def set_capacity(self, capacity):
        """Changes capacity (0..1000; 0 = no new offers, accepted work goes
        on) and says READY again when connected."""
        self._check(self._check_capacity, capacity)
        self._capacity = capacity
        if self._state == "active":
            self._send("READY", self._ready_body())

    # -- accessors -----------------------------------------------------------------------
    def job(self, wo_id):
        """The Job for wo_id, or None when not held."""
        return self._jobs.get(wo_id)

    def jobs(self):
        return list(self._jobs.values())

    @property
    def capacity(self):
        return self._capacity

    @property
    def connected(self):
        """True between a WELCOME and the loss of that connection."""
        return self._state == "active"

    @property
    def partner_id(self):
        """The partner_id from WELCOME, else from the certificate's metadata."""
        return self._partner_id or self._cert.partner_id

    def pending(self):
        """Number of commands waiting for CONFIRM or ERROR."""
        return len(self._pending)
