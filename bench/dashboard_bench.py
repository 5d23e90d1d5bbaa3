"""The ops dashboard in a real browser with many open tickets.

Starts a whole cluster (tokens on, no partner: every ticket stays open),
seeds --tickets open tickets the way bench/ops_bench.py does (POST
/v1/tickets over kept-alive connections), then drives Debian's chromium
(bench/dashboard_bench.js, playwright-core from tools/dashboard) and
prints what a person at the wall screen gets:

- page load, and first paint: sign-in to the board showing the open count;
- update latency: a POST /v1/tickets answer to its row in the live list
  (p50, p99, max; the stream's interval ASP_OPS_STREAM_MS bounds it);
- the page's JS heap and DOM nodes signed in, after the changes, and after
  --soak seconds of tickets arriving at --rate a second;
- the drill-down from the open count to the first page of its tickets.

Figures only, no pass/fail.

    /usr/bin/python3 bench/dashboard_bench.py [--tickets 100000]
        [--connections 16] [--changes 20] [--soak 60] [--rate 5]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from openapi_doc import TOKENS, cluster_env  # noqa: E402
from ops_bench import body, seed  # noqa: E402

CHROMIUM = os.environ.get("ASP_CHROMIUM", "/usr/bin/chromium")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--soak", type=int, default=60)
    ap.add_argument("--rate", type=float, default=5)
    a = ap.parse_args()
    with harness.Cluster(partners=0, env=cluster_env(), name="dashbench") as c:
        secs, refused = seed(c, 0, a.tickets, a.connections)
        print("seeded %d open tickets in %.0f s (%.0f/s), %d refused"
              % (a.tickets, secs, a.tickets / secs, refused), flush=True)
        cfg = {"base": c.base_url, "chromium": CHROMIUM, "open": a.tickets - refused,
               "tokens": {"ops": TOKENS["ops"], "agent": TOKENS["agent"]},
               "ticket": body(a.tickets + 1), "changes": a.changes,
               "soak_s": a.soak, "soak_rate": a.rate}
        path = os.path.join(c.dir, "dashbench.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        r = subprocess.run(["bash", os.path.join(HERE, "..", "scripts", "dashboard.sh"), "node",
                            os.path.join(HERE, "dashboard_bench.js"), path],
                           capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            sys.exit(1)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
