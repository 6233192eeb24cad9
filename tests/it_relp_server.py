#!/usr/bin/env python3
"""The RELP test receivers (tests/lib/relp.py) and the RELP engine
(src/relp.c, driven by tests/relp-probe): against rsyslog's imrelp, plain
and TLS (GnuTLS and OpenSSL), every message arrives once, byte for byte,
each answered 200; against the test's own server, a receiver that closes
with messages unanswered, answers 500 or sends serverclose loses nothing:
every unanswered message is sent again, and the server saw no protocol
error."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402
import relp as P  # noqa: E402

N = 500


def probe(tmp, name, port, args):
    """Run relp-probe; returns (returncode, stdout lines, stats dict)."""
    out = os.path.join(tmp, name + ".out")
    with open(out, "wb") as f:
        rc = subprocess.run([P.relp_probe_path(), "-p", str(port), "-T",
                             "60"] + args, stdout=f,
                            stderr=subprocess.STDOUT, timeout=90).returncode
    with open(out, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    st = {}
    for ln in lines:
        if ln.startswith("stats "):
            st = dict((k, int(v)) for k, v in
                      (kv.split("=") for kv in ln.split()[1:]))
    return rc, lines, st


def generated(n):
    return [b"relp-probe message %d" % i for i in range(1, n + 1)]


def check_rsyslog(tmp, name, msgs_path, want, **kw):
    r = P.start_rsyslog_relp(tmp, **kw)
    try:
        args = ["-f", msgs_path, "-w", "32"]
        if kw.get("tls"):
            args += ["--tls", "--ca", kw["certs"]["ca"]]
        if kw.get("auth"):
            args += ["--cert", kw["certs"]["client"], "--key",
                     kw["certs"]["client_key"]]
        rc, lines, st = probe(tmp, name, r.port, args)
        assert rc == 0, "%s: probe rc %d\n%s\n%s" % (name, rc,
                                                    "\n".join(lines[-20:]),
                                                    r.log())
        # one connection, opened, closed; every message answered 200 once
        assert lines[:2] == ["connected 1", "opened"], lines[:5]
        assert "closed" in lines, lines[-5:]
        assert st == {"sent": len(want), "acked": len(want), "resent": 0,
                      "connections": 1, "maxinflight": st["maxinflight"]}, st
        assert 1 <= st["maxinflight"] <= 32, st
        R.wait_for(lambda: len(r.lines()) >= len(want), 15,
                   what="%s: %d lines" % (name, len(want)))
        got = r.lines()
        assert len(got) == len(want), (name, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, "%s: message %d:\n got %r\nwant %r" % (
                name, i + 1, g[:200], w[:200])
        print("%s: %d messages, each once, byte for byte" % (name,
                                                             len(want)))
    finally:
        r.stop()


def check_own(tmp, name, srv_kw, args=(), want_lost=0):
    """relp-probe sends N messages to RelpServer(**srv_kw): all answered
    200 exactly once (from the server's view), every unanswered one sent
    again; returns (server, stats)."""
    srv = P.RelpServer(tmp, **srv_kw)
    try:
        rc, lines, st = probe(tmp, name, srv.port,
                              ["-n", str(N), "-w", "16"] + list(args))
    finally:
        srv.stop()
    assert srv.errors == [], (name, srv.errors)
    assert rc == 0, "%s: probe rc %d\n%s" % (name, rc, "\n".join(lines))
    ans = srv.answered()
    rec = srv.received()
    assert sorted(ans) == sorted(generated(N)), (
        name, len(ans), len(set(ans)))
    # what the server read is what was sent, but for frames still on the
    # wire when a connection was dropped
    assert st["acked"] == N and st["sent"] >= len(rec), (name, st, len(rec))
    assert st["resent"] == st["sent"] - N, (name, st)
    print("%s: %d delivered once, %d sent again, %d connections" % (
        name, N, st["resent"], st["connections"]))
    return srv, st, lines


def main(tmp):
    certs = R.make_certs(tmp)
    # -- the test server itself
    srv, st, _ = check_own(tmp, "plain", {})
    assert st["resent"] == 0 and st["connections"] == 1, st
    assert [e[0] for e in srv.events] == ["open", "close"], srv.events
    assert b"relp_version=0\nrelp_software=relp-probe,1\ncommands=syslog" \
        == srv.events[0][2], srv.events[0]

    srv, st, _ = check_own(tmp, "tls", {"tls": "server", "certs": certs},
                           ["--tls", "--ca", certs["ca"]])
    assert st["resent"] == 0 and st["connections"] == 1, st

    # answers in reverse order within each chunk
    srv, st, _ = check_own(tmp, "reverse", {"reverse": True})
    assert st["resent"] == 0 and st["connections"] == 1, st

    # 3 connections read 30, answer 20 and close: the 10 read but
    # unanswered ones (and any still on the wire) come again
    srv, st, _ = check_own(tmp, "drop", {"fault": ("drop", 30, 20),
                                         "times": 3})
    assert st["connections"] == 4 and st["resent"] >= 3 * 10, st
    assert [e[2] for e in srv.events if e[0] == "drop"] == [30] * 3

    # the window stalls before K: dropped after 1 s without data; exactly
    # the window (16) unanswered each time
    srv, st, _ = check_own(tmp, "drop-stall", {"fault": ("drop", 50, 20),
                                               "times": 2})
    assert st["connections"] == 3 and st["resent"] == 2 * 16, st

    # rsp 500: only the rejected message is sent again (graceful close)
    srv, st, lines = check_own(tmp, "reject", {"fault": ("reject", 7),
                                               "times": 3})
    assert st["connections"] == 4 and st["resent"] == 3, st
    rej = [ln for ln in lines if ln.startswith("reject ")]
    # the 7th message of each connection: message 7 first, then whatever
    # the window had let through before the reject arrived
    assert len(rej) == 3 and rej[0] == "reject 7 500 test rejects", rej
    assert all(ln.endswith(" 500 test rejects") for ln in rej), rej

    # serverclose after 30 answers
    srv, st, lines = check_own(tmp, "serverclose",
                               {"fault": ("serverclose", 30), "times": 2})
    assert st["connections"] == 3 and lines.count("serverclose") == 2, st
    assert st["resent"] <= 2 * 16, st

    # an open refused: the probe reports it in words and gives up
    srv = P.RelpServer(tmp, open_reply=b"500 not today")
    try:
        rc, lines, st = probe(tmp, "refused", srv.port, ["-n", "3", "-c",
                                                         "2"])
    finally:
        srv.stop()
    assert rc == 1 and srv.received() == [], (rc, lines)
    assert lines.count("error the server refused the session: 500 not "
                       "today") == 2, lines

    rsyslog_part(tmp, certs)


def rsyslog_part(tmp, certs):
    """rsyslog imrelp, the real thing."""
    msgs = [m.encode("utf-8") for m in R.probe_messages()]
    path = os.path.join(tmp, "msgs.txt")
    with open(path, "wb") as f:
        f.write(b"\n".join(msgs) + b"\n")
    check_rsyslog(tmp, "imrelp", path, msgs)
    # librelp with GnuTLS (its default) wants a client certificate
    check_rsyslog(tmp, "imrelp-tls-gnutls-name", path, msgs, tls=True,
                  certs=certs, auth="name")
    check_rsyslog(tmp, "imrelp-tls-gnutls-certvalid", path, msgs, tls=True,
                  certs=certs, auth="certvalid")
    # with OpenSSL, anonymous clients too
    check_rsyslog(tmp, "imrelp-tls-openssl", path, msgs, tls=True,
                  certs=certs, tlslib="openssl")
    check_rsyslog(tmp, "imrelp-tls-openssl-name", path, msgs, tls=True,
                  certs=certs, tlslib="openssl", auth="name")
    # GnuTLS without a client certificate: refused, nothing delivered
    r = P.start_rsyslog_relp(tmp, tls=True, certs=certs)
    try:
        rc, lines, st = probe(tmp, "gnutls-anon", r.port,
                              ["-n", "3", "-c", "2", "--tls", "--ca",
                               certs["ca"]])
        assert rc == 1 and "opened" not in lines, lines
        assert st["acked"] == 0 and r.lines() == [], (st, r.lines())
        assert "peer did not provide a certificate" in r.log(), r.log()
        print("imrelp-tls-gnutls-anon: refused, as librelp does")
    finally:
        r.stop()
    restarts(tmp)


def restarts(tmp):
    """20,000 messages while rsyslog is stopped (SIGTERM) and started 5
    times: every message arrives (duplicates allowed: at least once)."""
    n = 20000
    r = P.start_rsyslog_relp(tmp)
    out = os.path.join(tmp, "restarts.out")
    f = open(out, "wb")
    proc = subprocess.Popen([P.relp_probe_path(), "-p", str(r.port), "-n",
                             str(n), "-s", "300", "-c", "100000", "-T",
                             "120"], stdout=f, stderr=subprocess.STDOUT)
    R._started.append(proc)
    f.close()
    try:
        for k in range(1, 6):
            R.wait_for(lambda: len(r.lines()) >= k * n // 7, 60,
                       what="%d lines before restart %d" % (k * n // 7, k))
            r.restart()
        rc = proc.wait(150)
        with open(out, "rb") as f:
            lines = f.read().decode().splitlines()
        assert rc == 0, "\n".join(lines[-30:])
        want = set(generated(n))
        R.wait_for(lambda: want <= set(ln[:ln.index(b"x")] if b"x" in ln
                                       else ln for ln in r.lines()),
                   15, what="all %d messages in %s" % (n, r.outfile))
        got = r.lines()
        print("imrelp restarted 5 times: %d of %d arrived, %d twice, "
              "%s" % (n, n, len(got) - n, lines[-1]))
    finally:
        R.stop(proc)
        r.stop()


R.main_wrapper(main)
