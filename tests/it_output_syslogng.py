#!/usr/bin/env python3
"""syslog-ng (syslog() source, octet counting) receives, byte for byte, what
output.c sends over plain TCP, TLS and mutual TLS (peer-verify
required-trusted): every message arrives exactly once with the bytes
sent, all acknowledged; mutual TLS without a client certificate gets
nothing acknowledged."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def main(tmp):
    msgs = R.probe_messages()
    R.syslogng_root()           # skips (77) when syslog-ng is unavailable
    certs = R.make_certs(tmp)
    for mode in ("tcp", "tls", "mtls"):
        r = R.start_syslogng(tmp, mode, certs)
        extra = ["-t", "tcp" if mode == "tcp" else "tls", "-f", "octet",
                 "--ca", certs["ca"]]
        if mode == "mtls":
            extra += ["--cert", certs["client"], "--key",
                      certs["client_key"]]
        try:
            if mode == "mtls":
                # without a client certificate: refused, nothing acked
                p = R.run_probe(tmp, ["-a", r.address, "-t", "tls", "--ca",
                                      certs["ca"], "-n", "10", "-T", "3"],
                                name="mtls-nocert")
                assert p.proc.returncode == 1, p.report()
                assert p.stats()["acked"] == 0, p.report()
                assert r.lines() == [], r.lines()[:3]
                print("syslog-ng-mtls: no client certificate, nothing "
                      "acknowledged")
            R.check_exact(tmp, r, msgs, "syslog-ng-" + mode, extra)
        finally:
            r.stop()


R.main_wrapper(main)
