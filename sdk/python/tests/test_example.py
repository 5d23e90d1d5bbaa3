"""The example partner (examples/partner.py) as a process, against the fake
platform of test_partner announcing every extension: it lists its work after
WELCOME, books, reports and completes a job with the detail fields, gives
back one it cannot do (UNABLE), and says DISCONNECT on SIGTERM."""
import os
import subprocess
import sys
import time
import unittest

from test_partner import PlatformCase

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "partner.py")


class ExampleTest(PlatformCase):

    def test_example(self):
        f = self.fake
        out = open(os.path.join(self.dir, "example.out"), "w+")
        proc = subprocess.Popen([sys.executable, EXAMPLE, "--endpoint", f.endpoint, "--cert", self.p1_secret,
                                 "--server-cert", os.path.join(self.dir, "routing.cert"), "--regions", "310000",
                                 "--work-ms", "400", "--list", "--unable-category", "gas_stove"],
                                stdout=out, stderr=subprocess.DEVNULL)
        try:
            ready = f.wait_ready()
            self.assertEqual((ready["capacity"], ready["regions"], ready["software"]),
                             (3, ["310000"], "aspw-python-example/1"))
            f.welcome(features=["list", "unable", "appointment", "detail"])
            self.assertEqual(f.expect("LIST"), {})
            f.send("LISTED", count=0, assigned=0, offered=0)

            f.offer("W1", "W1.1")
            f.expect("ACCEPT", "W1")
            f.confirm("ACCEPT", "W1", offer_id="W1.1")
            now = time.time() * 1000
            stages = []
            for seq in (1, 2, 3):
                body = f.expect("PROGRESS", "W1")
                self.assertEqual(body["seq"], seq)
                stages.append(body["stage"])
                if seq == 1:
                    self.assertTrue(now < body["appointment_ms"] < body["end_ms"], body)
                    self.assertEqual(body["technician"], "Wang Fang")
                f.confirm("PROGRESS", "W1", seq=seq)
            self.assertEqual(stages, ["scheduled", "on_the_way", "on_site"])
            body = f.expect("COMPLETE", "W1")
            self.assertEqual((body["result"], body["resolution"], body["parts"], body["fee"]),
                             ("fixed", "replaced_part", [{"part": "thermostat", "qty": 1}], 12000))
            f.confirm("COMPLETE", "W1")

            f.offer("W2", "W2.1", category="gas_stove")
            f.expect("ACCEPT", "W2")
            f.confirm("ACCEPT", "W2")
            self.assertEqual(f.expect("UNABLE", "W2"), {"wo_id": "W2", "reason": "no_parts",
                                                        "note": "part out of stock"})
            f.confirm("UNABLE", "W2")
            f.quiet(0.5)
            proc.terminate()
            f.expect("DISCONNECT")
            self.assertEqual(proc.wait(10), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.seek(0)
            lines = out.read().splitlines()
            out.close()
        self.assertIn("listed count=0 assigned=0 offered=0 wo_ids=", lines)
        self.assertIn("completed W1", lines)
        self.assertIn("returned W2", lines)


if __name__ == "__main__":
    unittest.main()
