#!/usr/bin/env python3
"""hss-sim: every request rule of ListSecurityEvents, one request each:
the exact 400 HSS.0001 body for a violation, 200 at each boundary;
unknown parameters ignored; unknown paths 404; foreign projects 403."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

B = NOW_MS - 3600000
E = NOW_MS
SEV = "Security, Low, Medium, High, Critical"


def bad(msg):
    return ('{"error_code":"HSS.0001","error_msg":"%s"}' % msg).encode()


CASES = [
    # (name, params, expected error message)
    ("no category", {}, "category is required"),
    ("bad category", {"category": "vm"}, "category must be host or container"),
    ("begin 12 digits", {"category": "host", "begin_time": str(B)[:-1],
                         "end_time": E},
     "begin_time must be 13 digits (epoch milliseconds)"),
    ("end seconds", {"category": "host", "begin_time": B,
                     "end_time": str(E // 1000)},
     "end_time must be 13 digits (epoch milliseconds)"),
    ("begin not digits", {"category": "host", "begin_time": "17643000000x0",
                          "end_time": E},
     "begin_time must be 13 digits (epoch milliseconds)"),
    ("begin alone", {"category": "host", "begin_time": B},
     "begin_time and end_time must be given together"),
    ("end alone", {"category": "host", "end_time": E},
     "begin_time and end_time must be given together"),
    ("begin after end", {"category": "host", "begin_time": E + 1,
                         "end_time": E},
     "begin_time must not be later than end_time"),
    ("span over 2 days", {"category": "host", "begin_time": E - 172800001,
                          "end_time": E},
     "the range from begin_time to end_time must not exceed 2 days "
     "(172800000 ms)"),
    ("last_days with begin", {"category": "host", "last_days": 1,
                              "begin_time": B, "end_time": E},
     "last_days cannot be combined with begin_time or end_time"),
    ("last_days 0", {"category": "host", "last_days": 0},
     "last_days must be an integer from 1 to 30"),
    ("last_days 31", {"category": "host", "last_days": 31},
     "last_days must be an integer from 1 to 30"),
    ("limit 9", {"category": "host", "limit": 9},
     "limit must be an integer from 10 to 1000"),
    ("limit 1001", {"category": "host", "limit": 1001},
     "limit must be an integer from 10 to 1000"),
    ("limit text", {"category": "host", "limit": "ten"},
     "limit must be an integer from 10 to 1000"),
    ("offset negative", {"category": "host", "offset": -1},
     "offset must be an integer from 0 to 2000000"),
    ("offset too big", {"category": "host", "offset": 2000001},
     "offset must be an integer from 0 to 2000000"),
    ("enterprise_project_id too long", {"category": "host",
                                        "enterprise_project_id": "e" * 257},
     "enterprise_project_id must be 1 to 256 characters"),
    ("enterprise_project_id empty", {"category": "host",
                                     "enterprise_project_id": ""},
     "enterprise_project_id must be 1 to 256 characters"),
    ("handle_status", {"category": "host", "handle_status": "done"},
     "handle_status must be one of unhandled, handled"),
    ("severity", {"category": "host", "severity": "high"},
     "severity must be one of " + SEV),
    ("severity_list", {"category": "host", "severity_list": ["High", "Fatal"]},
     "severity_list items must be one of " + SEV),
    ("attack_tag", {"category": "host", "attack_tag": "attack"},
     "attack_tag must be one of attack_success, attack_attempt, "
     "attack_blocked, abnormal_behavior, collapsible_host, "
     "system_vulnerability"),
    ("asset_value", {"category": "host", "asset_value": "critical"},
     "asset_value must be one of important, common, test"),
    ("att_ck", {"category": "host", "att_ck": "Lateral Movement"},
     "att_ck must be one of Reconnaissance, Initial Access, Execution, "
     "Persistence, Privilege Escalation, Defense Evasion, Credential Access, "
     "Command and Control, Impact"),
    ("event_types below", {"category": "host", "event_types": [1001, 999]},
     "event_types items must be integers from 1000 to 30000"),
    ("event_types above", {"category": "host", "event_types": 30001},
     "event_types items must be integers from 1000 to 30000"),
    ("event_types comma list", {"category": "host",
                                "event_types": "1001,4004"},
     "event_types items must be integers from 1000 to 30000"),
    ("event_types 501 items", {"category": "host",
                               "event_types": [1001] * 501},
     "event_types must have 1 to 500 items"),
]

GOOD = [
    ("limit 10", {"category": "host", "limit": 10}),
    ("limit 1000", {"category": "container", "limit": 1000}),
    ("offset 0", {"category": "host", "offset": 0}),
    ("offset 2000000", {"category": "host", "offset": 2000000}),
    ("span exactly 2 days", {"category": "host", "begin_time": E - 172800000,
                             "end_time": E}),
    ("begin equals end", {"category": "host", "begin_time": E,
                          "end_time": E}),
    ("last_days 1", {"category": "host", "last_days": 1}),
    ("last_days 30", {"category": "host", "last_days": 30}),
    ("event_types 500 items", {"category": "host",
                               "event_types": list(range(1000, 1500))}),
    ("event_types 1000 and 30000", {"category": "host",
                                    "event_types": [1000, 30000]}),
    ("all enums", {"category": "host", "handle_status": "handled",
                   "severity": "Critical", "severity_list": ["Low", "High"],
                   "attack_tag": "system_vulnerability",
                   "asset_value": "test", "att_ck": "Impact"}),
    ("unknown parameters ignored", {"category": "host", "foo": "bar",
                                    "sort_key": "occur_time"}),
    ("all_granted_eps", {"category": "host",
                         "enterprise_project_id": "all_granted_eps"}),
    ("256-char enterprise project", {"category": "host",
                                     "enterprise_project_id": "e" * 256}),
]


class Rules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args("--events", "200", "--now-ms",
                                     str(NOW_MS)))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_violations(self):
        for name, params, msg in CASES:
            with self.subTest(name):
                r = self.sim.events(params)
                self.assertEqual((r.status, r.body), (400, bad(msg)))

    def test_boundaries_accepted(self):
        for name, params in GOOD:
            with self.subTest(name):
                r = self.sim.events(params)
                self.assertEqual(r.status, 200, r.body)
                d = r.json()
                self.assertEqual(sorted(d), ["data_list", "total_num"])

    def test_default_limit_10(self):
        d = self.sim.events({"category": "host", "enterprise_project_id":
                             "all_granted_eps"}).json()
        self.assertGreater(d["total_num"], 10)
        self.assertEqual(len(d["data_list"]), 10)

    def test_unknown_path_404(self):
        r = self.sim.call("GET", "/v5/%s/event/eventz" % "p")
        self.assertEqual((r.status, r.json()["error_code"]),
                         (404, "APIG.0101"))
        r = self.sim.call("POST", "/v5/0123456789abcdef0123456789abcdef/"
                          "event/events", {"category": "host"})
        self.assertEqual(r.status, 404)

    def test_unknown_project_403(self):
        r = self.sim.events({"category": "host"}, project="f" * 32)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.body, b'{"error_code":"APIG.0302","error_msg":'
                         b'"The IAM user is not authorized to access the API:'
                         b' project ffffffffffffffffffffffffffffffff is not '
                         b'accessible with this credential"}')

    def test_validation_after_auth(self):
        # a bad signature is 401 even when the query is invalid too
        r = self.sim.events({"limit": 5}, sk="wrong")
        self.assertEqual(r.status, 401)


if __name__ == "__main__":
    run()
