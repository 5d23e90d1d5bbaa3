"""docker-compose.yml is valid and matches the code.

There is no Docker engine on the build machines, so this checks what can be
checked without one:
  - `docker-compose config -q` accepts the file (Debian's docker-compose);
  - it runs the five services, two simulated partners, the simulated
    customer, and redis with AOF on, a password and a named volume;
  - every service has a healthcheck on /healthz, and the certificates come
    from a one-shot init service before routing and the partners start;
  - every service has its own bus key (and no other's) and the trusted
    public certificates;
  - every ASP_* variable it sets is read by the sources (a name only the
    compose file knows is a setting that silently does nothing);
  - every --flag it (and scripts/run.sh) passes to a simulator is one
    that simulator's source knows.
"""
# ctest: TIMEOUT 120 LABELS unit
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE_DIR, run  # noqa: E402

import yaml  # python3-yaml: a dependency of Debian's docker-compose (scripts/deps.sh)

SERVICES = ("intake", "routing", "sla-timer", "notification", "feedback")
COMPOSE = os.path.join(SOURCE_DIR, "docker-compose.yml")


def compose(*args):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (scripts/deps.sh installs it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
    return subprocess.run([exe, "-f", COMPOSE, "--project-directory", SOURCE_DIR] + list(args),
                          cwd=SOURCE_DIR, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def read_sources(patterns):
    text = []
    for pattern in patterns:
        for path in glob.glob(os.path.join(SOURCE_DIR, pattern), recursive=True):
            if "/build" in path[len(SOURCE_DIR):]:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text.append(f.read())
    return "\n".join(text)


def command_of(svc):
    cmd = svc.get("command") or []
    if isinstance(cmd, str):
        cmd = cmd.split()
    return [str(c) for c in cmd]


def volume_of(v):
    """(source, target) of a volume in short ("src:dst:mode") or long syntax."""
    if isinstance(v, dict):
        return v.get("source"), v.get("target")
    parts = str(v).split(":")
    return parts[0], parts[1] if len(parts) > 1 else parts[0]


def check_valid():
    r = compose("config", "-q")
    assert r.returncode == 0, "docker-compose config -q failed:\n%s%s" % (
        r.stdout.decode(), r.stderr.decode())
    r = compose("config")
    assert r.returncode == 0, r.stderr.decode()
    return yaml.safe_load(r.stdout)


def check_services(cfg):
    services = cfg["services"]
    for name in SERVICES:
        assert name in services, "service %s missing" % name
        svc = services[name]
        assert command_of(svc)[:1] == ["asp-" + name], "%s must run asp-%s, runs %s" % (
            name, name, command_of(svc))
        test = " ".join(svc.get("healthcheck", {}).get("test", []))
        assert "curl" in test and "/healthz" in test, "%s: healthcheck must curl /healthz, is %r" % (
            name, test)
        env = svc.get("environment", {})
        assert env.get("ASP_BUS_BIND", "").startswith("tcp://*:"), "%s: ASP_BUS_BIND" % name
        # The port in the healthcheck is the one the service serves.
        port = env.get("ASP_HTTP_PORT") if name == "intake" else env.get("ASP_METRICS_PORT")
        assert port and (":%s/" % port) in test, "%s: healthcheck port %s not in %r" % (name, port, test)
        assert env.get("ASP_REDIS_HOST") == "redis", "%s: ASP_REDIS_HOST" % name
        deps = svc.get("depends_on", {})
        assert "redis" in deps, "%s must start after redis" % name
    # Every service reaches every bus by the same endpoints.
    buses = [{k: v for k, v in services[n]["environment"].items() if k.endswith("_BUS")}
             for n in SERVICES]
    assert all(b == buses[0] for b in buses) and len(buses[0]) == 5, "bus endpoints differ: %s" % buses
    assert "8080:8080" in [str(p) for p in services["intake"].get("ports", [])] or any(
        "8080" in str(p) for p in services["intake"].get("ports", [])), "intake must publish 8080"


def check_partners(cfg):
    services = cfg["services"]
    partners = {n: s for n, s in services.items() if command_of(s)[:1] == ["asp-sim-partner"]}
    assert len(partners) >= 2, "need two simulated partners, found %s" % sorted(partners)
    certs = set()
    for name, svc in partners.items():
        cmd = command_of(svc)
        for flag in ("--endpoint", "--cert", "--server-cert", "--journal"):
            assert flag in cmd, "%s: %s missing" % (name, flag)
        certs.add(cmd[cmd.index("--cert") + 1])
        assert cmd[cmd.index("--endpoint") + 1].startswith("tcp://routing:"), name
        assert "certs" in svc.get("depends_on", {}), "%s must wait for the certificates" % name
    assert len(certs) == len(partners), "partners must have different certificates"
    customers = [s for s in services.values() if command_of(s)[:1] == ["asp-sim-customer"]]
    assert len(customers) == 1, "one simulated customer expected"
    hook = services["notification"]["environment"].get("ASP_NOTIFY_WEBHOOK_URL", "")
    cmd = command_of(customers[0])
    assert "--port" in cmd and (":%s/" % cmd[cmd.index("--port") + 1]) in hook, \
        "notification's webhook %r must point at the simulated customer" % hook
    # The one-shot certificate service.
    init = services.get("certs")
    assert init and init.get("restart") in ("no", None), "one-shot 'certs' service missing"
    routing = services["routing"]
    assert routing["depends_on"].get("certs", {}).get("condition") == "service_completed_successfully"
    vol = lambda s: [volume_of(v)[0] for v in s.get("volumes", [])]
    assert "certs" in vol(init) and "certs" in vol(routing), "routing and certs must share the certs volume"


def check_bus_certs(cfg):
    """The bus is authenticated: each service mounts the trusted public
    certificates and its own secret key only (common/asp_curve.h)."""
    services = cfg["services"]
    keys = {n: "bus-key-" + ("sla" if n == "sla-timer" else n) for n in SERVICES}
    for name in SERVICES:
        svc = services[name]
        env = svc.get("environment", {})
        assert env.get("ASP_BUS_INSECURE", "0") == "0", "%s: the bus must not be insecure" % name
        mounts = dict(volume_of(v) for v in svc.get("volumes", []))
        short = keys[name][len("bus-key-"):]
        assert env.get("ASP_BUS_CERT") == "%s/%s.cert_secret" % (mounts.get(keys[name]), short), \
            "%s: ASP_BUS_CERT must be its own key in volume %s" % (name, keys[name])
        assert mounts.get("bus-trusted") == env.get("ASP_BUS_CERT_DIR"), \
            "%s: ASP_BUS_CERT_DIR must be the bus-trusted volume" % name
        others = [v for v in mounts if v.startswith("bus-key-") and v != keys[name]]
        assert not others, "%s mounts other services' keys: %s" % (name, others)
        assert svc["depends_on"].get("certs", {}).get("condition") == "service_completed_successfully", \
            "%s must wait for the certificates" % name
    init = [volume_of(v)[0] for v in services["certs"].get("volumes", [])]
    assert set(keys.values()) | {"bus-trusted"} <= set(init), "certs must make every bus key: %s" % init


def check_redis(cfg):
    services = cfg["services"]
    redis = services.get("redis")
    assert redis, "redis service missing"
    cmd = " ".join(command_of(redis))
    assert "redis-server" in cmd, "redis must run redis-server"
    assert "--requirepass" in cmd, "redis must have a password"
    conf_path = os.path.join(SOURCE_DIR, "deploy", "redis.conf")
    conf = open(conf_path).read() if "/etc/asp/redis.conf" in cmd else ""
    settings = dict(re.findall(r"^\s*([a-z-]+)\s+(\S+)", conf, re.M))
    aof = settings.get("appendonly") == "yes" or "--appendonly yes" in cmd
    assert aof, "redis must run with appendonly yes"
    assert settings.get("appendfsync", "everysec") in ("everysec", "always")
    volumes = [volume_of(v) for v in redis.get("volumes", [])]
    named = [(src, dst) for src, dst in volumes if src in (cfg.get("volumes") or {})]
    assert any(dst == settings.get("dir", "/data") for src, dst in named), \
        "redis data dir must be a named volume: %s" % volumes
    assert redis.get("healthcheck"), "redis needs a healthcheck"
    pw = redis.get("environment", {}).get("ASP_REDIS_PASSWORD")
    for name in SERVICES:
        assert services[name]["environment"].get("ASP_REDIS_PASSWORD") == pw, \
            "%s: ASP_REDIS_PASSWORD differs from redis's" % name


def check_env_names(cfg):
    c_sources = read_sources(["common/**/*.[ch]", "services/**/*.[ch]", "partner/**/*.[ch]",
                              "tools/**/*.[ch]"])
    scripts = read_sources(["deploy/*.sh"])
    unknown = []
    for name, svc in cfg["services"].items():
        for var in svc.get("environment", {}):
            if not var.startswith("ASP_"):
                continue
            in_c = ('"%s"' % var) in c_sources
            in_sh = re.search(r"\$\{?%s\b" % var, scripts) is not None
            if not (in_c or in_sh):
                unknown.append("%s: %s" % (name, var))
    assert not unknown, "variables set in docker-compose.yml that no source reads:\n  " + \
        "\n  ".join(unknown)


def check_flags(cfg):
    sim_sources = read_sources(["partner/**/*.[ch]", "tools/**/*.[ch]"])
    unknown = []
    for name, svc in cfg["services"].items():
        cmd = command_of(svc)
        if cmd[:1] not in (["asp-sim-partner"], ["asp-sim-customer"]):
            continue
        for arg in cmd[1:]:
            if arg.startswith("--"):
                flag = arg[2:].split("=")[0]
                if ('"%s"' % flag) not in sim_sources and ('"--%s"' % flag) not in sim_sources:
                    unknown.append("%s: %s" % (name, arg))
    assert not unknown, "flags no simulator source knows:\n  " + "\n  ".join(unknown)


def check_run_sh_flags():
    """scripts/run.sh passes the simulators only flags their sources know."""
    sim_sources = read_sources(["partner/**/*.[ch]", "tools/**/*.[ch]"])
    with open(os.path.join(SOURCE_DIR, "scripts", "run.sh")) as f:
        text = f.read().replace("\\\n", " ")
    unknown, seen = [], set()
    for line in text.splitlines():
        if "asp-sim-partner\"" in line or "asp-sim-customer\"" in line:
            for flag in re.findall(r"\s--([a-z][a-z-]*)", line):
                seen.add(flag)
                if ('"%s"' % flag) not in sim_sources:
                    unknown.append(flag)
    assert {"endpoint", "cert", "journal", "port", "intake"} <= seen, \
        "scripts/run.sh: simulator command lines not found (%s)" % sorted(seen)
    assert not unknown, "scripts/run.sh passes flags no simulator knows: %s" % unknown


def main():
    cfg = check_valid()
    check_services(cfg)
    check_partners(cfg)
    check_bus_certs(cfg)
    check_redis(cfg)
    check_env_names(cfg)
    check_flags(cfg)
    check_run_sh_flags()


if __name__ == "__main__":
    run(main)
