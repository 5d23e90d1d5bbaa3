"""The five services under valgrind's memcheck: a ticket's whole life, an
SLA breach and bad input on every socket, then a clean SIGTERM. Any invalid
read or write, use of uninitialised memory or definite leak makes valgrind
exit 99, which fails the test (the harness checks every exit status).
Skipped (ctest: skipped) in the sanitizer trees (valgrind and the sanitizers
do not mix) and where valgrind is not installed."""

import shutil

from harness import SANITIZED, SERVICES, Cluster, log, run, skip, sla_policy

VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
            "--track-origins=no", "--num-callers=30"]


def main():
    if SANITIZED:
        skip("a sanitizer build (valgrind and the sanitizers do not mix)")
    if not shutil.which("valgrind"):
        skip("valgrind is not installed (scripts/deps.sh installs it)")
    # Express resolution within 3 s; a minute for the rest.
    policy = sla_policy("[policy standard]\npartner_acceptance = 60s calendar\nresolution = 60s calendar\n"
                        "[policy express]\nmatch = tier=express\nresolution = 3s calendar\n")
    with Cluster(partners=[{"skills": ["water_heater"]}], service_env={"sla-timer": {"ASP_SLA_POLICY_FILE": policy}},
                 wrap={s: VALGRIND for s in SERVICES}, name="valgrind") as c:
        tid = c.new_ticket(timeout=60)
        c.wait_status(tid, "closed", timeout=120)
        # An express ticket nobody can take (no partner for its category):
        # its resolution clock breaches, notification tells staff.
        other = c.new_ticket(timeout=60, tier="express", product={"category": "submarine"})
        c.wait_for(lambda: "sla.breached" in c.timeline(other).types(), 60, what="a breach")
        for svc in SERVICES:
            reply = c.bus(svc).send([b"\xdd\xff\x00\x00\x00"])
            assert reply and reply[0] == "NAK", (svc, reply)
        r = c.http("POST", "/v1/tickets", "{broken")
        assert r.status == 400, r
        c.check_alive()
        log("whole life, a breach and garbage under valgrind; stopping (exit codes are checked)")
    print("valgrind_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
