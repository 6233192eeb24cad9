#!/usr/bin/env python3
"""--check tests the whole path and changes nothing.

Passing: against the simulator and receivers of every kind (a TLS sink, a
plain TCP sink, a RELP server, a UDP address, standard output) it exits 0
with one OK line per item, in order; it made exactly one signed events
request (the last minute, offset 0, limit 10) and reports the simulator's
own count for that window; each receiver saw a connection and no byte of
an event: the TLS sink saw close_notify (a clean close), the RELP server an
open then a close and no message; no state file was created.

Failing: a source with a wrong secret key, a TLS output whose ca_file does
not sign the receiver's certificate, a TCP output to a closed port and a
corrupt state file: exit 1, each failing item named with the reason in
words (the API's error code and message, the TLS verify error, the
connection error, the corruption), the other items still checked and OK,
and the corrupt state file left as it was (not moved aside).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402
import relp as P  # noqa: E402


def check(h, conf, name):
    rc, out, err = h.run("--check", "-c", conf, timeout=60,
                         stdout_name=name + ".out", stderr_name=name + ".err")
    return rc, out.splitlines(), err


def events_requests(h):
    return [r for r in h.sim_get("/_sim/requests")
            if (r.get("path") or "").endswith("/event/events")]


def passing(h, certs):
    tls = D.Sink(h.dir, certs=certs)
    tcp = D.Sink(h.dir)
    relp = P.RelpServer(h.dir)
    udp_port = D.free_port()
    outputs = (D.output_yaml("siem-tls", "rfc5424", "tls", tls.address,
                             ca=certs["ca"]) +
               D.output_yaml("siem-tcp", "json", "tcp", tcp.address) +
               "  - name: siem-relp\n    format: rfc5424\n"
               "    transport: relp\n    address: %s\n" % relp.address +
               "  - name: siem-udp\n    format: json\n    transport: udp\n"
               "    address: 127.0.0.1:%d\n" % udp_port +
               h.stdout_output("json", "console"))
    conf = h.write_config(D.fast_source(h, "prod"), outputs)
    h.sim_post("/_sim/reset-stats", {})
    rc, lines, err = check(h, conf, "pass")
    try:
        assert rc == 0, (rc, lines, err)
        state = os.path.join(h.dir, "state")
        reqs = events_requests(h)
        assert len(reqs) == 1, reqs
        q = reqs[0]
        assert q["status"] == 200 and q["offset"] == 0 and \
            q["limit"] == 10, q
        assert q["end_time"] - q["begin_time"] == 60000, q
        n = len(h.sim_ids(begin=q["begin_time"], end=q["end_time"]))
        want = [
            "config %s: OK (1 source, 5 outputs)" % conf,
            "state directory %s: OK (writable; no hss-forwarder holds it)"
            % state,
            'cursor "prod": OK (no state file yet: the first start reads '
            'from now - backfill, 3d0h back)',
            'source "prod": API OK (HTTP 200, %d event%s in the last '
            'minute)' % (n, "" if n == 1 else "s"),
            'output "siem-tls": OK (tls to %s: connected with TLSv1.3, '
            'certificate verified, closed with close_notify without '
            'sending anything)' % tls.address,
            'output "siem-tcp": OK (tcp to %s: connected, closed without '
            'sending anything)' % tcp.address,
            'output "siem-relp": OK (relp to %s: connected, RELP session '
            'opened, closed without sending anything)' % relp.address,
            'output "siem-udp": OK (udp to 127.0.0.1:%d: the name resolves '
            'and a route exists (connect()); whether a receiver listens '
            'cannot be checked without sending a datagram, and none is '
            'sent)' % udp_port,
            'output "console": OK (standard output: nothing to connect to)',
            "check: all 9 items OK",
        ]
        assert lines == want, "\n".join(
            "%s\n   want %s" % (g, w) for g, w in zip(lines, want)
            if g != w) or (lines, want)
        assert os.listdir(state) == [], os.listdir(state)
        # The TLS sink logs "close N clean" only after a close_notify.
        ev = D.wait(lambda: [e for e in tls.events() if e.startswith(
            "close ")], 10, "the TLS sink's close")
        assert len(ev) == 1 and ev[0].endswith(" clean"), tls.events()
        assert tls.received() == 0 and len(tls.conn_files()) == 1, \
            tls.events()
        D.wait(lambda: [e for e in tcp.events() if e.startswith("close ")],
               10, "the TCP sink's close")
        assert tcp.received() == 0 and len(tcp.conn_files()) == 1, \
            tcp.events()
        D.wait(lambda: any(e[0] == "close" for e in relp.events), 10,
               "the RELP close")
        kinds = [e[0] for e in relp.events]
        assert kinds[:2] == ["open", "close"], relp.events
        assert relp.received() == [] and relp.errors == [], \
            (relp.received(), relp.errors)
    finally:
        relp.stop()
        tls.stop()
        tcp.stop()


def failing(h, certs):
    os.environ["TEST_WRONG_SK"] = "not-the-secret-key"
    tls = D.Sink(h.dir, certs=certs)
    tcp = D.Sink(h.dir)
    closed = D.free_port()
    bad = h.source_yaml("badkey", "host", "    backfill: 1h\n").replace(
        "TEST_HSS_SK", "TEST_WRONG_SK")
    conf = h.write_config(
        D.fast_source(h, "good") + bad,
        D.output_yaml("wrongca", "json", "tls", tls.address,
                      ca=certs["wrong_ca"]) +
        D.output_yaml("closed", "json", "tcp", "127.0.0.1:%d" % closed) +
        D.output_yaml("fine", "json", "tcp", tcp.address),
        name="failing.yaml")
    state = os.path.join(h.dir, "state")
    corrupt = os.path.join(state, "good.json")
    with open(corrupt, "w") as f:
        f.write('{"version":1,"source":"good",')
    try:
        rc, lines, err = check(h, conf, "fail")
        assert rc == 1, (rc, lines, err)
        assert len(lines) == 10, lines
        assert lines[0] == "config %s: OK (2 sources, 3 outputs)" % conf, \
            lines
        assert lines[1].startswith("state directory %s: OK" % state), lines
        assert lines[2].startswith('cursor "good": FAIL: %s is corrupt '
                                   '(not valid JSON' % corrupt), lines
        assert lines[2].endswith("the daemon would move it aside and read "
                                 "again from now - lookback - backfill"), \
            lines
        assert lines[3] == 'cursor "badkey": OK (no state file yet: the ' \
            'first start reads from now - backfill, 1h0m back)', lines
        assert lines[4].startswith('source "good": API OK (HTTP 200, '), \
            lines
        assert lines[5].startswith(
            'source "badkey": API FAIL: authentication refused: HTTP 401 '
            'APIG.0301: Incorrect IAM authentication information: verify '
            'aksk signature fail'), lines
        assert lines[6].startswith(
            'output "wrongca": FAIL: connecting to %s: TLS handshake: '
            'certificate of 127.0.0.1 not accepted: unable to get local '
            'issuer certificate' % tls.address), lines
        assert lines[7] == 'output "closed": FAIL: connecting to ' \
            '127.0.0.1:%d: Connection refused' % closed, lines
        assert lines[8] == 'output "fine": OK (tcp to %s: connected, ' \
            'closed without sending anything)' % tcp.address, lines
        assert lines[9] == "check: 4 of 9 items FAILED", lines
        assert sorted(os.listdir(state)) == ["good.json"], \
            os.listdir(state)
        with open(corrupt) as f:
            assert f.read() == '{"version":1,"source":"good",'
        assert tls.received() == 0, tls.events()
        assert tcp.received() == 0, tcp.events()
    finally:
        tls.stop()
        tcp.stop()


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--live-rate", "30",
                "--seed", "5")
    certs = R.make_certs(h.dir)
    passing(h, certs)
    h.sim_post("/_sim/reset-limits", {})
    failing(h, certs)


D.main(test)
