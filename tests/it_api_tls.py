#!/usr/bin/env python3
"""HTTPS to the API is always verified: a simulator whose certificate
comes from a test CA works with that CA as ca_file, and fails with a clear
message with another CA, with the system store, and for a name the
certificate does not hold."""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apikit.need("openssl")
        cls.tmp = apikit.TempDir()
        d = cls.d = cls.tmp.__enter__()
        cls.ca = apikit.make_ca(d, "good")
        cls.other = apikit.make_ca(d, "other")
        cert, key = apikit.make_server_cert(d, "good", "sim",
                                            san="IP:127.0.0.1")
        cls.s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                           "--project", apikit.PID, "--rate-limit", "0",
                           "--events", "10", "--cert", cert, "--key", key,
                           ssl_context=apikit.client_context(cls.ca))
        cls.url = "https://127.0.0.1:%d" % cls.s.port

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.tmp.__exit__(None, None, None)

    def probe(self, *args, url=None):
        return apikit.probe(url or self.url, "--aksk", "%s:%s" % (
            apikit.AK, apikit.SK), "--timeout", "10s", *args)

    def test_test_ca(self):
        r = self.probe("--ca-file", self.ca, "--count", "2")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x.status for x in r.results], ["ok", "ok"], r)

    def test_other_ca(self):
        r = self.probe("--ca-file", self.other)
        x = r.results[0]
        self.assertEqual((x.status, x.http, x.calls), ("network", 0, 1), r)
        self.assertIn("request failed: SSL certificate problem: unable to "
                      "get local issuer certificate", x.detail)
        self.assertEqual(len(apikit.requests(self.s, "/v5/")), 0)

    def test_system_store(self):
        r = self.probe()
        x = r.results[0]
        self.assertEqual(x.status, "network", r)
        self.assertIn("SSL certificate problem", x.detail)

    def test_wrong_name(self):
        r = self.probe("--ca-file", self.ca,
                       url="https://localhost:%d" % self.s.port)
        x = r.results[0]
        self.assertEqual(x.status, "network", r)
        self.assertRegex(x.detail, "no alternative certificate subject "
                         "name matches|does not match")


if __name__ == "__main__":
    apikit.run()
