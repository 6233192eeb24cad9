#!/usr/bin/env python3
"""TLS versions and RFC 9662: a TLS 1.2 server offering only
TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is accepted (the mandatory cipher
suite is enabled by default) and everything arrives; with min_version 1.3
the same server is refused with a log line saying why, nothing
acknowledged."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 100


def main(tmp):
    certs = R.make_certs(tmp)
    r = R.start_sink(tmp, tls="server", certs=certs, max_tls="1.2",
                     ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    try:
        p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--ca",
                              certs["ca"], "-n", str(N), "-T", "20"],
                        name="tls12")
        assert p.proc.returncode == 0, p.report()
        assert "with TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" in p.err(), \
            p.err()
        frames = R.wait_for(lambda: (lambda f: len(f) >= N and f)(
            R.parse_octet_frames(r.data())), 10, what="frames")
        assert len(frames) == N
        print("TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256: %d arrived" % N)
        p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--ca",
                              certs["ca"], "--min-version", "1.3", "-n",
                              "5", "-T", "3"], name="tls13-only")
        assert p.proc.returncode == 1, p.report()
        st = p.stats()
        assert st["acked"] == 0 and st["connect_failures"] >= 1, st
        line = [x for x in p.err().splitlines() if "failed" in x][0]
        assert "TLS handshake" in line and "version" in line, line
        print("min_version 1.3 against it: %s" %
              line.split("warning: ")[1])
    finally:
        r.stop()


R.main_wrapper(main)
