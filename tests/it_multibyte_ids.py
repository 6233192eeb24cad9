#!/usr/bin/env python3
"""Event ids of 64 characters but 118 bytes of UTF-8 are tracked like any
other: each event is delivered once, no window is read again for them, and
a second run (the ids come from the state file) delivers none again."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import statefile


def test(h):
    h.start_sim("--events", "400", "--span", "1h", "--container-share", "0",
                "--rate-limit", "0", "--seed", "12", "--mb-id-share", "0.3")
    extra = ("    backfill: 2h\n    settle: 0s\n    lookback: 2h\n"
             "    calls_per_minute: 600\n    page_size: 100\n")
    conf = h.write_config(h.source_yaml("mb", "host", extra), h.stdout_output())
    rc, out, err = h.run("--once", "-c", conf)
    assert rc == 0, err[-3000:]
    counts = collections.Counter(H.delivered_ids(out))
    want = h.sim_ids("host")
    mb = {i for i in want if len(i.encode()) > 64}
    assert len(mb) > 50, len(mb)
    assert all(len(i) <= 64 for i in mb)
    assert set(counts) == want, (len(want - set(counts)), len(set(counts) - want))
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:3]
    assert "reading it again" not in err, err[-2000:]
    assert "event skipped" not in err, err[-2000:]
    # The state file holds them (raw UTF-8), and a second run, whose window
    # overlaps the first by the lookback, delivers none of them again.
    saved = statefile.ids(os.path.join(h.dir, "state"), "mb")
    assert mb <= saved, len(mb - saved)
    rc, out2, err2 = h.run("--once", "-c", conf, stdout_name="daemon2.out",
                           stderr_name="daemon2.err")
    assert rc == 0, err2[-3000:]
    again = set(H.delivered_ids(out2))
    assert not again, (len(again), sorted(again)[:3])
    assert re.search(r"caught up", err2), err2[-2000:]
    print("events %d, multi-byte ids %d, each delivered once" % (len(want), len(mb)))


H.main(test)
