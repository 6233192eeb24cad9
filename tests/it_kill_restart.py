#!/usr/bin/env python3
"""SIGKILL at random points of a 20,000-event run, 10 times, restarting each
time: every id arrives at least once, and the duplicates are at most what
the killed runs had handed out but not yet committed."""
import collections
import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

KILLS = 10


def parse(text):
    """Complete JSON lines; a line cut by SIGKILL was never acknowledged."""
    ids = []
    for line in text.split("\n"):
        if not line:
            continue
        try:
            ids.append(json.loads(line)["event_id"])
        except ValueError:
            pass
    return ids


def test(h):
    rnd = random.Random(int(os.environ.get("HSS_TEST_SEED", "5")))
    h.start_sim("--events", "20000", "--span", "6d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "3")
    extra = ("    backfill: 7d\n    settle: 0s\n    calls_per_minute: 600\n"
             "    page_size: 1000\n")
    conf = h.write_config(h.source_yaml("kill", "host", extra), h.stdout_output("json"))
    uncommitted_bound = 0
    runs = []
    for k in range(KILLS):
        name = "run%d" % k
        p = h.spawn("-f", "--once", "-c", conf, stdout_name=name + ".out",
                    stderr_name=name + ".err")
        # Kill after some output has appeared, at a random moment.
        H.wait_for(lambda: p.poll() is not None or os.path.getsize(
            os.path.join(h.dir, name + ".out")) > 0, 60, "first output of " + name)
        time.sleep(rnd.uniform(0.0, 0.8))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        runs.append(name)
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=300,
                         stdout_name="final.out", stderr_name="final.err")
    assert rc == 0, err[-2000:]
    runs.append("final")

    got = []
    for name in runs:
        got += parse(h.read(name + ".out"))
    want = h.sim_ids("host")
    assert len(want) == 20000, len(want)
    counts = collections.Counter(got)
    missing = want - set(counts)
    assert not missing, "lost %d ids after %d kills, e.g. %s" % (
        len(missing), KILLS, sorted(missing)[:3])
    dups = sum(n - 1 for n in counts.values())
    # A kill can repeat at most the window in flight: <= 2 days of 6 days'
    # events (a third of 20,000, plus the lookback overlap).
    bound = KILLS * (20000 // 3 + 200)
    print("kills %d, delivered %d, duplicates %d (bound %d)" % (
        KILLS, len(got), dups, bound))
    assert dups <= bound, (dups, bound)


H.main(test)
