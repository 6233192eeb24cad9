#!/usr/bin/env python3
"""TLS verification: a receiver (rsyslog, gtls) presenting a certificate
from an unknown CA, an expired one, or one for another name is refused
with a log line naming the problem and nothing is acknowledged; once the
receiver is restarted with a good certificate every message gets through
on the same run. verify=false connects anyway with a warning per connect.
The address is given as localhost:PORT, so names go through the resolver."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 50
CASES = (
    ("wrong", "unable to get local issuer certificate"),
    ("expired", "certificate has expired"),
    ("mismatch", "hostname mismatch"),
)


def main(tmp):
    certs = R.make_certs(tmp)
    for bad, words in CASES:
        r = R.start_rsyslog(tmp, "tls", certs, server=bad)
        p = R.Probe(tmp, ["-t", "tls", "-a", "localhost:%d" % r.port,
                          "--ca", certs["ca"], "-n", str(N), "-T", "30"],
                    name="probe-" + bad)
        try:
            R.wait_for(lambda: words in p.err(), 15,
                       what="'%s' in the log" % words)
            line = [x for x in p.err().splitlines() if words in x][0]
            assert "certificate of localhost not accepted" in line, line
            assert "retrying in" in line, line
            assert not any(x.startswith("acked") for x in p.lines()), \
                p.report()
            print("%s: refused: %s" % (bad, line.split("warning: ")[1]))
            r.stop()
            good = R.start_rsyslog(tmp, "tls", certs, port=r.port)
            try:
                rc = p.wait(30)
                assert rc == 0, "rc %s\n%s" % (rc, p.report())
                st = p.stats()
                assert st["acked"] == N and st["connect_failures"] >= 1, st
                R.wait_for(lambda: len(good.lines()) >= N, 10,
                           what="%d lines" % N)
                assert len(set(good.lines())) == N, good.lines()[:3]
                print("%s: after the fix all %d acknowledged "
                      "(connect_failures=%d)" % (bad, N,
                                                 st["connect_failures"]))
            finally:
                good.stop()
        except Exception:
            print(p.report())
            raise
        finally:
            p.stop()
            r.stop()
    # verify: false talks to the wrong-CA receiver, warning at every connect
    r = R.start_rsyslog(tmp, "tls", certs, server="wrong")
    try:
        p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--no-verify",
                              "-n", str(N), "-T", "20"], name="noverify")
        assert p.proc.returncode == 0, p.report()
        assert "NOT verified" in p.err(), p.err()
        print("verify=false: delivered with a warning")
    finally:
        r.stop()


R.main_wrapper(main)
