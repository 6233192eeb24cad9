#!/usr/bin/env python3
"""RFC 9662 / syslog-siem.md: a TLS 1.3 server that requires a client
certificate rejects it only after the client's first writes succeeded.
Without a certificate nothing may be acknowledged (the reset and the
"certificate required" alert are detected and the messages kept); with the
right certificate every message arrives. Checked against a python (OpenSSL)
TLS 1.3 sink that checks the certificate late, and against rsyslog gtls
with authMode x509/name (no certificate; a certificate whose name is not a
permittedPeer, refused after the handshake)."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 200


def refused(tmp, r, certs, name, extra=()):
    p = R.Probe(tmp, ["-t", "tls", "-a", r.address, "--ca", certs["ca"],
                      "-n", str(N), "-T", "3", "--stats-ms", "200"] +
                list(extra), name=name)
    rc = p.wait(20)
    st = p.stats()
    assert rc == 1 and p.has("timeout"), p.report()
    assert st["acked"] == 0 and st["queue_depth"] == N, st
    assert not any(x.startswith("acked") for x in p.lines()), p.report()
    lost = [x for x in p.err().splitlines() if "lost" in x or
            "failed" in x]
    assert lost, p.report()
    print("%s: refused, nothing acknowledged; %s" % (
        name, lost[0].split("warning: ")[1][:160]))


def accepted(tmp, r, certs, name):
    p = R.run_probe(tmp, ["-t", "tls", "-a", r.address, "--ca",
                          certs["ca"], "--cert", certs["client"], "--key",
                          certs["client_key"], "-n", str(N), "-T", "20"],
                    name=name)
    assert p.proc.returncode == 0, p.report()
    assert "TLSv1.3" in p.err(), p.err()


def main(tmp):
    certs = R.make_certs(tmp)
    # the sink reads our certificate 300 ms late: our first records are
    # TCP-acknowledged long before the rejection
    r = R.start_sink(tmp, tls="server", require_client_cert=True,
                     min_tls="1.3", certs=certs, slow_verify_ms=300)
    try:
        refused(tmp, r, certs, "python-tls13")
        assert "CERTIFICATE_REQUIRED" in r.log() or \
            "certificate" in r.log(), r.log()
        assert r.data() == b"", r.data()[:100]
        accepted(tmp, r, certs, "python-tls13-cert")
        frames = R.wait_for(lambda: (lambda f: len(f) >= N and f)(
            R.parse_octet_frames(r.data())), 10, what="frames")
        assert len(frames) == N, len(frames)
        print("python-tls13: with the certificate all %d arrived" % N)
    finally:
        r.stop()
    r = R.start_rsyslog(tmp, "mtls", certs)
    try:
        refused(tmp, r, certs, "rsyslog-mtls")
        accepted(tmp, r, certs, "rsyslog-mtls-cert")
        R.wait_for(lambda: len(r.lines()) >= N, 10, what="lines")
        assert len(set(r.lines())) == N
        print("rsyslog-mtls: with the certificate all %d arrived" % N)
    finally:
        r.stop()
    # a certificate the CA signed for a name rsyslog does not permit: the
    # check happens after the handshake, after our first writes
    r = R.start_rsyslog(tmp, "mtls", certs, permitted_peer="someone.else")
    try:
        refused(tmp, r, certs, "rsyslog-wrong-peer",
                ["--cert", certs["client"], "--key", certs["client_key"]])
        assert r.lines() == [], r.lines()[:3]
    finally:
        r.stop()


R.main_wrapper(main)
