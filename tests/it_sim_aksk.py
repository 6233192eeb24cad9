#!/usr/bin/env python3
"""hss-sim: AK/SK authentication: a good signature is accepted, every kind
of bad one is refused with 401 APIG.0301, an AK is locked after 5 failures
in a row, temporary keys need a signed X-Security-Token."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim import signer  # noqa: E402
from hsssim.testkit import (AK, SK, EVENTS_PATH, PID, SimProc, base_args,  # noqa: E402
                            run, wait_until)

P = {"category": "host"}
PFX = "Incorrect IAM authentication information: "


def err(code, msg):
    return ('{"error_code":"%s","error_msg":"%s"}' % (code, msg)).encode()


class AkSk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args(
            "--events", "20", "--aksk", "AK2:SK2", "--aksk", "AK3:SK3",
            "--aksk-temp", "TMPAK:TMPSK:SECTOKEN123", "--lockout", "1.5s"))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        # failures of one test must not lock a key for the next
        self.sim.ctl("/_sim/reset-limits", {})

    def assert401(self, r, msg):
        self.assertEqual((r.status, r.body), (401, err("APIG.0301", PFX + msg)))

    def test_good_signature_accepted(self):
        r = self.sim.events(P)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["total_num"] > 0, True)

    def test_wrong_sk_refused(self):
        self.assert401(self.sim.events(P, ak="AK3", sk="wrong"),
                       "verify aksk signature fail")

    def test_no_auth(self):
        self.assert401(self.sim.events(P, ak=None),
                       "the request has no Authorization or X-Auth-Token "
                       "header")

    def test_malformed_authorization(self):
        r = self.sim.raw("GET", EVENTS_PATH % PID + "?category=host",
                         {"Authorization": "Basic Zm9vOmJhcg==",
                          "X-Sdk-Date": signer.sdk_date()})
        self.assert401(r, "Authorization is not 'SDK-HMAC-SHA256 Access=AK, "
                       "SignedHeaders=..., Signature=...'")

    def test_unknown_ak(self):
        self.assert401(self.sim.events(P, ak="NOSUCHAK", sk="x"),
                       "ak NOSUCHAK not exist")

    def test_date_skew(self):
        old = signer.sdk_date(time.time() - 16 * 60)
        self.assert401(self.sim.events(P, ak="AK3", sk="SK3", date=old),
                       "x-sdk-date is more than 15 minutes away from the "
                       "server time")
        ok = signer.sdk_date(time.time() - 14 * 60)
        self.assertEqual(self.sim.events(P, ak="AK3", sk="SK3",
                                         date=ok).status, 200)

    def test_malformed_date(self):
        self.assert401(self.sim.events(P, ak="AK3", sk="SK3",
                                       date="2025-11-28T03:20:00Z"),
                       "x-sdk-date is malformed (want YYYYMMDDTHHMMSSZ)")

    def test_host_must_be_signed(self):
        self.assert401(self.sim.events(P, ak="AK3", sk="SK3",
                                       sign_only=["x-sdk-date"]),
                       "host and x-sdk-date must be signed headers")

    def test_date_must_be_signed(self):
        self.assert401(self.sim.events(P, ak="AK3", sk="SK3",
                                       sign_only=["host"]),
                       "host and x-sdk-date must be signed headers")

    def test_unsigned_extra_header_allowed(self):
        # only the listed headers are signed; others may be anything
        r = self.sim.events(P, ak="AK3", sk="SK3",
                            headers={"X-Project-Id": PID},
                            sign_only=["host", "x-sdk-date"])
        self.assertEqual(r.status, 200, r.body)

    def test_lockout_after_five_failures(self):
        for i in range(4):
            self.assert401(self.sim.events(P, ak="AK2", sk="bad"),
                           "verify aksk signature fail")
        # a success resets the count
        self.assertEqual(self.sim.events(P, ak="AK2", sk="SK2").status, 200)
        for i in range(5):
            self.assert401(self.sim.events(P, ak="AK2", sk="bad"),
                           "verify aksk signature fail")
        t_locked = time.monotonic()
        r = self.sim.events(P, ak="AK2", sk="SK2")
        self.assertEqual(r.status, 401)
        # --lockout 1.5s: the seconds left, rounded up
        self.assertRegex(r.body.decode(), r'^\{"error_code":"APIG\.0301",'
                         r'"error_msg":"Incorrect IAM authentication '
                         r'information: the access key AK2 is locked for '
                         r'[12] s after 5 consecutive failed '
                         r'authentications"\}$')
        self.assertEqual(self.sim.ctl("/_sim/stats")["locked_aks"], ["AK2"])
        # other keys are not affected
        self.assertEqual(self.sim.events(P).status, 200)
        # unlocked after --lockout (1.5 s)
        ok = wait_until(lambda: self.sim.events(P, ak="AK2", sk="SK2")
                        .status == 200, timeout=5, step=0.1)
        self.assertTrue(ok)
        self.assertGreaterEqual(time.monotonic() - t_locked, 1.4)

    def test_security_token_signed(self):
        r = self.sim.events(P, ak="TMPAK", sk="TMPSK",
                            security_token="SECTOKEN123")
        self.assertEqual(r.status, 200, r.body)

    def test_security_token_missing(self):
        self.assert401(self.sim.events(P, ak="TMPAK", sk="TMPSK"),
                       "x-security-token is required for a temporary access "
                       "key")

    def test_security_token_not_signed(self):
        r = self.sim.events(P, ak="TMPAK", sk="TMPSK",
                            security_token="SECTOKEN123",
                            sign_only=["host", "x-sdk-date"])
        self.assert401(r, "x-security-token must be a signed header")

    def test_security_token_wrong(self):
        self.assert401(self.sim.events(P, ak="TMPAK", sk="TMPSK",
                                       security_token="OTHER"),
                       "x-security-token is invalid")

    def test_security_token_with_permanent_key(self):
        self.assert401(self.sim.events(P, ak="AK3", sk="SK3",
                                       security_token="SECTOKEN123"),
                       "x-security-token is invalid for a permanent access "
                       "key")


if __name__ == "__main__":
    run()
