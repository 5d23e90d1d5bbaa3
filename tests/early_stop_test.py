# ctest: LABELS integration
"""A stop signal that arrives while a service is still starting ends it
cleanly: every service, started many times and sent SIGTERM within its
first milliseconds, exits 0 (or dies of the signal before its handler is
installed), never aborts. (CZMQ's zmonitor actor used to assert when the
signal landed before its START.)"""

import os
import random
import signal
import subprocess
import tempfile
import time

from harness import BUS_VARS, HarnessError, SERVICES, binary, free_port, log, run, scaled

RUNS = 30


def main():
    bad = []
    certs = tempfile.mkdtemp(prefix="asp-early-stop-")
    subprocess.check_call([binary("asp-certgen"), "--name", "routing", "--out", certs],
                          stdout=subprocess.DEVNULL)
    for svc in SERVICES:
        exe = binary("asp-" + svc)
        for i in range(scaled(RUNS, 10)):
            env = dict(os.environ, ASP_BUS_INSECURE="1", ASP_REDIS_PORT="1", ASP_LOG_LEVEL="error",
                       ASP_METRICS_PORT=str(free_port()), ASP_HTTP_PORT=str(free_port()),
                       ASP_PARTNER_BIND="tcp://127.0.0.1:%d" % free_port(), ASP_PARTNER_CERTS=certs,
                       ASP_ROUTING_CERT=os.path.join(certs, "routing.cert_secret"))
            for s in SERVICES:
                env[BUS_VARS[s]] = "tcp://127.0.0.1:%d" % free_port()
            p = subprocess.Popen([exe], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(random.uniform(0, 0.005))
            p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                raise HarnessError("%s did not stop after SIGTERM" % svc)
            if p.returncode not in (0, -signal.SIGTERM) or b"Assertion" in err:
                bad.append((svc, p.returncode, err.decode(errors="replace").strip().splitlines()[-1:]))
    if bad:
        raise HarnessError("stopped while starting, %d bad exits: %r" % (len(bad), bad[:5]))
    log("early stop ok: %d starts" % (len(SERVICES) * scaled(RUNS, 10)))


if __name__ == "__main__":
    run(main, name="early_stop_test")
