#!/usr/bin/env python3
"""rsyslog receives, byte for byte, what output.c sends over plain TCP
(octet counting and lf framing), TLS (gtls) and mutual TLS (x509/name):
every message arrives exactly once with the bytes sent, all acknowledged."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def messages():
    """Messages with what a formatter may emit: UTF-8, quotes, brackets,
    backslashes, '=' and a long one; none with CR/LF (lf framing)."""
    out = []
    for i in range(1, 301):
        sd = '[hss@32473 event_id="e-%d" name="a \\"q\\" \\] \\\\ b"]' % i
        body = '{"i":%d,"t":"h\u00e9llo \u4e16\u754c = | ^ <>"}' % i
        if i % 100 == 0:
            body += "x" * 6000
        out.append('<132>1 2024-05-01T10:00:00.%03dZ collector01 '
                   'hss-forwarder - login_1001 %s %s' % (i % 1000, sd, body))
    return out


def check(tmp, r, msgs, name, extra):
    path = os.path.join(tmp, name + ".in")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(msgs) + "\n")
    p = R.run_probe(tmp, ["-a", r.address, "--file", path, "-T", "30"] +
                    extra, name=name)
    if p.proc.returncode != 0 or not p.has("all acked"):
        raise AssertionError("%s: probe failed rc=%s\n%s\n%s" % (
            name, p.proc.returncode, p.report(), r.log()))
    want = [m.encode("utf-8") for m in msgs]
    R.wait_for(lambda: len(r.lines()) >= len(want), 10,
               what="%s: %d lines in %s" % (name, len(want), r.outfile))
    got = r.lines()
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise AssertionError("%s: message %d differs:\n got %r\n"
                                     "want %r" % (name, i + 1, g[:300],
                                                  w[:300]))
        raise AssertionError("%s: %d lines, want %d" % (name, len(got),
                                                        len(want)))
    st = p.stats()
    assert st["acked"] == len(msgs) and st["queue_depth"] == 0, st
    assert st["resent"] == 0 and st["truncated"] == 0, st
    print("%s: %d messages arrived exactly (%d bytes sent)" % (
        name, len(msgs), st["bytes_sent"]))


def main(tmp):
    msgs = messages()
    certs = R.make_certs(tmp)
    for mode, framing in (("tcp", "octet"), ("tcp", "lf")):
        r = R.start_rsyslog(tmp, mode)
        try:
            check(tmp, r, msgs, "tcp-" + framing, ["-t", "tcp", "-f",
                                                    framing])
        finally:
            r.stop()
    r = R.start_rsyslog(tmp, "tls", certs)
    try:
        check(tmp, r, msgs, "tls", ["-t", "tls", "--ca", certs["ca"],
                                     "-f", "octet"])
    finally:
        r.stop()
    r = R.start_rsyslog(tmp, "mtls", certs)
    try:
        check(tmp, r, msgs, "mtls", ["-t", "tls", "--ca", certs["ca"],
                                      "--cert", certs["client"], "--key",
                                      certs["client_key"], "-f", "octet"])
    finally:
        r.stop()


R.main_wrapper(main)
