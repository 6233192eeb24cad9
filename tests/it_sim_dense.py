#!/usr/bin/env python3
"""hss-sim: a dense block (--dense COUNT@TIME, "dense" at run time): COUNT
synthetic events all at one occur_time, made only when a page holds them,
so a window of more than 2,000,000 events that no split in time can divide
costs only the pages read. /_sim/dense lists their ids by position."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
T = NOW_MS - 3600000


class Dense(unittest.TestCase):
    def test_past_the_offset_cap(self):
        with SimProc(*base_args("--events", "100", "--span", "2h",
                                "--container-share", "0", "--now-ms",
                                str(NOW_MS), "--dense",
                                "2500000@%d" % T)) as sim:
            one = dict(ALL, begin_time=T, end_time=T, limit=1000)
            for off in (0, 1000, 2000000):
                r = sim.events(dict(one, offset=off)).json()
                self.assertEqual(r["total_num"], 2500000)
                want = sim.ctl("/_sim/dense?from=%d&count=1000" % off)
                self.assertEqual(want["count"], 2500000)
                self.assertEqual([e["event_id"] for e in r["data_list"]],
                                 want["event_ids"])
                self.assertEqual({e["occur_time"] for e in r["data_list"]},
                                 {T})
                self.assertEqual(sim.ctl("/_sim/requests")[-1]["dense"],
                                 1000)
            # 2,500,000 distinct ids: the last ones differ from the first
            last = sim.ctl("/_sim/dense?from=2499990&count=100")["event_ids"]
            self.assertEqual(len(last), 10)
            self.assertFalse(set(last) & set(sim.ctl(
                "/_sim/dense?from=0&count=100000")["event_ids"]))
            # a window without T, or a filter: no dense events
            r = sim.events(dict(one, begin_time=T + 1, end_time=T + 1))
            self.assertEqual(r.json()["total_num"], 0)
            r = sim.events(dict(one, severity="Low"))
            self.assertEqual(r.json()["total_num"], 0)
            r = sim.events(dict(one, category="container"))
            self.assertEqual(r.json()["total_num"], 0)
            orc = sim.ctl("/_sim/events?category=host&enterprise_project_id="
                          "all_granted_eps&begin_time=%d&end_time=%d" %
                          (T, T))
            self.assertEqual((orc["count"], orc["dense_count"]), (0, 2500000))
            # the API's offset limit still holds
            r = sim.events(dict(one, offset=2001000))
            self.assertEqual(r.status, 400)

    def test_order_among_real_events(self):
        with SimProc(*base_args("--events", "100", "--span", "2h",
                                "--container-share", "0", "--now-ms",
                                str(NOW_MS))) as sim:
            c = sim.ctl("/_sim/config", {"dense": {"count": 50,
                                                   "occur_time_ms": T}})
            self.assertEqual(c["dense"], {"count": 50, "occur_time_ms": T})
            w = dict(ALL, begin_time=NOW_MS - 7200000, end_time=NOW_MS)
            got = sim.dump(w)
            dense = sim.ctl("/_sim/dense?from=0&count=50")["event_ids"]
            times = [e["occur_time"] for e in got]
            self.assertEqual(len(got), 150)
            self.assertEqual(times, sorted(times, reverse=True))
            ids = [e["event_id"] for e in got]
            k = sum(1 for t in times if t > T)
            self.assertEqual(ids[k:k + 50], dense)
            self.assertTrue(set(dense).isdisjoint(ids[:k] + ids[k + 50:]))
            sim.ctl("/_sim/config", {"dense": None})
            self.assertEqual(sim.events(w).json()["total_num"], 100)
            for bad in ({"dense": {"count": -1}}, {"dense": 5},
                        {"dense": {"count": 1, "when": 2}}):
                r = sim.raw("POST", "/_sim/config", {},
                            json.dumps(bad).encode())
                self.assertEqual(r.status, 400, bad)


if __name__ == "__main__":
    run()
