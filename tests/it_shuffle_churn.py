#!/usr/bin/env python3
"""A shuffled page order plus events inserted and handled between pages: the
completeness check reads windows again and nothing is missed."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "3000", "--span", "2d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "21", "--shuffle", "--churn")
    extra = ("    backfill: 3d\n    settle: 0s\n    calls_per_minute: 600\n"
             "    page_size: 100\n")
    conf = h.write_config(h.source_yaml("churn", "host", extra), h.stdout_output())
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=300)
    assert rc == 0, err[-3000:]
    counts = collections.Counter(H.delivered_ids(out))
    # Everything that exists now, including what churn inserted during the
    # run, was delivered; handled events stay in an unfiltered query.
    want = h.sim_ids("host")
    assert len(want) > 3000, len(want)
    missing = want - set(counts)
    assert not missing, "missed %d, e.g. %s" % (len(missing), sorted(missing)[:3])
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, dups[:3]
    rereads = len(re.findall(r"reading it again", err))
    print("delivered %d, re-reads %d" % (len(counts), rereads))
    assert rereads > 0, "shuffle must have forced at least one re-read"


H.main(test)
