#!/usr/bin/env python3
"""The daemon to syslog-ng 3.38 over octet-counting TCP and TLS: every event
of a simulator run (hostile values included) arrives once, and syslog-ng's
RFC 5424 parse, written as $(format-json --scope rfc5424 --scope
nv-pairs), equals the event.

One --once run, two rfc5424 outputs (tcp octet-counting; tls), each to its
own syslog-ng syslog() source. Compared with the simulator's /_sim/event
JSON: the [hss@32473] params (.SDATA.hss@32473.*) against DESIGN.md section
8's flat fields with the transformations src/event.c and
src/format_rfc5424.c document (\\u0000 and lone surrogates -> U+FFFD), MSG
as JSON against the whole event, and with the default max_message_size
(8096) a longer message (the large descriptions, the hostile 100 KB
values) shrunk as src/format_rfc5424.c documents: marked, each value whole
or cut to a prefix ending with U+2026, MSG still valid JSON (or left out
when the identity alone is too long).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

MAXSIZE = 8096      # the default (src/config.c)


def items(receiver, name):
    out = []
    for ln in receiver.lines():
        m = json.loads(ln)
        sd = m.get("_SDATA", {}).get("hss@32473")
        assert sd, "%s: syslog-ng parsed no [hss@32473] in %s" % (
            name, D.short(ln))
        assert m.get("PROGRAM") == "hss-forwarder", (name, m.get("PROGRAM"))
        # syslog-ng removes the BOM from MESSAGE
        out.append((sd, m.get("MESSAGE", ""), None))
    return out


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--hostile", "--hostile-share", "0.3", "--seed", "8")
    certs = R.make_certs(h.dir)
    rx = {m: D.start_syslogng_parsed(h.dir, m, certs) for m in ("tcp", "tls")}
    outs = (D.output_yaml("tcp", "rfc5424", "tcp", rx["tcp"].address,
                          "octet-counting")
            + D.output_yaml("tls", "rfc5424", "tls", rx["tls"].address,
                            ca=certs["ca"]))
    conf = h.write_config(D.fast_source(h), outs)
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=120)
    assert rc == 0, (rc, err[-2000:])
    ids = h.sim_ids()
    n = len(ids)
    assert n > 100, n
    events = D.sim_events(h, ids)
    D.wait(lambda: all(len(r.lines()) >= n for r in rx.values()), 30,
           "%d messages at each syslog-ng" % n)
    res = {}
    for name, r in rx.items():
        res[name] = D.check_sd(name, items(r, name), events, MAXSIZE,
                               bom=False)
        shrunk, cut = res[name]
        assert shrunk > 0 and cut > 0, (
            "%s: %d messages shrunk, %d with values cut: the test is moot"
            % (name, shrunk, cut))
    print("%d events arrived intact at syslog-ng over tcp and tls; "
          "shrunk to %d as documented (shrunk, with values cut): %s"
          % (n, MAXSIZE, res))


D.main(test)
