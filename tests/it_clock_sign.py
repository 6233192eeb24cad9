#!/usr/bin/env python3
"""AK/SK signatures follow the API's clock: with the local clock 20 minutes
ahead (libfaketime), more than the API's 15 minutes for X-Sdk-Date, only
the very first call (signed before any Date was seen) is refused; it is
signed again on the API's clock at once, and every later call is signed on
it and succeeds. Every live event is delivered, each once."""
import calendar
import collections
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def sdk_date_s(v):
    """X-Sdk-Date (YYYYMMDDTHHMMSSZ) as epoch seconds."""
    return calendar.timegm(time.strptime(v, "%Y%m%dT%H%M%SZ"))


def test(h):
    lib = H.faketime_lib()
    if lib is None:
        print("SKIP: libfaketime is not installed")
        sys.exit(77)
    h.start_sim("--events", "0", "--live-rate", "240", "--container-share",
                "0", "--rate-limit", "0", "--seed", "81")
    extra = ("    backfill: 1m\n    settle: 2s\n    lookback: 1m\n"
             "    poll_interval: 10s\n    calls_per_minute: 600\n"
             "    sweep_range: 0s\n")
    conf = h.write_config(h.source_yaml("sig", "host", extra),
                          h.stdout_output())
    env = h.env()
    tsfile = os.path.join(h.dir, "faketime")
    H.faketime_env(env, tsfile, "+1200")
    start = h.sim_get("/_sim/config")["now_ms"]
    d = h.spawn("-f", "-c", conf, env=env)
    h.wait_log('source "sig": starting', proc=d)
    time.sleep(25)
    cutoff = h.sim_get("/_sim/config")["now_ms"] + 5000

    def events():
        return [r for r in h.sim_get("/_sim/requests")
                if r.get("path", "").endswith("/event/events")]

    def window_past_cutoff_done():
        # (The first window, planned before the API's Date was known, is
        # 20 minutes ahead; the next ones follow the API's clock.)
        reqs = [r for r in events() if r.get("status") == 200 and
                int(r["end_time"]) <= r["time_ms"] + 30000]
        for i, r in enumerate(reqs):
            if int(r["end_time"]) >= cutoff:
                return any(int(q["begin_time"]) > int(r["begin_time"])
                           for q in reqs[i + 1:])
        return False
    H.wait_for(window_past_cutoff_done, 120, "a committed window past the "
               "cutoff", interval=1)
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    reqs = events()
    # The first call: signed 20 minutes ahead, refused. All the others:
    # signed on the API's clock (within a few seconds), answered.
    assert reqs[0]["status"] == 401, reqs[0]
    skew = [sdk_date_s(r["sdk_date"]) - r["time_ms"] / 1000.0
            for r in reqs]
    assert 1190 <= skew[0] <= 1210, skew[0]
    assert all(r["status"] == 200 for r in reqs[1:]), \
        [r for r in reqs[1:] if r["status"] != 200][:3]
    assert all(-3 <= s <= 3 for s in skew[1:]), skew
    assert len(reqs) >= 4, len(reqs)
    counts = collections.Counter(H.delivered_ids(h.read("daemon.out")))
    want = h.sim_ids("host", begin=start - 60000, end=cutoff)
    assert len(want) > 50, len(want)
    missing = want - set(counts)
    assert not missing, "missing %d of %d" % (len(missing), len(want))
    assert max(counts.values()) == 1
    err = h.read("daemon.err")
    assert err.count("signing again on the API's clock") == 1, err[-3000:]
    assert "authentication refused" not in err, err[-3000:]
    assert "were not read" not in err, err[-3000:]
    print("local clock +20 min: first call refused and signed again, %d "
          "calls signed on the API's clock, %d events each once" % (
              len(reqs) - 1, len(want)))


H.main(test)
