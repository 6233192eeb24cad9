#!/usr/bin/env python3
"""SIGKILL at random points of a 20,000-event run, 10 times, restarting each
time: every id arrives at least once; after each kill every id in the state
file was delivered and is never delivered again, so the duplicates are only
what a killed run had handed out but not yet saved (at most the window in
flight; mid-window checkpoints make it less)."""
import collections
import os
import random
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import statefile

KILLS = 10
PAGE = 1000


def test(h):
    rnd = random.Random(int(os.environ.get("HSS_TEST_SEED", "5")))
    h.start_sim("--events", "20000", "--span", "6d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "3")
    extra = ("    backfill: 7d\n    settle: 0s\n    calls_per_minute: 600\n"
             "    page_size: %d\n" % PAGE)
    conf = h.write_config(h.source_yaml("kill", "host", extra), h.stdout_output("json"))
    state = os.path.join(h.dir, "state", "kill.json")
    runs = []
    saves = []          # the ids in the state file after each kill
    printed = set()     # complete lines of every run so far
    for k in range(KILLS):
        name = "run%d" % k
        p = h.spawn("-f", "--once", "-c", conf, stdout_name=name + ".out",
                    stderr_name=name + ".err")
        # Kill once this run has written a random number of events: 10
        # kills of at most 1,500 leave work for the final run, and the
        # kill lands anywhere relative to the pages and their checkpoints.
        want_lines = rnd.randint(50, 1500)
        out = os.path.join(h.dir, name + ".out")
        H.wait_for(lambda: p.poll() is not None or (
            os.path.exists(out) and H.count_lines(out) >= want_lines), 60,
            "%d events from %s" % (want_lines, name), interval=0.005)
        assert p.poll() is None, "%s ended before the kill" % name
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        runs.append(name)
        # What the cursor holds was delivered: a saved id (window commit
        # or mid-window checkpoint) is on some run's output, whole.
        printed.update(H.delivered_ids(h.read(name + ".out")))
        saved = statefile.ids(os.path.dirname(state), "kill")
        assert saved <= printed, "%s: %d saved ids never delivered" % (
            name, len(saved - printed))
        saves.append(saved)
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=300,
                         stdout_name="final.out", stderr_name="final.err")
    assert rc == 0, err[-2000:]
    runs.append("final")

    got = []
    per_run = []
    for name in runs:
        ids = H.delivered_ids(h.read(name + ".out"))
        per_run.append(ids)
        got += ids
    print("delivered per run: %s" % [len(ids) for ids in per_run])
    print("ids in the state file after each kill: %s" % [
        len(saved) for saved in saves])
    # What a kill left saved is never delivered again: the duplicates are
    # only ids handed out and not yet saved when a run was killed.
    for k, saved in enumerate(saves):
        again = {i for ids in per_run[k + 1:] for i in ids if i in saved}
        assert not again, "%d ids saved after kill %d delivered again" % (
            len(again), k + 1)
    # The kills landed mid-run: the last run still had work to do.
    assert per_run[-1], [len(ids) for ids in per_run]
    want = h.sim_ids("host")
    assert len(want) == 20000, len(want)
    counts = collections.Counter(got)
    missing = want - set(counts)
    assert not missing, "lost %d ids after %d kills, e.g. %s" % (
        len(missing), KILLS, sorted(missing)[:3])
    dups = sum(n - 1 for n in counts.values())
    # A kill repeats at most the window in flight: <= 2 days of 6 days'
    # events (a third of 20,000, plus the lookback overlap). Checkpoints
    # (whenever all is acknowledged, checked every 100 ms) make it less.
    bound = KILLS * (20000 // 3 + 200)
    print("kills %d, delivered %d, duplicates %d (bound %d)" % (
        KILLS, len(got), dups, bound))
    assert dups <= bound, (dups, bound)


H.main(test)
