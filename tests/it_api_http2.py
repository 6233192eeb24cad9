#!/usr/bin/env python3
"""HTTP/2: the client talks h2 when the server offers it (ALPN), and
everything that reads response headers still works with h2's lower-case
names: AK/SK pages, the IAM token from x-subject-token, and a 429's
retry-after. The simulator speaks HTTP/1.1 only, so nghttpx (Debian
nghttp2-proxy) fronts it with TLS and h2, as an API gateway would."""

import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests", "lib"))
import receivers  # noqa: E402

PASSWORD = "Secr3t-pa55word"


class Gateway:
    """nghttpx on a free loopback port: TLS + h2 in front, the simulator's
    HTTP/1.1 behind. The access log records the protocol of each request."""

    def __init__(self, d, backend_port):
        self.dir = d
        ca = apikit.make_ca(d, "h2")
        self.ca = ca
        self.cert, self.key = apikit.make_server_cert(d, "h2", "gw")
        self.access = os.path.join(d, "access.log")
        for _ in range(5):     # the port may be taken between probe and bind
            self.port = receivers.free_port()
            self.proc = subprocess.Popen(
                ["nghttpx", "--conf=/dev/null", "--single-process",
                 "-f127.0.0.1,%d" % self.port,
                 "-b127.0.0.1,%d" % backend_port, "--workers=1",
                 "--no-ocsp", "--accesslog-file=" + self.access,
                 "--accesslog-format=$alpn $status $request",
                 "--errorlog-file=" + os.path.join(d, "error.log"),
                 self.key, self.cert],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if apikit.wait_until(self.listening, 10) and \
                    self.proc.poll() is None:
                return
            self.stop()
        raise AssertionError("nghttpx did not start")

    def listening(self):
        if self.proc.poll() is not None:
            return True     # exited: the caller sees poll() != None
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def log(self):
        # nghttpx writes its access log asynchronously.
        time.sleep(0.3)
        with open(self.access) as f:
            return f.read().splitlines()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Http2(unittest.TestCase):
    def setUp(self):
        self.tmp = apikit.TempDir()
        self.d = self.tmp.__enter__()

    def tearDown(self):
        self.tmp.__exit__(None, None, None)

    def start(self, *sim_args):
        self.s = apikit.sim("--project", apikit.PID, "--events", "40",
                            *sim_args)
        self.addCleanup(self.s.stop)
        self.gw = Gateway(self.d, self.s.port)
        self.addCleanup(self.gw.stop)

    def test_aksk_pages_over_h2(self):
        self.start("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                   "--rate-limit", "0")
        r = apikit.probe(self.gw.url(), "--aksk", "%s:%s" % (apikit.AK,
                                                             apikit.SK),
                         "--ca-file", self.gw.ca, "--count", "2", "--cpm",
                         "100", "-v")
        self.assertEqual(r.rc, 0, r)
        want = self.s.ctl("/_sim/events?category=host&begin_time=%d&"
                          "end_time=%d" % (apikit.NOW_MS - 2 * 86400000 +
                                           1000, apikit.NOW_MS))["count"]
        self.assertGreater(want, 0)
        self.assertEqual([(x.status, x.http, x.total) for x in r.results],
                         [("ok", 200, want)] * 2, r)
        self.assertEqual(r.err.count("http: < HTTP/2 200"), 2, r.err)
        log = self.gw.log()
        self.assertEqual(len(log), 2, log)
        for ln in log:
            self.assertRegex(ln, r"^h2 200 GET /v5/%s/event/events\?\S+ "
                             r"HTTP/2$" % apikit.PID)
        # The signature survived the gateway: the simulator checked it.
        self.assertEqual([q["status"] for q in
                          apikit.requests(self.s, "/v5/")], [200, 200])

    def test_iam_token_from_lowercase_header(self):
        self.start("--user", "dom:alice:%s" % PASSWORD, "--rate-limit", "0")
        r = apikit.probe(self.gw.url(), "--user", "dom:alice:" + PASSWORD,
                         "--iam", self.gw.url(), "--ca-file", self.gw.ca,
                         "-v")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([(x.status, x.http) for x in r.results],
                         [("ok", 200)], r)
        self.assertIn("http: < HTTP/2 201", r.err)
        self.assertIn("http: < x-subject-token: [redacted]", r.err)
        self.assertIn("IAM token obtained", r.err)
        self.assertNotIn(PASSWORD, r.out + r.err)
        ev = apikit.requests(self.s, "/v5/")
        self.assertEqual([(q["status"], q["credential"]) for q in ev],
                         [(200, "user:dom/alice")])

    def test_retry_after_lowercase(self):
        self.start("--aksk", "%s:%s" % (apikit.AK, apikit.SK),
                   "--rate-limit", "1", "--retry-after", "2")

        def lift():
            apikit.wait_until(lambda: self.s.ctl("/_sim/stats")["429"] >= 1,
                              20)
            self.s.ctl("/_sim/config", {"rate_limit": 0})
        t = threading.Thread(target=lift)
        t.start()
        r = apikit.probe(self.gw.url(), "--aksk", "%s:%s" % (apikit.AK,
                                                             apikit.SK),
                         "--ca-file", self.gw.ca, "--cpm", "10", "--count",
                         "2", "-v")
        t.join()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x.status for x in r.results], ["ok"] * 2, r)
        x = r.results[1]
        self.assertGreaterEqual(x.throttled, 1, r)
        self.assertIn("http: < retry-after: 2", r.err)
        self.assertIn("HTTP 429 (throttled), retrying after Retry-After",
                      r.err)
        # retry-after: 2 was honoured before the retry.
        self.assertGreaterEqual(x.ms - r.results[0].ms, 2000, r)


if __name__ == "__main__":
    apikit.need("nghttpx")
    apikit.run()
