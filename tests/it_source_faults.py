#!/usr/bin/env python3
"""API faults at 20% (every kind the simulator has) over a 5,000-event run:
nothing lost, nothing delivered twice, every failed request logged once with
what happens next."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

KINDS = ["500", "502", "503", "504", "reset", "stall", "truncated", "invalid",
         "errorbody", "token"]


def test(h):
    args = ["--events", "5000", "--span", "2d", "--container-share", "0",
            "--rate-limit", "0", "--seed", "9", "--stall-time", "4s"]
    for k in KINDS:
        args += ["--fault", "%s=0.02" % k]
    h.start_sim(*args)
    extra = ("    backfill: 3d\n    settle: 0s\n    calls_per_minute: 600\n"
             "    page_size: 100\n    timeout: 2s\n")
    conf = h.write_config(h.source_yaml("flaky", "host", extra), h.stdout_output())
    # --once gives up after repeated failures (the daemon mode never does);
    # faults are independent per request, so that many in a row are unlikely.
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=600)
    assert rc == 0, err[-3000:]
    got = H.delivered_ids(out)
    want = h.sim_ids("host")
    counts = collections.Counter(got)
    assert set(counts) == want, "missing %d, unknown %d" % (
        len(want - set(counts)), len(set(counts) - want))
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, "duplicates without a crash: %s" % dups[:3]

    st = h.sim_get("/_sim/stats")
    faults = sum(st["faults"].values())
    assert faults > 0, st
    logged = [l for l in err.splitlines()
              if re.search(r'source "flaky": window .*: page \d+ \(offset \d+\): .*; '
                           r'cursor stays, retrying in ', l)]
    print("faults injected %d (%s), failure lines %d" % (
        faults, st["faults"], len(logged)))
    # libcurl retries a request once by itself when a reused connection
    # turns out dead (a reset before any byte): such a fault is absorbed.
    absorbed = st["faults"].get("reset", 0)
    assert faults - absorbed <= len(logged) <= faults, (len(logged), st["faults"])


H.main(test)
