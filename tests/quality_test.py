# ctest: LABELS integration
"""Repeat repairs and first-install returns end to end, through intake's
API and the real cluster (services/feedback/feedback_visits.h):

  1. an installation ticket for a new unit is installed by a partner's
     technician (the unit's installer of record);
  2. a repair ticket of that unit, created at once (within
     ASP_INSTALL_RETURN_D of the installation): ticket.created carries the
     installation, and feedback counts a first-install return against the
     installer, partner and technician; the repair is fixed;
  3. another repair ticket of the unit (another fault), within
     ASP_REPEAT_WINDOW_D of that repair: ticket.created carries the
     previous repair, and feedback counts a repeat repair against its
     partner and technician.

The second repair is no second first-install return (one per
installation: the unit was repaired since), and a maintenance ticket of
the unit counts neither. The figures are read from feedback's counts by
day (fb:days, summed over the shards)."""

import time

from harness import Cluster, log, run, shard_keys

DAY = 86400000


def counts(c):
    """Today's counts: {(count, kind, owner...): n} over every shard."""
    today = int(time.time() * 1000) // DAY
    out = {}
    for k in shard_keys("fb:days"):
        for f, v in c.redis.hgetall(k).items():
            day, count, rest = f.split("|", 2)
            if int(day) == today:
                key_ = (count,) + tuple(rest.split("|"))
                out[key_] = out.get(key_, 0) + int(v)
    return out


def main():
    with Cluster(partners=2, env={"ASP_SCORE_INTERVAL_MS": 200}, name="quality") as c:
        body = c.ticket_body(type="installation")
        unit = body["product"]["serial"]
        first = c.new_ticket(type="installation", customer=body["customer"], product=body["product"])
        done = c.wait_status(first, "closed", timeout=90)
        installer = done["partner_id"]
        c.wait_for(lambda: c.get("/v1/units/" + unit).body.get("installer_partner") == installer, 20,
                   what="the installer of record")
        assert c.get("/v1/units/" + unit).body["installer_technician"] == "sim-technician"

        # 2: a repair at once: a first-install return of the installer.
        repair = c.new_ticket(type="repair", customer=body["customer"], product={"serial": unit}, fault="E1")
        c.wait_for(lambda: counts(c).get(("install_returns", "p", installer)) == 1, 20,
                   what="the first-install return counted")
        got = counts(c)
        assert got.get(("install_returns", "t", installer, "sim-technician")) == 1, got
        assert got.get(("installs", "p", installer)) == 1, got
        assert not any(k[0] == "repeats" for k in got), got
        fixed = c.wait_status(repair, "closed", timeout=90)
        assert fixed["result"] == "fixed", fixed
        repairer = fixed["partner_id"]
        c.wait_for(lambda: c.redis.hgetall("{s%d}:u:%s" % (shard(unit), unit)).get("last_repair_ticket") == repair,
                   20, what="the unit's latest repair")

        # 3: another fault within the repeat window: a repeat repair.
        again = c.new_ticket(type="repair", customer=body["customer"], product={"serial": unit}, fault="E2")
        c.wait_for(lambda: counts(c).get(("repeats", "p", repairer)) == 1, 20, what="the repeat repair counted")
        got = counts(c)
        assert got.get(("repeats", "t", repairer, "sim-technician")) == 1, got
        # Still one first-install return: one per installation.
        assert got.get(("install_returns", "p", installer)) == 1, got
        # A maintenance visit is neither.
        c.new_ticket(type="maintenance", customer=body["customer"], product={"serial": unit}, fault="M1")
        time.sleep(1)
        assert counts(c).get(("repeats", "p", repairer)) == 1
        assert counts(c).get(("install_returns", "p", installer)) == 1
        log("installer %s, repairer %s; tickets %s %s %s" % (installer, repairer, first, repair, again))
        c.check_alive()
    print("quality_test: 1 passed, 0 failed")


def shard(owner):
    from harness import shard_of
    return shard_of(owner)


if __name__ == "__main__":
    run(main, name="quality_test")
