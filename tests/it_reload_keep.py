#!/usr/bin/env python3
"""SIGHUP with an unchanged config keeps everything running: the output's
TCP connection (the receiver sees one connection across the reload), every
/metrics counter (equal before and after, not reset), and the source (no
API call beyond its normal poll; it polls hourly here, so none at all).
Then a reload that changes only the source restarts the source alone: the
output keeps its one connection and gets every event, old and new, once,
and the source's counters go on from where they were."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import reloadlib as L  # noqa: E402


def test(h):
    h.start_sim("--events", "40", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0")
    r = L.LineReceiver()
    mport = H.free_port()
    conf = h.write_config(h.source_yaml(extra=L.source_extra("1h")),
                          L.output_yaml("siem", r),
                          top="metrics_listen: 127.0.0.1:%d\n" % mport)
    d = h.spawn("-f", "-c", conf)
    try:
        H.wait_for(lambda: len(r.event_ids()) >= 40, 60, "40 events")
        H.wait_for(lambda: L.counters(L.metrics(mport)).get(
            ("hss_forwarder_source_committed_total", 'source="src1"')) == 40,
            30, "40 events committed")
        before = L.settled(h, mport)
        calls = len(L.sim_requests(h))
        assert calls > 0

        d.send_signal(signal.SIGHUP)
        h.wait_log("reload: new config applied: sources: 1 kept, 0 "
                   "restarted, 0 added, 0 removed; outputs: 1 kept, 0 "
                   "changed, 0 added, 0 removed", proc=d)
        after = L.counters(L.metrics(mport))
        assert after == before, (before, after)
        assert r.connections() == 1, r.connections()
        assert r.open == 1
        assert len(L.sim_requests(h)) == calls
        err = h.read("daemon.err")
        assert err.count('source "src1": starting') == 1, err
        assert "shutting down" not in err, err

        # The source changes (poll_interval): it alone restarts, from its
        # state file; the output keeps its connection.
        added = L.add_events(h, 10)
        L.rewrite(conf, "poll_interval: 1h", "poll_interval: 10s")
        d.send_signal(signal.SIGHUP)
        h.wait_log("reload: new config applied: sources: 0 kept, 1 "
                   "restarted (src1), 0 added, 0 removed; outputs: 1 kept, "
                   "0 changed, 0 added, 0 removed", proc=d)
        assert ('source "src1": settings changed (poll_interval); '
                'restarting it') in h.read("daemon.err")
        H.wait_for(lambda: set(added) <= set(r.event_ids()), 30,
                   "the 10 new events")
        ids = r.event_ids()
        assert len(ids) == len(set(ids)) == 50, len(ids)
        assert set(ids) == h.sim_ids("host"), "not every event"
        assert r.connections() == 1, r.connections()
        H.wait_for(lambda: L.counters(L.metrics(mport)).get(
            ("hss_forwarder_source_committed_total", 'source="src1"')) == 50,
            30, "50 events committed")
        now = L.counters(L.metrics(mport))
        assert now[("hss_forwarder_source_sent_total",
                    'source="src1"')] == 50, now
        assert now[("hss_forwarder_output_acked_total",
                    'output="siem"')] == 50, now
        for k, v in before.items():
            assert now[k] >= v, (k, v, now[k])
        # The restarted source called the API; the one kept did not.
        assert len(L.sim_requests(h)) > calls

        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=12) == 0
    finally:
        r.close()


H.main(test)
