#!/usr/bin/env python3
"""hss-sim: a lying total_num (--total-extra N, --total-factor F: reported
as actual * F + N while the pages hold only what exists) and multi-byte
event ids (--mb-id-share F: 64 characters, 118 bytes of UTF-8)."""
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import SimProc, base_args, run  # noqa: E402

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
ORACLE = "/_sim/events?category=host&enterprise_project_id=all_granted_eps"


class LyingTotal(unittest.TestCase):
    def test_extra_and_factor(self):
        with SimProc(*base_args("--events", "250", "--container-share", "0",
                                "--total-extra", "7")) as sim:
            r = sim.events(dict(ALL, limit=100)).json()
            self.assertEqual(r["total_num"], 257)
            self.assertEqual(len(r["data_list"]), 100)
            rec = sim.ctl("/_sim/requests")[-1]
            self.assertEqual((rec["total_num"], rec["total_actual"],
                              rec["returned"]), (257, 250, 100))
            # the pages hold what exists: the last one is short, past it
            # empty, the total still lies
            r = sim.events(dict(ALL, limit=100, offset=200)).json()
            self.assertEqual((r["total_num"], len(r["data_list"])), (257, 50))
            r = sim.events(dict(ALL, limit=100, offset=300)).json()
            self.assertEqual(r, {"total_num": 257, "data_list": []})
            # an empty window lies too
            r = sim.events(dict(ALL, begin_time=1000000000000,
                                end_time=1000000001000)).json()
            self.assertEqual(r, {"total_num": 7, "data_list": []})
            # at run time
            c = sim.ctl("/_sim/config", {"total_factor": 2.5,
                                         "total_extra": 0})
            self.assertEqual((c["total_factor"], c["total_extra"]), (2.5, 0))
            r = sim.events(dict(ALL, limit=1000)).json()
            self.assertEqual((r["total_num"], len(r["data_list"])),
                             (625, 250))
            sim.ctl("/_sim/config", {"total_factor": 1})
            self.assertEqual(sim.events(ALL).json()["total_num"], 250)
            for bad in ({"total_extra": -1}, {"total_factor": -0.5},
                        {"total_factor": "2"}):
                r = sim.raw("POST", "/_sim/config", {},
                            json.dumps(bad).encode())
                self.assertEqual(r.status, 400, bad)


class MultiByteIds(unittest.TestCase):
    def test_share_and_added(self):
        with SimProc(*base_args("--events", "500", "--container-share", "0",
                                "--mb-id-share", "0.2")) as sim:
            ids = sim.ctl(ORACLE)["event_ids"]
            mb = [i for i in ids if len(i.encode("utf-8")) > 64]
            self.assertTrue(60 <= len(mb) <= 140, len(mb))
            for i in ids:
                if i in mb:
                    self.assertEqual((len(i), len(i.encode("utf-8"))),
                                     (64, 118))
                    self.assertEqual(i[36], "-")
                else:
                    self.assertEqual(len(i), 36)
            # served as raw UTF-8, readable by id
            got = {e["event_id"] for e in sim.dump(ALL)}
            self.assertEqual(got, set(ids))
            raw = sim.raw("GET", "/_sim/event?id=" +
                          urllib.parse.quote(mb[0])).body
            self.assertTrue(raw.startswith(b'{"event_id":"' +
                                           mb[0].encode("utf-8") + b'",'))
            m = sim.ctl("/_sim/event-meta?id=" + urllib.parse.quote(mb[0]))
            self.assertEqual(m["id_bytes"], 118)
            # the same seed gives the same ids
            with SimProc(*base_args("--events", "500", "--container-share",
                                    "0", "--mb-id-share", "0.2",
                                    "--now-ms", str(sim.ctl(ORACLE)[
                                        "now_ms"]))) as sim2:
                self.assertEqual(
                    len([i for i in sim2.ctl(ORACLE)["event_ids"]
                         if len(i.encode("utf-8")) > 64]), len(mb))
            # add-events: forced either way; mb_id_share at run time
            a = sim.ctl("/_sim/add-events", {"mb_id": True,
                                             "category": "host"})
            self.assertEqual(len(a["event_ids"][0].encode("utf-8")), 118)
            sim.ctl("/_sim/config", {"mb_id_share": 0})
            a = sim.ctl("/_sim/add-events", {"count": 20})
            self.assertTrue(all(len(i) == 36 for i in a["event_ids"]))
            sim.ctl("/_sim/config", {"mb_id_share": 1})
            a = sim.ctl("/_sim/add-events", {"count": 3})
            self.assertTrue(all(len(i) == 64 for i in a["event_ids"]))


if __name__ == "__main__":
    run()
