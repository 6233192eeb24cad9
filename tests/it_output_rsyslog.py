#!/usr/bin/env python3
"""rsyslog receives, byte for byte, what output.c sends over plain TCP
(octet counting and lf framing), TLS (gtls) and mutual TLS (x509/name):
every message arrives exactly once with the bytes sent, all acknowledged."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def main(tmp):
    msgs = R.probe_messages()
    certs = R.make_certs(tmp)
    for mode, framing in (("tcp", "octet"), ("tcp", "lf")):
        r = R.start_rsyslog(tmp, mode)
        try:
            R.check_exact(tmp, r, msgs, "tcp-" + framing,
                          ["-t", "tcp", "-f", framing])
        finally:
            r.stop()
    r = R.start_rsyslog(tmp, "tls", certs)
    try:
        R.check_exact(tmp, r, msgs, "tls",
                      ["-t", "tls", "--ca", certs["ca"], "-f", "octet"])
    finally:
        r.stop()
    r = R.start_rsyslog(tmp, "mtls", certs)
    try:
        R.check_exact(tmp, r, msgs, "mtls",
                      ["-t", "tls", "--ca", certs["ca"], "--cert",
                       certs["client"], "--key", certs["client_key"],
                       "-f", "octet"])
    finally:
        r.stop()


R.main_wrapper(main)
