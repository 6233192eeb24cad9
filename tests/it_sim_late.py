#!/usr/bin/env python3
"""hss-sim: late visibility by hours. --late-visibility D
--late-visibility-max M: a share of events becomes visible only a delay
after its occur_time, the delay drawn per event from [D, M]; before that
the event is in neither the pages nor total_num. add-events can give an
explicit delay. The oracle lists what is visible now, what was ever
visible, and what is still hidden."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim import signer  # noqa: E402
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

H = 3600000
ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
ORACLE = "/_sim/events?category=host&enterprise_project_id=all_granted_eps"


def api_date(offset_ms):
    """X-Sdk-Date for an API clock offset_ms from the machine's."""
    return signer.sdk_date(time.time() + offset_ms / 1000.0)


class LateHours(unittest.TestCase):
    def test_random_delays_up_to_three_hours(self):
        with SimProc(*base_args(
                "--events", "3000", "--span", "8h", "--container-share", "0",
                "--now-ms", str(NOW_MS), "--late-visibility", "1h",
                "--late-visibility-max", "3h", "--late-share", "0.2")) as sim:
            orc = sim.ctl(ORACLE)
            now = orc["now_ms"]
            late = set(orc["late_ids"])
            hidden = set(orc["hidden_ids"])
            self.assertEqual(orc["count"], 3000)
            # about a fifth is late (a fixed draw per event and seed)
            self.assertTrue(450 <= len(late) <= 750, len(late))
            self.assertTrue(hidden and hidden < late)
            delays = []
            for eid in sorted(late):
                m = sim.ctl("/_sim/event-meta?id=" + eid)
                self.assertTrue(H <= m["delay_ms"] <= 3 * H, m)
                self.assertEqual(m["visible_at"],
                                 m["occur_time"] + m["delay_ms"])
                # nothing happens within the slack below: hidden_ids was
                # computed at now, the meta a little later
                if m["visible_at"] > now + 60000:
                    self.assertIn(eid, hidden)
                    self.assertFalse(m["visible"])
                if m["visible_at"] <= now:
                    self.assertNotIn(eid, hidden)
                delays.append(m["delay_ms"])
            # the delays spread over the range
            self.assertLess(min(delays), H + 20 * 60000)
            self.assertGreater(max(delays), 3 * H - 20 * 60000)
            # the API shows exactly the visible ones, total_num too
            w = dict(ALL, begin_time=now - 9 * H, end_time=now)
            got = [e["event_id"] for e in sim.dump(w)]
            vis = set(sim.ctl(ORACLE + "&visible=now")["event_ids"])
            self.assertEqual(len(got), len(set(got)))
            self.assertEqual(set(got), vis)
            self.assertEqual(sim.events(w).json()["total_num"], len(vis))
            self.assertFalse(vis & hidden)
            self.assertEqual(vis | hidden, set(orc["event_ids"]))
            # an event still hidden shows once the API's clock passes its
            # visible_at (a step of the offset), at exactly that time
            eid = next(i for i in sorted(hidden) if sim.ctl(
                "/_sim/event-meta?id=" + i)["visible_at"] > now + 60000)
            m = sim.ctl("/_sim/event-meta?id=" + eid)
            step = m["visible_at"] - now + 1000
            sim.ctl("/_sim/config", {"clock_offset_ms": step})
            one = dict(ALL, begin_time=m["occur_time"],
                       end_time=m["occur_time"])
            r = sim.events(one, date=api_date(step)).json()
            self.assertIn(eid, [e["event_id"] for e in r["data_list"]])
            self.assertIn(eid, sim.ctl(ORACLE + "&visible=ever")[
                "event_ids"])
            # fixed delay again at run time: every late event is 1 h late
            c = sim.ctl("/_sim/config", {"late_visibility_max": 0,
                                         "clock_offset": 0})
            self.assertEqual(c["late_visibility_max_ms"], 0)
            self.assertEqual(sim.ctl("/_sim/event-meta?id=" + eid)[
                "delay_ms"], H)

    def test_only_max_given(self):
        # --late-visibility-max alone: delays in [0, max], share 0.1
        with SimProc(*base_args("--events", "1000", "--span", "1d",
                                "--late-visibility-max", "2h")) as sim:
            c = sim.ctl("/_sim/config")
            self.assertEqual((c["late_visibility_ms"],
                              c["late_visibility_max_ms"], c["late_share"]),
                             (0, 2 * H, 0.1))
            late = sim.ctl(ORACLE)["late_ids"]
            self.assertTrue(late)
            for eid in late:
                d = sim.ctl("/_sim/event-meta?id=" + eid)["delay_ms"]
                self.assertTrue(0 <= d <= 2 * H, d)

    def test_explicit_delay(self):
        with SimProc(*base_args("--events", "0")) as sim:
            now = sim.ctl("/_sim/config")["now_ms"]
            t = now - 2 * H
            ev = sim.ctl("/_sim/add-events", {"count": 3, "occur_time_ms": t,
                                              "category": "host",
                                              "delay_ms": 2 * H + 600000})
            ids = sorted(ev["event_ids"])
            w = dict(ALL, begin_time=t, end_time=t)
            self.assertEqual(sim.events(w).json(),
                             {"total_num": 0, "data_list": []})
            orc = sim.ctl(ORACLE)
            self.assertEqual((orc["event_ids"], orc["late_ids"],
                              orc["hidden_ids"]), (ids, ids, ids))
            self.assertEqual(sim.ctl(ORACLE + "&visible=now")["event_ids"],
                             [])
            m = sim.ctl("/_sim/event-meta?id=" + ids[0])
            self.assertEqual((m["late"], m["delay_ms"], m["visible_at"]),
                             (True, 2 * H + 600000, t + 2 * H + 600000))
            # 11 minutes later by the API's clock, all three are there
            sim.ctl("/_sim/config", {"clock_offset": "11m"})
            r = sim.events(w, date=api_date(660000)).json()
            self.assertEqual(r["total_num"], 3)
            self.assertEqual(sorted(e["event_id"] for e in r["data_list"]),
                             ids)
            # delay 0 is visible at once; a bad delay is refused
            ev = sim.ctl("/_sim/add-events", {"delay_ms": 0})
            self.assertTrue(sim.ctl("/_sim/event-meta?id=" + ev[
                "event_ids"][0])["visible"])
            for bad in (-1, 1.5, "1h", True):
                r = sim.raw("POST", "/_sim/add-events", {},
                            json.dumps({"delay_ms": bad}).encode())
                self.assertEqual(r.status, 400, bad)
            r = sim.raw("GET", ORACLE + "&visible=maybe")
            self.assertEqual(r.status, 400)


if __name__ == "__main__":
    run()
