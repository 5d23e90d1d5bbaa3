#!/usr/bin/python3
# ctest: TIMEOUT 400 LABELS integration
"""Dead letters that ops list and replay, through intake's API and asp-ctl.

A whole cluster (harness.Cluster, tokens on) whose notification sends by a
webhook to a real local receiver (tests/receivers.py, signatures verified
with Python's hmac) that refuses (422: permanent) every notification of
the tickets it is told to refuse. Nothing is stubbed.

Covers:
- a refused ticket's notifications become dead letters; GET
  /v1/notifications/dead lists them (newest first, count, limit/offset,
  the ticket filter) and `asp-ctl dead-letters` prints them (table and
  --json); the exit codes of asp-ctl (0, 1 refused, 3 token refused);
- the receiver is fixed; one replayed by the API (202), one by asp-ctl
  replay and the rest by asp-ctl replay --all: each delivered exactly once
  under its own id, and off the dead list; the hash counts the replay;
- the ticket's timeline shows the customer's notification.dead, the replay
  request naming who asked, then notification.delivered, each with its
  fields; an ops notification's dead letter and delivery stay off it;
- replaying a delivered one: 409; an unknown id: 404; garbage: 400; a role
  that may not: 403 (agent replaying, agent listing), nothing changed;
- SIGKILL of notification between the replay command and the delivery
  (notification down when intake commits the command; killed again right
  after it applied it): restarted, the notification is delivered, nothing
  lost, every delivery under the same id;
- garbage bodies of notification.replay on notification's bus, and of
  notification.delivered / notification.dead on intake's: NAK naming the
  field, nothing on the timeline.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/dead_letter_test.py
"""
import json
import subprocess
import time

import harness
import receivers
from harness import binary, new_id, run
from openapi_doc import TOKENS, cluster_env

SECRET = b"whsec_dead_0123456789abcdef0123456789abcdef"


def log(msg):
    print(msg, flush=True)


class World:
    refuse = set()          # ticket ids whose notifications the receiver refuses


def cue(body, n):
    return 422 if body.get("ticket_id") in World.refuse else None


def auth(role):
    return {"Authorization": "Bearer " + TOKENS[role]}


def ctl(c, *args, role="ops"):
    """asp-ctl against the cluster: (exit status, stdout, stderr)."""
    env = {"ASP_INTAKE_URL": c.base_url, "ASP_TOKEN": TOKENS[role], "PATH": "/usr/bin:/bin"}
    r = subprocess.run([binary("asp-ctl")] + list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60 * harness.TIMEOUT_SCALE)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def dead(c, ticket=None, role="ops", **q):
    path = "/v1/notifications/dead"
    params = dict(q)
    if ticket:
        params["ticket"] = ticket
    if params:
        path += "?" + "&".join("%s=%s" % kv for kv in params.items())
    return c.http("GET", path, None, auth(role))


def replay(c, nid, role="ops"):
    return c.http("POST", "/v1/notifications/%s/replay" % nid, None, auth(role))


def refused_ticket(c, hook, want):
    """A ticket whose notifications the receiver refuses; waits for want of
    them to be dead letters. Returns (ticket id, [dead letter items])."""
    r = c.http("POST", "/v1/tickets", c.ticket_body(customer={"region": "nowhere"}), auth("agent"))
    assert r.status == 201, r
    tid = r["id"]
    World.refuse.add(tid)
    # ticket.created may have been notified before the refusal was set:
    # only what the receiver refused counts.
    c.wait_for(lambda: dead(c, tid).get("count", 0) >= want, 60, what="%d dead letters of %s" % (want, tid))
    return tid, dead(c, tid)["items"]


def item_ok(it, tid):
    assert it["ticket_id"] == tid, it
    assert it["id"].startswith("N") and len(it["id"]) == 25, it
    assert it["channel"] == "webhook" and it["to"] == "", it
    assert it["attempts"] == 1 and "422" in it["last_error"], it
    assert it["dead_ms"] > 0 and it["template"], it


def delivered_once(hook, nid):
    c = len(hook.answered_2xx(nid))
    return c == 1


def test_list_and_replay(c, hook):
    tid, items = refused_ticket(c, hook, 2)     # received, unroutable (audience ops)
    for it in items:
        item_ok(it, tid)
    assert [i["dead_ms"] for i in items] == sorted([i["dead_ms"] for i in items], reverse=True), items
    ids = [i["id"] for i in items]
    # Across shards: another refused ticket's letters are in the full list.
    tid2, items2 = refused_ticket(c, hook, 2)
    everything = dead(c, limit=200)
    assert everything.status == 200 and everything["count"] >= 4, everything
    listed = [i["id"] for i in everything["items"]]
    assert set(ids + [i["id"] for i in items2]) <= set(listed), (listed, ids)
    assert [i["dead_ms"] for i in everything["items"]] == sorted([i["dead_ms"] for i in everything["items"]],
                                                                 reverse=True)
    page = dead(c, limit=1, offset=1)
    assert page.status == 200 and page["items"][0]["id"] == listed[1], (page, listed)
    # Supervisors may look; agents may not.
    assert dead(c, tid, role="supervisor").status == 200
    r = dead(c, tid, role="agent")
    assert r.status == 403 and r["error"]["code"] == "forbidden", r
    r = dead(c, limit=0)
    assert r.status == 400 and r["error"]["code"] == "invalid_query", r

    # The CLI prints them, as a table and as JSON.
    rc, out, err = ctl(c, "dead-letters", "--ticket", tid)
    assert rc == 0, (rc, out, err)
    for nid in ids:
        assert nid in out, out
    assert "of %d dead letter(s)" % len(ids) in out, out
    rc, out, err = ctl(c, "--json", "dead-letters", "--ticket", tid)
    assert rc == 0 and sorted(i["id"] for i in json.loads(out)["items"]) == sorted(ids), (rc, out, err)
    rc, out, err = ctl(c, "dead-letters", role="agent")
    assert rc == 3 and "forbidden" in err, (rc, out, err)

    # Fixed: one by the API, the rest by the CLI.
    World.refuse.discard(tid)
    r = replay(c, ids[0])
    assert r.status == 202 and r["id"] == ids[0] and r["ticket_id"] == tid, r
    rc, out, err = ctl(c, "replay", ids[1])
    assert rc == 0 and "replay requested" in out, (rc, out, err)
    for nid in ids:
        c.wait_for(lambda: delivered_once(hook, nid), 30, what="%s delivered after its replay" % nid)
    c.wait_for(lambda: dead(c, tid).get("count") == 0, 30, what="the dead list of %s empty" % tid)
    key = "{s%d}:notify:n:%s" % (harness.shard_of(tid), ids[0])
    h = c.redis.hgetall(key)
    assert h.get("state") == "delivered" and h.get("replays") == "1" and h.get("replayed_by") == "ops.one", h
    time.sleep(1.0)         # nothing more comes: delivered exactly once
    for nid in ids:
        assert len(hook.answered_2xx(nid)) == 1, hook.seen(nid)

    # The timeline: the dead letter, who asked, the delivery.
    tl = c.http("GET", "/v1/tickets/%s/timeline" % tid, None, auth("ops"))
    asked = [e for e in tl["events"] if e["type"] == "notification.replay"]
    assert len(asked) == 2 and {e["data"]["id"] for e in asked} == set(ids), asked
    assert all(e["data"]["by"] == "ops.one" and e["data"]["role"] == "ops" for e in asked), asked
    # A customer's notification's final states are on it too, in order
    # (staff and ops notifications stay off the timeline).
    mine = [i for i in items if i["template"] == "received"][0]["id"]
    ops = [i for i in items if i["template"] != "received"][0]["id"]

    def story():
        events = c.http("GET", "/v1/tickets/%s/timeline" % tid, None, auth("ops"))["events"]
        return [(e["type"], e["data"]) for e in events
                if e["type"].startswith("notification.") and e["data"].get("id") in (mine, ops)]
    c.wait_for(lambda: any(t == "notification.delivered" for t, _ in story()), 30,
               what="notification.delivered on the timeline")
    got = story()
    assert [t for t, d in got if d["id"] == mine] == ["notification.dead", "notification.replay",
                                                       "notification.delivered"], got
    assert [t for t, d in got if d["id"] == ops] == ["notification.replay"], got
    dead_e = [d for t, d in got if t == "notification.dead"][0]
    assert dead_e["template"] == "received" and dead_e["channel"] == "webhook" and dead_e["attempts"] == 1 \
        and "422" in dead_e["error"], dead_e
    done_e = [d for t, d in got if t == "notification.delivered"][0]
    assert done_e["attempts"] == 1 and done_e["channel"] == "webhook", done_e

    # Refusals, nothing changed.
    r = replay(c, ids[0])
    assert r.status == 409 and r["error"]["code"] == "not_dead", r
    r = replay(c, "N" + "0" * 24)
    assert r.status == 404 and r["error"]["code"] == "not_found", r
    r = replay(c, "garbage")
    assert r.status == 400 and r["error"]["code"] == "invalid_field", r
    items2_ids = [i["id"] for i in items2]
    r = replay(c, items2_ids[0], role="agent")
    assert r.status == 403 and r["error"]["code"] == "forbidden", r
    r = replay(c, items2_ids[0], role="supervisor")
    assert r.status == 403, r
    assert dead(c, tid2)["count"] == len(items2_ids)
    rc, out, err = ctl(c, "replay", ids[0], "N" + "1" * 24)
    assert rc == 1 and "not_dead" in err and "not_found" in err, (rc, out, err)

    # The rest with --all (one ticket's).
    World.refuse.discard(tid2)
    rc, out, err = ctl(c, "replay", "--all", "--ticket", tid2)
    assert rc == 0 and "%d replay(s) requested" % len(items2_ids) in out, (rc, out, err)
    for nid in items2_ids:
        c.wait_for(lambda: delivered_once(hook, nid), 30, what="%s delivered after --all" % nid)
    log("list and replay: ok")
    return tid


def test_kill(c, hook):
    tid, items = refused_ticket(c, hook, 1)
    nid = items[0]["id"]
    World.refuse.discard(tid)
    # Down when intake commits the command: its outbox sends it later.
    c.kill("notification")
    r = replay(c, nid)
    assert r.status == 202, r
    time.sleep(0.5)
    c.restart("notification")
    c.wait_for(lambda: len(hook.answered_2xx(nid)) >= 1, 60, what="%s delivered after a restart" % nid)
    # Again, killed right after it applied the command (the delivery may
    # or may not have gone out): restarted, delivered, same id.
    tid, items = refused_ticket(c, hook, 1)
    nid = items[0]["id"]
    World.refuse.discard(tid)
    before = hook.count()
    r = replay(c, nid)
    assert r.status == 202, r
    c.wait_for(lambda: c.redis.cmd("HGET", "{s%d}:notify:n:%s" % (harness.shard_of(tid), nid), "state") != "dead",
               30, interval=0.005, what="notification applied the replay")
    c.kill("notification")
    c.restart("notification")
    c.wait_for(lambda: len(hook.answered_2xx(nid)) >= 1, 60, what="%s delivered after a kill" % nid)
    assert all(rq["id"] == nid for rq in hook.requests[before:] if rq["body"].get("ticket_id") == tid)
    assert nid not in [i["id"] for i in dead(c, tid)["items"]]
    log("kill between the command and the delivery: ok")


def test_garbage(c, tid):
    intake = c.bus("intake")
    good = {"id": "N" + "a" * 24, "template": "received", "channel": "sms", "attempts": 1}
    for type_, change, field in (("notification.delivered", {"id": None}, "id"),
                                 ("notification.delivered", {"id": "Tnot-a-notification"}, "id"),
                                 ("notification.delivered", {"channel": "pigeon"}, "channel"),
                                 ("notification.delivered", {"attempts": "1"}, "attempts"),
                                 ("notification.delivered", {"template": None}, "template"),
                                 ("notification.dead", {}, "error"),
                                 ("notification.dead", {"error": 5}, "error")):
        body = dict(good, **change)
        body = {k: v for k, v in body.items() if v is not None}
        before = len(c.http("GET", "/v1/tickets/%s/timeline" % tid, None, auth("ops"))["events"])
        reply = intake.publish(type_, tid, body)
        assert reply and reply[0] == "NAK" and field in reply[2], (type_, body, reply)
        assert len(c.http("GET", "/v1/tickets/%s/timeline" % tid, None, auth("ops"))["events"]) == before
    bus = c.bus("notification")
    tid = new_id("T")
    for body, field in (({"by": "x"}, "id"), ({"id": 7, "by": "x"}, "id"), ({"id": "Nnot-hex", "by": "x"}, "id"),
                        ({"id": "N" + "0" * 24, "by": ["x"]}, "by")):
        reply = bus.publish("notification.replay", tid, body)
        assert reply and reply[0] == "NAK" and "'%s'" % field in reply[2], (body, reply)
    log("garbage replay commands: NAK naming the field: ok")


def main():
    hook = receivers.Webhook(secrets=[SECRET], misbehave=cue).start()
    env = cluster_env()
    env.update({"ASP_NOTIFY_WEBHOOK_SECRET": SECRET.decode(), "ASP_NOTIFY_RETRIES": "3",
                "ASP_NOTIFY_BACKOFF_MS": "100", "ASP_NOTIFY_BACKOFF_MAX_MS": "200"})
    try:
        with harness.Cluster(partners=0, customer=False, env=env, name="dead",
                             service_env={"notification": {"ASP_NOTIFY_WEBHOOK_URL": hook.url}}) as c:
            tid = test_list_and_replay(c, hook)
            test_kill(c, hook)
            test_garbage(c, tid)
    finally:
        hook.stop()


if __name__ == "__main__":
    run(main, name="dead_letter_test")
