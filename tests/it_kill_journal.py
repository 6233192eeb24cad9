#!/usr/bin/env python3
"""SIGKILL at random instants while a source saves checkpoints as fast as it
can (one two-day window of 25,000 events, pages of 250, a checkpoint each
time the outputs have acknowledged everything) and its journal is compacted
(it outgrows 256 KB): up to 8 kills, each after a random number of events
or a random delay (a run that reads every event left before its kill's
moment ends the series, after 2 kills at least), then a run to the end. After each kill the saved state (the
snapshot and its journal files) is readable and holds only delivered ids,
and the next run starts from it (no state file is ever corrupt); in the
end every event was delivered, and no saved id was delivered again."""
import collections
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import statefile

KILLS = 8
EVENTS = 25000


def test(h):
    rnd = random.Random(int(os.environ.get("HSS_TEST_SEED", "11")))
    h.start_sim("--events", str(EVENTS), "--span", "36h", "--container-share",
                "0", "--rate-limit", "0", "--seed", "14")
    extra = ("    backfill: 2d\n    settle: 0s\n    calls_per_minute: 600\n"
             "    page_size: 250\n")
    conf = h.write_config(h.source_yaml("kj", "host", extra), h.stdout_output("json"))
    statedir = os.path.join(h.dir, "state")
    runs, saves, had_state = [], [], []
    printed = set()
    for k in range(KILLS):
        name = "run%d" % k
        p = h.spawn("-f", "-v", "--once", "-c", conf, stdout_name=name + ".out",
                    stderr_name=name + ".err")
        out = os.path.join(h.dir, name + ".out")
        # Half the kills after some events, half a random delay after the
        # first 50: anywhere relative to the pages, the saves and a
        # compaction under way.
        if k % 2 == 0:
            want_lines = rnd.randint(100, 2500)
            H.wait_for(lambda: p.poll() is not None or (
                os.path.exists(out) and H.count_lines(out) >= want_lines), 60,
                "%d events from %s" % (want_lines, name), interval=0.005)
        else:
            H.wait_for(lambda: p.poll() is not None or (
                os.path.exists(out) and H.count_lines(out) >= 50), 60,
                "50 events from %s" % name, interval=0.005)
            time.sleep(rnd.uniform(0.0, 1.5))
        if p.poll() is not None:
            # A fast build read every event left before this kill's
            # moment: the series of kills ends here, after 2 at least.
            assert p.returncode == 0 and len(saves) >= 2, (
                "%s ended (%s) after %d kills" % (name, p.returncode,
                                                  len(saves)))
            runs.append(name)
            printed.update(H.delivered_ids(h.read(name + ".out")))
            had_state.append(os.path.exists(os.path.join(statedir,
                                                         "kj.json")))
            break
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        runs.append(name)
        printed.update(H.delivered_ids(h.read(name + ".out")))
        saved = statefile.ids(statedir, "kj")
        assert saved <= printed, "%s: %d saved ids never delivered" % (
            name, len(saved - printed))
        saves.append(saved)
        had_state.append(os.path.exists(os.path.join(statedir, "kj.json")))
    rc, out, err = h.run("-f", "-v", "--once", "-c", conf, timeout=300,
                         stdout_name="final.out", stderr_name="final.err")
    assert rc == 0, err[-2000:]
    runs.append("final")

    per_run = [H.delivered_ids(h.read(name + ".out")) for name in runs]
    errs = "".join(h.read(name + ".err") for name in runs)
    assert " is corrupt " not in errs, errs[-3000:]
    for k, name in enumerate(runs[1:]):
        if had_state[k]:
            assert "cursor resumed" in h.read(name + ".err"), name
    for k, saved in enumerate(saves):
        again = {i for ids in per_run[k + 1:] for i in ids if i in saved}
        assert not again, "%d ids saved after kill %d delivered again" % (
            len(again), k + 1)
    want = h.sim_ids("host")
    assert len(want) == EVENTS, len(want)
    counts = collections.Counter(i for ids in per_run for i in ids)
    missing = want - set(counts)
    assert not missing, "lost %d ids after %d kills, e.g. %s" % (
        len(missing), len(saves), sorted(missing)[:3])
    final = statefile.read(statedir, "kj")
    assert want <= {p[0] for p in final["ids"]}, "the final state lacks ids"
    print("delivered per run: %s" % [len(ids) for ids in per_run])
    print("ids saved after each kill: %s" % [len(s) for s in saves])
    print("duplicates %d; torn journal records seen %d; compactions done %d" % (
        sum(n - 1 for n in counts.values()), errs.count("a torn record"),
        errs.count(" compacted: ")))


H.main(test)
