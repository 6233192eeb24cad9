#!/usr/bin/env python3
"""hss-sim: query semantics: each filter selects exactly the events it
should (checked against the full dump), enterprise_project_id default "0"
vs all_granted_eps vs one id, the inclusive occur_time window, last_days,
paging (total_num; offsets cover the set exactly; newest first), and the
oracle /_sim/events agrees with the API."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
DAY = 86400000


def ids(evs):
    return sorted(e["event_id"] for e in evs)


class Query(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProc(*base_args("--events", "2500", "--now-ms",
                                     str(NOW_MS), "--span", "40h",
                                     "--container-share", "0.2"))
        cls.sim.start()
        cls.all = cls.sim.dump(ALL)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def check(self, params, pred):
        want = ids(e for e in self.all if pred(e))
        got = ids(self.sim.dump(dict(ALL, **params)))
        self.assertEqual(got, want, params)
        self.assertGreater(len(want), 0, params)
        self.assertLess(len(want), len(self.all), params)
        return want

    def test_enum_filters(self):
        self.check({"handle_status": "unhandled"},
                   lambda e: e["handle_status"] == "unhandled")
        self.check({"handle_status": "handled"},
                   lambda e: e["handle_status"] == "handled")
        self.check({"severity": "High"}, lambda e: e["severity"] == "High")
        self.check({"severity_list": ["Low", "Critical"]},
                   lambda e: e["severity"] in ("Low", "Critical"))
        self.check({"severity": "High", "severity_list": ["High", "Low"]},
                   lambda e: e["severity"] == "High")
        self.check({"attack_tag": "attack_blocked"},
                   lambda e: e["attack_tag"] == "attack_blocked")
        self.check({"asset_value": "important"},
                   lambda e: e["asset_value"] == "important")

    def test_list_filters(self):
        self.check({"event_types": [1001, 4004]},
                   lambda e: e["event_type"] in (1001, 4004))
        self.check({"event_class_ids": ["login_1001", "webshell_0001"]},
                   lambda e: e["event_class_id"] in ("login_1001",
                                                     "webshell_0001"))
        self.check({"tag_list": ["APT", "Mining"]},
                   lambda e: {"APT", "Mining"} & set(e["tag_list"]))

    def test_string_filters(self):
        e0 = next(e for e in self.all if e.get("public_ip"))
        self.check({"host_name": "db-prod"},
                   lambda e: "db-prod" in e["host_name"])
        self.check({"host_name": "数据库"}, lambda e: "数据库" in e["host_name"])
        self.check({"host_id": e0["host_id"]},
                   lambda e: e["host_id"] == e0["host_id"])
        self.check({"private_ip": e0["private_ip"]},
                   lambda e: e["private_ip"] == e0["private_ip"])
        self.check({"public_ip": e0["public_ip"]},
                   lambda e: e.get("public_ip") == e0["public_ip"])
        self.check({"event_name": "exploit"},
                   lambda e: "exploit" in e["event_name"])

    def test_container_name(self):
        cont = self.sim.dump(dict(ALL, category="container"))
        name = cont[0]["container_name"]
        part = name[:-3]
        got = ids(self.sim.dump(dict(ALL, category="container",
                                     container_name=part)))
        self.assertEqual(got, ids(e for e in cont
                                  if part in e["container_name"]))
        self.assertIn(cont[0]["event_id"], got)

    def test_att_ck_against_meta(self):
        got = self.sim.dump(dict(ALL, att_ck="Execution"))
        self.assertGreater(len(got), 0)
        self.assertLess(len(got), len(self.all))
        for e in got[:30]:
            m = self.sim.ctl("/_sim/event-meta?id=" + e["event_id"])
            self.assertEqual(m["att_ck"], "Execution")
        rest = set(ids(self.all)) - set(ids(got))
        for i in sorted(rest)[:30]:
            self.assertNotEqual(self.sim.ctl("/_sim/event-meta?id=" + i)
                                ["att_ck"], "Execution")

    def test_filters_combine(self):
        self.check({"handle_status": "unhandled", "severity_list": ["High"],
                    "event_types": [1001, 1002, 1003, 2001, 3004, 3005]},
                   lambda e: e["handle_status"] == "unhandled" and
                   e["severity"] == "High" and
                   e["event_type"] in (1001, 1002, 1003, 2001, 3004, 3005))

    def test_enterprise_project_semantics(self):
        by_ep = {}
        for e in self.all:
            by_ep.setdefault(e["resource_info"]["enterprise_project_id"],
                             []).append(e)
        self.assertEqual(sorted(by_ep), ["0", "ep-dev", "ep-finance"])
        default = self.sim.dump({"category": "host"})
        self.assertEqual(ids(default), ids(by_ep["0"]))
        zero = self.sim.dump({"category": "host", "enterprise_project_id": "0"})
        self.assertEqual(ids(zero), ids(by_ep["0"]))
        fin = self.sim.dump({"category": "host",
                             "enterprise_project_id": "ep-finance"})
        self.assertEqual(ids(fin), ids(by_ep["ep-finance"]))
        none = self.sim.dump({"category": "host",
                              "enterprise_project_id": "ep-nosuch"})
        self.assertEqual(none, [])

    def test_window_inclusive(self):
        t = NOW_MS - 5 * 3600000 + 123
        # a container event, so the host set of the other tests is intact
        r = self.sim.ctl("/_sim/add-events", {"count": 1, "occur_time_ms": t,
                                              "category": "container"})
        eid = r["event_ids"][0]

        def hit(b, e):
            return eid in ids(self.sim.dump(dict(ALL, category="container",
                                                 begin_time=b, end_time=e)))
        self.assertTrue(hit(t, t))
        self.assertTrue(hit(t - 1000, t))
        self.assertTrue(hit(t, t + 1000))
        self.assertFalse(hit(t + 1, t + 1000))
        self.assertFalse(hit(t - 1000, t - 1))

    def test_window_selects_occur_time(self):
        b, e = NOW_MS - 30 * 3600000, NOW_MS - 10 * 3600000
        self.check({"begin_time": b, "end_time": e},
                   lambda x: b <= x["occur_time"] <= e)

    def test_last_days(self):
        now = self.sim.ctl("/_sim/config")["now_ms"]
        got = self.sim.dump(dict(ALL, last_days=1))
        lo = now - DAY
        slack = 5000                         # the clock moves during the test
        exact = [e for e in self.all if e["occur_time"] >= lo + slack]
        self.assertTrue(set(ids(exact)) <= set(ids(got)))
        for e in got:
            self.assertGreaterEqual(e["occur_time"], lo)

    def test_paging(self):
        full = self.sim.events(dict(ALL, limit=1000)).json()
        total = full["total_num"]
        self.assertEqual(total, len(self.all))
        seen = []
        for off in range(0, total, 100):
            d = self.sim.events(dict(ALL, limit=100, offset=off)).json()
            self.assertEqual(d["total_num"], total)
            self.assertEqual(len(d["data_list"]), min(100, total - off))
            seen += d["data_list"]
        self.assertEqual(len(seen), total)
        self.assertEqual(len(set(ids(seen))), total)
        self.assertEqual(ids(seen), ids(self.all))
        keys = [e["occur_time"] for e in seen]
        self.assertEqual(keys, sorted(keys, reverse=True))  # newest first
        # the same page twice is the same bytes
        a = self.sim.events(dict(ALL, limit=100, offset=300)).body
        self.assertEqual(a, self.sim.events(dict(ALL, limit=100,
                                                 offset=300)).body)
        # past the end: an empty page, same total
        d = self.sim.events(dict(ALL, limit=10, offset=total)).json()
        self.assertEqual(d, {"total_num": total, "data_list": []})

    def test_oracle_matches_api(self):
        b, e = NOW_MS - 20 * 3600000, NOW_MS - 2 * 3600000
        for params in ({}, {"enterprise_project_id": "ep-dev"},
                       {"handle_status": "unhandled", "severity": "Medium"}):
            p = dict({"category": "host", "begin_time": b, "end_time": e},
                     **params)
            api = ids(self.sim.dump(p))
            q = "&".join("%s=%s" % kv for kv in p.items())
            orc = self.sim.ctl("/_sim/events?" + q)
            self.assertEqual(orc["event_ids"], api)
            self.assertEqual(orc["count"], len(api))
            self.assertEqual(orc["late_ids"], [])


if __name__ == "__main__":
    run()
