#!/usr/bin/env python3
"""hss-sim: the control and report endpoints under /_sim/: requests log,
stats, config (read, change, refuse unknown keys), add-events, event and
event-meta, reset-stats; and --fixture serving the official example
verbatim after authentication and validation."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import (NOW_MS, PID, SRCDIR, SimProc, base_args,  # noqa: E402
                            build_query, run)

# a copy of shared/reference/fixtures/list-security-events-example.json
FIXTURE = os.path.join(SRCDIR, "tools", "hsssim", "fixtures",
                       "list-security-events-example.json")


class Control(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args("--events", "100", "--now-ms",
                                     str(NOW_MS)))
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.ctl("/_sim/reset-stats", {})

    def test_requests_log(self):
        p = {"category": "host", "begin_time": NOW_MS - 3600000,
             "end_time": NOW_MS, "offset": 10, "limit": 20}
        self.sim.events(p)
        self.sim.events({"category": "vm"})
        self.sim.events({"category": "host"}, sk="bad")
        reqs = self.sim.ctl("/_sim/requests")
        self.assertEqual(len(reqs), 3)
        r = reqs[0]
        for k in ("time_ms", "method", "path", "query", "status",
                  "error_code", "credential", "begin_time", "end_time",
                  "offset", "limit", "fault"):
            self.assertIn(k, r)
        self.assertEqual((r["method"], r["path"], r["query"], r["status"],
                          r["error_code"], r["credential"], r["begin_time"],
                          r["end_time"], r["offset"], r["limit"], r["fault"]),
                         ("GET", "/v5/%s/event/events" % PID, build_query(p),
                          200, None, "ak:SIMTESTAK0000000000A",
                          NOW_MS - 3600000, NOW_MS, 10, 20, None))
        self.assertEqual((reqs[1]["status"], reqs[1]["error_code"]),
                         (400, "HSS.0001"))
        self.assertEqual((reqs[2]["status"], reqs[2]["error_code"],
                          reqs[2]["credential"]), (401, "APIG.0301", None))
        since = self.sim.ctl("/_sim/requests?since=%d" % reqs[1]["seq"])
        self.assertEqual([x["seq"] for x in since],
                         [reqs[2]["seq"]])

    def test_stats(self):
        self.sim.events({"category": "host", "begin_time": NOW_MS - 5000,
                         "end_time": NOW_MS, "offset": 40})
        self.sim.events({"category": "host", "begin_time": NOW_MS - 172800000,
                         "end_time": NOW_MS})
        self.sim.events({"category": "host", "begin_time": NOW_MS - 172800001,
                         "end_time": NOW_MS})     # refused, still the widest
        self.sim.ctl("/_sim/config", {"faults": {"503": 1.0}})
        self.sim.events({"category": "host"})
        self.sim.ctl("/_sim/config", {"faults": {}, "rate_limit": 4})
        self.sim.events({"category": "host"})
        self.sim.ctl("/_sim/config", {"rate_limit": 0})
        st = self.sim.ctl("/_sim/stats")
        want = {"requests": 5, "by_status": {"200": 2, "400": 1, "503": 1,
                                             "429": 1},
                "4xx": 2, "429": 1, "5xx": 1, "faults": {"503": 1},
                "widest_window_ms": 172800001, "max_offset": 40}
        self.assertEqual({k: st[k] for k in want}, want)

    def test_config(self):
        c = self.sim.ctl("/_sim/config")
        self.assertEqual((c["shuffle"], c["rate_limit"], c["faults"]),
                         (False, 0, {}))
        c = self.sim.ctl("/_sim/config", {"shuffle": True, "late_share": 0.25,
                                          "late_visibility": "90s",
                                          "faults": {"reset": 0.1}})
        self.assertEqual((c["shuffle"], c["late_share"],
                          c["late_visibility_ms"], c["faults"]),
                         (True, 0.25, 90000, {"reset": 0.1}))
        c = self.sim.ctl("/_sim/config", {"shuffle": False, "late_share": 0,
                                          "late_visibility": 0, "faults": {}})
        for bad in ({"nosuch": 1}, {"faults": {"boom": 0.5}},
                    {"faults": {"500": 0.7, "502": 0.7}},
                    {"shuffle": "yes"}, {"late_share": 2}):
            r = self.sim.raw("POST", "/_sim/config",
                             {"Content-Type": "application/json"},
                             json.dumps(bad).encode())
            self.assertEqual(r.status, 400, bad)
            self.assertIn("error", r.json())
        # nothing of a refused change was applied
        self.assertEqual(self.sim.ctl("/_sim/config")["faults"], {})

    def test_add_events_and_event(self):
        r = self.sim.ctl("/_sim/add-events", {
            "count": 3, "occur_time_ms": NOW_MS - 1000, "category": "container",
            "enterprise_project_id": "ep-dev"})
        self.assertEqual(len(r["event_ids"]), 3)
        self.assertEqual(r["occur_times"], [NOW_MS - 1000] * 3)
        for i in r["event_ids"]:
            ev = json.loads(self.sim.raw("GET", "/_sim/event?id=" + i).body)
            self.assertEqual((ev["event_id"], ev["occur_time"],
                              ev["resource_info"]["enterprise_project_id"]),
                             (i, NOW_MS - 1000, "ep-dev"))
            m = self.sim.ctl("/_sim/event-meta?id=" + i)
            self.assertEqual((m["category"], m["origin"]),
                             ("container", "added"))
        got = self.sim.dump({"category": "container",
                             "enterprise_project_id": "ep-dev",
                             "begin_time": NOW_MS - 1000,
                             "end_time": NOW_MS - 1000})
        self.assertEqual(sorted(e["event_id"] for e in got),
                         sorted(r["event_ids"]))
        # the served bytes equal /_sim/event's
        raw = self.sim.raw("GET", "/_sim/event?id=" + r["event_ids"][0]).body
        page = self.sim.events({"category": "container",
                                "enterprise_project_id": "ep-dev",
                                "begin_time": NOW_MS - 1000,
                                "end_time": NOW_MS - 1000}).body
        self.assertIn(raw, page)
        self.assertEqual(self.sim.raw("GET", "/_sim/event?id=nope").status, 404)
        r = self.sim.raw("POST", "/_sim/add-events",
                         {"Content-Type": "application/json"},
                         b'{"count":"many"}')
        self.assertEqual(r.status, 400)

    def test_reset_stats(self):
        self.sim.events({"category": "host"})
        self.assertEqual(self.sim.ctl("/_sim/stats")["requests"], 1)
        self.sim.ctl("/_sim/reset-stats", {})
        st = self.sim.ctl("/_sim/stats")
        self.assertEqual((st["requests"], st["by_status"]), (0, {}))
        self.assertEqual(self.sim.ctl("/_sim/requests"), [])
        self.assertEqual(self.sim.raw("GET", "/_sim/requests").body, b"[]")

    def test_unknown_control(self):
        self.assertEqual(self.sim.raw("GET", "/_sim/nothing").status, 404)


class Fixture(unittest.TestCase):
    def test_fixture_verbatim(self):
        with open(FIXTURE, "rb") as f:
            want = f.read()
        with SimProc(*base_args("--fixture", FIXTURE)) as sim:
            r = sim.events({"category": "container", "limit": 50,
                            "severity": "High"})
            self.assertEqual((r.status, r.body), (200, want))
            self.assertEqual(sim.events({"category": "nope"}).status, 400)
            self.assertEqual(sim.events({"category": "host"},
                                        sk="x").status, 401)


if __name__ == "__main__":
    run()
