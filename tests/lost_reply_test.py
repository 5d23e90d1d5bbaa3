# ctest: TIMEOUT 300
"""Routing's memory after a script whose reply was lost.

Redis may run a script and die (or stall past the client's timeout)
before its reply reaches the service: the service says nothing, the
sender resends, and the resend is a duplicate. For ticket.created that
duplicate must still bring the work order into routing's memory, or no
partner is ever offered it and the ticket waits until routing restarts
(harness_selftest saw this once: Redis SIGKILLed just after a ticket was
created). For ticket.cancelled the duplicate must still take the work order
back from the partner that holds it.

How a reply is lost here: routing runs with ASP_REDIS_TIMEOUT_MS=300 while
a script of the test keeps Redis busy for 1.5 s; routing's script waits
behind it, routing gives up on it (no answer to the sender), and Redis runs
it afterwards. A try whose script did not reach Redis (routing found its
connection down first) proves nothing and is made again."""

import socket
import time

from harness import Cluster, key, log, new_id, run, scaled

BUSY_S = 1.5
# Keeps Redis's only thread busy (no other client is served meanwhile).
BUSY = """local t = redis.call('TIME')
local stop = t[1] * 1000000 + t[2] + tonumber(ARGV[1])
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop
return 1"""

TRIES = 8
PARTNERS = [{"work_ms": 600000, "progress": 0}]     # accepts, never completes


def ticket_created():
    return {"type": "repair", "tier": "standard", "priority": 2, "category": "heater",
            "region": "north", "model": "X1", "serial": "S1", "summary": "no hot water",
            "customer_name": "Li Lei", "customer_phone": "13812345678",
            "customer_class": "B", "channel": "hotline"}


def busy_redis(c):
    """Starts BUSY on a connection of its own and returns once Redis runs
    it (the socket, to read the reply from when done)."""
    sock = socket.create_connection((c.redis.host, c.redis.port), timeout=10)
    args = [b"AUTH", c.redis.password.encode(), b"EVAL", BUSY.encode(), b"0",
            str(int(BUSY_S * 1e6)).encode()]
    sock.sendall(b"*2\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args[:2])
                 + b"*4\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args[2:]))
    # On a loaded machine the message to routing could otherwise run
    # before the script starts: Redis is busy once a PING waits.
    end = time.monotonic() + BUSY_S / 2
    while time.monotonic() < end:
        probe = socket.create_connection((c.redis.host, c.redis.port), timeout=0.05)
        try:
            probe.sendall(b"*1\r\n$4\r\nPING\r\n")
            probe.recv(100)
        except socket.timeout:
            break
        finally:
            probe.close()
    return sock


def lost_then_dup(c, bus, type, tid, body, applied):
    """Sends one message to routing just after Redis became busy, so that
    routing's script waits, routing gives up on it (no answer) and Redis
    runs it afterwards; then the same message again (a duplicate). False
    when routing's script did not reach Redis (another call of routing's
    waited first and took the connection down): try again."""
    mid = new_id("m")
    sock = busy_redis(c)
    answer = bus.publish(type, tid, body, id=mid, timeout=BUSY_S)
    sock.settimeout(BUSY_S * 4)
    done = b""
    while not done.endswith(b":1\r\n"):   # +OK (AUTH), then :1 when BUSY ends
        chunk = sock.recv(100)
        assert chunk, "redis closed the connection: %r" % done
        done += chunk
    sock.close()
    assert answer is None, "routing answered %r while Redis was busy" % (answer,)
    if not eventually(applied, 2.0):
        log("%s %s: routing's script did not reach Redis; again" % (type, tid))
        return False
    answer = c.wait_for(lambda: bus.publish(type, tid, body, id=mid, timeout=1.0), 20,
                        what="routing to answer the resent %s" % type)
    assert answer[0] == "ACK", answer
    return True


def eventually(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def wo_state(c, tid):
    """The work order's state in Redis (in its ticket's shard)."""
    return c.redis.cmd("HGET", key("rt:wo:W" + tid, tid), "state")


def journal(c, wo_id, event):
    return [j for j in c.journal("P001") if j.get("wo_id") == wo_id and j.get("event") == event]


def main():
    with Cluster(partners=PARTNERS, name="lost",
                 service_env={"routing": {"ASP_REDIS_TIMEOUT_MS": 300}}) as c:
        bus = c.bus("routing")
        # 1. ticket.created: the work order is offered and accepted.
        for attempt in range(TRIES):
            tid = new_id("T")
            if lost_then_dup(c, bus, "ticket.created", tid, ticket_created(),
                             lambda: wo_state(c, tid) is not None):
                break
        else:
            raise AssertionError("no ticket.created lost routing's reply (%d tries)" % TRIES)
        c.wait_for(lambda: wo_state(c, tid) == "assigned", scaled(15, 45),
                   what="work order W%s (created by a script whose reply was lost) to be accepted" % tid)
        c.wait_for(lambda: journal(c, "W" + tid, "confirm"), 10, what="P001 to hold W" + tid)
        log("ok - a ticket.created whose reply was lost reaches a partner")

        # 2. ticket.cancelled of that accepted work order: the partner is told.
        for attempt in range(TRIES):
            if lost_then_dup(c, bus, "ticket.cancelled", tid, {"wo_id": "W" + tid},
                             lambda: wo_state(c, tid) == "cancelled"):
                break
        else:
            raise AssertionError("no ticket.cancelled lost routing's reply (%d tries)" % TRIES)
        c.wait_for(lambda: journal(c, "W" + tid, "withdraw"), scaled(10, 30),
                   what="P001 to be told that W%s is cancelled" % tid)
        c.wait_for(lambda: c.metric("routing", "asp_workorders_open") == 0, 10,
                   what="routing to forget the cancelled work order")
        log("ok - a ticket.cancelled whose reply was lost withdraws the work order")
        c.check_alive()


if __name__ == "__main__":
    run(main, "lost_reply_test")
