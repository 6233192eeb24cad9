#!/usr/bin/env python3
"""hss-sim: the API clock offset (--clock-offset, clock_offset at run
time). The API's clock is the machine's plus the offset: its Date header,
the signature's 15-minute check, the visibility of late events and the
occur_time of live events follow it; a change at run time is a step."""
import calendar
import email.utils
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim import signer  # noqa: E402
from hsssim.testkit import (SimProc, base_args, run,  # noqa: E402
                            wait_until)

ALL = {"enterprise_project_id": "all_granted_eps", "category": "host"}
SKEW_MSG = ("Incorrect IAM authentication information: x-sdk-date is more "
            "than 15 minutes away from the server time")
# Date has whole seconds; the machine clock is read around the request.
SLACK_S = 3


def date_header(r):
    return email.utils.parsedate_to_datetime(r.header("Date")).timestamp()


class ClockOffset(unittest.TestCase):
    def test_start_offset_date_and_now(self):
        with SimProc(*base_args("--events", "10",
                                "--clock-offset=-14m")) as sim:
            t0 = time.time()
            r = sim.events(ALL)
            t1 = time.time()
            self.assertEqual(r.status, 200)
            d = date_header(r)
            self.assertGreaterEqual(d, t0 - 840 - SLACK_S)
            self.assertLessEqual(d, t1 - 840 + SLACK_S)
            c = sim.ctl("/_sim/config")
            self.assertEqual(c["clock_offset_ms"], -840000)
            now = c["now_ms"] / 1000.0
            self.assertGreaterEqual(now, t0 - 840 - SLACK_S)
            self.assertLessEqual(now, time.time() - 840 + SLACK_S)
            # generated events end at the API's now, not the machine's
            newest = max(e["occur_time"] for e in sim.events(
                dict(ALL, limit=1000)).json()["data_list"])
            self.assertLessEqual(newest, c["now_ms"])
            # the control endpoints carry the API's Date too
            d = date_header(sim.raw("GET", "/_sim/config"))
            self.assertLess(abs(d - (time.time() - 840)), SLACK_S)

    def test_signature_window_follows_the_offset(self):
        with SimProc(*base_args("--events", "10")) as sim:
            # +14 min: a request signed with the machine's clock is inside
            # the 15 minutes
            sim.ctl("/_sim/config", {"clock_offset": "+14m"})
            self.assertEqual(sim.events(ALL).status, 200)
            # a step to +16 min: the same client is refused ...
            c = sim.ctl("/_sim/config", {"clock_offset_ms": 960000})
            self.assertEqual(c["clock_offset_ms"], 960000)
            r = sim.events(ALL)
            self.assertEqual(r.status, 401)
            self.assertEqual(r.json(), {"error_code": "APIG.0301",
                                        "error_msg": SKEW_MSG})
            # ... and one signing with the API's time is accepted
            api = signer.sdk_date(time.time() + 960)
            self.assertEqual(sim.events(ALL, date=api).status, 200)
            d = date_header(sim.events(ALL, date=api))
            self.assertLess(abs(d - (time.time() + 960)), SLACK_S)
            # -16 min the other way
            sim.ctl("/_sim/config", {"clock_offset": "-16m"})
            r = sim.events(ALL)
            self.assertEqual(r.status, 401)
            self.assertEqual(r.json()["error_msg"], SKEW_MSG)
            sim.ctl("/_sim/config", {"clock_offset": 0})
            self.assertEqual(sim.events(ALL).status, 200)

    def test_step_moves_visibility_and_live_events(self):
        with SimProc(*base_args("--events", "0")) as sim:
            now = sim.ctl("/_sim/config")["now_ms"]
            # late by exactly 10 min, occurred 5 min ago: hidden
            ev = sim.ctl("/_sim/add-events", {
                "occur_time_ms": now - 300000, "delay_ms": 600000})
            eid = ev["event_ids"][0]
            w = dict(ALL, begin_time=now - 7200000, end_time=now + 7200000)
            self.assertEqual(sim.events(w).json(),
                             {"total_num": 0, "data_list": []})
            # the API's clock steps 6 min ahead (a client on the machine's
            # clock still signs inside the 15 minutes): now it is visible
            c = sim.ctl("/_sim/config", {"clock_offset": "6m"})
            self.assertGreaterEqual(c["now_ms"], now + 360000)
            page = sim.events(w).json()
            self.assertEqual([e["event_id"] for e in page["data_list"]],
                             [eid])
            m = sim.ctl("/_sim/event-meta?id=" + eid)
            self.assertEqual((m["late"], m["delay_ms"], m["visible_at"],
                              m["visible"]),
                             (True, 600000, now + 300000, True))
            # and back: hidden again (the API's clock went back), but the
            # oracle's "ever" still lists it
            sim.ctl("/_sim/config", {"clock_offset": 0})
            self.assertEqual(sim.events(w).json()["total_num"], 0)
            q = ("/_sim/events?category=host&enterprise_project_id="
                 "all_granted_eps&visible=")
            self.assertEqual(sim.ctl(q + "now")["event_ids"], [])
            self.assertEqual(sim.ctl(q + "ever")["event_ids"], [eid])
            self.assertEqual(sim.ctl(q + "all")["hidden_ids"], [eid])
            # an added event without a time occurs at the API's now
            sim.ctl("/_sim/config", {"clock_offset": "-2h"})
            t0 = time.time()
            ev = sim.ctl("/_sim/add-events", {"category": "host"})
            t = ev["occur_times"][0] / 1000.0
            self.assertGreaterEqual(t, t0 - 7200 - SLACK_S)
            self.assertLessEqual(t, time.time() - 7200 + SLACK_S)
            # and so do live events
            sim.ctl("/_sim/config", {"live_rate": 600})
            t0 = time.time()
            q = ("/_sim/events?category=host&enterprise_project_id="
                 "all_granted_eps")
            live = wait_until(lambda: [
                i for i in sim.ctl(q)["event_ids"]
                if sim.ctl("/_sim/event-meta?id=" + i)["origin"] == "live"],
                timeout=20)
            sim.ctl("/_sim/config", {"live_rate": 0})
            self.assertTrue(live)
            t = sim.ctl("/_sim/event-meta?id=" + live[0])["occur_time"]
            self.assertGreaterEqual(t / 1000.0, t0 - 7200 - SLACK_S)
            self.assertLessEqual(t / 1000.0, time.time() - 7200 + SLACK_S)

    def test_token_times_follow_the_offset(self):
        with SimProc(*base_args("--user", "dom:alice:pw", "--clock-offset",
                                "+10m")) as sim:
            t0 = time.time()
            r = sim.token("dom", "alice", "pw")
            self.assertEqual(r.status, 201)
            iss = r.json()["token"]["issued_at"]
            t = calendar.timegm(time.strptime(iss[:19], "%Y-%m-%dT%H:%M:%S"))
            self.assertGreaterEqual(t, t0 + 600 - SLACK_S)
            self.assertLessEqual(t, time.time() + 600 + SLACK_S)

    def test_bad_values(self):
        with SimProc(*base_args("--events", "0")) as sim:
            for bad in ({"clock_offset": "soon"},
                        {"clock_offset_ms": 1.5},
                        {"clock_offset_ms": True}):
                r = sim.raw("POST", "/_sim/config", {},
                            json.dumps(bad).encode())
                self.assertEqual(r.status, 400, bad)
            self.assertEqual(sim.ctl("/_sim/config")["clock_offset_ms"], 0)


if __name__ == "__main__":
    run()
