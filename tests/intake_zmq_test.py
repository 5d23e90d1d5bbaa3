# ctest: LABELS integration threads
"""Intake's ZeroMQ endpoint for systems (ASPI/1, docs/http-api.md "ZeroMQ
API for systems") with real CURVE clients: create with idempotency (the
same key and body replays, another body is a 422), read, the warranty
check (the same route table), refusals that change nothing, frames that
are not ASPI/1, and keys that are not admitted (never a connection). The
HTTP side needs bearer tokens; this socket reads none."""

import json
import os
import subprocess

import zmq
import zmq.auth

from harness import TIMEOUT_SCALE, Cluster, HarnessError, binary, free_port, log, new_id, run

VERSION = b"ASPI/1"


def certgen(name, out):
    r = subprocess.run([binary("asp-certgen"), "--name", name, "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise HarnessError("asp-certgen %s: %s" % (name, r.stdout.decode()))
    return os.path.join(out, name + ".cert_secret")


class Client:
    """A system's socket: DEALER (or REQ) as a CURVE client with its key."""

    def __init__(self, ctx, endpoint, secret, server_cert, kind=zmq.DEALER, curve=True):
        self.sock = ctx.socket(kind)
        self.sock.linger = 0
        if curve:
            public, secret_key = zmq.auth.load_certificate(secret)
            server, _ = zmq.auth.load_certificate(server_cert)
            self.sock.curve_publickey, self.sock.curve_secretkey = public, secret_key
            self.sock.curve_serverkey = server
        self.sock.connect(endpoint)

    def send(self, frames, flags=0):
        self.sock.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames], flags)

    def recv(self, timeout=5.0):
        if not self.sock.poll(int(timeout * 1000 * TIMEOUT_SCALE)):
            return None
        return self.sock.recv_multipart()

    def call(self, method, path, body=b"", key="", timeout=5.0):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send([VERSION, method, path, key, body])
        reply = self.recv(timeout)
        if reply is None:
            raise HarnessError("no reply to %s %s" % (method, path))
        assert len(reply) == 3 and reply[0] == VERSION, reply
        return int(reply[1]), json.loads(reply[2])

    def close(self):
        self.sock.close()


def intake_keys(c):
    return sorted(c.redis.keys("{s*}:t:*") + c.redis.keys("{s*}:idem:*"))


def check_create_read(c, oms):
    key = new_id("oms")
    body = c.ticket_body(type="installation", agent="agent-9")
    status, a = oms.call("POST", "/v1/tickets", body, key)
    assert status == 201 and a["status"] == "received", (status, a)
    status, b = oms.call("POST", "/v1/tickets", body, key)
    assert status == 200 and b["id"] == a["id"] and b["idempotent_replay"] is True, (status, b)
    before = intake_keys(c)
    status, e = oms.call("POST", "/v1/tickets", dict(body, description="Another request."), key)
    assert status == 422 and e["error"]["code"] == "idempotency_key_reused", (status, e)
    assert a["id"] in e["error"]["message"], e
    assert intake_keys(c) == before, "a refused replay changed Redis"
    status, t = oms.call("GET", "/v1/tickets/%s?view=full" % a["id"])
    assert status == 200 and t["id"] == a["id"] and t["type"] == "installation", (status, t)
    assert t["owner"] == "agent-9", t          # a system names the agent
    assert t["customer"]["phone"].count("*") == 4, t
    status, tl = oms.call("GET", "/v1/tickets/%s/timeline" % a["id"])
    assert status == 200 and tl["events"][0]["type"] == "ticket.created", tl
    # The same ticket over HTTP (with a token there).
    r = c.http("GET", "/v1/tickets/" + a["id"], None, {"Authorization": "Bearer agent-tok"})
    assert r.status == 200 and r["id"] == a["id"], r
    # Without a key, each request is its own.
    status, d = oms.call("POST", "/v1/tickets", c.ticket_body())
    assert status == 201 and d["id"] != a["id"], d
    return a["id"]


def check_refusals(c, oms, tid):
    before = intake_keys(c)
    status, e = oms.call("POST", "/v1/tickets", dict(c.ticket_body(), type="teleport"), new_id("oms"))
    assert status == 400 and e["error"]["code"] == "invalid_field" and "type" in e["error"]["message"], e
    status, e = oms.call("POST", "/v1/tickets", b"{not json", new_id("oms"))
    assert status == 400 and e["error"]["code"] == "invalid_json", e
    status, e = oms.call("POST", "/v1/tickets", c.ticket_body(), "bad key!")
    assert status == 400 and e["error"]["code"] == "invalid_header", e
    status, e = oms.call("GET", "/v1/tickets/Tnope0000000000000000")
    assert status == 404 and e["error"]["code"] == "not_found", e
    status, e = oms.call("DELETE", "/v1/tickets/" + tid)
    assert status == 405, e
    status, e = oms.call("POST", "/v1/tickets", b"x" * 66000)
    assert status == 413 and e["error"]["code"] == "too_large", e
    # A frame far over the cap (ZMQ_MAXMSGSIZE) ends the connection
    # before it is read; the client's socket reconnects by itself.
    oms.send([VERSION, b"POST", b"/v1/tickets", b"", b"x" * 200000])
    assert oms.recv(timeout=1.0) is None
    c.wait_for(lambda: oms.call("GET", "/v1/tickets/" + tid)[0] == 200, 10, interval=0.2,
               what="the client to reconnect after an oversized frame")
    # Frames that are not ASPI/1: an error reply, never a crash.
    for frames, why in (([VERSION, b"GET", b"/v1/tickets/" + tid.encode(), b""], "5 frames"),
                        ([b"ASPI/9", b"GET", b"/", b"", b""], "ASPI/1"),
                        ([VERSION, b"get", b"/", b"", b""], "capital"),
                        ([VERSION, b"GET", b"/v1/\xff", b"", b""], "printable"),
                        ([VERSION, b"GET", b"/v1/x?a=%zz", b"", b""], "query"),
                        ([VERSION, b"POST", b"/v1/tickets", b"k\x00", b"{}"], "idempotency key")):
        oms.send(frames)
        reply = oms.recv()
        assert reply and reply[0] == VERSION and reply[1] in (b"400",), (frames, reply)
        assert why in json.loads(reply[2])["error"]["message"], (frames, reply)
    assert intake_keys(c) == before, "a refused request changed Redis"


def check_same_routes(oms):
    status, w = oms.call("POST", "/v1/warranty/check", {"category": "tv", "type": "repair"})
    assert status == 200 and w["remedy"] == "paid_repair", w
    status, p = oms.call("GET", "/v1/warranty/policy")
    assert status == 200 and p["source"] == "built-in", p


def check_req_socket(ctx, endpoint, secret, server):
    req = Client(ctx, endpoint, secret, server, kind=zmq.REQ)
    try:
        status, p = req.call("GET", "/v1/warranty/policy")
        assert status == 200, p
    finally:
        req.close()


def check_strangers(c, ctx, endpoint, rogue, server):
    """A key not in the folder, and a plain client: no connection, no
    reply, nothing written."""
    before = intake_keys(c)
    for client in (Client(ctx, endpoint, rogue, server), Client(ctx, endpoint, None, None, curve=False)):
        try:
            # The handshake fails, so the socket may have no connection to
            # queue on at all (EAGAIN): either way, no answer.
            try:
                client.send([VERSION, "POST", "/v1/tickets", "", json.dumps(c.ticket_body())], zmq.NOBLOCK)
            except zmq.Again:
                pass
            assert client.recv(timeout=2.0) is None, "a stranger got an answer"
        finally:
            client.close()
    assert intake_keys(c) == before, "a stranger changed Redis"


def main():
    roles = ("agent", "system")
    c = Cluster(partners=0, customer=False, start=False, name="intake-zmq",
                env={"ASP_API_TOKENS": ",".join("%s-tok:%s" % (r, r) for r in roles)})
    keys = os.path.join(c.dir, "aspi-keys")
    admitted = os.path.join(c.dir, "aspi-systems")
    os.makedirs(keys)
    os.makedirs(admitted)
    server_secret = certgen("intake-api", keys)
    oms_secret = certgen("oms", keys)
    rogue_secret = certgen("rogue", keys)
    os.rename(os.path.join(keys, "oms.cert"), os.path.join(admitted, "oms.cert"))
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    c.service_env["intake"] = {"ASP_INTAKE_API_ZMQ": endpoint, "ASP_INTAKE_API_CERT": server_secret,
                               "ASP_INTAKE_API_CERTS": admitted}
    server_cert = os.path.join(keys, "intake-api.cert")
    ctx = zmq.Context()
    with c:
        c.start()
        oms = Client(ctx, endpoint, oms_secret, server_cert)
        try:
            tid = check_create_read(c, oms)
            check_refusals(c, oms, tid)
            check_same_routes(oms)
            check_req_socket(ctx, endpoint, oms_secret, server_cert)
            check_strangers(c, ctx, endpoint, rogue_secret, server_cert)
            # The admitted system still works after the strangers.
            status, _ = oms.call("GET", "/v1/tickets/" + tid)
            assert status == 200
            assert c.metric("intake", "asp_zmq_requests_total") >= 10
        finally:
            oms.close()
        c.check_alive()
    ctx.term()
    log("intake zmq ok")


if __name__ == "__main__":
    run(main, name="intake_zmq_test")
