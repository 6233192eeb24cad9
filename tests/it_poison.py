#!/usr/bin/env python3
"""A poisoned event (its page is invalid JSON) at a known time: the page is
isolated by halving the window; exactly one gap of at most 1 s, holding
that time, goes to the output; every other event is delivered once;
gaps_total is 1 in /metrics and /healthz names the gap until a window
commits without one. Run with a syntax error and with a raw NUL byte."""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def run(h, kind, seed):
    h.start_sim("--events", "300", "--span", "30m", "--container-share", "0",
                "--rate-limit", "0", "--seed", str(seed))
    now = h.sim_get("/_sim/config")["now_ms"]
    t = now - 10 * 60000 + 123
    added = h.sim_post("/_sim/add-events", {"count": 1, "occur_time_ms": t,
                                            "category": "host",
                                            "poison": kind})
    bad = added["event_ids"][0]
    mport = H.free_port()
    extra = ("    backfill: 1h\n    settle: 0s\n    lookback: 1m\n"
             "    poll_interval: 20s\n    calls_per_minute: 600\n"
             "    page_size: 100\n    sweep_range: 0s\n")
    conf = h.write_config(h.source_yaml("p", "host", extra), h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % mport)
    d = h.spawn("-f", "-c", conf)
    h.wait_log("were not read", proc=d, timeout=60)
    st, body = H.http_get(mport, "/healthz")
    assert st == 503 and body.startswith('gap: source "p": events from '), (st, body)
    assert "--replay p --from" in body, body
    # The window with the gap commits, the next one has none: 200 again.
    H.wait_for(lambda: H.http_get(mport, "/healthz") == (200, "ok\n"), 60,
               "/healthz 200 after a clean window")
    st, text = H.http_get(mport, "/metrics")
    assert H.metric(text, "hss_forwarder_source_gaps_total") == 1.0, text
    d.terminate()
    assert d.wait(timeout=15) == 0
    out = h.read("daemon.out")
    counts = collections.Counter(H.delivered_ids(out))
    gaps = H.gap_messages(out)
    assert len(gaps) == 1, gaps
    g = gaps[0]
    assert g["begin_ms"] <= t <= g["end_ms"], (g, t)
    assert g["end_ms"] - g["begin_ms"] <= 1000, g
    assert g["source"] == "p" and "failed to parse" in g["reason"], g
    assert g["replay"] == "hss-forwarder --replay p --from %s --to %s" % (
        g["begin"], g["end"]), g
    want = h.sim_ids("host") - {bad}
    got = set(counts)
    assert bad not in got
    assert want <= got, "missing %d" % len(want - got)
    assert max(counts.values()) == 1
    err = h.read("daemon.err")
    assert err.count("were not read") == 1, err[-3000:]
    print("%s: %d events delivered, gap %s..%s around %d" % (
        kind, len(got), g["begin"], g["end"], t))


def test(h):
    run(h, "syntax", 31)
    h2 = H.Harness("poison_nul")
    try:
        run(h2, "nul", 32)
    finally:
        h2.close()


H.main(test)
