#!/usr/bin/env python3
"""A TLS receiver the daemon must refuse: a certificate from another CA,
then an expired one, then one for another name (SAN DNS:other.test while
the daemon connects to 127.0.0.1). For each, the daemon logs a line naming
the problem, no message is acknowledged (stats: acknowledged 0), nothing
reaches the receiver, and the cursor does not move (the state file is
absent or its "end" unchanged). Then the receiver comes back with a good
certificate (same port): everything arrives and the cursor advances.

The receiver is receivers.start_sink (python ssl), restarted on the same
port with each certificate while the daemon is in its reconnect backoff
(failures 1-3 are logged, 1 s, 2 s, 4 s apart).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

# (certs key of the server certificate, what the log line must say)
BAD = [("wrong", "unable to get local issuer certificate"),
       ("expired", "certificate has expired"),
       ("mismatch", "IP address mismatch")]


def failures(h):
    return [ln for ln in h.read("daemon.err").splitlines()
            if 'output "siem": connecting to' in ln and "failed" in ln]


def refusals(h):
    """The failures of a TLS handshake (while the sink is being replaced,
    "Connection refused" lines come between them)."""
    return [ln for ln in failures(h) if "not accepted" in ln]


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--seed", "9")
    certs = R.make_certs(h.dir)
    port = D.free_port()
    conf = h.write_config(
        D.fast_source(h),
        D.output_yaml("siem", "json", "tls", "127.0.0.1:%d" % port,
                      "lf", ca=certs["ca"]))
    want = h.sim_ids()
    sink = None
    p = None
    try:
        sink = R.start_sink(h.dir, tls=BAD[0][0], certs=certs, port=port)
        p = h.spawn("-f", "-c", conf)
        end0 = "unset"
        pos, prev = 0, None
        for i, (key, why) in enumerate(BAD):
            n = i + 1

            def next_refusal():
                # the first refusal after the previous certificate's (its
                # retries, until the sink was replaced, say its reason)
                for j, ln in enumerate(refusals(h)[pos:]):
                    if prev is None or prev not in ln:
                        return (pos + j, ln)
                return None
            pos, line = D.wait(next_refusal, 30,
                               "connection failure %d (%s)" % (n, key))
            pos += 1
            prev = why
            assert why in line and "certificate of 127.0.0.1 not " \
                "accepted" in line, "%s: the log line does not say %r: " \
                "%s" % (key, why, line)
            st = D.stats_now(h, p, "siem")
            assert st["acked"] == 0 and not st["connected"], (key, st)
            assert sink.data() == b"", (key, sink.data()[:200])
            end = D.cursor_end(h)
            if end0 == "unset":
                end0 = end
            assert end == end0, "%s: the cursor moved: %s -> %s" % (
                key, end0, end)
            print("%s: refused: %s" % (key, line.split("failed: ", 1)[1]))
            sink.stop()
            nxt = BAD[n][0] if n < len(BAD) else "server"
            sink = R.start_sink(h.dir, tls=nxt, certs=certs, port=port)
        D.wait(lambda: want <= set(D.json_ids_of(sink.data())), 60,
               "every event after the good certificate")
        # the cursor passes every event (the dedupe set keeps only the
        # last lookback's ids, so "end" is what to compare)
        D.wait(lambda: D.cursor_end(h) is not None and
               (end0 is None or D.cursor_end(h) > end0) and
               not want & h.sim_ids(begin=D.cursor_end(h) + 1,
                                    end=9999999999999),
               30, "the cursor to pass every event")
        st = D.stats_now(h, p, "siem")
        assert st["acked"] >= len(want) and st["failed"] >= len(BAD), st
        print("good certificate: %d events arrived, cursor end %s -> %s, "
              "stats %s" % (len(want), end0, D.cursor_end(h), st))
        p.terminate()
        assert p.wait(timeout=15) == 0, p.returncode
    finally:
        if sink is not None:
            sink.stop()


D.main(test)
