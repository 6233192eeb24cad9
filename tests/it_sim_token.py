#!/usr/bin/env python3
"""hss-sim: IAM password tokens: POST /v3/auth/tokens issues one (201,
X-Subject-Token, expires_at), a bad password gets 401, the token
authenticates X-Auth-Token requests until it is revoked or expires (then
401 APIG.0307)."""
import datetime
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import (PID, PID2, SimProc, base_args, run,  # noqa: E402
                            wait_until)

P = {"category": "host"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
E0307 = b'{"error_code":"APIG.0307","error_msg":"The token must be updated"}'


def parse_iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


class Tokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args(
            "--events", "20", "--project", PID2,
            "--user", "mydomain:alice:S3cret pass", "--user",
            "mydomain:bob:pw2"))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def issue(self, user="alice", pw="S3cret pass", scope=None):
        r = self.sim.token("mydomain", user, pw, scope)
        self.assertEqual(r.status, 201, r.body)
        return r.header("X-Subject-Token"), r.json()

    def test_issue(self):
        tok, body = self.issue()
        self.assertGreater(len(tok), 100)
        t = body["token"]
        self.assertRegex(t["expires_at"], ISO)
        self.assertRegex(t["issued_at"], ISO)
        self.assertEqual(parse_iso(t["expires_at"]) - parse_iso(t["issued_at"]),
                         datetime.timedelta(hours=24))
        self.assertEqual(t["user"]["name"], "alice")
        self.assertEqual(t["user"]["domain"]["name"], "mydomain")
        self.assertEqual(t["project"]["id"], PID)
        self.assertEqual(t["project"]["name"], "ap-southeast-1")
        self.assertNotIn("catalog", t)          # ?nocatalog=true
        self.assertEqual(t["methods"], ["password"])

    def test_catalog_without_nocatalog(self):
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"domain": {"name": "mydomain"}, "name": "bob",
                     "password": "pw2"}}},
            "scope": {"project": {"id": PID2}}}}
        r = self.sim.raw("POST", "/v3/auth/tokens",
                         {"Content-Type": "application/json;charset=utf8"},
                         json.dumps(body).encode())
        self.assertEqual(r.status, 201)
        self.assertIn("catalog", r.json()["token"])
        self.assertEqual(r.json()["token"]["project"]["id"], PID2)

    def test_bad_password(self):
        r = self.sim.token("mydomain", "alice", "wrong")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json(), {"error": {
            "code": 401, "message": "The username or password is wrong.",
            "title": "Unauthorized"}})
        self.assertIsNone(r.header("X-Subject-Token"))

    def test_unknown_user_and_domain(self):
        self.assertEqual(self.sim.token("mydomain", "carol", "x").status, 401)
        self.assertEqual(self.sim.token("other", "alice",
                                        "S3cret pass").status, 401)

    def test_malformed_body(self):
        r = self.sim.raw("POST", "/v3/auth/tokens?nocatalog=true",
                         {"Content-Type": "application/json"}, b'{"auth":{}}')
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], 400)

    def test_token_authenticates(self):
        tok, _ = self.issue()
        r = self.sim.events(P, token=tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertGreater(r.json()["total_num"], 0)
        req = self.sim.ctl("/_sim/requests")[-1]
        self.assertEqual(req["credential"], "user:mydomain/alice")

    def test_token_scoped_to_its_project(self):
        tok, _ = self.issue()
        r = self.sim.events(P, project=PID2, token=tok)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["error_code"], "APIG.0302")

    def test_unknown_token(self):
        r = self.sim.events(P, token="MIInotatoken")
        self.assertEqual((r.status, r.body), (401, b'{"error_code":"APIG.0301"'
                         b',"error_msg":"Incorrect IAM authentication '
                         b'information: token is invalid"}'))

    def test_revoke_one(self):
        t1, _ = self.issue()
        t2, _ = self.issue(user="bob", pw="pw2")
        self.assertEqual(self.sim.ctl("/_sim/revoke", {"token": t1}),
                         {"revoked": 1})
        r = self.sim.events(P, token=t1)
        self.assertEqual((r.status, r.body), (401, E0307))
        self.assertEqual(self.sim.events(P, token=t2).status, 200)

    def test_revoke_all(self):
        t1, _ = self.issue()
        self.assertEqual(self.sim.events(P, token=t1).status, 200)
        self.assertGreaterEqual(self.sim.ctl("/_sim/revoke", {})["revoked"], 1)
        r = self.sim.events(P, token=t1)
        self.assertEqual((r.status, r.body), (401, E0307))
        # a new token works again
        t3, _ = self.issue()
        self.assertEqual(self.sim.events(P, token=t3).status, 200)


class Expiry(unittest.TestCase):
    def test_expired_token(self):
        with SimProc(*base_args("--events", "5", "--user", "d:u:p",
                                "--token-lifetime", "800ms")) as sim:
            r = sim.token("d", "u", "p")
            self.assertEqual(r.status, 201)
            t = r.json()["token"]
            self.assertEqual(parse_iso(t["expires_at"]) -
                             parse_iso(t["issued_at"]),
                             datetime.timedelta(milliseconds=800))
            tok = r.header("X-Subject-Token")
            self.assertEqual(sim.events(P, token=tok).status, 200)
            r = wait_until(lambda: (lambda x: x if x.status == 401 else None)(
                sim.events(P, token=tok)), timeout=5, step=0.1)
            self.assertIsNotNone(r)
            self.assertEqual(r.body, E0307)


if __name__ == "__main__":
    run()
