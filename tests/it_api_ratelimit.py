#!/usr/bin/env python3
"""The rate limit holds per credential: three sources on one access key,
configured 20, 30 and 30 calls per minute, share one limiter at the
lowest rate; against a simulator limiting the key to 20 calls a minute,
calling as fast as they may for a few seconds makes exactly 20 calls and
no 429. And a 429 is absorbed: the call waits Retry-After and retries."""

import os
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


class RateLimit(unittest.TestCase):
    def test_shared_bucket(self):
        s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                       "--project", apikit.PID, "--rate-limit", "20",
                       "--events", "10")
        try:
            r = apikit.probe("http://" + s.hostport, "--aksk", "%s:%s" % (
                apikit.AK, apikit.SK), "--cpm-list", "20,30,30", "--count",
                "1000", "--duration", "3s")
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(len(r.results), 20, r)
            self.assertTrue(all(x.status == "ok" and x.throttled == 0
                                for x in r.results), r)
            # Every source got some of the calls, none ran away with them.
            self.assertEqual(sorted(r.cancelled), ["s0", "s1", "s2"], r)
            self.assertEqual(sorted(set(x.source for x in r.results)),
                             ["s0", "s1", "s2"], r)
            st = s.ctl("/_sim/stats")
            self.assertEqual(st["429"], 0, st)
            self.assertEqual(st["requests"], 20, st)
            self.assertEqual(r.err.count("sources set different "
                                         "calls_per_minute for this "
                                         "credential; all share the lowest, "
                                         "20"), 1, r)
        finally:
            s.stop()

    def test_429_absorbed(self):
        s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                       "--project", apikit.PID, "--rate-limit", "2",
                       "--retry-after", "1", "--events", "10")
        try:
            def lift():
                apikit.wait_until(lambda: s.ctl("/_sim/stats")["429"] >= 1,
                                  20)
                s.ctl("/_sim/config", {"rate_limit": 0})
            t = threading.Thread(target=lift)
            t.start()
            r = apikit.probe("http://" + s.hostport, "--aksk", "%s:%s" % (
                apikit.AK, apikit.SK), "--cpm", "10", "--count", "3")
            t.join()
            self.assertEqual(r.rc, 0, r)
            self.assertEqual([x.status for x in r.results], ["ok"] * 3, r)
            x = r.results[2]
            self.assertGreaterEqual(x.throttled, 1, r)
            self.assertEqual(x.calls, x.throttled + 1, r)
            # Retry-After: 1 was honoured before the retry.
            self.assertGreaterEqual(x.ms - r.results[1].ms, 1000, r)
            reqs = apikit.requests(s, "/v5/")
            self.assertEqual([q["status"] for q in reqs],
                             [200, 200] + [429] * x.throttled + [200])
            self.assertIn("HTTP 429 (throttled), retrying after "
                          "Retry-After", r.err)
        finally:
            s.stop()


if __name__ == "__main__":
    apikit.run()
