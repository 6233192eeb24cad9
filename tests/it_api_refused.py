#!/usr/bin/env python3
"""A wrong secret key: one refused call is exactly one request at the
simulator, with a clear detail line and no secret in the output; calls
paced by api_backoff_ms() never reach the 5-failure lockout."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402

WRONG_SK = "WrongSecretKey1234567890abcdefWRONG"


class Refused(unittest.TestCase):
    def setUp(self):
        self.s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                            "--project", apikit.PID, "--rate-limit", "0",
                            "--events", "10")
        self.url = "http://" + self.s.hostport

    def tearDown(self):
        self.s.stop()

    def test_one_refusal_one_request(self):
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK, WRONG_SK))
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(len(r.results), 1, r)
        x = r.results[0]
        self.assertEqual((x.status, x.http, x.calls), ("auth", 401, 1), r)
        self.assertRegex(x.detail, r"^HTTP 401 APIG\.0301: Incorrect IAM "
                         r"authentication information: verify aksk signature "
                         r"fail \(access key SIMT\.\.\.\) \[request id "
                         r"[0-9a-f]+\]$")
        reqs = apikit.requests(self.s)
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["status"], 401)
        self.assertNotIn(WRONG_SK, r.out + r.err)
        self.assertNotIn(apikit.SK, r.out + r.err)

    def test_backoff_no_lockout(self):
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK, WRONG_SK),
                         "--count", "3", "--backoff", timeout=30)
        self.assertEqual([x.status for x in r.results], ["auth"] * 3, r)
        waits = [int(ln.split("ms=")[1]) for ln in r.other
                 if " backoff ms=" in ln]
        self.assertEqual(len(waits), 2, r)
        self.assertTrue(800 <= waits[0] <= 1200, waits)
        self.assertTrue(1600 <= waits[1] <= 2400, waits)
        gap = r.results[2].ms - r.results[0].ms
        self.assertGreaterEqual(gap, waits[0] + waits[1])
        reqs = apikit.requests(self.s)
        self.assertEqual(len(reqs), 3)
        self.assertEqual(self.s.ctl("/_sim/stats")["locked_aks"], [])
        # The key still works: a correct signature is accepted.
        ok = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK,
                                                         apikit.SK))
        self.assertEqual(ok.results[0].status, "ok", ok)


if __name__ == "__main__":
    apikit.run()
