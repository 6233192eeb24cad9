#!/usr/bin/env python3
"""A token revoked mid-run is renewed: with password auth the 401 drops
the cached token and exactly one new /v3/auth/tokens is made, the call is
retried once and succeeds; with a token file, the file replaced after the
revocation is re-read (mtime/size changed) and the new token used."""

import os
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402


def revoke_after_first(s, out, token=None):
    """Revoke (all tokens) once the first events call was served."""
    ok = apikit.wait_until(lambda: len(apikit.requests(s, "/v5/")) >= 1, 20)
    out["seen_first"] = bool(ok)
    out["revoked"] = s.ctl("/_sim/revoke", {})["revoked"]
    if token is not None:
        token()


class Renew(unittest.TestCase):
    def setUp(self):
        self.s = apikit.sim("--user", "dom:bob:pw-Bob-1", "--project",
                            apikit.PID, "--rate-limit", "0", "--events", "20")
        self.url = "http://" + self.s.hostport

    def tearDown(self):
        self.s.stop()

    def test_password_token_revoked(self):
        info = {}
        t = threading.Thread(target=revoke_after_first, args=(self.s, info))
        t.start()
        r = apikit.probe(self.url, "--user", "dom:bob:pw-Bob-1", "--iam",
                         self.url, "--count", "3", "--interval", "1s",
                         "--cpm", "100")
        t.join()
        self.assertTrue(info["seen_first"])
        self.assertEqual(info["revoked"], 1)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x.status for x in r.results], ["ok"] * 3, r)
        self.assertEqual([x.calls for x in r.results], [1, 2, 1], r)
        iam = apikit.requests(self.s, "/v3/auth/tokens")
        self.assertEqual([q["status"] for q in iam], [201, 201])
        ev = apikit.requests(self.s, "/v5/")
        self.assertEqual([(q["status"], q["error_code"]) for q in ev],
                         [(200, None), (401, "APIG.0307"), (200, None),
                          (200, None)])
        self.assertIn("token refused by the API, fetching a new one", r.err)

    def test_token_file_reread(self):
        with apikit.TempDir() as d:
            path = os.path.join(d, "token")

            def issue():
                rsp = self.s.token("dom", "bob", "pw-Bob-1",
                                   scope={"id": apikit.PID})
                assert rsp.status == 201, rsp.body
                tok = rsp.header("x-subject-token")
                with open(path + ".tmp", "w") as f:
                    f.write(tok + "\n")
                os.chmod(path + ".tmp", 0o600)  # a secret file's mode
                os.rename(path + ".tmp", path)
                return tok

            first = issue()
            info = {}
            t = threading.Thread(target=revoke_after_first,
                                 args=(self.s, info, issue))
            t.start()
            r = apikit.probe(self.url, "--token-file", path, "--count", "3",
                             "--interval", "1s", "--cpm", "100")
            t.join()
            self.assertEqual(info["revoked"], 1)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual([x.status for x in r.results], ["ok"] * 3, r)
            ev = apikit.requests(self.s, "/v5/")
            self.assertEqual(len(ev), 3, ev)
            self.assertTrue(all(q["status"] == 200 for q in ev), ev)
            self.assertNotIn(first, r.out + r.err)
            self.assertEqual(r.err.count("token (re)read"), 2, r)

    def test_token_file_unchanged(self):
        """A refused token whose file did not change is not retried."""
        with apikit.TempDir() as d:
            path = os.path.join(d, "token")
            with open(path, "w") as f:
                f.write("not-a-token\n")
            os.chmod(path, 0o600)
            r = apikit.probe(self.url, "--token-file", path)
            self.assertEqual(r.rc, 1, r)
            x = r.results[0]
            self.assertEqual((x.status, x.http, x.calls), ("auth", 401, 1),
                             r)
            self.assertIn("APIG.0301", x.detail)
            self.assertIn("token file " + path, x.detail)
            self.assertEqual(len(apikit.requests(self.s, "/v5/")), 1)
            self.assertNotIn("not-a-token", r.out + r.err)


if __name__ == "__main__":
    apikit.run()
