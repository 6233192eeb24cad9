#!/usr/bin/env python3
"""hss-sim: the hard realities, each observable: shuffle (order differs per
request, pages overlap/miss), churn (insertions inside the window, served
unhandled events become handled), late visibility (in the oracle, hidden
from the API until occur_time + delay), mutate (event_count and
handle_status change under the same event_id), hostile strings (valid JSON,
every hostile piece present), live events."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run, wait_until  # noqa: E402

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}


def ids(evs):
    return [e["event_id"] for e in evs]


class Shuffle(unittest.TestCase):
    def test_shuffle(self):
        with SimProc(*base_args("--events", "400", "--shuffle")) as sim:
            a = sim.events(dict(ALL, limit=1000)).json()
            b = sim.events(dict(ALL, limit=1000)).json()
            self.assertEqual(a["total_num"], b["total_num"])
            self.assertEqual(sorted(ids(a["data_list"])),
                             sorted(ids(b["data_list"])))
            self.assertNotEqual(ids(a["data_list"]), ids(b["data_list"]))
            t = [e["occur_time"] for e in a["data_list"]]
            self.assertNotEqual(t, sorted(t, reverse=True))
            # paging across requests: pages overlap and miss events
            seen = []
            for off in range(0, a["total_num"], 50):
                seen += ids(sim.events(dict(ALL, limit=50, offset=off))
                            .json()["data_list"])
            self.assertEqual(len(seen), a["total_num"])
            self.assertLess(len(set(seen)), a["total_num"])
            # off at run time: the stable order is back
            sim.ctl("/_sim/config", {"shuffle": False})
            c = sim.events(dict(ALL, limit=1000)).json()
            d = sim.events(dict(ALL, limit=1000)).json()
            self.assertEqual(ids(c["data_list"]), ids(d["data_list"]))


class Churn(unittest.TestCase):
    def test_churn(self):
        with SimProc(*base_args("--events", "300", "--span", "1d",
                                "--churn")) as sim:
            now = sim.ctl("/_sim/config")["now_ms"]
            w = dict(ALL, begin_time=now - 86400000, end_time=now,
                     handle_status="unhandled", limit=10)
            r1 = sim.events(w).json()
            # offset 0 changes nothing: this is the list before the change
            l0 = ids(sim.events(dict(w, limit=1000)).json()["data_list"])
            self.assertEqual(ids(r1["data_list"]), l0[:10])
            self.assertNotIn("churn_inserted",
                             sim.ctl("/_sim/requests")[-1])
            # between page 1 and page 2: one insertion inside the window,
            # one unhandled event of page 1 handled
            r2 = sim.events(dict(w, offset=10)).json()
            rec = sim.ctl("/_sim/requests")[-1]
            self.assertEqual(len(rec["churn_inserted"]), 1)
            self.assertEqual(len(rec["churn_handled"]), 1)
            ins, gone = rec["churn_inserted"][0], rec["churn_handled"][0]
            self.assertIn(gone, ids(r1["data_list"]))
            ev = json.loads(sim.raw("GET", "/_sim/event?id=" + gone).body)
            self.assertEqual(ev["handle_status"], "handled")
            m = sim.ctl("/_sim/event-meta?id=" + ins)
            self.assertTrue(now - 86400000 <= m["occur_time"] <= now)
            self.assertEqual(m["origin"], "churn")
            insev = json.loads(sim.raw("GET", "/_sim/event?id=" + ins).body)
            orc = sim.ctl("/_sim/events?category=host&enterprise_project_id="
                          "all_granted_eps&begin_time=%d&end_time=%d" %
                          (now - 86400000, now))
            self.assertIn(ins, orc["event_ids"])
            # page 2 already has the changed total
            delta = (1 if insev["handle_status"] == "unhandled" else 0) - 1
            self.assertEqual(r2["total_num"], r1["total_num"] + delta)
            # page 2 is cut from the changed list
            l1 = ids(sim.events(dict(w, limit=1000)).json()["data_list"])
            self.assertEqual(ids(r2["data_list"]), l1[10:20])
            self.assertEqual(set(l1), set(l0) - {gone} |
                             ({ins} if delta == 0 else set()))
            full = ids(sim.dump(dict(w, limit=1000)))
            self.assertNotIn(gone, full)
            st = sim.ctl("/_sim/stats")
            self.assertEqual(st["churn_inserted"], 1)
            self.assertEqual(st["churn_handled"], 1)
            # off at run time: totals are stable across pages again
            sim.ctl("/_sim/config", {"churn": False})
            a = sim.events(w).json()["total_num"]
            self.assertEqual(sim.events(dict(w, offset=10)).json()
                             ["total_num"], a)

    def test_churn_limit(self):
        with SimProc(*base_args("--events", "100", "--churn", "--churn-limit",
                                "2", "--churn-insert", "3")) as sim:
            for off in (0, 10, 20, 30, 0, 10):
                sim.events(dict(ALL, offset=off))
            st = sim.ctl("/_sim/stats")
            self.assertEqual(st["churn_inserted"], 6)


class Late(unittest.TestCase):
    def test_late_event_hidden_then_visible(self):
        with SimProc(*base_args("--events", "50", "--late-visibility",
                                "2s", "--late-share", "0")) as sim:
            r = sim.ctl("/_sim/add-events", {"count": 1, "category": "host",
                                             "enterprise_project_id": "0",
                                             "late": True})
            eid, t = r["event_ids"][0], r["occur_times"][0]
            q = {"category": "host", "begin_time": t - 1000,
                 "end_time": t + 1000}
            self.assertNotIn(eid, ids(sim.dump(q)))
            orc = sim.ctl("/_sim/events?category=host&begin_time=%d&"
                          "end_time=%d" % (t - 1000, t + 1000))
            self.assertEqual(orc["event_ids"], [eid])
            self.assertEqual(orc["late_ids"], [eid])
            self.assertEqual(orc["hidden_ids"], [eid])
            self.assertTrue(wait_until(lambda: eid in ids(sim.dump(q)),
                                       timeout=5, step=0.05))
            now = sim.ctl("/_sim/config")["now_ms"]
            self.assertGreaterEqual(now, t + 2000)
            orc = sim.ctl("/_sim/events?category=host&begin_time=%d&"
                          "end_time=%d" % (t - 1000, t + 1000))
            self.assertEqual((orc["late_ids"], orc["hidden_ids"]), ([eid], []))

    def test_late_share_at_run_time(self):
        with SimProc(*base_args("--events", "400", "--span", "2h")) as sim:
            before = ids(sim.dump(ALL))
            sim.ctl("/_sim/config", {"late_visibility": "1h",
                                     "late_share": 0.5})
            after = ids(sim.dump(ALL))
            orc = sim.ctl("/_sim/events?category=host&enterprise_project_id="
                          "all_granted_eps")
            self.assertEqual(sorted(orc["event_ids"]), sorted(before))
            self.assertEqual(sorted(set(before) - set(after)),
                             orc["hidden_ids"])
            self.assertGreater(len(orc["hidden_ids"]), 20)
            self.assertGreater(len(orc["late_ids"]), len(orc["hidden_ids"]))
            for i in orc["hidden_ids"][:10]:
                m = sim.ctl("/_sim/event-meta?id=" + i)
                self.assertTrue(m["late"])
                self.assertEqual(m["visible_at"], m["occur_time"] + 3600000)
                self.assertGreater(m["visible_at"], orc["now_ms"])


class Mutate(unittest.TestCase):
    def test_mutate(self):
        with SimProc(*base_args("--events", "200", "--mutate",
                                "--mutate-share", "0.5")) as sim:
            p = dict(ALL, handle_status="unhandled", limit=50)
            first = sim.events(p).json()["data_list"]
            muts = [e for e in first if sim.ctl(
                "/_sim/event-meta?id=" + e["event_id"])["mutating"]]
            still = [e for e in first if e not in muts]
            self.assertGreater(len(muts), 5)
            self.assertGreater(len(still), 5)
            for e in muts:
                now = json.loads(sim.raw("GET", "/_sim/event?id=" +
                                         e["event_id"]).body)
                self.assertEqual(now["event_id"], e["event_id"])
                self.assertEqual(now["event_count"], e["event_count"] + 1)
                self.assertEqual(now["handle_status"], "handled")
                self.assertEqual(now["handle_method"], "mark_as_handled")
                self.assertIn("handle_time", now)
            second = ids(sim.dump(dict(ALL, handle_status="unhandled")))
            for e in muts:
                self.assertNotIn(e["event_id"], second)
            for e in still:
                self.assertIn(e["event_id"], second)
            # served again (no status filter): the count goes on changing
            e = muts[0]
            everything = sim.dump(ALL)
            again = next(x for x in everything
                         if x["event_id"] == e["event_id"])
            self.assertEqual(again["event_count"], e["event_count"] + 1)
            later = json.loads(sim.raw("GET", "/_sim/event?id=" +
                                       e["event_id"]).body)
            self.assertEqual(later["event_count"], e["event_count"] + 2)


class Hostile(unittest.TestCase):
    def walk(self, o, out):
        if isinstance(o, dict):
            for v in o.values():
                self.walk(v, out)
        elif isinstance(o, list):
            for v in o:
                self.walk(v, out)
        elif isinstance(o, str):
            out.append(o)

    def test_hostile(self):
        with SimProc(*base_args("--events", "60", "--hostile",
                                "--hostile-share", "1")) as sim:
            r = sim.events(dict(ALL, limit=1000))
            self.assertEqual(r.status, 200)
            text = r.body.decode("utf-8")         # strict: valid UTF-8
            doc = json.loads(text)                # strict: valid JSON text
            self.assertIn("\\udc80", text)         # lone surrogate escaped
            self.assertIn("\\u0000", text)
            self.assertNotRegex(text, "[\x00-\x1f]")
            strs = []
            self.walk(doc, strs)
            for piece in ("|", "\\", "=", "]", '"', "\r", "\n", "\x00",
                          "\udc80"):
                self.assertTrue(any(piece + "forged" + piece in s
                                    for s in strs), repr(piece))
            self.assertTrue(any(len(s.encode("utf-8", "surrogatepass"))
                                > 100000 for s in strs))
            evs = doc["data_list"]
            for e in evs:
                self.assertRegex(e["event_id"], "^[0-9a-f-]{36}$")
                self.assertIn(e["severity"], ("Security", "Low", "Medium",
                                              "High", "Critical"))
            hostile_names = [e["host_name"] for e in evs
                             if "forged" in e["host_name"]]
            self.assertGreater(len(hostile_names), len(evs) // 2)
            # filters see the hostile values
            hn = next(h for h in hostile_names if "|forged|" in h)
            got = sim.dump(dict(ALL, host_name=hn))
            self.assertIn(hn, [e["host_name"] for e in got])
            # off at run time: clean again
            sim.ctl("/_sim/config", {"hostile": False})
            clean = sim.events(dict(ALL, limit=1000)).body
            self.assertNotIn(b"forged", clean)
            self.assertLess(len(clean), len(r.body) // 2)


class Live(unittest.TestCase):
    def test_live_events(self):
        with SimProc(*base_args("--events", "10", "--live-rate", "1200",
                                "--container-share", "0")) as sim:
            t0 = sim.ctl("/_sim/config")["now_ms"]
            self.assertTrue(wait_until(lambda: sim.ctl("/_sim/stats")
                                       ["live_added"] >= 3, timeout=5))
            fresh = [e for e in sim.dump(ALL) if e["occur_time"] >= t0]
            self.assertGreaterEqual(len(fresh), 3)
            m = sim.ctl("/_sim/event-meta?id=" + fresh[0]["event_id"])
            self.assertEqual(m["origin"], "live")


if __name__ == "__main__":
    run()
