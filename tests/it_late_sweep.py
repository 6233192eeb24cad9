#!/usr/bin/env python3
"""Events that become visible 2 h after their occur_time, long after the
live windows passed them, are delivered by the late sweep (sweep_range 3h,
sweep_interval 10s here), each once; so is everything else, and the
sweep's own count says it delivered exactly those."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

LATE = 20


def test(h):
    h.start_sim("--events", "200", "--span", "3h", "--container-share", "0",
                "--rate-limit", "0", "--seed", "51")
    now = h.sim_get("/_sim/config")["now_ms"]
    # Occurred 2 h before (about) 25 s from now, visible only from then on.
    t0 = now - 2 * 3600000 + 25000
    late = set()
    for i in range(LATE):
        r = h.sim_post("/_sim/add-events", {
            "count": 1, "occur_time_ms": t0 + i * 1000, "category": "host",
            "delay_ms": 2 * 3600000})
        late |= set(r["event_ids"])
    mport = H.free_port()
    extra = ("    backfill: 3h\n    settle: 0s\n    lookback: 1m\n"
             "    poll_interval: 10s\n    calls_per_minute: 600\n"
             "    page_size: 100\n    sweep_range: 3h\n"
             "    sweep_interval: 10s\n")
    conf = h.write_config(h.source_yaml("sw", "host", extra), h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % mport)
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "sw": starting', proc=d)

    def all_late():
        return late <= set(H.delivered_ids(h.read("daemon.out")))
    H.wait_for(all_late, 120, "the late events", interval=1)
    # One more sweep after that: it must deliver nothing again.
    st, text = H.http_get(mport, "/metrics")
    sweeps = H.metric(text, "hss_forwarder_source_sweeps_total")
    H.wait_for(lambda: H.metric(H.http_get(mport, "/metrics")[1],
                                "hss_forwarder_source_sweeps_total") >= sweeps + 2,
               60, "two more sweeps", interval=1)
    st, text = H.http_get(mport, "/metrics")
    d.terminate()
    assert d.wait(timeout=15) == 0
    counts = collections.Counter(H.delivered_ids(h.read("daemon.out")))
    want = h.sim_ids("host")
    assert set(counts) == want, (len(want - set(counts)), len(set(counts) - want))
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:3]
    assert H.metric(text, "hss_forwarder_source_late_total") == LATE, text
    assert H.metric(text, "hss_forwarder_source_gaps_total") == 0, text
    err = h.read("daemon.err")
    n = sum(int(m) for m in re.findall(
        r"late sweep of \S+: (\d+) events that became visible late", err))
    assert n == LATE, (n, err[-3000:])
    print("events %d, late %d delivered by the sweep, each once" % (len(want), LATE))


H.main(test)
