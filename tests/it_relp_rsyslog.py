#!/usr/bin/env python3
"""transport: relp against rsyslog's imrelp (Debian rsyslog-relp), one
daemon run (--once) with three outputs: plain RELP; RELP over TLS to an
imrelp with tls.tlslib="openssl" (anonymous client, the server's
certificate verified); RELP over TLS to an imrelp with librelp's default
GnuTLS, which requires a client certificate (tls.authMode="name",
permitted peer client.test). Every event arrives at each receiver exactly
once, the stats (SIGUSR1) count every message acknowledged and none sent
again, and on SIGTERM the daemon closes each session and exits 0."""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import receivers as R  # noqa: E402
import relp as P  # noqa: E402

EVENTS = 1500


def test(h):
    certs = R.make_certs(h.dir)
    h.start_sim("--events", str(EVENTS), "--span", "2d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "7")
    plain = P.start_rsyslog_relp(h.dir)
    ossl = P.start_rsyslog_relp(h.dir, tls=True, certs=certs,
                                tlslib="openssl")
    gnutls = P.start_rsyslog_relp(h.dir, tls=True, certs=certs,
                                  tlslib="gnutls", auth="name")
    outs = (P.output_yaml("plain", "json", plain.address) +
            P.output_yaml("ossl", "json", ossl.address, ca=certs["ca"]) +
            P.output_yaml("gnutls", "json", gnutls.address, ca=certs["ca"],
                          cert=certs["client"], key=certs["client_key"]))
    conf = h.write_config(D.fast_source(h, page_size=500), outs)
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    p = h.spawn("-f", "-c", conf)
    for name, r in (("plain", plain), ("ossl", ossl), ("gnutls", gnutls)):
        D.wait(lambda: len(r.lines()) >= EVENTS or p.poll() is not None,
               240, "%s: %d lines" % (name, EVENTS))
        assert p.poll() is None, p.returncode
    for name in ("plain", "ossl", "gnutls"):
        D.wait(lambda: D.stats_now(h, p, name)["queued"] == 0, 30,
               "%s: nothing queued" % name)
    p.terminate()
    assert p.wait(timeout=30) == 0, p.returncode
    err = h.read("daemon.err")
    for name, r in (("plain", plain), ("ossl", ossl), ("gnutls", gnutls)):
        ids = P.json_ids(r.lines())
        counts = collections.Counter(ids)
        dup = [i for i, c in counts.items() if c > 1]
        assert set(counts) == want, (name, len(set(counts) - want),
                                     len(want - set(counts)))
        assert not dup, (name, "duplicates", dup[:3])
        assert len(ids) == EVENTS, (name, len(ids))
        st = D.output_stats(err, name)
        assert st is not None, "no stats line of %s" % name
        assert st["acked"] == EVENTS and st["resent"] == 0 and \
            st["queued"] == 0 and st["reconnects"] == 0, (name, st)
        print("%s: %d events, each once; stats %s" % (name, len(ids), st))
    for name in ("plain", "ossl", "gnutls"):
        assert 'output "%s": connected to' % name in err, err[-3000:]
    assert "with TLS" in err, err[-3000:]
    conn = [ln for ln in err.splitlines() if "RELP session open" in ln]
    assert len(conn) == 3, conn
    assert sum("with TLSv1." in ln for ln in conn) == 2, conn
    # a clean end: no session lost, refused or timed out
    for bad in ("lost:", "failed:", "answered 5", "serverclose",
                "not acknowledged in time", "no answer"):
        assert bad not in err, (bad, err[-3000:])
    for r in (plain, ossl, gnutls):
        r.stop()


D.main(test)
