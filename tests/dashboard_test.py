#!/usr/bin/python3
"""The ops dashboard, driven in a real headless browser as a person would.

Debian's chromium, driven by playwright-core (tools/dashboard's pins,
installed by scripts/dashboard.sh into .cache/dashboard; no browser
download) from tests/dashboard_driver.js, against a real cluster with
tokens on, two simulated partners, the simulated customer (it answers
surveys, so tickets close) and an SLA policy of seconds for the region
"breach", which no partner serves:
- a customer's token and an agent's token are refused at sign-in (403,
  "Not allowed here"); ops sign in and the stream goes live;
- a ticket created with an HTTP POST appears in the live list, and its
  status moves there until closed, without a reload;
- intake is killed and restarted under the page: the stream reconnects
  with Last-Event-ID and a ticket created then appears;
- a breach: the board's "breached" number links to the list that holds
  the ticket, the ticket shows its breached clock; ops reassign it and
  the timeline grows; a refused re-dispatch shows the API's 409 verbatim;
- a registered partner's page (registry entry, scorecard, open work):
  ops suspend it there;
- the reports page shows a table and a chart and downloads the API's CSV
  (compared here with GET /v1/reports?format=csv: its header and groups);
- zh-CN shows Chinese labels;
- no script error and no Content-Security-Policy violation in the page.
Screenshots (board, ticket, reports, zh-CN) go to ASP_DASHBOARD_SHOTS
(default: the test's folder); README.md shows the copies in docs/img/
(ASP_DASHBOARD_SHOTS=docs/img refreshes them).

SKIPs (exit 77) only when chromium cannot run at all or node/npm are
missing, and never when CI is set.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/dashboard_test.py
"""
# ctest: TIMEOUT 900 LABELS integration

import json
import os
import subprocess
import time

import harness
from harness import Cluster, HarnessError, log, run, skip, sla_policy
from openapi_doc import TOKENS, cluster_env, customer_token

CHROMIUM = os.environ.get("ASP_CHROMIUM", "/usr/bin/chromium")
SCRIPT = os.path.join(harness.SOURCE_DIR, "scripts", "dashboard.sh")
DRIVER = os.path.join(harness.SOURCE_DIR, "tests", "dashboard_driver.js")

# Two centers for the north, slow enough that the live list shows the
# ticket's statuses on its way to closed; none serves the region "breach".
PARTNERS = [{"regions": "north", "accept_delay_ms": 1500, "work_ms": 4000},
            {"regions": "north", "accept_delay_ms": 1500, "work_ms": 4000}]

POLICY = """
[ladder quick]
step = supervisor 2s

[policy standard]
warn = 50%
first_response = 1h calendar ladder=none
resolution = 4h calendar ladder=none

[policy breach]
match = region=breach
warn = 50%
first_response = 3s calendar ladder=quick
"""


def cannot(reason):
    if os.environ.get("CI"):
        raise HarnessError(reason + " (CI: not a skip)")
    skip(reason)


def check_tools():
    if not os.access(CHROMIUM, os.X_OK):
        cannot("no chromium at %s (scripts/deps.sh installs it)" % CHROMIUM)
    try:
        r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "about:blank"],
                           capture_output=True, timeout=120 * harness.TIMEOUT_SCALE)
    except (OSError, subprocess.TimeoutExpired) as e:
        cannot("chromium cannot run: %s" % e)
    if r.returncode != 0 or b"<html" not in r.stdout:
        cannot("chromium cannot run: exit %s, %s" % (r.returncode, r.stderr.decode(errors="replace")[-400:]))
    r = subprocess.run(["bash", SCRIPT, "--install"], capture_output=True, text=True, timeout=600)
    if r.returncode == harness.SKIP_CODE:
        cannot("no node/npm: " + r.stderr.strip())
    if r.returncode != 0:
        raise HarnessError("scripts/dashboard.sh --install failed: %s" % r.stderr[-2000:])


def serve_driver(c, proc, timeout=700):
    """Waits for the driver, doing what it asks (tests/dashboard_driver.js,
    ask()): "restart-intake" kills intake (SIGKILL) and starts it again."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        ask = os.path.join(c.dir, "ask-restart-intake")
        if os.path.exists(ask):
            os.unlink(ask)
            c.restart("intake")
            log("intake restarted for the driver")
            open(os.path.join(c.dir, "done-restart-intake"), "w").close()
        if time.monotonic() > deadline:
            proc.kill()
            raise HarnessError("the browser driver did not finish within %d s" % timeout)
        time.sleep(0.1)


def main():
    check_tools()
    shots_env = os.environ.get("ASP_DASHBOARD_SHOTS")
    env = dict(cluster_env())
    # The simulated customer answers surveys through the API: with tokens
    # on it needs one (a system's), so that tickets close.
    env["ASP_SIM_TOKEN"] = TOKENS["system"]
    with Cluster(partners=PARTNERS, env=env, service_env={"sla-timer": {"ASP_SLA_POLICY_FILE": sla_policy(POLICY)}},
                 name="dashboard") as c:
        c.token = TOKENS["ops"]
        shots = os.path.abspath(shots_env) if shots_env else os.path.join(c.dir, "shots")
        os.makedirs(shots, exist_ok=True)
        # A customer's per-ticket token: real, for a real ticket.
        c.token = TOKENS["agent"]
        first = c.create_ticket()
        if first.status != 201:
            raise HarnessError("creating the customer's ticket: %s %r" % (first.status, first.body))
        config = {
            "base": c.base_url,
            "chromium": CHROMIUM,
            "timeout_scale": harness.TIMEOUT_SCALE,
            "shots": shots,
            "csv": os.path.join(c.dir, "report.csv"),
            "dir": c.dir,
            "tokens": {"ops": TOKENS["ops"], "agent": TOKENS["agent"], "supervisor": TOKENS["supervisor"],
                       "customer": customer_token(first.id, int(time.time()) + 3600)},
            "tickets": {"live": c.ticket_body(), "gap": c.ticket_body(),
                        "breach": c.ticket_body(customer={"region": "breach"})},
            "new_owner": "supervisor.one",
            "partner": {"partner_id": "P-dash-01", "name": "Dashboard Test Repairs", "regions": ["nowhere"],
                        "categories": ["water_heater"], "capacity_cap": 5},
        }
        path = os.path.join(c.dir, "driver.json")
        with open(path, "w") as f:
            json.dump(config, f)
        log("driving the dashboard at %s/dashboard/ (screenshots in %s)" % (c.base_url, shots))
        out_path = os.path.join(c.dir, "driver.out")
        with open(out_path, "w") as out:
            proc = subprocess.Popen(["bash", SCRIPT, "node", DRIVER, path], stdout=out, stderr=subprocess.STDOUT,
                                    text=True)
            serve_driver(c, proc)
        with open(out_path) as f:
            output = f.read()
        print(output, end="", flush=True)
        if proc.returncode != 0:
            raise HarnessError("the browser driver failed (exit %s); see its lines above and %s"
                               % (proc.returncode, os.path.join(shots, "dashboard-failure.png")))
        result = json.loads([line for line in output.splitlines() if line.startswith('{"result"')][-1])
        # What the page showed is what the API holds.
        c.token = TOKENS["supervisor"]
        events = c.timeline(result["breach"])
        owners = [e for e in events if "supervisor.one" in json.dumps(e.get("data", {}))]
        if not owners:
            raise HarnessError("no timeline event names the new owner: %r" % events.types())
        partner = c.http("GET", "/v1/partners/P-dash-01")
        if partner.status != 200 or partner.body.get("status") != "suspended":
            raise HarnessError("the partner the page suspended is %s %r" % (partner.status, partner.body))
        if c.ticket(result["live"])["status"] != "closed":
            raise HarnessError("the live ticket is not closed in the API")
        now = time.gmtime()
        api_csv = c.http("GET", "/v1/reports?period=month&at=%04d-%02d&by=region&format=csv"
                         % (now.tm_year, now.tm_mon))
        with open(config["csv"], encoding="utf-8", newline="") as f:
            page_csv = f.read()
        # The same file the API gives: its header, and a row for the same
        # groups (a count may have moved on since the page downloaded it).
        def shape(text):
            lines = text.splitlines()
            return lines[:1], sorted(line.split(",", 1)[0] for line in lines[1:])
        if api_csv.status != 200 or not page_csv or shape(page_csv) != shape(api_csv.body):
            raise HarnessError("the downloaded CSV %r differs from the API's %s %r"
                               % (page_csv[:300], api_csv.status, str(api_csv.body)[:300]))
        for name in ("board", "ticket", "reports", "zh-CN"):
            if not os.path.getsize(os.path.join(shots, "dashboard-%s.png" % name)):
                raise HarnessError("screenshot %s is empty" % name)
        log("dashboard driven end to end; the CSV has the API's header and groups (%d lines)" % len(page_csv.splitlines()))


if __name__ == "__main__":
    run(main, name="dashboard_test")
