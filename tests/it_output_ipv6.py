#!/usr/bin/env python3
"""IPv6: [::1]:PORT works for tcp (rsyslog) and for TLS, where the server
certificate is checked against the IP address ::1 (subjectAltName IP)."""

import os
import socket
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 100


def main(tmp):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError as e:
        raise R.Skip("no IPv6 loopback: %s" % e)
    certs = R.make_certs(tmp)
    r = R.start_rsyslog(tmp, "tcp", host="::1")
    try:
        assert r.address.startswith("[::1]:")
        p = R.run_probe(tmp, ["-t", "tcp", "-a", r.address, "-n", str(N),
                              "-T", "20"], name="v6-tcp")
        assert p.proc.returncode == 0, p.report()
        assert "(%s)" % r.address in p.err(), p.err()
        R.wait_for(lambda: len(r.lines()) >= N, 10, what="lines")
        assert len(set(r.lines())) == N
        print("tcp %s: %d messages" % (r.address, N))
    finally:
        r.stop()
    r = R.start_rsyslog(tmp, "tls", certs, host="::1")
    try:
        p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--ca",
                              certs["ca"], "-n", str(N), "-T", "20"],
                        name="v6-tls")
        assert p.proc.returncode == 0, p.report()
        R.wait_for(lambda: len(r.lines()) >= N, 10, what="lines")
        print("tls %s: %d messages, certificate checked for IP ::1" %
              (r.address, N))
        # the same server, checked against a name it does not carry
        p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--ca",
                              certs["ca"], "--server-name", "::2", "-n",
                              "1", "-T", "3"], name="v6-tls-wrong-ip")
        assert p.proc.returncode == 1, p.report()
        assert "IP address mismatch" in p.err(), p.err()
        print("tls %s checked as ::2: refused (IP address mismatch)" %
              r.address)
    finally:
        r.stop()


R.main_wrapper(main)
