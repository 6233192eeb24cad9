#!/usr/bin/env python3
"""A page is read as it arrives (DESIGN.md section 11, "parse an event at a
time rather than a whole page"): its events reach the output while the rest
of the page is still on its way, so memory holds about an event, not the
page. A page cut in the middle delivers what arrived, is read again, and
nothing is lost or delivered twice.

300 events in pages of 100. First every page comes in two halves with 8 s
between them (the simulator's slowbody fault): while the first page is
half sent, part of its events, and none of the second page, are at the
output. Then the third page is cut after its first half (truncated), again
and again: the daemon delivers that half once, logs each failure and
retries; once the page comes whole, every event is there once."""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

EVENTS = 300
PAGE = 100


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "1h", "--container-share",
                "0", "--rate-limit", "0", "--seed", "17", "--stall-time",
                "8s")
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    extra = ("    backfill: 2h\n    settle: 0s\n    page_size: %d\n"
             "    calls_per_minute: 600\n    timeout: 60s\n" % PAGE)
    conf = h.write_config(h.source_yaml("st", extra=extra),
                          h.stdout_output())
    h.sim_post("/_sim/config", {"faults": {"slowbody": 1.0}})
    p = h.spawn("-f", "-v", "-c", conf)

    def alive():
        if p.poll() is not None:
            raise H.Failure("daemon exited: " + h.read("daemon.err")[-3000:])

    def half_sent():
        alive()
        return h.sim_get("/_sim/stats")["stalling"] == 1
    H.wait_for(half_sent, 30, "the first page half sent")

    def some():
        alive()
        return len(H.delivered_ids(h.read("daemon.out"))) >= 20
    # within the 8 s pause: the events of the half that arrived (about 49)
    H.wait_for(some, 5, "events of a page still arriving")
    reqs = [r for r in h.sim_get("/_sim/requests")
            if r.get("path", "").endswith("/event/events")]
    assert len(reqs) == 1, reqs
    assert h.sim_get("/_sim/stats")["stalling"] == 1   # still half sent
    got = H.delivered_ids(h.read("daemon.out"))
    # half the body: about half the events, each whole
    assert 20 <= len(got) < PAGE, len(got)
    assert set(got) <= want, set(got) - want

    # the third page is cut after its first half: set while the second
    # is half sent
    def second_half_sent():
        alive()
        n = len([r for r in h.sim_get("/_sim/requests")
                 if r.get("path", "").endswith("/event/events")])
        return n == 2 and h.sim_get("/_sim/stats")["stalling"] == 1
    H.wait_for(second_half_sent, 30, "the second page half sent")
    h.sim_post("/_sim/config", {"faults": {"truncated": 1.0}})
    cut = re.compile(r'source "st": window \S+: page \d+ \(offset (\d+)\): '
                     r'HTTP 200, then the transfer failed: transfer closed '
                     r'with \d+ bytes remaining to read \[request id \w+\]; '
                     r'cursor stays, '
                     r'retrying in ')

    def cut_twice():
        alive()
        return len(cut.findall(h.read("daemon.err"))) >= 2
    H.wait_for(cut_twice, 60, "two cut pages logged")
    before = len(H.delivered_ids(h.read("daemon.out")))
    h.sim_post("/_sim/config", {"faults": {}})

    def all_in():
        alive()
        return set(H.delivered_ids(h.read("daemon.out"))) == want
    H.wait_for(all_in, 60, "every event")
    p.terminate()
    assert p.wait(timeout=30) == 0
    out = h.read("daemon.out")
    counts = collections.Counter(H.delivered_ids(out))
    assert set(counts) == want, len(want - set(counts))
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, dups[:3]
    # the cut page's first half was delivered while it was cut, and when it
    # was read again whole its ids were known: the rest only was new
    offsets = [int(o) for o in cut.findall(h.read("daemon.err"))]
    assert set(offsets) == {2 * PAGE}, offsets  # the third page, retried
    assert 2 * PAGE + 20 <= before < EVENTS, before
    err = h.read("daemon.err")
    assert "aborted by the reader" not in err, err[-2000:]


H.main(test)
