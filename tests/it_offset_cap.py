#!/usr/bin/env python3
"""More events at one occur_time than the API's offset reaches (a dense
block of 2,050,000 at one millisecond: no split in time can divide it).
The daemon reads that millisecond up to the API's cap, offset 2,000,000
and never beyond, delivers every event it could reach exactly once, and
makes the rest one gap: exactly one gap message on the output naming the
source, a range holding the dense time and the API's offset cap as the
reason; gaps_total 1; the honest error line in the log (never "the rest
is read by the next window"). The cursor then moves past it: the next
window does not read the block again.

Cost: 2,001 pages of 1,000 small events plus the split; with
calls_per_minute 600 at least about 3 minutes whatever the machine."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

DENSE = 2050000
CAP = 2000000
PAGE = 1000
ID = re.compile(r'"event_id":"([^"]+)"')


def test(h):
    h.start_sim("--events", "100", "--span", "1h", "--container-share", "0",
                "--rate-limit", "0", "--seed", "61",
                "--dense", "%d@-30m" % DENSE)
    blk = h.sim_get("/_sim/dense?from=0&count=0")
    t = blk["occur_time_ms"]
    assert blk["count"] == DENSE, blk
    mport = H.free_port()
    extra = ("    backfill: 1h\n    settle: 0s\n    lookback: 1m\n"
             "    poll_interval: 10s\n    calls_per_minute: 600\n"
             "    page_size: %d\n    sweep_range: 0s\n"
             "    max_tracked_ids: 3000000\n" % PAGE)
    conf = h.write_config(h.source_yaml("cap", "host", extra),
                          h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % mport)
    d = h.spawn("-f", "-c", conf)
    h.wait_log("were not read", proc=d, timeout=900)
    # The window holding the gap commits; then one more window.
    H.wait_for(lambda: H.metric(H.http_get(mport, "/metrics")[1],
                                "hss_forwarder_source_windows_total") or 0,
               120, "the window with the gap committed", interval=1)
    seq = h.sim_get("/_sim/stats")["requests"]
    H.wait_for(lambda: H.metric(H.http_get(mport, "/metrics")[1],
                                "hss_forwarder_source_windows_total") >= 2,
               60, "a second window", interval=1)
    st, text = H.http_get(mport, "/metrics")
    assert H.metric(text, "hss_forwarder_source_gaps_total") == 1, text
    d.terminate()
    assert d.wait(timeout=30) == 0

    reqs = [r for r in h.sim_get("/_sim/requests")
            if r.get("path", "").endswith("/event/events")]
    offsets = [r["offset"] for r in reqs]
    assert max(offsets) == CAP, max(offsets)
    assert h.sim_get("/_sim/stats")["max_offset"] == CAP
    assert all(r["status"] == 200 for r in reqs), \
        [r for r in reqs if r["status"] != 200][:3]
    # The block was read from every offset 0, 1000, ..., 2,000,000 once,
    # at one millisecond (a window that cannot be split further).
    dense = [r for r in reqs if r.get("dense")]
    capped = [r for r in dense if r["begin_time"] == r["end_time"] or
              int(r["end_time"]) - int(r["begin_time"]) < 4]
    assert sorted(r["offset"] for r in capped) == \
        list(range(0, CAP + 1, PAGE)), len(capped)
    # After the window with the gap, no page holds the block again.
    later = [r for r in reqs if r["seq"] > seq]
    assert later and not [r for r in later if r.get("dense")], later[:3]

    out = h.read("daemon.out")
    gaps = []
    counts = collections.Counter()
    # The daemon has exited: every line is complete (the helpers take a
    # whole stdout, so each line is handed over with its newline).
    for line in H.complete_lines(out):
        if '"dense-host"' in line:
            counts[ID.search(line).group(1)] += 1
        elif '"type":"gap"' in line:
            gaps.extend(H.gap_messages(line + "\n"))
        elif line.strip():
            counts[H.delivered_ids(line + "\n")[0]] += 1
    assert len(gaps) == 1, gaps
    g = gaps[0]
    assert g["source"] == "cap", g
    assert g["begin_ms"] <= t <= g["end_ms"], (g, t)
    assert g["end_ms"] - g["begin_ms"] < 4, g
    assert g["reason"] == (
        "%d events match but the API's offset stops at %d and the window "
        "cannot be split further" % (DENSE, CAP)), g
    # Every event reachable: the real ones and the block's positions
    # 0 .. 2,000,999 (offset 2,000,000 + a page), each exactly once.
    want = set()
    for i in range(0, CAP + PAGE, 100000):
        want |= set(h.sim_get("/_sim/dense?from=%d&count=%d" % (
            i, min(100000, CAP + PAGE - i)))["event_ids"])
    assert len(want) == CAP + PAGE
    want |= h.sim_ids("host")
    got = set(counts)
    assert got == want, (len(want - got), len(got - want))
    assert max(counts.values()) == 1, [i for i, n in counts.items()
                                       if n > 1][:3]
    err = h.read("daemon.err")
    assert err.count("were not read") == 1, err[-3000:]
    assert "the API's offset stops at %d" % CAP in err
    assert "read by the next window" not in err
    print("%d events delivered once (%d of the block), %d requests, "
          "gap %s..%s: %s" % (len(got), CAP + PAGE, len(reqs), g["begin"],
                              g["end"], g["reason"]))


H.main(test)
