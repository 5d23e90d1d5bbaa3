#!/usr/bin/python3
"""C and Python partners side by side on the real platform.

1. Certificates made by the Python SDK (python3 -m aspw.certgen, no C tool)
   are accepted by the platform (CZMQ's zcertstore loads the public one)
   and by the C SDK (asp-sim-partner loads a Python-made secret one).
2. Three partners with different regions: P001 (C, asp-certgen's
   certificate) in north, CPY (C, a Python-made certificate) in east, PY1
   (the Python example partner, sdk/python/examples/partner.py) in south.
   Each ticket goes to the partner of its region, and each partner finishes
   its work orders.
3. PY1 is killed (SIGKILL) in the middle of a job, after the platform
   confirmed its first PROGRESS, and started again: it gets WELCOME and the
   job back as ASSIGNED with seq 1, continues at seq 2 and completes it.
4. Features the platform announces in WELCOME (contract of issue 7): with
   "list", the restarted PY1 lists its open work and finds the job; with
   "unable", a job PY1 gives back (UNABLE no_parts) is confirmed and leaves
   it. Without them those steps are reported as not run.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/python_partner_test.py
"""
# ctest: TIMEOUT 400 LABELS integration

import os
import re
import shutil
import subprocess

import harness
from harness import Cluster, HarnessError, Proc, binary, run

SDK = os.path.join(harness.SOURCE_DIR, "sdk", "python")
EXAMPLE = os.path.join(SDK, "examples", "partner.py")
DONE = ("completed", "visit_scheduled", "closed")


def log(*args):
    print("[python_partner_test]", *args, flush=True)


def certgen(partner_id, out):
    env = dict(os.environ, PYTHONPATH=SDK)
    r = subprocess.run(["/usr/bin/python3", "-m", "aspw.certgen", "--partner-id", partner_id,
                        "--out", out], env=env, cwd=SDK, capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise HarnessError("aspw.certgen failed: %s%s" % (r.stdout, r.stderr))
    for suffix in (".cert", ".cert_secret"):
        if not os.path.isfile(os.path.join(out, partner_id + suffix)):
            raise HarnessError("aspw.certgen did not write %s%s" % (partner_id, suffix))


def events(proc, since=0):
    """The example's stdout lines (word lists) after its since-th start
    (harness.Proc marks each start with a "--- HH:MM:SS start:" line); the
    SDK's log lines start with a date, so only the example's own count."""
    with open(proc.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # Only whole lines: the example may be in the middle of writing one.
    text = text[:text.rfind("\n") + 1]
    runs = re.split(r"^--- \d\d:\d\d:\d\d start: .*$", text, flags=re.M)
    return [line.split() for run in runs[since + 1:] for line in run.splitlines()
            if line and line[0].islower()]


def has(proc, *words, since=0):
    return any(e[:len(words)] == list(words) for e in events(proc, since))


def main():
    with Cluster(partners=[{"regions": "north", "work_ms": 300}], customer=False, name="pypartner") as c:
        tmp = os.path.join(c.dir, "python-certs")      # kept with the logs when the test fails
        certgen("PY1", tmp)
        certgen("CPY", tmp)
        for pid in ("PY1", "CPY"):
            shutil.copy(os.path.join(tmp, pid + ".cert"), os.path.join(c.partner_cert_dir, pid + ".cert"))
        routing_cert = os.path.join(c.cert_dir, "routing.cert")
        py = Proc("PY1", ["/usr/bin/python3", EXAMPLE, "--endpoint", c.partner_endpoint,
                          "--cert", os.path.join(tmp, "PY1.cert_secret"), "--server-cert", routing_cert,
                          "--regions", "south", "--capacity", "3", "--work-ms", "8000",
                          "--steps", "3", "--list", "--reconnect-ms", "200",
                          "--unable-category", "gas_stove"],
                  dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), os.path.join(c.log_dir, "PY1.log"))
        cpy = Proc("CPY", [binary("asp-sim-partner"), "--endpoint", c.partner_endpoint,
                           "--cert", os.path.join(tmp, "CPY.cert_secret"), "--server-cert", routing_cert,
                           "--regions", "east", "--work-ms", "300",
                           "--journal", c.journal_path("CPY")], c.env(), os.path.join(c.log_dir, "CPY.log"))
        c.procs["PY1"], c.procs["CPY"] = py.start(), cpy.start()
        c.wait_partners(3, timeout=20)
        c.wait_for(lambda: has(py, "welcome", "PY1"), 10, what="PY1 welcomed")
        features = next(e for e in events(py) if e[0] == "welcome")[2][len("features="):].split(",")
        log("platform features:", features)

        # Each region's tickets go to its partner.
        tickets = {}
        for region in ("north", "north", "east", "south", "south"):
            tickets[c.new_ticket(customer={"region": region})] = region
        south = [t for t, r in tickets.items() if r == "south"]

        # PY1 dies in the middle of its first job, after seq 1 is recorded;
        # started again it gets the job back as ASSIGNED with the last seq
        # the platform recorded (1, or 2 when the kill came just after the
        # next step went out) and continues after it.
        victim = "W" + south[0]
        c.wait_for(lambda: has(py, "confirmed", victim, "seq=1"), 30, what="PY1's first PROGRESS confirmed")
        c.kill("PY1")
        assert not has(py, "complete", victim), "the job ended before the kill"
        py.start()
        resumed = c.wait_for(lambda: [e for e in events(py, since=1) if e[:2] == ["assigned", victim]], 30,
                             what="PY1 resumed %s from ASSIGNED" % victim)
        seq = int(resumed[0][2][len("seq="):])
        assert seq in (1, 2), resumed
        if "detail" in features:        # ASSIGNED says where the job stands
            assert resumed[0][3] == "stage=" + ("scheduled", "on_the_way")[seq - 1], resumed
        c.wait_for(lambda: has(py, "completed", victim, since=1), 30, what="%s completed" % victim)
        after = events(py, since=1)
        steps = [e[2] for e in after if e[:2] == ["progress", victim]]
        assert steps[0] == "seq=%d" % (seq + 1), ("the restarted partner must continue at seq + 1", after)

        for tid, region in tickets.items():
            t = c.wait_status(tid, DONE, 60)
            want = {"north": "P001", "east": "CPY", "south": "PY1"}[region]
            assert t["partner_id"] == want, (tid, region, t["partner_id"])
        assert any(j["event"] == "complete" for j in c.journal("CPY"))
        assert any(j["event"] == "complete" for j in c.journal("P001"))
        tl = c.timeline(south[0]).types()
        assert tl.count("workorder.completed") == 1, tl

        if "list" in features:
            listed = c.wait_for(lambda: [e for e in events(py, since=1) if e[0] == "listed"], 10, what="LISTED")
            assert victim in listed[0][-1][len("wo_ids="):].split(","), listed
            log("LIST: checked")
        else:
            log("LIST: not run (the platform's WELCOME does not list it)")

        if "unable" in features:
            tid = c.new_ticket(customer={"region": "south"}, product={"category": "gas_stove"})
            c.wait_for(lambda: has(py, "returned", "W" + tid, since=1), 30, what="UNABLE confirmed")
            assert c.status(tid) not in DONE
            log("UNABLE: checked")
        else:
            log("UNABLE: not run (the platform's WELCOME does not list it)")
        c.check_alive()
        # SIGTERM: both say DISCONNECT and exit 0.
        for proc in (py, cpy):
            rc = proc.terminate()
            assert rc == 0, "%s exited with %r on SIGTERM:\n%s" % (proc.name, rc, proc.tail())


if __name__ == "__main__":
    run(main, name="python_partner_test")
