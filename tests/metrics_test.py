# ctest: LABELS integration threads
"""Every service's /metrics as Prometheus and promtool see it.

One cluster: a whole ticket life with a partner, a ticket whose partner
acceptance clock breaches (its region has no partner), and tickets in
other regions that push routing's partner family over a small cap
(ASP_METRICS_PARTNER_SETS). Then, for each of the five services:
promtool check metrics exits 0 on its /metrics (names, HELP, types, label
values); the labels carry the right values (route templates, region,
partner, clock, channel); the family over its cap shows the "other" set
and asp_metric_label_overflow_total counts it. promtool also checks the
shipped Prometheus configurations and alert rules, and every metric a
panel of the Grafana dashboard asks for is one a service exports. Last,
every service's heartbeat hash (asp_svcstat.h) is in Redis with its TTL.

promtool comes from Debian's prometheus package (scripts/promtool.sh,
run by scripts/deps.sh); the test exits 77 (skipped) only when it cannot
be fetched."""

import json
import os
import re
import subprocess

from harness import SERVICES, Cluster, log, run, skip, sla_policy

SOURCE = os.environ.get("ASP_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMTOOL_SH = os.path.join(SOURCE, "scripts", "promtool.sh")
DEPLOY = os.path.join(SOURCE, "deploy")

# The partners serve these regions only: "breachland" stays unroutable.
REGIONS = "north,east,west,south"
PARTNERS = [
    {"capacity": 10, "accept_ratio": 1.0, "accept_delay_ms": 50, "work_ms": 300, "regions": REGIONS},
    {"capacity": 10, "accept_ratio": 1.0, "accept_delay_ms": 100, "work_ms": 500, "regions": REGIONS},
]
# One life claims three of routing's partner label sets (north, its
# partner: offered, accepted, completed); the tickets of the other regions
# need more than the rest.
PARTNER_SETS = 5

POLICY = """
[policy standard]
first_response = 1h calendar
resolution = 24h calendar

[policy metrics-breach]
match = region=breachland
partner_acceptance = 1s calendar ladder=none
"""

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def promtool():
    """The path of promtool, fetched once into .cache/promtool."""
    r = subprocess.run(["bash", PROMTOOL_SH, "--install"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    path = os.path.join(SOURCE, ".cache", "promtool", "promtool")
    if r.returncode != 0 or not os.access(path, os.X_OK):
        skip("promtool is not available (scripts/promtool.sh --install): %s" % r.stdout.decode(errors="replace"))
    return path


def check(argv, stdin=None):
    r = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, "%s exited %d:\n%s" % (" ".join(argv), r.returncode, out)
    return out


def scrape(c, svc):
    r = c.get_text(c.metrics_port(svc), "/metrics")
    assert r.status == 200, (svc, r)
    return str(r.body)


def parse(text):
    """(families {name: type}, samples [(name, {label: value}, value)])."""
    families, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            families[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = {k: v for k, v in LABEL.findall(m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(3))))
    return families, samples


def find(samples, name, **labels):
    return [(l, v) for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]


def value(c, svc, name, **labels):
    return sum(v for _, v in find(parse(scrape(c, svc))[1], name, **labels))


def check_labels(c, tid, partner):
    """The labels of the life, the breach and the overflow."""
    _, intake = parse(scrape(c, "intake"))
    # Route templates, never raw URLs with ids.
    created = find(intake, "asp_api_requests_total", route="/v1/tickets", method="POST", code="2xx")
    assert created and created[0][1] >= 1, created
    assert find(intake, "asp_api_requests_total", route="/v1/tickets/{id}", method="GET", code="2xx")
    assert not [l for _, l, _ in intake if tid in l.get("route", "")], "a raw URL became a label value"
    assert find(intake, "asp_api_route_seconds_count", route="/v1/tickets")

    def routing():
        return parse(scrape(c, "routing"))[1]
    for outcome in ("offered", "accepted", "completed"):
        got = find(routing(), "asp_partner_workorders_total", region="north", partner=partner, outcome=outcome)
        assert got and got[0][1] >= 1, (outcome, got)

    c.wait_for(lambda: value(c, "sla-timer", "asp_sla_fired_total", clock="partner_acceptance",
                             region="breachland", phase="breach") >= 1, 30,
               what="the breach counted under clock and region")

    # The webhook is the one channel the harness configures.
    c.wait_for(lambda: value(c, "notification", "asp_notify_sends_total", channel="webhook",
                             outcome="delivered") >= 1, 30, what="notifications counted by channel")

    _, feedback = parse(scrape(c, "feedback"))
    closed = sum(v for _, v in find(feedback, "asp_surveys_total", outcome="resolved")
                 + find(feedback, "asp_surveys_total", outcome="unresolved"))
    assert closed >= 1, find(feedback, "asp_surveys_total")


def check_overflow(c):
    """More regions than routing's partner family may hold."""
    tids = [c.new_ticket(customer={"region": r}) for r in ("east", "west", "south")]
    for t in tids:
        c.wait_status(t, "closed", timeout=90)
    samples = parse(scrape(c, "routing"))[1]
    sets = {tuple(sorted(l.items())) for l, _ in find(samples, "asp_partner_workorders_total")}
    other = find(samples, "asp_partner_workorders_total", region="other", partner="other", outcome="other")
    # The cap, plus the one all-"other" set.
    assert len(sets) == PARTNER_SETS + 1, sets
    assert other and other[0][1] >= 1, samples
    # Every sample of "other" is one the overflow counter counted.
    def same():
        samples = parse(scrape(c, "routing"))[1]
        other = find(samples, "asp_partner_workorders_total", region="other", partner="other", outcome="other")
        overflow = find(samples, "asp_metric_label_overflow_total", family="asp_partner_workorders_total")
        return overflow and overflow[0][1] == other[0][1]
    c.wait_for(same, 10, what="asp_metric_label_overflow_total equal to the other set's count")
    # A family under its cap says 0.
    assert find(parse(scrape(c, "intake"))[1], "asp_metric_label_overflow_total",
                family="asp_api_requests_total")[0][1] == 0


def check_promtool(tool, texts):
    for svc, text in texts.items():
        out = check([tool, "check", "metrics"], stdin=text.encode())
        log("promtool check metrics %s: ok %s" % (svc, out.strip()))
    prom = os.path.join(DEPLOY, "prometheus")
    for f in ("prometheus.yml", "prometheus-local.yml"):
        check([tool, "check", "config", os.path.join(prom, f)])
    check([tool, "check", "rules", os.path.join(prom, "alerts.yml")])


def check_scrape_targets(c):
    """prometheus.yml names the compose services and ports; the local file
    run.sh's defaults."""
    with open(os.path.join(SOURCE, "docker-compose.yml")) as f:
        compose = f.read()
    with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as f:
        prom = f.read()
    targets = dict(re.findall(r"- ([a-z-]+):(\d+)", prom))
    assert set(targets) == set(SERVICES), targets
    for svc, port in targets.items():
        assert re.search(r"(ASP_METRICS_PORT|ASP_HTTP_PORT): \"%s\"" % port, compose), (svc, port)
        assert re.search(r"^  %s:$" % re.escape(svc), compose, re.M), svc


def check_dashboard(families):
    """Every metric a panel asks for is one the services export."""
    with open(os.path.join(DEPLOY, "grafana", "dashboards", "asp.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10, exprs
    with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as f:
        alerts = f.read()
    exported = set()
    for name, kind in families.items():
        exported.add(name)
        if kind == "histogram":
            exported.update(name + s for s in ("_bucket", "_sum", "_count"))
    used = set()
    for e in exprs + [alerts]:
        used.update(re.findall(r"\b(asp_[a-z0-9_]+)", e))
    assert used, exprs
    missing = sorted(used - exported)
    assert not missing, "the dashboard or alerts use metrics no service exports: %s" % missing


# Heartbeats are named as ops know the services (asp_svcstat_service, the
# names of /v1/ops/summary and docker-compose.yml).
BEATS = ("intake", "routing", "sla-timer", "notification", "feedback")


def check_heartbeats(c):
    def beats():
        out = {}
        for svc in BEATS:
            h = c.redis.hgetall("asp:svcstat:%s" % svc)
            if h:
                out[svc] = {k: (v if isinstance(v, str) else v.decode()) for k, v in h.items()}
        return out
    c.wait_for(lambda: len(beats()) == len(BEATS), 30, what="every service's heartbeat")
    for svc, h in beats().items():
        assert set(h) == {"time_ms", "rate_per_s", "p50_ms", "p99_ms"}, (svc, h)
        assert int(h["time_ms"]) > 0 and float(h["rate_per_s"]) >= 0, (svc, h)
        assert 0 <= float(h["p50_ms"]) <= float(h["p99_ms"]) or float(h["p99_ms"]) == 0, (svc, h)
        ttl = c.redis.cmd("PTTL", "asp:svcstat:%s" % svc)
        assert 0 < ttl <= 30000, (svc, ttl)
    # Intake's rate counts API requests: while they come, a beat shows them.
    def intake_busy():
        c.ticket(tid)
        return float(beats().get("intake", {}).get("rate_per_s", 0)) > 0
    tid = c.new_ticket()
    c.wait_for(intake_busy, 30, interval=0.2, what="intake's heartbeat with a rate")


def main():
    tool = promtool()
    policy = sla_policy(POLICY)
    with Cluster(partners=PARTNERS, name="metrics",
                 service_env={"routing": {"ASP_METRICS_PARTNER_SETS": PARTNER_SETS},
                              "sla-timer": {"ASP_SLA_POLICY_FILE": policy}}) as c:
        tid = c.new_ticket()
        closed = c.wait_status(tid, "closed", timeout=90)
        breach = c.new_ticket(customer={"region": "breachland"})
        log("life %s closed by %s; breach ticket %s" % (tid, closed["partner_id"], breach))
        check_labels(c, tid, closed["partner_id"])
        check_overflow(c)
        texts = {svc: scrape(c, svc) for svc in SERVICES}
        check_promtool(tool, texts)
        families = {}
        for text in texts.values():
            families.update(parse(text)[0])
        check_dashboard(families)
        check_scrape_targets(c)
        check_heartbeats(c)
        c.check_alive()


if __name__ == "__main__":
    run(main, name="metrics_test")
