"""The bus is authenticated (CurveZMQ, common/asp_curve.h).

For each service's bus inbox, one well-formed event that the service would
apply is sent first from sockets without a service certificate: an unknown
CURVE key, a key routing trusts as a partner (another ZAP domain), and a
plain socket. None gets an answer, the service reads nothing
(bus_received_total), Redis does not change, and every attempt is counted
(bus_auth_refused_total). Then the very same message (same id) from a
socket with a service certificate is applied (ACK, bus_applied_total + 1),
which also proves the refused copies were never applied. Last, a service
without its certificate refuses to start (exit 2) unless ASP_BUS_INSECURE=1.
"""

import os
import shutil
import time
import subprocess

import zmq.auth

import harness
from harness import SERVICES, Cluster, binary, envelope, log, new_id, run, scaled


def ticket_created(ticket):
    return {"type": "repair", "tier": "standard", "priority": 2, "category": "heater",
            "region": "north", "model": "X1", "serial": "S1", "summary": "no hot water",
            "customer_name": "Li Lei", "customer_phone": "13812345678",
            "customer_class": "B", "channel": "hotline"}


def forged(svc, tid):
    """(type, ticket, body): an event svc consumes and would apply."""
    fresh = new_id("T")
    return {
        "intake": ("ticket.closed", tid, {"reason": "forged"}),
        "routing": ("ticket.created", fresh, ticket_created(fresh)),
        "sla-timer": ("ticket.created", fresh, ticket_created(fresh)),
        "notification": ("ticket.created", fresh, ticket_created(fresh)),
        "feedback": ("workorder.completed", fresh, {"wo_id": "W" + fresh, "partner_id": "P9",
                                                    "result": "fixed"}),
    }[svc]


def settle(c):
    """Waits until no service has anything left to deliver (c.drained(),
    twice, 0.2 s apart)."""
    c.wait_for(lambda: c.drained() and (time.sleep(0.2) or c.drained()),
               scaled(20, 40), what="outboxes to drain")


def outsiders(c, svc):
    """(what, curve keys or None) for each socket without a service certificate."""
    server, _ = zmq.auth.load_certificate(os.path.join(c.bus_certs.keys, harness.BUS_CERT_NAMES[svc] + ".cert"))
    stranger = zmq.auth.load_certificate(c.bus_certs.make("stranger", trusted=False))
    partner = zmq.auth.load_certificate(c.bus_certs.secret("partner-x"))
    return [("an unknown CURVE key", (stranger[0], stranger[1], server)),
            ("a partner's key", (partner[0], partner[1], server)),
            ("a plain socket", None)]


def refused_then_accepted(c, svc, tid):
    etype, ticket, body = forged(svc, tid)
    msg_id = new_id("m")
    frame = envelope(etype, ticket, body, id=msg_id)
    settle(c)
    before = c.redis.snapshot()
    received = c.metric(svc, "asp_bus_received_total")
    for what, curve in outsiders(c, svc):
        refused = c.metric(svc, "asp_bus_auth_refused_total")
        bus = harness.Bus(c.bus_endpoint(svc), curve=curve)
        try:
            bus.sock.send(frame)
            c.wait_for(lambda: c.metric(svc, "asp_bus_auth_refused_total") > refused, scaled(5, 15),
                       what="%s to count the refusal of %s" % (svc, what))
            # A service answers an accepted message within milliseconds.
            reply = bus.recv(timeout=0.3)
            assert reply is None, "%s: %s was answered %r" % (svc, what, reply)
        finally:
            bus.close()
    assert c.metric(svc, "asp_bus_received_total") == received, "%s read a refused message" % svc
    after = c.redis.snapshot()
    assert after == before, "%s: refused messages changed Redis: %r" % (
        svc, sorted(set(after.items()) ^ set(before.items()))[:10])
    # The same message from a service certificate: applied.
    applied = c.metric(svc, "asp_bus_applied_total")
    reply = c.bus(svc).send([frame])
    assert reply == ["ACK", msg_id], "%s: the message with a service certificate got %r" % (svc, reply)
    assert c.metric(svc, "asp_bus_applied_total") == applied + 1, "%s: not applied once" % svc
    log("%s: refused an unknown key, a partner key and a plain socket (counted, Redis unchanged); "
        "applied the same %s from a service key" % (svc, etype))


def refuses_to_start_without_cert(c):
    env = c.service_environment("feedback")
    env.pop("ASP_BUS_CERT")
    env["ASP_METRICS_PORT"] = "0"
    env["ASP_BUS_BIND"] = "tcp://127.0.0.1:%d" % harness.free_port()
    r = subprocess.run([binary("asp-feedback")], env=env, capture_output=True, timeout=scaled(20, 60))
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 2 and "ASP_BUS_CERT" in out, (r.returncode, out[-500:])
    log("a service without ASP_BUS_CERT refuses to start (exit 2, the variable named)")


def main():
    with Cluster(partners=0, customer=False, name="busauth") as c:
        # A key routing trusts on its partner socket must not pass any bus.
        c.bus_certs.make("partner-x", trusted=False)
        shutil.copy(os.path.join(c.bus_certs.keys, "partner-x.cert"), c.partner_cert_dir)
        tid = c.new_ticket()
        # No partner at all: once routing's start-up grace is over it calls
        # the work order unroutable (and everyone hears it). Let that happen
        # before Redis must stay still.
        c.wait_for(lambda: c.ticket(tid).get("unroutable"), scaled(20, 40),
                   what="routing to call the work order unroutable")
        for svc in SERVICES:
            refused_then_accepted(c, svc, tid)
        c.check_alive()
        refuses_to_start_without_cert(c)
    print("bus_auth_test: 1 passed, 0 failed")


if __name__ == "__main__":
    run(main)
