#!/usr/bin/env python3
"""Backpressure: a receiver that accepts but does not read (daemon_siem.Sink
with hold=True and a 4 KiB SO_RCVBUF). With queue_limit 200 and page_size
100 the output queue fills to about queue_limit, the source pauses (no new
page request at the simulator for a 5 s observation, but the one in
flight), the daemon's RSS stays flat while ~5,000 events wait at the API,
and when the receiver starts reading nothing is lost.

RSS bound: while paused nothing is fetched or formatted, so RSS may only
move by allocator noise. The queue itself holds at most queue_limit + one
page = 300 messages of ~5 KB (about 1.5 MB) and was filled before the
first sample; a daemon that kept reading the API into memory would grow by
~25 MB (5,000 events x ~5 KB of JSON). So: max - min of the samples over
the observation <= 4 MB, and under ASan (the default build of the tests)
RSS includes shadow memory, which only moves when the heap does.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

EVENTS = 6000
QUEUE_LIMIT = 200
PAGE = 100
OBSERVE_S = 5.0
RSS_SLACK_KB = 4096


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "6d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "6")
    sink = D.Sink(h.dir, rcvbuf=4096, hold=True)
    conf = h.write_config(
        D.fast_source(h, backfill="7d", page_size=PAGE),
        D.output_yaml("siem", "json", "tcp", sink.address, "lf",
                      extra="    queue_limit: %d\n" % QUEUE_LIMIT))
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    p = h.spawn("-f", "-v", "-c", conf)
    h.wait_log('output "siem": congested', proc=p)
    h.wait_log('an output is congested; pausing', proc=p)
    seq0 = max([r["seq"] for r in D.page_requests(h)] + [0])
    rss = []
    t_end = time.monotonic() + OBSERVE_S
    while time.monotonic() < t_end:
        rss.append(R.rss_kb(p.pid))
        new = D.page_requests(h, seq0)
        assert len(new) <= 1, "%d page requests while congested" % len(new)
        time.sleep(0.25)
    during = len(D.page_requests(h, seq0))
    st = D.stats_now(h, p, "siem")
    assert QUEUE_LIMIT <= st["queued"] <= QUEUE_LIMIT + PAGE, st
    assert st["acked"] < QUEUE_LIMIT + PAGE, st
    waiting = EVENTS - st["enqueued"]
    assert waiting >= EVENTS - 2 * (QUEUE_LIMIT + PAGE), (
        "only %d events left at the API" % waiting)
    assert sink.received() <= 64 * 1024, sink.received()
    growth = max(rss) - min(rss)
    print("congested: queued %d (limit %d), %d events waiting at the API, "
          "%d page requests in %.0f s, RSS %d..%d kB (%d samples)" % (
              st["queued"], QUEUE_LIMIT, waiting, during, OBSERVE_S,
              min(rss), max(rss), len(rss)))
    assert growth <= RSS_SLACK_KB, "RSS grew by %d kB while paused: %s" % (
        growth, rss)
    sink.release()
    D.wait(lambda: want <= set(sink.json_ids()), 120,
           "every event after the receiver started reading")
    got = sink.json_ids()
    assert set(got) == want, sorted(set(got) - want)[:3]
    st = D.stats_now(h, p, "siem")
    print("released: %d messages, %d distinct, stats %s" % (
        len(got), len(set(got)), st))
    # The operator is told, without -v: a warning when the queue passes
    # queue_limit, an info line when it has drained.
    err = h.read("daemon.err")
    full = err.find('warning: output "siem": congested: ')
    assert full >= 0, err[-3000:]
    assert (", over queue_limit %d; sources pause until fewer than %d "
            "remain" % (QUEUE_LIMIT, QUEUE_LIMIT // 2)) in err[full:], err
    assert err.find('info: output "siem": no longer congested (', full) > 0
    assert err.count('warning: output "siem": congested: ') == err.count(
        'info: output "siem": no longer congested ('), err[-3000:]
    p.terminate()
    assert p.wait(timeout=15) == 0, p.returncode


D.main(test)
