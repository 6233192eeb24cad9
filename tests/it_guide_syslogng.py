#!/usr/bin/env python3
"""doc/guide.md's syslog-ng recipes, run as written: syslog-ng 3.38 with
the guide's syslog() source over TLS (RFC 5425, octet counting), then with
its network() source over TLS (line ends, flags(syslog-protocol)), each
with the guide's destination, and hss-forwarder with the guide's matching
output against the simulator with --once. Only the listen address, the
port, the certificate paths and the output file are replaced
(tests/lib/guide.py); `@version` goes first, as Debian's syslog-ng.conf
has it before including the guide's file.

Every event arrives once, parsed by syslog-ng as RFC 5424 from
hss-forwarder (PROGRAM, MSGID, _SDATA naming the event_id), its MESSAGE the
event as JSON; the hostile events (100 KB values, CR, LF, NUL, quotes,
brackets) arrive cut to the output's max_message_size, each as one
message, marked truncated, and syslog-ng logs no error. Skipped (77)
without syslog-ng (it conflicts with rsyslog as a Debian package:
tools/deps.sh test unpacks it).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import guide as G  # noqa: E402
import receivers as R  # noqa: E402

RECIPES = [
    ("syslog-tls", "syslog-ng-tls", "hssf-syslog-ng-tls"),
    ("network-tls", "syslog-ng-network-tls", "hssf-syslog-ng-network-tls"),
]
CERTS = (("/etc/syslog-ng/tls/server.key", "server_key"),
         ("/etc/syslog-ng/tls/server.pem", "server"))
OUTFILE = "/var/log/hss-forwarder/events.json"


def start_syslogng(tmp, name, source_name, certs):
    binp, env = R.syslogng_command()
    d = os.path.join(tmp, "syslogng-" + name)
    os.makedirs(d)
    conf = os.path.join(d, "syslog-ng.conf")
    out = os.path.join(d, "log", "events.json")
    recipe = G.snippet(source_name)

    def cmd(port):
        subs = {'ip("0.0.0.0")': 'ip("127.0.0.1")',
                "port(6514)": "port(%d)" % port, OUTFILE: out}
        subs.update((path, certs[key]) for path, key in CERTS)
        with open(conf, "w") as f:
            f.write("@version: 3.38\n" + G.substitute(recipe, subs))
        return [binp, "-F", "-e", "--no-caps", "-f", conf,
                "-R", os.path.join(d, "persist"),
                "-p", os.path.join(d, "pid"), "-c", os.path.join(d, "ctl")]

    cmd(1)
    r = R.subprocess.run([binp, "--syntax-only", "-f", conf], env=env,
                         stdout=R.subprocess.PIPE,
                         stderr=R.subprocess.STDOUT)
    assert r.returncode == 0, "syslog-ng --syntax-only: %s" % (
        r.stdout.decode(errors="replace"))
    return R._run_until_listening("syslogng-" + name, cmd, d, "127.0.0.1",
                                  out, env=env)


def records(receiver, name):
    """check_events() records from the guide's format-json lines."""
    out = []
    for ln in receiver.lines():
        m = json.loads(ln)
        sd = m.get("_SDATA", {})
        eid = None
        truncated = False
        for params in sd.values():
            eid = eid or params.get("event_id")
            truncated = truncated or "truncated" in params
        out.append((eid, m.get("PROGRAM"), m.get("MSGID"),
                    G.strip_bom(m.get("MESSAGE", "")), truncated))
    return out


def test(h):
    R.syslogng_command()        # Skip now when syslog-ng is missing
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--hostile", "--hostile-share", "0.1", "--seed", "13")
    certs = R.make_certs(h.dir)
    want = h.sim_ids()
    assert len(want) > 100, len(want)
    for name, source_name, output_name in RECIPES:
        r = start_syslogng(h.dir, name, source_name, certs)
        try:
            out = G.hssf_output(output_name, r.address, certs)
            G.run_once(h, name, G.daemon_config(h, name, out), r, want)
            cut = G.check_events(name, records(r, name), want)
            assert cut > 0, "%s: no message reached max_message_size: " \
                "the hostile events were not exercised" % name
            log = r.log().lower()
            assert "error" not in log and "truncated" not in log, (
                "%s: syslog-ng: %s" % (name, r.log()[-2000:]))
            print("%s: %d events, each once, parsed (%d cut to "
                  "max_message_size)" % (name, len(want), cut))
        finally:
            r.stop()


D.main(test)
