#!/usr/bin/env python3
"""hss-sim: poisoned events. A poisoned event is served as invalid JSON
(--poison-kind syntax: a broken token; nul: a raw NUL byte inside a string),
inserted right after its event_id member, so any page holding it fails to
parse and every page without it parses. add-events places one at a chosen
occur_time, so a test knows the 1-second slice that cannot be read."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import SimProc, base_args, run  # noqa: E402

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
ORACLE = "/_sim/events?category=host&enterprise_project_id=all_granted_eps"


def parses(body):
    try:
        json.loads(body.decode("utf-8"))
        return True
    except ValueError:
        return False


class Poison(unittest.TestCase):
    def test_placed_poison_and_its_slice(self):
        with SimProc(*base_args("--events", "300", "--span", "1h",
                                "--container-share", "0")) as sim:
            now = sim.ctl("/_sim/config")["now_ms"]
            t = (now - 1800000) // 1000 * 1000 + 437     # inside one second
            ev = sim.ctl("/_sim/add-events", {
                "occur_time_ms": t, "category": "host", "poison": "nul"})
            eid = ev["event_ids"][0]
            m = sim.ctl("/_sim/event-meta?id=" + eid)
            self.assertEqual(m["poison"], "nul")
            self.assertEqual(sim.ctl(ORACLE)["poison_ids"], [eid])
            # its bytes: a raw NUL inside a string, after the event_id
            raw = sim.raw("GET", "/_sim/event?id=" + eid).body
            head = b'{"event_id":"%s","sim_poison":"\x00",' % eid.encode()
            self.assertTrue(raw.startswith(head), raw[:80])
            self.assertFalse(parses(raw))
            self.assertTrue(parses(raw.replace(b"\x00", b"")))
            # any page holding it fails; the slice of its second is the
            # smallest window a reader can isolate
            sec = t // 1000 * 1000
            bad = [(now - 3600000, now), (sec, sec + 999), (t, t)]
            good = [(now - 3600000, sec - 1), (sec + 1000, now),
                    (sec, t - 1), (t + 1, sec + 999)]
            for b, e in bad:
                r = sim.events(dict(ALL, begin_time=b, end_time=e,
                                    limit=1000))
                self.assertEqual(r.status, 200)
                self.assertIn(b'"sim_poison":"\x00"', r.body)
                self.assertFalse(parses(r.body), (b, e))
                rec = sim.ctl("/_sim/requests")[-1]
                self.assertEqual(rec["poisoned"], [eid])
            for b, e in good:
                r = sim.events(dict(ALL, begin_time=b, end_time=e,
                                    limit=1000))
                self.assertTrue(parses(r.body), (b, e))
                self.assertNotIn("poisoned", sim.ctl("/_sim/requests")[-1])
            # pages of the whole hour: only the one holding it fails
            fails = 0
            total = sim.events(dict(ALL, begin_time=now - 3600000,
                                    end_time=now)).json()
            for off in range(0, 301, 50):
                r = sim.events(dict(ALL, begin_time=now - 3600000,
                                    end_time=now, limit=50, offset=off))
                fails += not parses(r.body)
            self.assertEqual(total["total_num"], 301)
            self.assertEqual(fails, 1)

    def test_syntax_kind_and_share(self):
        with SimProc(*base_args("--events", "1000", "--span", "1d",
                                "--container-share", "0", "--poison-share",
                                "0.02")) as sim:
            orc = sim.ctl(ORACLE)
            poison = set(orc["poison_ids"])
            self.assertTrue(5 <= len(poison) <= 40, len(poison))
            eid = sorted(poison)[0]
            raw = sim.raw("GET", "/_sim/event?id=" + eid).body
            self.assertTrue(raw.startswith(
                b'{"event_id":"%s","sim_poison":tru,' % eid.encode()))
            self.assertNotIn(b"\x00", raw)
            self.assertEqual(sim.ctl("/_sim/event-meta?id=" + eid)["poison"],
                             "syntax")
            # a page fails exactly when it holds a poisoned event
            outcomes = set()
            for off in range(0, 1000, 100):
                r = sim.events(dict(ALL, limit=100, offset=off))
                rec = sim.ctl("/_sim/requests")[-1]
                held = set(rec.get("poisoned", []))
                self.assertLessEqual(held, poison)
                self.assertEqual(parses(r.body), not held, off)
                outcomes.add(bool(held))
                if held:
                    for ln in held:
                        self.assertIn(b'"event_id":"%s","sim_poison":tru,' %
                                      ln.encode(), r.body)
            self.assertEqual(outcomes, {True, False})
            # at run time: the kind, then off
            c = sim.ctl("/_sim/config", {"poison_kind": "nul"})
            self.assertEqual(c["poison_kind"], "nul")
            raw = sim.raw("GET", "/_sim/event?id=" + eid).body
            self.assertIn(b'"sim_poison":"\x00",', raw)
            sim.ctl("/_sim/config", {"poison_share": 0})
            self.assertEqual(sim.ctl(ORACLE)["poison_ids"], [])
            for off in range(0, 1000, 500):
                r = sim.events(dict(ALL, limit=500, offset=off))
                self.assertTrue(parses(r.body))
            # an added event can be forced clean or poisoned whatever the
            # share; poison true means the current kind
            sim.ctl("/_sim/config", {"poison_share": 1})
            a = sim.ctl("/_sim/add-events", {"poison": False})["event_ids"][0]
            b = sim.ctl("/_sim/add-events", {"poison": True})["event_ids"][0]
            self.assertIsNone(sim.ctl("/_sim/event-meta?id=" + a)["poison"])
            self.assertEqual(sim.ctl("/_sim/event-meta?id=" + b)["poison"],
                             "nul")
            for bad in ({"poison_kind": "html"}, {"poison_share": 2}):
                r = sim.raw("POST", "/_sim/config", {},
                            json.dumps(bad).encode())
                self.assertEqual(r.status, 400, bad)
            r = sim.raw("POST", "/_sim/add-events", {},
                        b'{"poison": "bad"}')
            self.assertEqual(r.status, 400)


if __name__ == "__main__":
    run()
