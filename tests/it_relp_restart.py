#!/usr/bin/env python3
"""rsyslog's imrelp stopped (SIGTERM) and restarted 5 times during a
20,000-event backfill by a running daemon (transport relp): 0 lost. Every
event id arrives; the daemon's stats count >= 5 reconnects and every
message acknowledged; on SIGTERM it exits 0.

Unlike the tcp restart test (it_siem_receiver_restart.py) the receiver is
not stopped gently: rsyslog is sent SIGTERM whatever it holds unread or
unanswered. Over RELP a message counts as delivered only once imrelp
answered it, so whatever the stop cut off is sent again (duplicates are
counted and printed; at-least-once). Each stop happens once the receiver
wrote 1/25 of the events since its last start, so all five fall inside
the run (the test checks that ids were still missing at each stop)."""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import relp as P  # noqa: E402

EVENTS = 20000
RESTARTS = 5


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "6d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "4")
    r = P.start_rsyslog_relp(h.dir)
    conf = h.write_config(D.fast_source(h, backfill="7d", page_size=1000),
                          P.output_yaml("siem", "json", r.address))
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    p = h.spawn("-f", "-c", conf)
    for k in range(RESTARTS):
        before = len(r.lines())
        D.wait(lambda: len(r.lines()) - before >= EVENTS // 25 or
               p.poll() is not None, 120,
               "%d more events before stop %d" % (EVENTS // 25, k + 1))
        assert p.poll() is None, "daemon exited: %s" % p.returncode
        r.stop()
        got = set(P.json_ids(r.lines()))
        assert len(got) < EVENTS, (
            "stop %d came after every event had arrived" % (k + 1))
        print("stop %d: %d distinct ids received so far" % (k + 1, len(got)))
        r.restart()
    D.wait(lambda: want <= set(P.json_ids(r.lines())), 180,
           "every id at the receiver")
    D.wait(lambda: D.stats_now(h, p, "siem")["queued"] == 0, 30,
           "nothing queued")
    st = D.stats_now(h, p, "siem")
    ids = P.json_ids(r.lines())
    counts = collections.Counter(ids)
    assert set(counts) == want, "unknown ids %s" % sorted(
        set(counts) - want)[:3]
    print("%d restarts: lost 0 of %d; %d messages, %d duplicates; stats %s"
          % (RESTARTS, EVENTS, len(ids), len(ids) - len(counts), st))
    assert st["reconnects"] >= RESTARTS, st
    assert st["acked"] == EVENTS, st
    p.terminate()
    assert p.wait(timeout=30) == 0, p.returncode
    err = h.read("daemon.err")
    lost = err.count("connection to 127.0.0.1:%d lost" % r.port)
    assert lost >= RESTARTS, "the daemon logged %d lost connections" % lost
    for ln in err.splitlines():
        if "lost:" in ln:
            print(ln)
    r.stop()


D.main(test)
