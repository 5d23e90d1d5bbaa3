"""Notifications per second, per channel, against local receivers.

Starts its own redis-server (AOF everysec), the receivers of
tests/receivers.py (a webhook that verifies every signature with Python's
hmac, an asyncio SMTP server, an SMS gateway) and, for each channel, an
asp-notification whose customers all prefer that channel (the webhook:
signed with ASP_NOTIFY_WEBHOOK_SECRET). It records --events notifications
by posting ticket.created on notification's bus inbox (CURVE, pipelined)
while the workers deliver; the figure is notifications delivered (the
receiver answered 2xx, once per id) per second, from the first event sent
to the last delivery, median of --runs runs. The receivers are Python and
single-process: on a small machine they, not notification, may be the
bound, which the figure then says about the pair.

Figures only, no pass/fail.

    /usr/bin/python3 bench/notify_bench.py [--events 2000] [--runs 3]
        [--workers 4] [--channels webhook,email,sms]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402
import receivers  # noqa: E402

SECRET = b"whsec_bench_0123456789abcdef0123456789abcdef"
TOKEN = "bench-sms-token"


def delivered(chan, rx, ids):
    if chan == "email":
        return len(rx.received())
    return sum(1 for n in ids if n in rx.done)


def one_run(args, chan, work, rx):
    redis = harness.Redis(dir=os.path.join(work, "redis-%s-%d" % (chan, time.monotonic_ns())),
                          log_path=os.path.join(work, "redis.log")).start()
    certs = harness.BusCerts(os.path.join(work, "certs"))
    bus_port, metrics_port = harness.free_port(), harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
    env.update(redis.env())
    env.update(certs.env("notification"))
    env.update({"ASP_NOTIFICATION_BUS": "tcp://127.0.0.1:%d" % bus_port,
                "ASP_METRICS_PORT": str(metrics_port), "ASP_LOG_LEVEL": "warn",
                "ASP_NOTIFY_WORKERS": str(args.workers), "ASP_NOTIFY_MAX_QUEUE": "10000000",
                "ASP_NOTIFY_WEBHOOK_URL": rx["webhook"].url,
                "ASP_NOTIFY_WEBHOOK_SECRET": SECRET.decode(),
                "ASP_NOTIFY_SMTP_URL": rx["email"].url, "ASP_NOTIFY_SMTP_FROM": "bench@brand.example",
                "ASP_NOTIFY_SMS_URL": rx["sms"].url, "ASP_NOTIFY_SMS_TOKEN": TOKEN,
                # Delivery speed, not the rules' quiet hours (SMS at night waits).
                "ASP_NOTIFY_QUIET_HOURS": "off"})
    for var in ("ASP_INTAKE_BUS", "ASP_ROUTING_BUS", "ASP_SLA_BUS", "ASP_FEEDBACK_BUS"):
        env[var] = "tcp://127.0.0.1:%d" % harness.free_port()
    proc = harness.Proc("notification", [args.notification], env,
                        os.path.join(work, "notification-%s.log" % chan)).start()
    try:
        harness.wait_for(lambda: _healthy(metrics_port), 20, what="notification /healthz")
        bus = harness.Bus("tcp://127.0.0.1:%d" % bus_port, curve=certs.curve("notification"))
        ids = []
        sent = {}
        start = time.monotonic()
        base = len(rx[chan].received()) if chan == "email" else 0
        for i in range(args.events):
            t = harness.new_id("TB")
            body = {"customer_name": "李雷", "customer_phone": "138%08d" % i, "customer_channel": chan,
                    "customer_email": "c%d.%s@example.com" % (i, t.lower()), "customer_language": "en",
                    "type": "repair", "summary": "bench"}
            mid = harness.new_id("m")
            sent[mid] = harness.envelope("ticket.created", t, body, id=mid)
            ids.append("N" + __import__("hashlib").sha1(("%s/received" % mid).encode()).hexdigest()[:24])
            bus.sock.send(sent[mid])
        # resend what is not acknowledged (as an outbox would) until all are
        acked = set()
        last = time.monotonic()
        while len(acked) < len(sent):
            if bus.sock.poll(100):
                frames = bus.sock.recv_multipart()
                if frames[0] == b"ACK":
                    acked.update(f.decode() for f in frames[1:])
            if time.monotonic() - last > 2:
                for mid, frame in sent.items():
                    if mid not in acked:
                        bus.sock.send(frame)
                last = time.monotonic()
        harness.wait_for(lambda: delivered(chan, rx[chan], ids) - base >= args.events, 600,
                         interval=0.02, what="every %s delivered" % chan)
        took = time.monotonic() - start
        bus.close()
        return args.events / took
    finally:
        proc.terminate(15)
        redis.stop()


def _healthy(port):
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/healthz")
        return c.getresponse().status == 200
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--channels", default="webhook,email,sms")
    ap.add_argument("--notification", default=harness.binary("asp-notification"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="notify-bench-")
    rx = {"webhook": receivers.Webhook([SECRET]).start(),
          "email": receivers.SmtpServer().start(),
          "sms": receivers.SmsGateway(TOKEN).start()}
    try:
        print("notify_bench: %d events a run, %d runs, %d workers" % (args.events, args.runs, args.workers))
        for chan in args.channels.split(","):
            rates = [one_run(args, chan, work, rx) for _ in range(args.runs)]
            bad = [r for r in rx["webhook"].requests if r["bad"]] if chan == "webhook" else []
            if bad:
                print("  %s: %d requests failed verification: %s" % (chan, len(bad), bad[0]["bad"]))
            print("  %-8s %8.0f notifications/s (median; runs: %s)"
                  % (chan, statistics.median(rates), ", ".join("%.0f" % r for r in rates)), flush=True)
    finally:
        for r in rx.values():
            r.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
