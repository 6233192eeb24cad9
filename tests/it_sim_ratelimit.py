#!/usr/bin/env python3
"""hss-sim: the gateway's rate limit: 5 calls per minute per credential
(AK, or the token's user), counted before validation; the 6th call gets
429 APIG.0308, with Retry-After only when --retry-after is given."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import AK, SK, PID, SimProc, run  # noqa: E402

P = {"category": "host"}
E429 = (b'{"error_code":"APIG.0308","error_msg":"policy user over ratelimit,'
        b'limit:5,time:1 minute"}')


def args(*extra):
    return ["--aksk", "%s:%s" % (AK, SK), "--aksk", "AK2:SK2", "--project",
            PID, "--events", "10", "--user", "d:u:p"] + list(extra)


class RateLimit(unittest.TestCase):
    def test_sixth_call_throttled_no_retry_after(self):
        with SimProc(*args()) as sim:
            for i in range(5):
                self.assertEqual(sim.events(P).status, 200, i)
            r = sim.events(P)
            self.assertEqual((r.status, r.body), (429, E429))
            self.assertIsNone(r.header("Retry-After"))
            # a refused call is not counted, and other AKs have their own
            self.assertEqual(sim.events(P, ak="AK2", sk="SK2").status, 200)
            self.assertEqual(sim.events(P).status, 429)
            st = sim.ctl("/_sim/stats")
            self.assertEqual((st["429"], st["by_status"]["200"]), (2, 6))

    def test_retry_after_computed(self):
        with SimProc(*args("--retry-after")) as sim:
            for i in range(5):
                self.assertEqual(sim.events(P).status, 200)
            r = sim.events(P)
            self.assertEqual(r.status, 429)
            self.assertIn(int(r.header("Retry-After")), (59, 60))

    def test_retry_after_fixed(self):
        with SimProc(*args("--retry-after", "7", "--rate-limit", "2")) as sim:
            self.assertEqual(sim.events(P).status, 200)
            self.assertEqual(sim.events(P).status, 200)
            r = sim.events(P)
            self.assertEqual((r.status, r.header("Retry-After")), (429, "7"))
            self.assertEqual(r.json()["error_msg"],
                             "policy user over ratelimit,limit:2,time:1 minute")

    def test_invalid_requests_count(self):
        # the gateway throttles before the backend validates
        with SimProc(*args()) as sim:
            for i in range(3):
                self.assertEqual(sim.events(P).status, 200)
            for i in range(2):
                self.assertEqual(sim.events({"category": "vm"}).status, 400)
            self.assertEqual(sim.events({"category": "vm"}).status, 429)
            # a failed authentication is not counted (no user yet)
            self.assertEqual(sim.events(P, ak="AK2", sk="bad").status, 401)
            for i in range(5):
                self.assertEqual(sim.events(P, ak="AK2", sk="SK2").status, 200)

    def test_token_user_bucket(self):
        with SimProc(*args()) as sim:
            r1 = sim.token("d", "u", "p")
            r2 = sim.token("d", "u", "p")
            t1, t2 = r1.header("X-Subject-Token"), r2.header("X-Subject-Token")
            for i in range(3):
                self.assertEqual(sim.events(P, token=t1).status, 200)
            for i in range(2):
                self.assertEqual(sim.events(P, token=t2).status, 200)
            # two tokens of one user share the user's bucket
            self.assertEqual(sim.events(P, token=t1).status, 429)
            self.assertEqual(sim.events(P).status, 200)    # the AK is apart
            reqs = sim.ctl("/_sim/requests")
            self.assertEqual([q["credential"] for q in reqs
                              if q["status"] == 429], ["user:d/u"])

    def test_change_at_run_time(self):
        with SimProc(*args("--rate-limit", "1")) as sim:
            self.assertEqual(sim.events(P).status, 200)
            self.assertEqual(sim.events(P).status, 429)
            sim.ctl("/_sim/config", {"rate_limit": 0})
            for i in range(7):
                self.assertEqual(sim.events(P).status, 200)
            sim.ctl("/_sim/config", {"rate_limit": 3, "retry_after": True})
            r = sim.events(P)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json()["error_msg"],
                             "policy user over ratelimit,limit:3,time:1 minute")
            self.assertIn(int(r.header("Retry-After")), (59, 60))


if __name__ == "__main__":
    run()
