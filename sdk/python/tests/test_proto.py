"""The codec: round trips, every refusal of a malformed platform message,
random mutations, and the words against the platform's own (asp-vocab)."""
import json
import os
import random
import subprocess
import unittest

import msgpack

from aspw import proto
from aspw.proto import DecodeError, decode, encode


def frames(cmd, body, raw=False):
    return [b"ASPW1", cmd.encode(), body if raw else msgpack.packb(body, use_bin_type=True)]


OFFER = {"wo_id": "WT1", "offer_id": "WT1.2", "ticket_id": "T1", "kind": "repair",
         "category": "water_heater", "region": "north", "priority": 3, "tier": "express",
         "summary": "没有热水", "expires_ms": 10000}


class RoundTrips(unittest.TestCase):

    def test_platform_commands(self):
        m = decode(frames("OFFER", OFFER))
        self.assertEqual((m.name, m["wo_id"], m["priority"], m["summary"]), ("OFFER", "WT1", 3, "没有热水"))
        assigned = dict(OFFER, seq=4, stage="waiting_parts", appointment_ms=1700000000000,
                        end_ms=1700003600000, technician="Li Wei", note="part ordered")
        del assigned["expires_ms"]
        m = decode(frames("ASSIGNED", assigned))
        self.assertEqual((m["seq"], m["stage"], m["end_ms"], m["note"]), (4, "waiting_parts", 1700003600000,
                                                                          "part ordered"))
        del assigned["seq"], assigned["stage"]
        m = decode(frames("ASSIGNED", assigned))
        self.assertEqual(m["seq"], 0)
        self.assertNotIn("stage", m)
        m = decode(frames("WELCOME", {"partner_id": "P1", "heartbeat_ms": 1000, "liveness": 3,
                                      "offer_timeout_ms": 10000}))
        self.assertEqual(m["features"], [])             # an ASPW/1 platform of before
        m = decode(frames("WELCOME", {"partner_id": "P1", "heartbeat_ms": 1000, "liveness": 3,
                                      "offer_timeout_ms": 0, "features": ["list", "unable", "future"]}))
        self.assertEqual(m["features"], ["list", "unable", "future"])
        m = decode(frames("CONFIRM", {"ref": "UNABLE", "wo_id": "WT1", "duplicate": False}))
        self.assertEqual((m["ref"], m["duplicate"]), ("UNABLE", False))
        m = decode(frames("CONFIRM", {"ref": "ACCEPT", "wo_id": "WT1", "offer_id": "WT1.2",
                                      "duplicate": True}))
        self.assertEqual(m["offer_id"], "WT1.2")
        m = decode(frames("ERROR", {"ref": "FLY", "wo_id": "", "code": "bad_message", "reason": "x"}))
        self.assertEqual((m["ref"], m["wo_id"], m["code"]), ("FLY", "", "bad_message"))
        m = decode(frames("LISTED", {"count": 2, "assigned": 1, "offered": 1}))
        self.assertEqual(m["count"], 2)
        m = decode(frames("WITHDRAW", {"wo_id": "WT1", "reason": "cancelled"}))
        self.assertEqual(m["reason"], "cancelled")
        self.assertEqual(decode(frames("DISCONNECT", {}))["reason"], "(none)")
        self.assertEqual(decode(frames("DISCONNECT", {"reason": 5}))["reason"], "(none)")
        self.assertEqual(decode(frames("DISCONNECT", {"reason": "restart"}))["reason"], "restart")
        self.assertEqual(decode([b"ASPW1", b"HEARTBEAT", b"\x80"]).name, "HEARTBEAT")

    def test_unknown_keys_nil_and_repeated_keys(self):
        m = decode(frames("OFFER", dict(OFFER, future_key={"x": [1]})))
        self.assertNotIn("future_key", m)
        m = decode(frames("CONFIRM", {"ref": "COMPLETE", "wo_id": "WT1", "offer_id": None, "duplicate": False}))
        self.assertNotIn("offer_id", m)                 # nil is absent, as in the C codec
        # A repeated key keeps its first value, as the C codec reads it.
        body = b"\x83" + msgpack.packb("ref") + msgpack.packb("COMPLETE") + msgpack.packb("wo_id") \
            + msgpack.packb("W1") + msgpack.packb("ref") + msgpack.packb("OFFER")
        body = b"\x84" + body[1:] + msgpack.packb("duplicate") + msgpack.packb(True)
        self.assertEqual(decode(frames("CONFIRM", body, raw=True))["ref"], "COMPLETE")

    def test_encode(self):
        f = encode("PROGRESS", {"wo_id": "WT1", "seq": 2, "stage": "on_site", "note": None})
        self.assertEqual(f[:2], [b"ASPW1", b"PROGRESS"])
        self.assertEqual(msgpack.unpackb(f[2]), {"wo_id": "WT1", "seq": 2, "stage": "on_site"})
        self.assertEqual(encode("LIST"), [b"ASPW1", b"LIST", b"\x80"])
        # Strings go as msgpack str, never bin.
        self.assertEqual(encode("HEARTBEAT", {"a": "x"})[2], b"\x81\xa1a\xa1x")
        with self.assertRaises(ValueError):
            encode("WELCOME", {})


class Refusals(unittest.TestCase):

    def refused(self, parts, text, wo_id=None):
        with self.assertRaises(DecodeError) as cm:
            decode(parts)
        self.assertIn(text, str(cm.exception))
        if wo_id is not None:
            self.assertEqual(cm.exception.wo_id, wo_id)
        return cm.exception

    def test_framing(self):
        self.refused([b"ASPW2", b"HEARTBEAT", b"\x80"], "signature")
        self.assertEqual(self.refused([b"ASPW1", b"FLY", b"\x80"], "unknown command 'FLY'").name, "FLY")
        self.refused([b"ASPW1", b"heartbeat", b"\x80"], "unknown command")
        self.refused([b"ASPW1", b"READY\0", b"\x80"], "unknown command")
        self.refused([b"ASPW1", b"READY", b"\x80"], "unknown command 'READY'")     # not from the platform
        self.refused([b"ASPW1", b"ABCDEFGHIJKLMNOPQ", b"\x80"], "unknown command")
        self.refused([b"ASPW1", b"HEARTBEAT"], "frames")
        self.refused([b"ASPW1", b"HEARTBEAT", b"\x80", b"x"], "frames")
        self.refused([b"ASPW1", b"HEARTBEAT", b"\x80" * (proto.MSG_MAX)], "limit")

    def test_bodies(self):
        hb = lambda body: [b"ASPW1", b"HEARTBEAT", body]      # noqa: E731
        self.refused(hb(b"\xdd\xff\x00\x00\x00"), "msgpack")     # the msgpack-c #1013 bomb
        self.refused(hb(b""), "msgpack")
        self.refused(hb(b"\xc1"), "msgpack")
        self.refused(hb(b"\x90"), "map")
        self.refused(hb(b"\x81\x01\x02"), "keys")
        self.refused(hb(b"\x81\xc4\x01k\x01"), "keys")           # a bin key
        self.refused(hb(b"\x80\x80"), "msgpack")                 # trailing data
        self.refused(hb(b"\x81" + b"\x91" * 60000 + b"\x80"), "msgpack")
        good = msgpack.packb(OFFER)
        for n in range(len(good)):
            self.refused([b"ASPW1", b"OFFER", good[:n]], "")

    def test_fields(self):
        def offer(**change):
            body = dict(OFFER)
            for k, v in change.items():
                if v is ...:
                    del body[k]
                else:
                    body[k] = v
            return frames("OFFER", body)
        e = self.refused(offer(kind=...), "field 'kind' is required", wo_id="WT1")
        self.assertEqual(e.offer_id, "WT1.2")                  # enough to decline it
        self.refused(offer(kind="repairs"), "one of installation, repair")
        self.refused(offer(priority=0), "'priority' must be an integer in 1..5")
        self.refused(offer(priority=6), "priority")
        self.refused(offer(priority="3"), "priority")
        self.refused(offer(priority=True), "priority")          # a bool is not an integer
        self.refused(offer(priority=3.0), "priority")
        self.refused(offer(expires_ms=-1), "expires_ms")
        self.refused(offer(expires_ms=...), "expires_ms")
        self.refused(offer(summary="n" * 2001), "at most 2000 bytes")
        decode(offer(summary="王" * 666))                        # 1998 bytes
        self.refused(offer(summary="王" * 667), "at most 2000 bytes")
        self.refused(offer(region="r" * 257), "at most 256 bytes")
        self.refused(offer(wo_id=""), "'wo_id' must not be empty")
        self.refused(offer(wo_id=5), "wo_id")
        self.refused(offer(wo_id=b"WT1"), "wo_id")              # bin, not str
        self.refused(offer(ticket_id="T\x001"), "UTF-8 text")
        self.refused(offer(summary="a\x01b"), "UTF-8 text")
        self.refused(offer(summary="a\x7fb"), "UTF-8 text")
        decode(offer(summary="line\nline\ttab\r"))
        bad_utf8 = msgpack.packb(dict(OFFER, wo_id="@@@")).replace(b"\xa3@@@", b"\xa3W\xff\xfe")
        e = self.refused([b"ASPW1", b"OFFER", bad_utf8], "UTF-8", wo_id="")
        for overlong in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xe7\x8e"):
            body = msgpack.packb(dict(OFFER, summary="@" * len(overlong)))
            body = body.replace(b"@" * len(overlong), overlong)
            self.refused([b"ASPW1", b"OFFER", body], "UTF-8")

        assigned = dict(OFFER)
        del assigned["expires_ms"]
        for key, value in (("stage", "dancing"), ("stage", 1), ("seq", -1), ("appointment_ms", -5),
                           ("end_ms", "soon"), ("technician", "t" * 257), ("note", "n" * 2001)):
            self.refused(frames("ASSIGNED", dict(assigned, **{key: value})), key)

        self.refused(frames("CONFIRM", {"ref": "OFFER", "wo_id": "W1", "duplicate": False}), "ref")
        self.refused(frames("CONFIRM", {"ref": "PROGRESS", "wo_id": "W1", "duplicate": False}),
                     "field 'seq' is required")
        self.refused(frames("CONFIRM", {"ref": "ACCEPT", "wo_id": "W1"}), "duplicate")
        self.refused(frames("CONFIRM", {"ref": "ACCEPT", "wo_id": "W1", "duplicate": 1}), "boolean")
        self.refused(frames("CONFIRM", {"ref": "ACCEPT", "wo_id": "", "duplicate": False}), "wo_id")
        self.refused(frames("ERROR", {"ref": "ACCEPT", "wo_id": "W1", "code": "", "reason": "x"}), "code")
        self.refused(frames("ERROR", {"ref": "ACCEPT", "wo_id": "W1", "code": "c" * 64, "reason": "x"}),
                     "code")
        self.refused(frames("ERROR", {"ref": "ACCEPT", "code": "x", "reason": "x"}), "wo_id")
        welcome = {"partner_id": "P1", "heartbeat_ms": 1000, "liveness": 3, "offer_timeout_ms": 0}
        self.refused(frames("WELCOME", dict(welcome, heartbeat_ms="fast")), "heartbeat_ms")
        self.refused(frames("WELCOME", dict(welcome, heartbeat_ms=9)), "heartbeat_ms")
        self.refused(frames("WELCOME", dict(welcome, liveness=101)), "liveness")
        self.refused(frames("WELCOME", dict(welcome, partner_id="")), "partner_id")
        self.refused(frames("WELCOME", dict(welcome, features="list")), "features")
        self.refused(frames("WELCOME", dict(welcome, features=["list", ""])), "features")
        self.refused(frames("WELCOME", dict(welcome, features=["x"] * 65)), "features")
        self.refused(frames("WITHDRAW", {"wo_id": "W1"}), "reason")
        self.refused(frames("LISTED", {"count": 1, "assigned": 1}), "offered")
        self.refused(frames("LISTED", {"count": -1, "assigned": 0, "offered": 0}), "count")

    def test_random(self):
        """Random bytes and mutations of good messages: decoded or refused
        with DecodeError, never another exception."""
        rng = random.Random(7)
        seed = msgpack.packb(OFFER)
        accepted = 0
        for n in range(20000):
            if n % 2:
                body = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
            else:
                b = bytearray(seed)
                b[rng.randrange(len(b))] = rng.randrange(256)
                body = bytes(b)
            cmd = rng.choice(proto.FROM_PLATFORM).encode()
            try:
                decode([b"ASPW1", cmd, body])
                accepted += 1
            except DecodeError as e:
                self.assertTrue(str(e))
        self.assertGreater(accepted, 0)


class Words(unittest.TestCase):

    def test_words_are_the_platforms(self):
        """The SDK carries its own copy of the words (a partner has no C
        tools); it must equal the platform's (asp-vocab prints them)."""
        bin_dir = os.environ.get("ASP_BIN_DIR")
        if not bin_dir:
            self.skipTest("ASP_BIN_DIR not set (run by ctest)")
        out = subprocess.run([os.path.join(bin_dir, "asp-vocab")], check=True, capture_output=True,
                             text=True, timeout=10).stdout
        vocab = json.loads(out)
        self.assertEqual(list(proto.KINDS), vocab["kind"])
        self.assertEqual(list(proto.TIERS), vocab["tier"])
        self.assertEqual(list(proto.STAGES), vocab["stage"])
        self.assertEqual(list(proto.RESULTS), vocab["result"])
        self.assertEqual(list(proto.UNABLE_REASONS) + ["partner_removed"], vocab["unable_reason"])


if __name__ == "__main__":
    unittest.main()
