#!/usr/bin/env python3
"""hss-sim: every injected fault kind is observable by a client exactly as
described (status, body, reset, stall without blocking others, truncated
body, invalid JSON, error body on 200, expired-token 401), faults hit only
the events endpoint, and a seeded run repeats the same fault sequence."""
import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import SimProc, base_args, run, wait_until  # noqa: E402

P = {"category": "host"}


def body(code, msg):
    return ('{"error_code":"%s","error_msg":"%s"}' % (code, msg)).encode()


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args("--events", "300", "--stall-time", "2s",
                                     "--user", "d:u:p"))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def fault(self, kind):
        self.sim.ctl("/_sim/config", {"faults": {kind: 1.0} if kind else {}})

    def tearDown(self):
        self.fault(None)

    def test_http_errors(self):
        for kind, status, code, msg in (
                ("500", 500, "HSS.0041", "Internal query error"),
                ("502", 502, "APIGW.0202", "Backend unavailable"),
                ("503", 503, "APIGW.0203",
                 "Service unavailable, try again later"),
                ("504", 504, "APIGW.0201", "Backend timeout")):
            with self.subTest(kind):
                self.fault(kind)
                r = self.sim.events(P)
                self.assertEqual((r.status, r.body), (status, body(code, msg)))

    def test_reset(self):
        self.fault("reset")
        with self.assertRaises(ConnectionResetError):
            self.sim.events(P)
        last = self.sim.ctl("/_sim/requests")[-1]
        self.assertEqual((last["fault"], last["status"]), ("reset", 0))

    def test_stall_does_not_block_others(self):
        self.fault("stall")
        # a client with a short timeout gives up
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            self.sim.events(P, timeout=0.5)
        self.assertLess(time.monotonic() - t0, 1.5)
        # the server still holds that one until --stall-time is over
        self.assertEqual(self.sim.ctl("/_sim/stats")["stalling"], 1)
        self.assertTrue(wait_until(
            lambda: self.sim.ctl("/_sim/stats")["stalling"] == 0, timeout=5))
        # a patient one gets the answer after --stall-time, while other
        # requests are served meanwhile
        res = {}

        def slow():
            t = time.monotonic()
            r = self.sim.events(P, timeout=10)
            res["status"], res["took"] = r.status, time.monotonic() - t
        th = threading.Thread(target=slow)
        th.start()
        self.assertTrue(wait_until(
            lambda: self.sim.ctl("/_sim/stats")["stalling"] == 1))
        self.fault(None)
        t = time.monotonic()
        r = self.sim.events(P)
        self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t, 1.0)
        self.assertNotIn("status", res)  # still stalled
        th.join(10)
        self.assertEqual(res["status"], 200)
        self.assertGreaterEqual(res["took"], 1.8)

    def test_truncated(self):
        self.fault("truncated")
        with self.assertRaises(http.client.IncompleteRead) as cm:
            self.sim.events(P)
        e = cm.exception                  # expected = bytes still missing
        full = len(e.partial) + e.expected
        self.assertGreater(full, 1000)
        self.assertEqual(len(e.partial), full // 2)
        self.assertTrue(e.partial.startswith(b'{"total_num":'))

    def test_slowbody(self):
        """Half the body, a pause of --stall-time, then the rest."""
        self.fault("slowbody")
        t = time.monotonic()
        r = self.sim.events(P)
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        self.assertIn("data_list", json.loads(r.body))
        self.assertGreaterEqual(time.monotonic() - t, 1.8)

    def test_invalid_json(self):
        self.fault("invalid")
        r = self.sim.events(P)
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        with self.assertRaises(ValueError):
            json.loads(r.body)

    def test_error_body_on_200(self):
        self.fault("errorbody")
        r = self.sim.events(P)
        self.assertEqual((r.status, r.body),
                         (200, body("HSS.0041", "Internal query error")))

    def test_token_expired(self):
        self.fault("token")
        r = self.sim.events(P)            # a good AK/SK signature
        self.assertEqual((r.status, r.body),
                         (401, body("APIG.0307", "The token must be updated")))

    def test_only_events_endpoint(self):
        self.fault("500")
        r = self.sim.token("d", "u", "p")
        self.assertEqual(r.status, 201)
        self.assertEqual(self.sim.call("GET", "/v5/x/nothing").status, 404)
        # invalid requests are answered by validation, not a fault
        self.assertEqual(self.sim.events({"category": "x"}).status, 400)


class Reproducible(unittest.TestCase):
    def run_once(self, seed):
        with SimProc(*base_args("--events", "20", "--seed", seed, "--fault",
                                "500=0.3", "--fault", "errorbody=0.2")) as sim:
            seq = []
            for i in range(30):
                r = sim.events(P)
                seq.append("eb" if r.status == 200 and b'"error_code"' in
                           r.body else r.status)
            st = sim.ctl("/_sim/stats")
            self.assertEqual(st["faults"].get("500", 0), seq.count(500))
            self.assertEqual(st["faults"].get("errorbody", 0), seq.count("eb"))
            return seq

    def test_same_seed_same_faults(self):
        a = self.run_once("7")
        self.assertEqual(a, self.run_once("7"))
        self.assertIn(500, a)
        self.assertIn("eb", a)
        self.assertIn(200, a)
        self.assertNotEqual(a, self.run_once("8"))


if __name__ == "__main__":
    run()
