#!/usr/bin/env python3
"""Graceful stop with a TLS receiver: SIGTERM in the middle of a 10,000-event
run -> exit 0 within 10 s; the receiver saw a clean TLS close (close_notify:
daemon_siem.Sink's python ssl socket, with suppress_ragged_eofs off, reads
b'' only after a close_notify and raises SSLEOFError on a bare TCP close);
the cursor file is consistent with what arrived: every id it lists and
every event up to its "end" reached the receiver, and its ids include
every event acknowledged past "end" (the window being delivered); and a
restart (--once) delivers the rest, so every id arrives at least once overall.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

EVENTS = 10000


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "6d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "10")
    certs = R.make_certs(h.dir)
    sink = D.Sink(h.dir, certs=certs)
    conf = h.write_config(
        D.fast_source(h, backfill="7d", page_size=500),
        D.output_yaml("siem", "rfc5424", "tls", sink.address,
                      ca=certs["ca"]))
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)

    def got():
        return set(D.rfc5424_id(m)
                   for m in sink.messages("octet-counting"))

    p = h.spawn("-f", "-c", conf)
    D.wait(lambda: len(sink.messages("octet-counting")) >= 2000 or
           p.poll() is not None, 60, "2000 messages at the receiver")
    assert p.poll() is None, "daemon exited: %s" % p.returncode
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except Exception:
        raise AssertionError("no exit within 10 s of SIGTERM")
    took = time.monotonic() - t0
    assert rc == 0, "exit %s after SIGTERM" % rc
    first = got()
    assert len(first) < EVENTS, "the run ended before SIGTERM"
    closes = D.wait(lambda: [e for e in sink.events()
                             if e.startswith("close ")], 10,
                    "the receiver to see the connection close")
    assert closes == ["close %s clean" % closes[0].split()[1]], (
        "no clean TLS close (close_notify): %s" % closes)

    cur = D.cursor(h)
    assert cur is not None, "no cursor file after a graceful stop"
    listed = set(pair[0] for pair in cur["ids"])
    assert listed <= first, "%d ids in the cursor never arrived, e.g. %s" % (
        len(listed - first), sorted(listed - first)[:3])
    upto = want & h.sim_ids(begin=0, end=cur["end"])
    assert upto <= first, (
        "the cursor passed %d events that never arrived, e.g. %s" % (
            len(upto - first), sorted(upto - first)[:3]))
    # what was acknowledged past "end" (the window being delivered) is in
    # the dedupe set, so a restart does not send it again
    acked_past = first - upto
    assert acked_past <= listed, (
        "%d acknowledged events past the cursor's end are not in its ids, "
        "e.g. %s" % (len(acked_past - listed),
                     sorted(acked_past - listed)[:3]))
    print("SIGTERM: exit 0 in %.2f s, clean TLS close, %d events arrived, "
          "cursor end covers %d of them (%d ids listed)" % (
              took, len(first), len(upto), len(listed)))

    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=120,
                         stderr_name="restart.err")
    assert rc == 0, (rc, err[-2000:])
    assert "cursor resumed" in err, err[-2000:]
    D.wait(lambda: want <= got(), 30, "every id after the restart")
    msgs = sink.messages("octet-counting")
    print("after the restart: %d messages, every one of %d ids, %d "
          "duplicates" % (len(msgs), EVENTS, len(msgs) - EVENTS))
    assert got() == want


D.main(test)
