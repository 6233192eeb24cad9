#!/usr/bin/env python3
"""A connection failure whose reason changes is logged whatever the attempt
number. Nothing listens on the output's port: attempts 1-3 are logged
("Connection refused"), attempt 4 is not (after 3, every 10th). Then a TLS
receiver with a certificate from another CA takes the port: the next
attempt, the 5th or later, is logged with the new reason; the attempts
after it, with that same reason, are not (until the 10th)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402


def attempts(h):
    """(attempt number, reason) of every logged failure."""
    out = []
    for ln in h.read("daemon.err").splitlines():
        m = re.search(r'output "siem": connecting to \S+ \(\S+\) failed: '
                      r'(.*); attempt (\d+), retrying', ln)
        if m:
            out.append((int(m.group(2)), m.group(1)))
    return out


def test(h):
    h.start_sim("--events", "20", "--span", "1d", "--rate-limit", "0")
    certs = R.make_certs(h.dir)
    port = D.free_port()
    conf = h.write_config(
        D.fast_source(h),
        D.output_yaml("siem", "json", "tls", "127.0.0.1:%d" % port, "lf",
                      ca=certs["ca"]))
    sink = None
    p = h.spawn("-f", "-c", conf)
    try:
        D.wait(lambda: len(attempts(h)) >= 3, 30, "3 logged failures")
        # attempt 4 comes 3.2-4.8 s after the 3rd (4 s +-20%), attempt 5
        # 6.4-9.6 s after that
        time.sleep(6)
        got = attempts(h)
        assert [n for n, _ in got] == [1, 2, 3], got
        assert all("Connection refused" in why for _, why in got), got
        assert "further failures logged every 10th attempt, and when " \
            "the reason changes" in h.read("daemon.err")
        sink = R.start_sink(h.dir, tls="wrong", certs=certs, port=port)
        D.wait(lambda: len(attempts(h)) >= 4, 60, "the new reason logged")
        n, why = attempts(h)[3]
        assert 5 <= n < 10, attempts(h)
        assert "certificate of 127.0.0.1 not accepted" in why, why
        assert "unable to get local issuer certificate" in why, why
        # the next attempt fails the same way: not logged
        st = D.stats_now(h, p, "siem")
        D.wait(lambda: D.stats_now(h, p, "siem")["failed"] > st["failed"],
               60, "one more attempt")
        got = attempts(h)
        assert len(got) == 4 or got[4][0] == 10, got
        assert sink.data() == b""
        print("logged attempts: %s" % [(n, w[:40]) for n, w in got])
        p.terminate()
        assert p.wait(timeout=15) == 0, p.returncode
    finally:
        if sink is not None:
            sink.stop()


D.main(test)
