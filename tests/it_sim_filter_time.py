#!/usr/bin/env python3
"""hss-sim: --filter-time visible (at run time "filter_time"): begin_time
and end_time match the time an event became visible (occur_time + its late
delay), as an API filtering on record creation time would, and pages are
ordered by it. So a late event comes in a recent window with an old
occur_time, and not in the window of its occur_time. The oracle uses the
same time."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

H = 3600000
M = 60000
ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
ORACLE = "/_sim/events?category=host&enterprise_project_id=all_granted_eps"


class FilterTime(unittest.TestCase):
    def test_visible_time(self):
        with SimProc(*base_args(
                "--events", "1000", "--span", "8h", "--container-share", "0",
                "--now-ms", str(NOW_MS), "--late-visibility", "1h",
                "--late-visibility-max", "3h", "--late-share", "0.2",
                "--filter-time", "visible")) as sim:
            self.assertEqual(sim.ctl("/_sim/config")["filter_time"],
                             "visible")
            now = sim.ctl(ORACLE)["now_ms"]
            # an event late by exactly 2 h - 1 min: visible a minute ago
            add = sim.ctl("/_sim/add-events", {
                "count": 1, "occur_time_ms": now - 2 * H, "category": "host",
                "delay_ms": 2 * H - M})
            old = add["event_ids"][0]
            meta = {}
            for eid in sim.ctl(ORACLE)["event_ids"]:
                meta[eid] = sim.ctl("/_sim/event-meta?id=" + eid)
            self.assertEqual(len(meta), 1001)
            b, e = now - 30 * M, now
            want = [m for m in meta.values() if b <= m["visible_at"] <= e]
            want.sort(key=lambda m: (m["visible_at"], m["index"]),
                      reverse=True)
            got = sim.dump(dict(ALL, begin_time=b, end_time=e))
            # exactly the events that became visible in the window, newest
            # visibility first; late ones with an occur_time before it
            self.assertEqual([x["event_id"] for x in got],
                             [m["event_id"] for m in want])
            self.assertIn(old, [x["event_id"] for x in got])
            older = [x for x in got if x["occur_time"] < b]
            self.assertGreaterEqual(len(older), 2, len(older))
            r = sim.events(dict(ALL, begin_time=b, end_time=e,
                                limit=10)).json()
            self.assertEqual(r["total_num"], len(want))
            # the oracle counts by the same time
            orc = sim.ctl(ORACLE + "&begin_time=%d&end_time=%d" % (b, e))
            self.assertEqual(set(orc["event_ids"]),
                             {m["event_id"] for m in want})
            # the window of its occur_time does not hold the late event
            at = sim.dump(dict(ALL, begin_time=now - 2 * H - M,
                               end_time=now - 2 * H + M))
            self.assertNotIn(old, [x["event_id"] for x in at])
            # an event not visible yet is in no page, even of a window
            # reaching into the future
            hid = [m for m in meta.values() if m["visible_at"] > now + 5 * M]
            self.assertTrue(hid)
            fut = sim.dump(dict(ALL, begin_time=now - H, end_time=now + 4 * H))
            self.assertFalse({m["event_id"] for m in hid} &
                             {x["event_id"] for x in fut})
            # back to occur_time at run time
            c = sim.ctl("/_sim/config", {"filter_time": "occur"})
            self.assertEqual(c["filter_time"], "occur")
            got = sim.dump(dict(ALL, begin_time=b, end_time=e))
            self.assertTrue(all(b <= x["occur_time"] <= e for x in got))
            self.assertNotIn(old, [x["event_id"] for x in got])
            for bad in ("created", 1, None):
                r = sim.raw("POST", "/_sim/config", {},
                            json.dumps({"filter_time": bad}).encode())
                self.assertEqual(r.status, 400, bad)
            self.assertEqual(sim.ctl("/_sim/config")["filter_time"], "occur")


if __name__ == "__main__":
    run()
