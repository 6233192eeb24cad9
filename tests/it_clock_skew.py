#!/usr/bin/env python3
"""Windows follow the API's clock (its Date header), not the local one.
1) and 2): the daemon's clock (libfaketime) jumps 14 minutes ahead, then
behind, for 25 s and is set right again: every event that occurred
meanwhile (live events at the API's time) is delivered, each once, and the
skew is logged. 3): the API's own clock is 10 minutes ahead of the machine:
the same, and the log says so."""
import collections
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def run(h, step_s=None, sim_offset=None, seed=71):
    args = ["--events", "0", "--live-rate", "240", "--container-share", "0",
            "--rate-limit", "0", "--seed", str(seed)]
    if sim_offset:
        args += ["--clock-offset", sim_offset]
    h.start_sim(*args)
    extra = ("    backfill: 1m\n    settle: 2s\n    lookback: 1m\n"
             "    poll_interval: 10s\n    calls_per_minute: 600\n"
             "    sweep_range: 0s\n")
    conf = h.write_config(h.source_yaml("clk", "host", extra), h.stdout_output())
    env = h.env()
    tsfile = os.path.join(h.dir, "faketime")
    if step_s is not None:
        H.faketime_env(env, tsfile, "+0")
    start = h.sim_get("/_sim/config")["now_ms"]
    d = h.spawn("-f", "-c", conf, env=env)
    h.wait_log('source "clk": starting', proc=d)
    time.sleep(12)
    if step_s is not None:
        with open(tsfile, "w") as f:
            f.write("%+d\n" % step_s)
        time.sleep(25)
        with open(tsfile, "w") as f:
            f.write("+0\n")
    else:
        time.sleep(25)
    cutoff = h.sim_get("/_sim/config")["now_ms"] + 5000

    def window_past_cutoff_done():
        reqs = [r for r in h.sim_get("/_sim/requests")
                if r.get("path", "").endswith("/event/events") and
                r.get("status") == 200]
        for i, r in enumerate(reqs):
            if int(r["end_time"]) >= cutoff:
                return any(int(q["begin_time"]) > int(r["begin_time"])
                           for q in reqs[i + 1:])
        return False
    H.wait_for(window_past_cutoff_done, 120, "a committed window past the "
               "cutoff", interval=1)
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    counts = collections.Counter(H.delivered_ids(h.read("daemon.out")))
    want = h.sim_ids("host", begin=start - 60000, end=cutoff)
    assert len(want) > 100, len(want)
    missing = want - set(counts)
    assert not missing, "missing %d of %d" % (len(missing), len(want))
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:3]
    err = h.read("daemon.err")
    assert "were not read" not in err, err[-3000:]
    return len(want), err


def test(h):
    lib = H.faketime_lib()
    if lib is None:
        print("SKIP: libfaketime is not installed")
        sys.exit(77)
    n, err = run(h, step_s=14 * 60, seed=71)
    assert re.search(r'source "clk": the API\'s clock is 8[34]\d s behind the '
                     r'local clock; windows follow the API\'s clock', err), err[-3000:]
    print("local clock +14 min for 25 s: %d events, none lost" % n)
    for name, kw, pat in (
            ("behind", {"step_s": -14 * 60, "seed": 72},
             r"the API's clock is 8[34]\d s ahead of the local clock"),
            ("sim", {"sim_offset": "+10m", "seed": 73},
             r"the API's clock is (599|60\d) s ahead of the local clock")):
        h2 = H.Harness("clock_" + name)
        try:
            n, err = run(h2, **kw)
            assert re.search(pat, err), err[-3000:]
        except Exception:
            print("--- %s: daemon stderr (tail):\n%s" % (name, h2.read("daemon.err")[-3000:]))
            raise
        finally:
            h2.close()
        print("%s: %d events, none lost" % (name, n))


H.main(test)
