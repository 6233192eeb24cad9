#!/usr/bin/env python3
"""AK/SK signing against hss-sim: calls succeed, the query goes out in
canonical order and encoding (repeated keys, space, '/', UTF-8), and the
API's total_num comes back; a temporary key signs X-Security-Token."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402
from apikit import testkit  # noqa: E402

FILTERS = [("severity_list", "High"), ("severity_list", "Critical"),
           ("tag_list", "hot event"), ("tag_list", "caf\u00e9/\u4e2d")]


class AkSk(unittest.TestCase):
    def test_signed_calls(self):
        s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                       "--project", apikit.PID, "--rate-limit", "0",
                       "--events", "300", "--span", "2d")
        try:
            b, e = apikit.NOW_MS - 86400000, apikit.NOW_MS
            args = ["--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                    "--count", "3", "--limit", "50", "--cpm", "100", "-v"]
            args += ["--filter=%s=%s" % kv for kv in [FILTERS[0]]]
            r = apikit.probe("http://" + s.hostport, *args, window=(b, e))
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(len(r.results), 3, r)
            want = s.ctl("/_sim/events?category=host&begin_time=%d&"
                         "end_time=%d&severity_list=High" % (b, e))["count"]
            self.assertGreater(want, 0)
            for x in r.results:
                self.assertEqual((x.status, x.http, x.calls, x.throttled),
                                 ("ok", 200, 1, 0), r)
                self.assertEqual(x.total, want, r)
            reqs = apikit.requests(s, "/v5/")
            self.assertEqual(len(reqs), 3)
            q = testkit.build_query([("category", "host"),
                                     ("begin_time", b), ("end_time", e),
                                     ("offset", 0), ("limit", 50),
                                     FILTERS[0]])
            for rq in reqs:
                self.assertEqual(rq["status"], 200)
                self.assertEqual(rq["credential"], "ak:" + apikit.AK)
                self.assertEqual(rq["query"], q)
            self.assertNotIn(apikit.SK, r.out + r.err)
            # Debug logging shows the headers, credentials redacted.
            self.assertEqual(r.err.count("http: > Authorization: "
                                         "[redacted]"), 3, r.err)
            self.assertIn("http: > X-Sdk-Date: ", r.err)
            self.assertNotIn("Signature=", r.err)
        finally:
            s.stop()

    def test_encoding(self):
        """Repeated keys, spaces, '/' and UTF-8 are signed as the server
        verifies them, and sent in canonical order."""
        s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                       "--project", apikit.PID, "--rate-limit", "0",
                       "--events", "50")
        try:
            args = ["--aksk", "%s:%s" % (apikit.AK, apikit.SK)]
            args += ["--filter=%s=%s" % kv for kv in FILTERS]
            args += ["--filter=host_name=web 01/a"]
            r = apikit.probe("http://" + s.hostport, *args)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.results[0].status, "ok", r)
            rq = apikit.requests(s, "/v5/")[0]
            self.assertIn("host_name=web%2001%2Fa", rq["query"])
            self.assertIn("severity_list=Critical&severity_list=High",
                          rq["query"])
            self.assertIn("tag_list=caf%C3%A9%2F%E4%B8%AD&"
                          "tag_list=hot%20event", rq["query"])
        finally:
            s.stop()

    def test_temporary_key(self):
        s = apikit.sim("--aksk-temp", "TMPAK:TMPSK:SECTOKEN", "--project",
                       apikit.PID, "--rate-limit", "0", "--events", "10")
        try:
            r = apikit.probe("http://" + s.hostport, "--aksk", "TMPAK:TMPSK",
                             "--security-token", "SECTOKEN")
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.results[0].status, "ok", r)
            r = apikit.probe("http://" + s.hostport, "--aksk", "TMPAK:TMPSK")
            self.assertEqual(r.results[0].status, "auth", r)
            self.assertIn("x-security-token is required", r.results[0].detail)
            self.assertNotIn("TMPSK", r.out + r.err)
        finally:
            s.stop()


if __name__ == "__main__":
    apikit.run()
