#!/usr/bin/env python3
"""Two outputs, RFC 5424 over TLS and CEF over TCP: every event reaches both;
while the CEF receiver is down the sources pause (the simulator's request
log shows no new page request, but for the one in flight, and the daemon
logs the congestion at debug level with -v), and after it returns both
receivers have everything.

Receivers: daemon_siem.Sink (TLS with the test CA's server certificate;
plain TCP), stopped gracefully (see Sink) so that nothing the kernel
acknowledged is dropped unread. page_size 100 over 5,000 events makes
~50 pages, so the stop lands mid-run (checked).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

EVENTS = 5000
DOWN_S = 4.0        # how long the CEF receiver stays down


def ids(sink, kind):
    if kind == "rfc":
        return [D.rfc5424_id(m) for m in sink.messages("octet-counting")]
    return [D.cef_id(m) for m in sink.messages("lf")]


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "6d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "5")
    certs = R.make_certs(h.dir)
    rfc = D.Sink(h.dir, certs=certs)
    cef = D.Sink(h.dir)
    conf = h.write_config(
        D.fast_source(h, backfill="7d", page_size=100),
        D.output_yaml("rfc", "rfc5424", "tls", rfc.address, ca=certs["ca"])
        + D.output_yaml("cef", "cef", "tcp", cef.address))
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    p = h.spawn("-f", "-v", "-c", conf)
    D.wait(lambda: len(cef.messages("lf")) >= 500, 60, "500 CEF messages")
    cef.stop()
    got_rfc = set(ids(rfc, "rfc"))
    assert len(got_rfc) < EVENTS, "the run ended before the receiver stopped"
    # the daemon notices (peer's FIN), the output is down, sources pause
    h.wait_log('output "cef": connection to', proc=p)
    h.wait_log('an output is congested; pausing', proc=p)
    seq0 = max([r["seq"] for r in D.page_requests(h)] + [0])
    t_end = time.monotonic() + DOWN_S
    during = 0
    while time.monotonic() < t_end:
        new = D.page_requests(h, seq0)
        assert len(new) <= 1, "%d page requests while the CEF receiver " \
            "was down: %s" % (len(new), [(r["seq"], r["offset"])
                                         for r in new])
        during = len(new)
        time.sleep(0.2)
    paused_rfc = len(set(ids(rfc, "rfc")))
    assert paused_rfc < EVENTS, "every event was sent while paused"
    cef.start()
    D.wait(lambda: want <= set(ids(cef, "cef")) and
           want <= set(ids(rfc, "rfc")), 90, "every event at both receivers")
    after = len(D.page_requests(h, seq0)) - during
    assert after > 1, "no page requests after the receiver returned"
    assert not set(ids(cef, "cef")) - want and not set(ids(rfc, "rfc")) - \
        want, "unknown event ids at a receiver"
    st = D.stats_now(h, p, "cef")
    print("down %.0f s with %d/%d events at the TLS receiver, %d page "
          "requests during it (in flight), %d after; both have all %d; "
          "cef stats %s" % (DOWN_S, len(got_rfc), EVENTS,
                            during, after, EVENTS, st))
    p.terminate()
    assert p.wait(timeout=15) == 0, p.returncode


D.main(test)
