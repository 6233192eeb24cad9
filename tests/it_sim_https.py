#!/usr/bin/env python3
"""hss-sim: HTTPS with --cert/--key (a certificate made by openssl at test
time), verified by the client; signed requests and tokens work over TLS.
Skipped (77) only when openssl is not installed."""
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import SimProc, base_args, run  # noqa: E402

if shutil.which("openssl") is None:
    print("SKIP: openssl not found")
    sys.exit(77)


class Https(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="hss-sim-tls.")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        cls.key = os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", cls.key, "-out", cls.cert],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_https(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        with SimProc(*base_args("--events", "30", "--user", "d:u:p",
                                "--cert", self.cert, "--key", self.key),
                     ssl_context=ctx) as sim:
            r = sim.events({"category": "host"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(sorted(r.json()), ["data_list", "total_num"])
            r = sim.events({"category": "host"}, sk="wrong")
            self.assertEqual(r.status, 401)
            t = sim.token("d", "u", "p")
            self.assertEqual(t.status, 201)
            r = sim.events({"category": "host"},
                           token=t.header("X-Subject-Token"))
            self.assertEqual(r.status, 200)

    def test_untrusted_client_refused(self):
        with SimProc(*base_args("--events", "5", "--cert", self.cert, "--key",
                                self.key),
                     ssl_context=ssl.create_default_context()) as sim:
            with self.assertRaises(ssl.SSLCertVerificationError):
                sim.events({"category": "host"})
            # a plain-HTTP client gets no HTTP answer
            sim.ctx = None
            with self.assertRaises((ConnectionError, OSError)):
                r = sim.events({"category": "host"}, timeout=3)
                raise AssertionError("plain HTTP answered %d" % r.status)


if __name__ == "__main__":
    run()
