#!/usr/bin/env python3
"""A reload touches only what changed:
- output a (unchanged) keeps its one connection and its counters;
- output b (new address) is replaced alone: its old connection flushes and
  closes, the new one gets what comes after; between them b loses nothing;
- output c (removed) flushes and closes; output d (added) starts;
- source src1 (unchanged) keeps running; src2 (removed) stops and
  commits; src3 (added) starts;
- /metrics follows: src2 and c are gone, src3 and d appear, a and src1
  keep counting from where they were."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import reloadlib as L  # noqa: E402


def test(h):
    h.start_sim("--events", "80", "--span", "1d", "--container-share", "0.5",
                "--rate-limit", "0")
    ra, rb, rb2, rc, rd = (L.LineReceiver() for _ in range(5))
    mport = H.free_port()
    extra = L.source_extra("10s")
    conf = h.write_config(
        h.source_yaml("src1", "host", extra) +
        h.source_yaml("src2", "container", extra),
        L.output_yaml("a", ra) + L.output_yaml("b", rb) +
        L.output_yaml("c", rc),
        top="metrics_listen: 127.0.0.1:%d\n" % mport)
    host = h.sim_ids("host", "all_granted_eps")
    cont = h.sim_ids("container", "all_granted_eps")
    d = h.spawn("-f", "-c", conf)
    try:
        for rcv in (ra, rb, rc):
            H.wait_for(lambda: set(rcv.event_ids()) == host | cont, 60,
                       "every event on each output")
        before = L.counters(L.metrics(mport))

        text = open(conf).read()
        src2 = h.source_yaml("src2", "container", extra)
        text = text.replace(src2, h.source_yaml("src3", "container", extra))
        text = text.replace(L.output_yaml("b", rb), L.output_yaml("b", rb2))
        text = text.replace(L.output_yaml("c", rc), L.output_yaml("d", rd))
        with open(conf + ".new", "w") as f:
            f.write(text)
        os.rename(conf + ".new", conf)
        d.send_signal(signal.SIGHUP)
        h.wait_log("reload: new config applied: sources: 1 kept, 0 "
                   "restarted, 1 added (src3), 1 removed (src2); outputs: "
                   "1 kept, 1 changed (b), 1 added (d), 1 removed (c)",
                   proc=d)
        err = h.read("daemon.err")
        assert 'source "src2": removed; stopping it' in err, err
        assert 'output "b": settings changed (address); the new one ' \
            'starts' in err, err
        assert 'output "c": removed; flushing' in err, err
        assert err.count('source "src1": starting') == 1, err
        assert 'source "src3": starting' in err, err
        assert os.path.exists(os.path.join(h.dir, "state", "src2.json"))

        # After it: a source kept and a source added feed every output.
        new_host = set(L.add_events(h, 10, category="host"))
        new_cont = set(L.add_events(h, 10, category="container"))
        for rcv in (ra, rb2, rd):
            H.wait_for(lambda: new_host | new_cont <= set(rcv.event_ids()),
                       60, "the new events on a, b and d")
        # src3 started from backfill: every container event again, on d
        # and the new b too.
        H.wait_for(lambda: cont <= set(rd.event_ids()), 30,
                   "src3's backfill on d")
        assert ra.connections() == 1, ra.connections()
        H.wait_for(lambda: rb.open == 0 and rc.open == 0, 10,
                   "the old b and c closed")
        assert rb.connections() == rc.connections() == 1
        assert rb2.connections() == rd.connections() == 1
        # b lost nothing across the change; c got all it was sent.
        assert host | cont <= set(rb.event_ids()) | set(rb2.event_ids())
        assert not new_host & set(rb.event_ids())
        assert not new_host & set(rc.event_ids())

        m = L.metrics(mport)
        after = L.counters(m)
        assert 'source="src2"' not in m and 'output="c"' not in m, m
        assert 'source="src3"' in m and 'output="d"' in m, m
        for k, v in before.items():
            if 'src2' in k[1] or '"c"' in k[1]:
                continue
            assert after[k] >= v, (k, v, after[k])
        n = len(ra.event_ids())
        H.wait_for(lambda: L.counters(L.metrics(mport))[(
            "hss_forwarder_output_acked_total", 'output="a"')] == n, 10,
            "output a's acknowledgements")
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=12) == 0
    finally:
        for rcv in (ra, rb, rb2, rc, rd):
            rcv.close()


H.main(test)
