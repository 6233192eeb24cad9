#!/usr/bin/env python3
"""--once over a 7-day backfill of 20,000 events with two sources (host,
container): every id the simulator holds arrives exactly once, no request
spans more than two days, the simulator answered no 4xx, and a second run
sends nothing."""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

TWO_DAYS_MS = 2 * 86400 * 1000


def test(h):
    h.start_sim("--events", "20000", "--span", "7d", "--rate-limit", "0", "--seed", "11")
    extra = "    backfill: 8d\n    settle: 0s\n    calls_per_minute: 600\n    page_size: 500\n"
    conf = h.write_config(h.source_yaml("hosts", "host", extra)
                          + h.source_yaml("containers", "container", extra),
                          h.stdout_output("json"))
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=300)
    assert rc == 0, (rc, err[-2000:])
    got = H.delivered_ids(out)
    want = h.sim_ids("host") | h.sim_ids("container")
    assert len(want) == 20000, len(want)
    counts = collections.Counter(got)
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, "duplicated: %d, e.g. %s" % (len(dups), dups[:3])
    missing = want - set(counts)
    assert not missing, "missing %d ids, e.g. %s" % (len(missing), sorted(missing)[:3])
    extra_ids = set(counts) - want
    assert not extra_ids, "unknown ids %s" % sorted(extra_ids)[:3]

    st = h.sim_get("/_sim/stats")
    assert st["widest_window_ms"] <= TWO_DAYS_MS, st
    assert st["4xx"] == 0, st

    # A second run resumes from the cursors: nothing new to send.
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=120,
                         stdout_name="second.out", stderr_name="second.err")
    assert rc == 0, err
    assert out == "", out[:500]
    assert "cursor resumed" in err, err


H.main(test)
