#!/usr/bin/env python3
"""The dedupe prune key against an API that filters on the time an event
became visible, not its occur_time (hss-sim --filter-time visible): a late
event (occurred 2 h ago, visible now) is returned by every live window
overlapping the time it became visible, with an occur_time far older than
those windows. Its id must stay tracked as long as such a window (or a late
sweep) can return it again: each late event is delivered exactly once per
source across many windows, many sweeps and a restart of the daemon.

Two sources read the same project: "live" without the late sweep (only
the overlapping live windows return the event again) and "swept" with a
10-minute sweep every 10 s (the sweep returns it again and again)."""
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

LATE = 12
H2 = 2 * 3600000
LOOKBACK_S = 40


def per_source(h):
    """{source: Counter(event_id)} of the events on stdout."""
    out = collections.defaultdict(collections.Counter)
    for line in H.complete_lines(h.read("daemon.out")):
        if line.strip():
            o = json.loads(line)
            if "event_id" in o:
                out[o["_hss"]["source"]][o["event_id"]] += 1
    return out


def windows(mport, name):
    st, text = H.http_get(mport, "/metrics")
    for line in text.splitlines():
        if line.startswith("hss_forwarder_source_windows_total{") and \
                'source="%s"' % name in line:
            return float(line.rsplit(" ", 1)[1])
    return 0


def test(h):
    h.start_sim("--events", "300", "--span", "3h", "--container-share", "0",
                "--rate-limit", "0", "--seed", "71", "--filter-time",
                "visible", "--late-visibility", "1h",
                "--late-visibility-max", "3h", "--late-share", "0.1")
    now = h.sim_get("/_sim/config")["now_ms"]
    # Occurred about 2 h ago; visible 20 s to 42 s from now on.
    late, vis = set(), []
    for i in range(LATE):
        v = now + 20000 + i * 2000
        r = h.sim_post("/_sim/add-events", {
            "count": 1, "occur_time_ms": v - H2 - i * 60000,
            "category": "host", "delay_ms": H2 + i * 60000})
        late |= set(r["event_ids"])
        vis.append(v)
    mport = H.free_port()
    common = ("    backfill: 1h\n    settle: 0s\n    lookback: %ds\n"
              "    poll_interval: 10s\n    calls_per_minute: 600\n"
              "    page_size: 100\n" % LOOKBACK_S)
    srcs = (h.source_yaml("live", "host", common + "    sweep_range: 0s\n") +
            h.source_yaml("swept", "host", common + "    sweep_range: 10m\n"
                          "    sweep_interval: 10s\n"))
    conf = h.write_config(srcs, h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % mport)
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "swept": starting', proc=d)

    def all_late():
        got = per_source(h)
        return late <= set(got["live"]) and late <= set(got["swept"])
    H.wait_for(all_late, 120, "the late events from both sources",
               interval=1)
    # Restart while the windows still overlap the late events' times.
    d.terminate()
    assert d.wait(timeout=30) == 0
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "swept": starting', proc=d)
    # Until the live windows are past them (begin = end - lookback after
    # the last one's time), then two more windows of each source.
    H.wait_for(lambda: h.sim_get("/_sim/config")["now_ms"] >
               max(vis) + (LOOKBACK_S + 15) * 1000, 180,
               "the windows to move past the late events", interval=1)
    w = {n: windows(mport, n) for n in ("live", "swept")}
    H.wait_for(lambda: all(windows(mport, n) >= w[n] + 2 for n in w), 60,
               "two more windows of each source", interval=1)
    st, text = H.http_get(mport, "/metrics")
    d.terminate()
    assert d.wait(timeout=30) == 0

    got = per_source(h)
    for name in ("live", "swept"):
        c = got[name]
        dup = {i: n for i, n in c.items() if n > 1}
        assert not dup, "%s: %d ids delivered more than once, e.g. %s" % (
            name, len(dup), sorted(dup.items())[:3])
        assert late <= set(c), (name, len(late - set(c)))
    reqs = [r for r in h.sim_get("/_sim/requests")
            if r.get("path", "").endswith("/event/events")]
    # The windows returned the late events again and again: proof that
    # dedupe, not the API, kept them single.
    returned = sum(1 for r in reqs if r["status"] == 200 and
                   any(int(r["begin_time"]) <= v <= int(r["end_time"])
                       for v in vis))
    assert returned >= 8, returned
    assert H.metric(text, "hss_forwarder_source_late_total") is not None
    err = h.read("daemon.err")
    assert "were not read" not in err, err[-3000:]
    print("%d late events (occurred ~2 h before they became visible), "
          "each delivered once per source; %d pages held them; %s" % (
              LATE, returned, {n: sum(got[n].values()) for n in got}))


H.main(test)
