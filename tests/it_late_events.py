#!/usr/bin/env python3
"""Events that become visible only after their occur_time are delivered when
they are late by less than settle + lookback. The simulator's report says
which events were late."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

CUTOFF_S = 20


def test(h):
    h.start_sim("--events", "0", "--live-rate", "120", "--container-share", "0",
                "--late-visibility", "15s", "--late-share", "0.5",
                "--rate-limit", "0", "--seed", "4")
    extra = ("    backfill: 1m\n    settle: 0s\n    lookback: 1m\n"
             "    poll_interval: 10s\n    calls_per_minute: 600\n")
    conf = h.write_config(h.source_yaml("late", "host", extra), h.stdout_output())
    start_ms = int(time.time() * 1000)
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "late": starting', proc=d)
    cutoff = start_ms + CUTOFF_S * 1000
    visible = cutoff + 15000  # every event up to cutoff is visible by then

    def window_after_visible_done():
        reqs = [r for r in h.sim_get("/_sim/requests")
                if r.get("path", "").endswith("/event/events") and r.get("status") == 200]
        for i, r in enumerate(reqs):
            if int(r["end_time"]) >= visible:
                # A request for a later window: that one was committed.
                return any(int(q["begin_time"]) > int(r["begin_time"])
                           for q in reqs[i + 1:])
        return False
    H.wait_for(window_after_visible_done, 90, "a committed window past %d" % visible,
               interval=1)
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    got = set(H.delivered_ids(h.read("daemon.out")))
    r = h.sim_get("/_sim/events?project_id=%s&category=host&enterprise_project_id="
                  "all_granted_eps&begin_time=%013d&end_time=%013d" % (
                      H.PROJECT, start_ms - 60000, cutoff))
    want, late = set(r["event_ids"]), set(r["late_ids"])
    assert len(want) > 20 and len(late) > 5, (len(want), len(late))
    missing = want - got
    print("events %d, late %d, delivered %d" % (len(want), len(late), len(got)))
    assert not missing, "missing %d (late among them: %d)" % (
        len(missing), len(missing & late))


H.main(test)
