#!/usr/bin/env python3
"""The daemon to rsyslog over plain TCP (octet counting and lf), TLS and
mutual TLS: every event of a simulator run (hostile values included)
arrives, and what rsyslog parses equals the event.

One --once run, five outputs, four rsyslogd (imtcp; gtls; x509/name):
  oct   rfc5424 tcp octet-counting      -> rsyslog tcp
  lf    rfc5424 tcp lf                  -> rsyslog tcp #2
  cef   cef     tcp lf                  -> rsyslog tcp #2
  tls   rfc5424 tls                     -> rsyslog tls
  mtls  rfc5424 tls + client cert       -> rsyslog mtls
Each output has its own APP-NAME (cef: rsyslog's msg starts with "CEF:").

Compared with the simulator's /_sim/event JSON (the oracle):
 - mmpstrucdata's [hss@32473] params (sd_name.lowercase off) against the
   flat fields of DESIGN.md section 8, with the transformations
   src/event.c and src/format_rfc5424.c document: \\u0000 and lone
   surrogates -> U+FFFD; with lf framing CR/LF -> the visible \\n / \\r;
 - MSG (after the BOM) parsed as JSON against the whole event;
 - rfc5424 outputs have max_message_size 32000 (see MAXSIZE): a longer
   message is shrunk as src/format_rfc5424.c documents: marked
   (truncated="true" original_size="N", "_hss" in MSG), each value whole
   or cut to a prefix ending with U+2026, MSG still valid JSON (left out
   when the event's identity alone is too long);
 - mmnormalize's CEF extension (rule=:%cef:cef%, the liblognorm #363 space
   re-inserted) against src/format_cef.c's table: values cut to the
   documented maximum on a character boundary, control characters other
   than CR/LF -> space.
The hostile events (--hostile-share 0.3) carry | \\ = ] " CR LF NUL and a
lone surrogate in their strings, and 100 KB appended to one field.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import receivers as R  # noqa: E402
import daemon_siem as D  # noqa: E402

# rsyslog's mmpstrucdata copies a PARAM-VALUE into a 32 KiB stack buffer
# unchecked (CVE-2026-61548, rsyslog < 8.2606.0; Debian 12 has 8.2302):
# messages stay below that, so the hostile 100 KB values are truncated.
MAXSIZE = 32000
SMALL = "    max_message_size: %d\n" % MAXSIZE


def app(name):
    return "    app_name: %s\n" % name


def by_app(lines, name):
    return [ln for ln in lines if ln.get("app") == name]


def check_sd(name, msgs, events, lf=False):
    """rsyslog's parse of each message -> daemon_siem.check_sd."""
    items = []
    for m in msgs:
        sd = m["all"].get("rfc5424-sd", {}).get("hss@32473")
        assert sd, "%s: rsyslog parsed no [hss@32473] in %s" % (
            name, D.short(m["rawmsg"]))
        items.append((sd, m["msg"], len(m["rawmsg"].encode("utf-8"))))
    return D.check_sd(name, items, events, MAXSIZE, lf=lf)


def check_cef(msgs, events):
    seen = set()
    for m in msgs:
        cef = m["all"].get("cef")
        assert cef, "cef: mmnormalize did not parse %s" % D.short(m["msg"])
        ext = cef["Extensions"]
        eid = ext.get("externalId")
        assert eid in events and eid not in seen, (
            "cef: unknown or repeated externalId %s" % D.short(eid))
        seen.add(eid)
        ev = events[eid]
        bad = D.diff_fields(ext, D.cef_expected(ev))
        assert not bad, "cef: event %s: extension differs: %s" % (
            eid, [(k, D.short(g), D.short(w)) for k, g, w in bad])
        want_name = D.cef_value(ev["event_name"], 512).replace(
            "\r", " ").replace("\n", " ")
        assert cef["Name"] == want_name, "cef: %s: Name %s, want %s" % (
            eid, D.short(cef["Name"]), D.short(want_name))
        assert cef["SignatureID"] == str(ev["event_type"]), cef
        sev = {"Critical": "10", "High": "8", "Medium": "5", "Low": "3",
               "Security": "1"}[ev["severity"]]
        assert (cef["DeviceVendor"], cef["DeviceProduct"], cef["Severity"]) \
            == ("Huawei", "HSS", sev), cef
    missing = set(events) - seen
    assert not missing, "cef: %d events missing, e.g. %s" % (
        len(missing), sorted(missing)[:3])


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0",
                "--hostile", "--hostile-share", "0.3", "--seed", "7")
    certs = R.make_certs(h.dir)
    rx = {m: D.start_rsyslog_parsed(h.dir, m, certs)
          for m in ("tcp", "tls", "mtls")}
    rx["tcp2"] = D.start_rsyslog_parsed(h.dir, "tcp")
    try:
        outs = (D.output_yaml("oct", "rfc5424", "tcp", rx["tcp"].address,
                              "octet-counting", extra=SMALL + app("oct"))
                + D.output_yaml("lf", "rfc5424", "tcp", rx["tcp2"].address,
                                "lf", extra=SMALL + app("lf"))
                + D.output_yaml("cef", "cef", "tcp", rx["tcp2"].address,
                                extra=SMALL + app("cef"))
                + D.output_yaml("tls", "rfc5424", "tls", rx["tls"].address,
                                ca=certs["ca"], extra=SMALL + app("tls"))
                + D.output_yaml("mtls", "rfc5424", "tls", rx["mtls"].address,
                                ca=certs["ca"], cert=certs["client"],
                                key=certs["client_key"],
                                extra=SMALL + app("mtls")))
        conf = h.write_config(D.fast_source(h), outs)
        rc, out, err = h.run("-f", "--once", "-c", conf, timeout=120)
        assert rc == 0, (rc, err[-2000:])
        ids = h.sim_ids()
        assert len(ids) > 100, len(ids)
        events = D.sim_events(h, ids)
        hostile = [i for i in ids if h.sim_get("/_sim/event-meta?id=" + i)
                   ["hostile"]]
        assert len(hostile) >= 20, "only %d hostile events" % len(hostile)
        n = len(ids)
        # --once exits after every byte was TCP-acknowledged; rsyslog may
        # still be writing its file.
        D.wait(lambda: len(rx["tcp"].lines()) >= n and
               len(rx["tcp2"].lines()) >= 2 * n and
               len(rx["tls"].lines()) >= n and len(rx["mtls"].lines()) >= n,
               30, "%d messages at each receiver" % n)
        tcp, tcp2 = D.json_lines(rx["tcp"]), D.json_lines(rx["tcp2"])
        res = {}
        res["oct"] = check_sd("oct", tcp, events)
        res["lf"] = check_sd("lf", by_app(tcp2, "lf"), events, lf=True)
        res["tls"] = check_sd("tls", D.json_lines(rx["tls"]), events)
        res["mtls"] = check_sd("mtls", D.json_lines(rx["mtls"]), events)
        for k, (shrunk, cut) in res.items():
            assert shrunk > 0 and cut > 0, (
                "%s: %d messages shrunk, %d with values cut: the test is "
                "moot" % (k, shrunk, cut))
        cefs = [m for m in tcp2 if m["msg"].startswith("CEF:")]
        check_cef(cefs, events)
        print("%d events (%d hostile) arrived intact over tcp octet/lf, "
              "tls, mtls and as CEF; shrunk to %d as documented "
              "(shrunk, with values cut): %s" % (
                  n, len(hostile), MAXSIZE, res))
    finally:
        for r in rx.values():
            r.stop()


D.main(test)
