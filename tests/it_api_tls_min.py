#!/usr/bin/env python3
"""TLS 1.2 at least to the API: a server that speaks TLS 1.1 at most (a
small Python server, with the simulator's certificate) is refused at the
handshake, nothing is sent over it; the same server allowed TLS 1.2
completes the handshake (so the refusal is the version's)."""

import os
import socket
import ssl
import sys
import threading
import unittest
import warnings

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


class Server:
    """Accepts TLS connections (max_version) and records each outcome."""

    def __init__(self, cert, key, max_version):
        warnings.simplefilter("ignore", DeprecationWarning)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1
        self.ctx.maximum_version = max_version
        self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.ls.settimeout(30)
        self.port = self.ls.getsockname()[1]
        self.outcomes = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            c.settimeout(10)
            try:
                s = self.ctx.wrap_socket(c, server_side=True)
                self.outcomes.append("handshake " + s.version())
                s.recv(4096)
                s.sendall(b"HTTP/1.1 503 Service Unavailable\r\n"
                          b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                s.close()
            except (OSError, ssl.SSLError) as e:
                self.outcomes.append("failed: %s" % e)
                c.close()

    def stop(self):
        self.ls.close()


class TlsMin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apikit.need("openssl")
        cls.tmp = apikit.TempDir()
        d = cls.tmp.__enter__()
        cls.ca = apikit.make_ca(d, "good")
        cls.cert, cls.key = apikit.make_server_cert(d, "good", "sim",
                                                    san="IP:127.0.0.1")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def probe(self, port):
        return apikit.probe("https://127.0.0.1:%d" % port, "--aksk",
                            "%s:%s" % (apikit.AK, apikit.SK), "--timeout",
                            "10s", "--ca-file", self.ca)

    def test_tls11_refused(self):
        s = Server(self.cert, self.key, ssl.TLSVersion.TLSv1_1)
        try:
            r = self.probe(s.port)
        finally:
            s.stop()
        x = r.results[0]
        self.assertEqual((x.status, x.http), ("network", 0), r)
        self.assertTrue(s.outcomes, r)
        self.assertFalse([o for o in s.outcomes
                          if o.startswith("handshake")], s.outcomes)
        print("refused:", x.detail)

    def test_tls12_handshake(self):
        s = Server(self.cert, self.key, ssl.TLSVersion.TLSv1_2)
        try:
            r = self.probe(s.port)
        finally:
            s.stop()
        self.assertIn("handshake TLSv1.2", s.outcomes, (s.outcomes, r))


if __name__ == "__main__":
    apikit.run()
