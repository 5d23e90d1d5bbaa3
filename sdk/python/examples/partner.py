#!/usr/bin/python3
"""A complete partner service center in Python: it accepts every offer,
books a visit, reports its steps and completes the work order, and resumes
what the platform says is still its own after a restart.

    PYTHONPATH=sdk/python python3 sdk/python/examples/partner.py \\
        --endpoint tcp://127.0.0.1:7110 --cert P900.cert_secret \\
        --server-cert routing.cert --regions north --capacity 3

It prints one line per event on stdout ("offer W…", "progress W… seq=2
on_site", "completed W…"); the SDK's own log goes to stderr. SIGTERM or
Ctrl-C says DISCONNECT (accepted work stays ours) and exits 0.
"""
import argparse
import logging
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import aspw  # noqa: E402  (the SDK next to this example, unless installed)

# The steps of a visit, in order; the first one books the appointment.
STEPS = ("scheduled", "on_the_way", "on_site")


def say(*words):
    print(*words, flush=True)


class Center:
    """The partner's own bookkeeping: the work it has planned, by wo_id."""

    def __init__(self, args):
        self.args = args
        self.planned = {}       # wo_id -> generation of its plan
        self.generation = 0
        self.partner = aspw.Partner(
            args.endpoint, args.cert, server_cert_file=args.server_cert, server_key=args.server_key,
            capacity=args.capacity, skills=args.skills, regions=args.regions,
            software="aspw-python-example/1", reconnect_ms=args.reconnect_ms,
            on_offer=self.on_offer, on_assigned=self.on_assigned, on_withdraw=self.on_withdraw,
            on_error=self.on_error, on_confirm=self.on_confirm, on_welcome=self.on_welcome,
            on_listed=self.on_listed)

    # -- callbacks ---------------------------------------------------------------
    def on_welcome(self, p, partner_id, features):
        say("welcome", partner_id, "features=" + ",".join(sorted(features)))
        if self.args.list and aspw.proto.FEATURE_LIST in features:
            p.list_work()

    def on_listed(self, p, listed):
        say("listed count=%d assigned=%d offered=%d wo_ids=%s" % (
            listed["count"], listed["assigned"], listed["offered"], ",".join(listed["wo_ids"])))

    def on_offer(self, p, job):
        say("offer", job.wo_id, job.kind, job.region)
        p.accept(job.wo_id)

    def on_confirm(self, p, ref, wo_id, seq, duplicate):
        # The technician goes out only once the platform has the ACCEPT.
        if ref == "ACCEPT" and p.job(wo_id):
            say("accepted", wo_id)
            self.plan(p.job(wo_id))
        elif ref == "PROGRESS":
            say("confirmed", wo_id, "seq=%d" % seq)
        elif ref == "COMPLETE":
            say("completed", wo_id)
        elif ref == "UNABLE":
            say("returned", wo_id)

    def on_assigned(self, p, job):
        say("assigned", job.wo_id, "seq=%d" % job.seq, "stage=%s" % (job.stage or "-"))
        self.plan(job)

    def on_withdraw(self, p, wo_id, reason):
        say("withdrawn", wo_id, reason)
        self.planned.pop(wo_id, None)

    def on_error(self, p, e):
        say("error", e.ref, e.wo_id or "-", e.code, "dropped" if e.job_dropped else "kept")
        if e.job_dropped:
            self.planned.pop(e.wo_id, None)

    # -- the work ----------------------------------------------------------------------
    def plan(self, job):
        """Plans the steps after job.seq, spread over --work-ms, then COMPLETE
        (or UNABLE for --unable-category)."""
        if job.wo_id in self.planned:
            return              # under way
        self.generation += 1
        gen = self.planned[job.wo_id] = self.generation
        p, work = self.partner, self.args.work_ms / 1000.0
        if job.category == self.args.unable_category and aspw.proto.FEATURE_UNABLE in p.platform_features:
            p.call_later(work / 2, self.give_back, job.wo_id, gen)
            return
        steps = STEPS[:self.args.steps]
        for i in range(job.seq + 1, len(steps) + 1):
            p.call_later(work * i / (len(steps) + 1), self.step, job.wo_id, gen, i, steps[i - 1])
        p.call_later(work, self.finish, job.wo_id, gen)

    def live(self, wo_id, gen):
        return self.planned.get(wo_id) == gen and self.partner.job(wo_id) is not None

    def step(self, wo_id, gen, n, stage):
        job = self.partner.job(wo_id)
        if not self.live(wo_id, gen) or n <= job.seq:
            return              # gone, or the platform has this step already
        extra = {}
        if stage == "scheduled":
            start = int(time.time() * 1000) + 3600 * 1000
            extra = dict(appointment_ms=start, end_ms=start + 2 * 3600 * 1000, technician="Wang Fang")
        try:
            seq = self.partner.progress(wo_id, stage, note="step %d" % n, **extra)
        except aspw.UsageError as e:        # e.g. the job was given back meanwhile
            say("refused", wo_id, str(e))
            return
        say("progress", wo_id, "seq=%d" % seq, stage)

    def finish(self, wo_id, gen):
        if not self.live(wo_id, gen):
            return
        job = self.partner.job(wo_id)
        result = "installed" if job.kind == "installation" else "fixed"
        self.planned.pop(wo_id, None)
        try:
            self.partner.complete(wo_id, result, note="work done", technician="Wang Fang",
                                  resolution="replaced_part", parts=[{"part": "thermostat", "qty": 1}],
                                  fee=12000)
        except aspw.UsageError as e:
            say("refused", wo_id, str(e))
            return
        say("complete", wo_id, result)

    def give_back(self, wo_id, gen):
        if not self.live(wo_id, gen):
            return
        self.planned.pop(wo_id, None)
        try:
            self.partner.unable(wo_id, "no_parts", note="part out of stock")
        except aspw.UsageError as e:        # the platform no longer offers UNABLE
            say("refused", wo_id, str(e))
            return
        say("unable", wo_id, "no_parts")


def main():
    ap = argparse.ArgumentParser(description="An example ASPW/1 partner in Python.")
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7110")
    ap.add_argument("--cert", required=True, help="this partner's secret certificate")
    ap.add_argument("--server-cert", help="the platform's public certificate")
    ap.add_argument("--server-key", help="the platform's public key (Z85), instead")
    ap.add_argument("--capacity", type=int, default=3)
    ap.add_argument("--skills", default="*", help="comma list of product categories")
    ap.add_argument("--regions", default="*", help="comma list of regions")
    ap.add_argument("--work-ms", type=int, default=2000, help="time from ACCEPT to COMPLETE")
    ap.add_argument("--steps", type=int, default=3, choices=range(0, len(STEPS) + 1),
                    help="PROGRESS steps before COMPLETE")
    ap.add_argument("--unable-category", help="give these work orders back (UNABLE no_parts)")
    ap.add_argument("--list", action="store_true", help="LIST open work after each WELCOME")
    ap.add_argument("--reconnect-ms", type=int, default=1000)
    args = ap.parse_args()
    if not args.server_cert and not args.server_key:
        ap.error("--server-cert or --server-key is required")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        center = Center(args)
    except aspw.UsageError as e:
        print("partner.py: %s" % e, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: center.partner.stop())
    signal.signal(signal.SIGINT, lambda *_: center.partner.stop())
    center.partner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
