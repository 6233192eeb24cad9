#!/usr/bin/env python3
"""doc/guide.md's rsyslog RELP recipe, run as written: rsyslog with the
guide's common part and its imrelp input, hss-forwarder with the guide's
relp output, against the simulator with --once. Only the listen address,
the port and the output file are replaced (tests/lib/guide.py).

Every event arrives once, parsed by rsyslog as RFC 5424 from hss-forwarder
(app, MSGID, the structured data naming the event_id), its MSG the event
as JSON; the hostile events (100 KB values) arrive cut to the output's
max_message_size, each as one message, marked truncated. Skipped (77)
without rsyslog's imrelp (Debian package rsyslog-relp).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import guide as G  # noqa: E402
import receivers as R  # noqa: E402
import relp as P  # noqa: E402


def test(h):
    if R.which("rsyslogd") is None:
        raise R.Skip("rsyslogd not found (Debian package rsyslog)")
    if not P._module_exists("imrelp.so"):
        raise R.Skip("rsyslog's imrelp not found (Debian package "
                     "rsyslog-relp)")
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--hostile", "--hostile-share", "0.1", "--seed", "12")
    want = h.sim_ids()
    assert len(want) > 100, len(want)
    G.run_rsyslog_recipe(h, "relp", "rsyslog-relp", "hssf-rsyslog-relp", want)


D.main(test)
