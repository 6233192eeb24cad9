#!/usr/bin/env python3
"""A total_num that lies (larger than what the pages hold) cannot make the
re-reads run away: the calls for one window stay within the first read
plus 3 x ceil(total / page_size) + 10, every event is delivered once, and
the window commits with a gap message saying it is incomplete."""
import collections
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "250", "--span", "30m", "--container-share", "0",
                "--rate-limit", "0", "--seed", "41", "--total-extra", "7")
    extra = ("    backfill: 1h\n    settle: 0s\n    lookback: 1m\n"
             "    calls_per_minute: 600\n    page_size: 100\n"
             "    sweep_range: 0s\n")
    conf = h.write_config(h.source_yaml("lie", "host", extra), h.stdout_output())
    rc, out, err = h.run("--once", "-c", conf, timeout=120)
    assert rc == 0, err[-3000:]
    counts = collections.Counter(H.delivered_ids(out))
    want = h.sim_ids("host")
    assert set(counts) == want, len(want - set(counts))
    assert max(counts.values()) == 1
    reqs = [r for r in h.sim_get("/_sim/requests")
            if r.get("path", "").endswith("/event/events")]
    # Every request of the run was for the one window (backfill < 2 days)
    # or its parts: bounded whatever total_num says.
    first = reqs[0]
    assert first["total_num"] == first["total_actual"] + 7, first
    pages = math.ceil(first["total_num"] / 100)
    bound = pages + 3 * pages + 10
    assert len(reqs) <= bound, (len(reqs), bound)
    # Each part of the window that stays short of its total_num is a gap
    # (the API claims events that no page returns), inside the window.
    gaps = H.gap_messages(out)
    assert gaps, "no gap message"
    for g in gaps:
        assert "after 3 re-reads" in g["reason"] or \
            "used its budget" in g["reason"], g
        assert int(first["begin_time"]) <= g["begin_ms"] <= g["end_ms"] <= \
            int(first["end_time"]), (g, first)
    assert err.count("were not read") == len(gaps), err[-3000:]
    print("events %d, API calls %d (bound %d), gaps %d: %s" % (
        len(want), len(reqs), bound, len(gaps), gaps[0]["reason"]))


H.main(test)
