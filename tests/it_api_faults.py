#!/usr/bin/env python3
"""Failures are classified (DESIGN.md section 6) with one clear detail
line: 5xx -> server, a reset or truncated transfer or timeout ->
network, a 200 error object -> other with its code, a 400 -> bad-request
with the query, and a redirect is not followed."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                           "--project", apikit.PID, "--rate-limit", "0",
                           "--events", "50", "--stall-time", "5s")
        cls.url = "http://" + cls.s.hostport

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def fault(self, kind, *args):
        self.s.ctl("/_sim/config", {"faults": {kind: 1.0}} if kind else
                   {"faults": {}})
        try:
            r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK,
                                                            apikit.SK),
                             "--limit", "20", *args)
        finally:
            self.s.ctl("/_sim/config", {"faults": {}})
        self.assertEqual(len(r.results), 1, r)
        return r.results[0]

    def test_503(self):
        x = self.fault("503")
        self.assertEqual((x.status, x.http, x.calls), ("server", 503, 1))
        self.assertRegex(x.detail, r"^HTTP 503 APIGW\.0203: Service "
                         r"unavailable, try again later \[request id \w+\]$")

    def test_500(self):
        x = self.fault("500")
        self.assertEqual((x.status, x.http), ("server", 500))
        self.assertIn("HTTP 500 HSS.0041: Internal query error", x.detail)

    def test_reset(self):
        x = self.fault("reset")
        self.assertEqual((x.status, x.http), ("network", 0))
        self.assertTrue(x.detail.startswith("request failed: "), x.detail)

    def test_truncated(self):
        x = self.fault("truncated")
        self.assertEqual((x.status, x.http), ("network", 200))
        self.assertRegex(x.detail, r"^HTTP 200, then the transfer failed: "
                         r"transfer closed with \d+ bytes remaining to read")

    def test_error_object(self):
        x = self.fault("errorbody")
        self.assertEqual((x.status, x.http), ("other", 200))
        self.assertIn("HTTP 200 with an error object: HSS.0041: Internal "
                      "query error", x.detail)

    def test_timeout(self):
        x = self.fault("stall", "--timeout", "1s")
        self.assertEqual((x.status, x.http), ("network", 0))
        self.assertIn("request failed: Operation timed out after", x.detail)

    def test_bad_request(self):
        x = self.fault(None, "--filter", "severity=Nope")
        self.assertEqual((x.status, x.http), ("bad-request", 400))
        self.assertRegex(x.detail, r"^HTTP 400 HSS\.0001: .*; query: "
                         r"begin_time=\d+&category=host&end_time=\d+&"
                         r"limit=20&offset=0&severity=Nope")

    def test_invalid_json_is_callers(self):
        """A 200 that is not JSON is handed over: validation is the
        caller's (api.h)."""
        x = self.fault("invalid")
        self.assertEqual((x.status, x.http, x.total), ("ok", 200, -2))


if __name__ == "__main__":
    apikit.run()
