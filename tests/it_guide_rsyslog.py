#!/usr/bin/env python3
"""doc/guide.md's rsyslog recipes, run as written: rsyslog with the guide's
common part and one input (plain TCP; TLS with gtls; TLS with ossl; mutual
TLS), hss-forwarder with the guide's matching output, against the
simulator with --once. Only the listen address, the port, the certificate
paths and the output file are replaced (tests/lib/guide.py).

Every event of the run arrives once, parsed by rsyslog as RFC 5424 from
hss-forwarder (app, MSGID, the structured data naming the event_id) and
written by the guide's JSON template, its MSG the event as JSON; the
hostile events (100 KB values) arrive cut to the guide's 64 KiB, each as
one message, marked truncated, and rsyslog reports no oversize message.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import guide as G  # noqa: E402
import receivers as R  # noqa: E402

# (name, rsyslog input snippet, hss-forwarder output snippet)
RECIPES = [
    ("tcp", "rsyslog-tcp", "hssf-rsyslog-tcp"),
    ("gtls", "rsyslog-tls-gtls", "hssf-rsyslog-tls"),
    ("ossl", "rsyslog-tls-ossl", "hssf-rsyslog-tls"),
    ("mtls", "rsyslog-mtls", "hssf-rsyslog-mtls"),
]


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--hostile", "--hostile-share", "0.1", "--seed", "11")
    certs = R.make_certs(h.dir)
    client = G.client_cert(h.dir, certs)
    want = h.sim_ids()
    assert len(want) > 100, len(want)
    for name, input_name, output_name in RECIPES:
        G.run_rsyslog_recipe(h, name, input_name, output_name, want, certs,
                             client if name == "mtls" else None)


D.main(test)
