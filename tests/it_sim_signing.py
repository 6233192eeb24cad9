#!/usr/bin/env python3
"""hss-sim: the SDK-HMAC-SHA256 signer reproduces the four public signing
vectors of shared/reference/hss-api.md byte for byte, tools/hss-sign prints
the same signature, and the simulator canonicalizes the wire query itself
(order on the wire and encoding do not matter, content does)."""
import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim import signer  # noqa: E402
from hsssim.testkit import (AK, SK, EVENTS_PATH, PID, SRCDIR, SimProc,  # noqa: E402
                            base_args, run)

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def vector(method, path, query, headers, body, sk, date):
    signed = sorted(headers)
    creq = signer.canonical_request(method, path,
                                    signer.parse_raw_query(query), headers,
                                    signed, hashlib.sha256(body).hexdigest())
    return creq, signer.signature(sk, signer.string_to_sign(date, creq))


class Vectors(unittest.TestCase):
    def test_signing_guide(self):
        creq, sig = vector(
            "GET", "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
            {"content-type": "application/json",
             "host": "service.region.example.com",
             "x-sdk-date": "20191115T033655Z"}, b"",
            "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc", "20191115T033655Z")
        self.assertEqual(
            creq, "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
            "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
            "content-type:application/json\n"
            "host:service.region.example.com\nx-sdk-date:20191115T033655Z\n"
            "\ncontent-type;host;x-sdk-date\n" + EMPTY)
        self.assertEqual(hashlib.sha256(creq.encode()).hexdigest(),
                         "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe20627"
                         "8659d71a9bcd7a")
        self.assertEqual(sig, "7be6668032f70418fcc22abc52071e57aff61b84a1d2"
                         "381bb430d6870f4f6ebe")

    def test_go_sdk(self):
        creq, sig = vector("GET", "/path", "limit=1",
                           {"x-sdk-date": "20060102T150405Z"}, b"",
                           "SecretKey", "20060102T150405Z")
        self.assertEqual(creq, "GET\n/path/\nlimit=1\n"
                         "x-sdk-date:20060102T150405Z\n\nx-sdk-date\n" + EMPTY)
        self.assertEqual(sig, "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c"
                         "3166c03d58d02ac79624")

    def test_python_sdk_get(self):
        _, sig = vector("GET", "/resources", "size=1",
                        {"host": "service.endpoint.myhuaweicloud.com",
                         "x-sdk-date": "20200608T023900Z"}, b"",
                        "SecretKey", "20200608T023900Z")
        self.assertEqual(sig, "cfb4171acec81de07d50e53d57eb77edd537414d66dd"
                         "b1d7d780f128e12cd842")

    def test_python_sdk_post(self):
        _, sig = vector("POST", "/resources", "size=1",
                        {"host": "service.endpoint.myhuaweicloud.com",
                         "x-sdk-date": "20200608T023900Z"},
                        b'{"name":"test","id":1}', "SecretKey",
                        "20200608T023900Z")
        self.assertEqual(sig, "436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d7"
                         "31a38235053199323a1f")

    def test_authorization_header_form(self):
        hdrs, info = signer.sign(
            "GET", "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
            {"Content-Type": "application/json",
             "Host": "service.region.example.com"}, b"",
            "QTWAOYTTINDUT2QVKYUC",
            "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
            date="20191115T033655Z")
        self.assertEqual(
            hdrs["Authorization"], "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QV"
            "KYUC, SignedHeaders=content-type;host;x-sdk-date, Signature=7be6"
            "668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe")

    def test_encoding_rules(self):
        # every byte outside A-Za-z0-9-_.~ as upper-case %XX; / and space too
        self.assertEqual(signer.encode("a b/c~_.-界*+"),
                         "a%20b%2Fc~_.-%E7%95%8C%2A%2B")
        self.assertEqual(signer.canonical_uri("/v5/a%2fb/x y/"),
                         "/v5/a%2Fb/x%20y/")
        # sorted by key then value, repeated keys kept
        self.assertEqual(signer.canonical_query(
            [("severity_list", "High"), ("category", "host"),
             ("severity_list", "Critical"), ("host_name", "a b")]),
            "category=host&host_name=a%20b&severity_list=Critical&"
            "severity_list=High")

    def test_hss_sign_tool(self):
        out = subprocess.run(
            [sys.executable, os.path.join(SRCDIR, "tools", "hss-sign"),
             "--ak", "QTWAOYTTINDUT2QVKYUC", "--sk",
             "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc", "--date",
             "20191115T033655Z", "-H", "Content-Type: application/json",
             "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9"
             "a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-"
             "536f674975c0"], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.splitlines(), [
            "Content-Type: application/json",
            "X-Sdk-Date: 20191115T033655Z",
            "Authorization: SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
            "SignedHeaders=content-type;host;x-sdk-date, Signature=7be666803"
            "2f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"])


class ServerCanonicalization(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args("--events", "50"))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_wire_order_and_encoding_free(self):
        # Signed over the canonical form; sent in another order, with '~'
        # and unreserved letters percent-encoded: same decoded content.
        pairs = [("category", "host"), ("severity_list", "High"),
                 ("severity_list", "Critical"), ("host_name", "a b/界~")]
        wire = ("severity_list=High&host_name=a%20b%2F%E7%95%8C%7E&"
                "category=%68ost&severity_list=Critical")
        path = EVENTS_PATH % PID
        hdrs = {"Host": self.sim.hostport}
        canon = signer.canonical_query(pairs)
        signed, _ = signer.sign("GET", path, canon, hdrs, b"", AK, SK)
        r = self.sim.raw("GET", path + "?" + wire, signed)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"total_num": 0, "data_list": []})

    def test_changed_value_breaks_signature(self):
        path = EVENTS_PATH % PID
        hdrs = {"Host": self.sim.hostport}
        signed, _ = signer.sign("GET", path, "category=host&limit=10", hdrs,
                                b"", AK, SK)
        r = self.sim.raw("GET", path + "?category=host&limit=11", signed)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body, b'{"error_code":"APIG.0301","error_msg":'
                         b'"Incorrect IAM authentication information: '
                         b'verify aksk signature fail"}')

    def test_trailing_slash_not_on_wire(self):
        # the canonical URI has the slash; the path on the wire does not
        r = self.sim.events({"category": "host"})
        self.assertEqual(r.status, 200, r.body)


if __name__ == "__main__":
    run()
