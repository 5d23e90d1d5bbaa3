#!/usr/bin/python3
"""Every service's /healthz tells the truth about Redis, idle or not.

A Redis connection is only found dead when it is used, so an idle service
(no bus message, no request) once went on answering 200 `"redis": true`
long after Redis was gone (common/asp_svc.c, s_on_tick now pings when the
loop made no round trip). Here the cluster is left idle, Redis is killed,
and each of the five services must answer 503 `"redis": false` within a
few seconds; then 200 again once Redis is back.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/health_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import time

from harness import SERVICES, Cluster, HarnessError, log, run

# A tick is 250 ms and an idle loop pings at most once a second.
DETECT_S = 5.0


def health(c, svc):
    r = c.healthz(svc)
    return r.status, r.body


def main():
    with Cluster(partners=0, customer=False, name="health") as c:
        for svc in SERVICES:
            status, body = health(c, svc)
            if status != 200:
                raise HarnessError("%s /healthz: want 200, got %s %r" % (svc, status, body))
        time.sleep(2.0)         # idle: nothing touches Redis
        c.redis.kill()
        started = time.time()
        for svc in SERVICES:
            last = []
            c.wait_for(lambda: last.append(health(c, svc)) or last[-1][0] == 503, DETECT_S,
                       interval=0.1, what="%s /healthz 503 after Redis was killed" % svc)
            body = last[-1][1]
            if not (isinstance(body, dict) and body.get("detail", {}).get("redis") is False):
                raise HarnessError("%s /healthz: %r does not say redis false" % (svc, last[-1][1]))
        log("every idle service reported Redis down within %.1f s" % (time.time() - started))
        c.redis.restart()
        for svc in SERVICES:
            c.wait_for(lambda: health(c, svc)[0] == 200, 15, interval=0.1,
                       what="%s /healthz 200 after Redis came back" % svc)


if __name__ == "__main__":
    run(main, name="health_test")
