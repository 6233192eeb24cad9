#!/usr/bin/env python3
"""Through an HTTP proxy: api-probe reaches the HTTPS simulator with a
CONNECT tunnel through a local proxy, given explicitly (source "proxy")
or by the usual https_proxy variable, and the proxy saw the CONNECT."""

import os
import select
import socket
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


class ConnectProxy:
    """A tiny CONNECT-only proxy on a free loopback port; records the
    request lines it saw."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,),
                             daemon=True).start()

    def handle(self, c):
        up = None
        try:
            c.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            self.seen.append(line)
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n"
                          b"Content-Length: 0\r\n\r\n")
                return
            host, port = parts[1].rsplit(":", 1)
            up = socket.create_connection((host, int(port)), timeout=10)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = data.split(b"\r\n\r\n", 1)[1]
            if rest:
                up.sendall(rest)
            for _ in range(100000):
                r, _, _ = select.select([c, up], [], [], 10)
                if not r:
                    return
                for s in r:
                    b = s.recv(65536)
                    if not b:
                        return
                    (up if s is c else c).sendall(b)
        except OSError:
            pass
        finally:
            c.close()
            if up is not None:
                up.close()

    def close(self):
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.sock.close()
        self.t.join(5)


class Proxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apikit.need("openssl")
        cls.tmp = apikit.TempDir()
        d = cls.tmp.__enter__()
        cls.ca = apikit.make_ca(d, "proxy")
        cert, key = apikit.make_server_cert(d, "proxy", "sim")
        cls.s = apikit.sim("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                           "--project", apikit.PID, "--rate-limit", "0",
                           "--events", "10", "--cert", cert, "--key", key,
                           ssl_context=apikit.client_context(cls.ca))
        cls.url = "https://127.0.0.1:%d" % cls.s.port

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.tmp.__exit__(None, None, None)

    def setUp(self):
        self.p = ConnectProxy()
        self.before = len(apikit.requests(self.s, "/v5/"))

    def tearDown(self):
        self.p.close()

    def check(self, r):
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x.status for x in r.results], ["ok", "ok"], r)
        self.assertEqual(self.p.seen[0],
                         "CONNECT 127.0.0.1:%d HTTP/1.1" % self.s.port)
        # Both calls went through the tunnel: one connection, reused.
        self.assertEqual(len(self.p.seen), 1, self.p.seen)
        self.assertEqual(len(apikit.requests(self.s, "/v5/")),
                         self.before + 2)

    def test_explicit_proxy(self):
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                         "--ca-file", self.ca, "--count", "2", "--proxy",
                         "http://127.0.0.1:%d" % self.p.port)
        self.check(r)

    def test_env_proxy(self):
        env = apikit.clean_env({"https_proxy":
                                "http://127.0.0.1:%d" % self.p.port})
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                         "--ca-file", self.ca, "--count", "2", env=env)
        self.check(r)

    def test_proxy_down(self):
        self.p.close()
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                         "--ca-file", self.ca, "--proxy",
                         "http://127.0.0.1:%d" % self.p.port)
        x = r.results[0]
        self.assertEqual((x.status, x.http), ("network", 0), r)
        self.assertIn("request failed: Failed to connect to 127.0.0.1 port "
                      "%d" % self.p.port, x.detail)
        self.assertEqual(len(apikit.requests(self.s, "/v5/")), self.before)


if __name__ == "__main__":
    apikit.run()
