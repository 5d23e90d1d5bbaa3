#!/usr/bin/python3
"""Partners upgrade on their own schedule: a partner that speaks exactly
the first ASPW/1 (tests/legacy/aspw1_partner.py, frozen and strict: it
refuses any command, word or typing it does not know) lives whole work
orders on today's platform: offer, accept, progress (an appointment
included), a reconnect with a fresh socket that brings ASSIGNED back
(whose new keys it ignores), progress after it, complete; every ticket
reaches completed on the real cluster (intake, routing and the rest)."""
# ctest: LABELS integration

import os
import sys
import time

import zmq

from harness import Cluster, log, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy"))
import aspw1_partner as legacy  # noqa: E402

DONE = ("completed", "visit_scheduled", "closed")


def life(c, p, reconnect):
    tid = c.new_ticket(type="repair")
    wo = "W" + tid
    offer = p.expect("OFFER", lambda b: b["wo_id"] == wo, timeout=20)
    p.command("ACCEPT", {"wo_id": wo, "offer_id": offer["offer_id"]})
    p.command("PROGRESS", {"wo_id": wo, "seq": 1, "stage": "on_the_way"})
    appointment = int(time.time() * 1000) + 3600 * 1000
    p.command("PROGRESS", {"wo_id": wo, "seq": 2, "stage": "scheduled", "appointment_ms": appointment})
    seq = 2
    if reconnect:
        # A crash of the partner's system: a new socket, READY, its work back.
        p.sock.close(0)
        p.sock = None
        p.connect()
        assigned = p.expect("ASSIGNED", lambda b: b["wo_id"] == wo)
        assert assigned["seq"] == 2 and assigned["offer_id"] == offer["offer_id"], assigned
        assert assigned["ticket_id"] == tid, assigned
        seq = max(seq, assigned["seq"])
    p.command("PROGRESS", {"wo_id": wo, "seq": seq + 1, "stage": "on_site", "note": "到了"})
    c2 = p.command("COMPLETE", {"wo_id": wo, "result": "fixed", "technician": "老王"})
    assert c2["duplicate"] is False, c2
    again = p.command("COMPLETE", {"wo_id": wo, "result": "fixed"})
    assert again["duplicate"] is True, again
    c.wait_for(lambda: c.status(tid) in DONE, 30, what="ticket %s completed" % tid)
    log("legacy life of %s ok (reconnect=%s)" % (wo, reconnect))


def main():
    with Cluster(partners=0) as c:
        pub, sec = zmq.curve_keypair()
        legacy.write_cert(os.path.join(c.partner_cert_dir, "L001.cert"), pub, meta={"partner_id": "L001"})
        server = legacy.read_public_key(os.path.join(c.cert_dir, "routing.cert"))
        p = legacy.LegacyPartner(c.partner_endpoint, pub, sec, server)
        # The certificate folder is read again when it changes: no restart.
        welcome = None
        for _ in range(50):
            try:
                welcome = p.connect()
                break
            except legacy.ProtocolViolation:
                time.sleep(0.2)
        assert welcome and welcome["partner_id"] == "L001", welcome
        life(c, p, reconnect=False)
        life(c, p, reconnect=True)
        p.close()


if __name__ == "__main__":
    run(main, name="partner_legacy_test")
