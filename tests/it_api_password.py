#!/usr/bin/env python3
"""IAM password auth against hss-sim: three sources of one IAM user share
ONE token request, then call with X-Auth-Token; a wrong password is an
auth failure with IAM's message and no secret in the output."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402

PASSWORD = "Secr3t-pa55word"


class Password(unittest.TestCase):
    def setUp(self):
        self.s = apikit.sim("--user", "dom:alice:%s" % PASSWORD, "--project",
                            apikit.PID, "--rate-limit", "0", "--events", "40")
        self.url = "http://" + self.s.hostport

    def tearDown(self):
        self.s.stop()

    def test_token_shared(self):
        r = apikit.probe(self.url, "--user", "dom:alice:" + PASSWORD,
                         "--iam", self.url, "--sources", "3", "--count", "2",
                         "--cpm", "100", "-v")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.results), 6, r)
        for x in r.results:
            self.assertEqual((x.status, x.http, x.calls), ("ok", 200, 1), r)
            self.assertGreaterEqual(x.total, 0)
        iam = apikit.requests(self.s, "/v3/auth/tokens")
        self.assertEqual(len(iam), 1, iam)
        self.assertEqual(iam[0]["status"], 201)
        self.assertEqual(iam[0]["query"], "nocatalog=true")
        ev = apikit.requests(self.s, "/v5/")
        self.assertEqual(len(ev), 6)
        self.assertTrue(all(q["credential"] == "user:dom/alice" and
                            q["status"] == 200 for q in ev), ev)
        self.assertIn("IAM token obtained", r.err)
        self.assertNotIn(PASSWORD, r.out + r.err)
        # Debug logging: the token and the IAM body are redacted.
        self.assertEqual(r.err.count("http: < X-Subject-Token: [redacted]"),
                         1, r.err)
        self.assertEqual(r.err.count("http: > X-Auth-Token: [redacted]"), 6,
                         r.err)
        self.assertRegex(r.err, r"http: > \[\d+ body bytes redacted\]")
        self.assertNotIn('"password"', r.err)

    def test_wrong_password(self):
        r = apikit.probe(self.url, "--user", "dom:alice:wrong-Pw-123",
                         "--iam", self.url, "--sources", "2")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(len(r.results), 2, r)
        for x in r.results:
            self.assertEqual((x.status, x.calls), ("auth", 0), r)
            self.assertIn("IAM user dom/alice: IAM token request: HTTP 401: The "
                          "username or "
                          "password is wrong.", x.detail)
        # Both sources waited for the same refused request.
        self.assertEqual(len(apikit.requests(self.s, "/v3/auth/tokens")), 1)
        self.assertEqual(len(apikit.requests(self.s, "/v5/")), 0)
        self.assertNotIn("wrong-Pw-123", r.out + r.err)


if __name__ == "__main__":
    apikit.run()
