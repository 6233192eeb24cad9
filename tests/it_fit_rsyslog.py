#!/usr/bin/env python3
"""Messages fit a stock rsyslog: rsyslogd with no maxMessageSize (its
default, 8096 bytes, which imtcp and imrelp apply) receives every event of
a simulator run as exactly one message, from five outputs (four without
rsyslog-relp) at their default max_message_size:
  oct   rfc5424 tcp octet-counting  -> imtcp
  lf    rfc5424 tcp lf              -> imtcp
  cef   cef     tcp lf              -> imtcp
  leef  leef    tcp lf              -> imtcp (default 4096: QRadar's)
  relp  rfc5424 relp                -> imrelp (when rsyslog-relp is there)
The simulator's events are 3 to 17 KB as RFC 5424 (about one in twelve over
8096 bytes: long descriptions and command lines) and the hostile ones
(--hostile-share 0.1) carry 100 KB in one field. Checked:
 - rsyslog wrote exactly one message per event and output and nothing else
   (a split message would add a message of its own) and never logged an
   oversize message; each one parses (mmpstrucdata, mmnormalize), its
   event_id is one of the run's, once per output;
 - an rfc5424 or cef message not marked is the whole event; a marked one
   would have passed its limit (original_size > 8096, 4096 for leef) and
   is shrunk as src/format_rfc5424.c, src/format_cef.c and
   src/format_leef.c document (values whole or cut to a prefix ending with
   U+2026, MSG valid JSON, CEF hssTruncated/hssOriginalSize, LEEF
   hss_truncated/hss_original_size);
 - the daemon's truncated counters equal the marked messages: each
   output's, and the source's (the sum over the outputs).
"""
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import receivers as R  # noqa: E402

LIMIT = 8096        # rsyslog's default maxMessageSize, our default
LEEF_LIMIT = 4096   # our default for leef (QRadar's)
EVENTS = 400


def imrelp_present():
    return any(os.path.exists(os.path.join(d, "imrelp.so")) for d in (
        "/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog",
        "/usr/lib64/rsyslog"))


def start_rsyslog_stock(tmpdir, relp_port):
    """rsyslogd with the stock message size (no maxMessageSize, no
    maxFrameSize, no maxDataSize): imtcp on a free port, imrelp on
    relp_port (None: none), one JSON line per message as in
    daemon_siem.start_rsyslog_parsed. Control characters are kept as
    received, so that rawmsg is the message as sent."""
    rsyslogd = R.which("rsyslogd")
    if rsyslogd is None:
        raise R.Skip("rsyslogd not found (Debian packages rsyslog)")
    d = os.path.join(tmpdir, "rsyslog-stock")
    os.makedirs(os.path.join(d, "work"))
    out = os.path.join(d, "out.json")
    conf = os.path.join(d, "rsyslog.conf")
    with open(os.path.join(d, "cef.rb"), "w") as f:
        f.write("version=2\nrule=:%cef:cef%\n")

    def cmd(p):
        lines = [
            'global(workDirectory="%s" '
            'parser.escapeControlCharactersOnReceive="off")'
            % os.path.join(d, "work"),
            'module(load="imtcp")',
            'module(load="mmpstrucdata")',
            'module(load="mmnormalize")',
        ] + D.rsyslog_parsed_rules(os.path.join(d, "cef.rb"), out) + [
            'input(type="imtcp" port="%d" address="127.0.0.1" ruleset="r")'
            % p,
        ]
        if relp_port:
            lines += ['module(load="imrelp")',
                      'input(type="imrelp" port="%d" address="127.0.0.1" '
                      'ruleset="r")' % relp_port]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(d, "pid")]

    cmd(1)
    R.rsyslog_validate(rsyslogd, conf)
    r = R._run_until_listening("rsyslog-stock", cmd, d, "127.0.0.1", out)
    if relp_port:
        R.wait_listen(relp_port, r.proc)
    return r


def output(name, fmt, transport, address, framing=None):
    y = ("  - name: %s\n    format: %s\n    transport: %s\n    address: %s\n"
         "    app_name: %s\n" % (name, fmt, transport, address, name))
    if framing:
        y += "    framing: %s\n" % framing
    return y


def messages(rx):
    """rsyslog's JSON lines (a message split inside a UTF-8 sequence leaves
    invalid UTF-8: kept as surrogate escapes, so that it is counted)."""
    return [json.loads(ln.decode("utf-8", "surrogateescape"))
            for ln in rx.lines()]


def count(rx, app):
    """Messages of APP-NAME app written so far."""
    return rx.data().count(b'{"app":"%s",' % app.encode())


_SOURCE_RE = re.compile(r'stats: source "src1": .*?, truncated (\d+),')


def check_cef(msgs, events):
    """Each event once; the extension equals the event's, or, marked,
    each value whole or cut and the identity whole. Returns the number
    marked."""
    seen = set()
    marked = 0
    for m in msgs:
        cef = m["all"].get("cef")
        assert cef, "cef: mmnormalize did not parse %s" % D.short(m["msg"])
        ext = cef["Extensions"]
        eid = ext.get("externalId")
        assert eid in events and eid not in seen, (
            "cef: unknown or repeated externalId %s" % D.short(eid))
        seen.add(eid)
        want = D.cef_expected(events[eid])
        size = len(m["rawmsg"].encode("utf-8", "surrogatepass"))
        assert size <= LIMIT, "cef: %s: %d bytes" % (eid, size)
        if "hssTruncated" not in ext:
            assert "hssOriginalSize" not in ext, (eid, ext)
            bad = D.diff_fields(ext, want)
            assert not bad, "cef: %s: extension differs: %s" % (
                eid, [(k, D.short(g), D.short(w)) for k, g, w in bad])
            continue
        marked += 1
        assert ext["hssTruncated"] == "true" and \
            int(ext["hssOriginalSize"]) > LIMIT, (eid, ext)
        for k in ("rt", "externalId", "cs5", "cs6", "cat"):
            assert k not in want or ext.get(k) == want[k], (eid, k, ext)
        bad = [k for k in want if k in ext and not D.cut_of(ext[k], want[k])]
        assert not bad, "cef: %s: neither whole nor cut: %s" % (eid, bad)
    missing = set(events) - seen
    assert not missing, "cef: %d events missing" % len(missing)
    return marked


def check_leef(msgs, events):
    """Each event once, at most LEEF_LIMIT bytes, its attributes whole
    pairs with event_id whole; marked (hss_truncated) exactly with an
    hss_original_size over the limit. Returns the number marked."""
    seen = set()
    marked = 0
    for m in msgs:
        raw = m["rawmsg"]
        assert len(raw.encode("utf-8", "surrogatepass")) <= LEEF_LIMIT, \
            "leef: %d bytes" % len(raw.encode("utf-8", "surrogatepass"))
        leef = m["msg"]
        assert leef.startswith("LEEF:2.0|Huawei|HSS|v5|"), D.short(leef)
        hdr = leef.split("|", 6)
        assert len(hdr) == 7 and hdr[5] == "^", D.short(leef)
        pairs = [kv.split("=", 1) for kv in hdr[6].split("^")]
        assert all(len(kv) == 2 and re.match(r"^[A-Za-z_]+$", kv[0])
                   for kv in pairs), D.short(leef)
        ext = dict(pairs)
        eid = ext.get("event_id")
        assert eid in events and eid not in seen, (
            "leef: unknown or repeated event_id %s" % D.short(eid))
        seen.add(eid)
        if "hss_truncated" in ext:
            marked += 1
            assert ext["hss_truncated"] == "true" and \
                int(ext["hss_original_size"]) > LEEF_LIMIT, ext
        else:
            assert "hss_original_size" not in ext, ext
    missing = set(events) - seen
    assert not missing, "leef: %d events missing" % len(missing)
    return marked


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "2d", "--rate-limit", "0",
                "--container-share", "0",
                "--hostile", "--hostile-share", "0.1", "--seed", "11")
    relp_port = D.free_port() if imrelp_present() else None
    rx = start_rsyslog_stock(h.dir, relp_port)
    names = ["oct", "lf", "cef", "leef"] + (["relp"] if relp_port else [])
    try:
        outs = (output("oct", "rfc5424", "tcp", rx.address, "octet-counting")
                + output("lf", "rfc5424", "tcp", rx.address, "lf")
                + output("cef", "cef", "tcp", rx.address, "lf")
                + output("leef", "leef", "tcp", rx.address, "lf"))
        if relp_port:
            outs += output("relp", "rfc5424", "relp",
                           "127.0.0.1:%d" % relp_port)
        conf = h.write_config(D.fast_source(h), outs)
        ids = h.sim_ids()
        n = len(ids)
        assert n == EVENTS, n
        events = D.sim_events(h, ids)
        p = h.spawn("-f", "-c", conf)
        D.wait(lambda: all(count(rx, a) >= n for a in names) or
               p.poll() is not None, 120, "%d messages from each output" % n,
               interval=0.5)
        assert p.poll() is None, p.returncode
        stats = {}
        for name in names:
            D.wait(lambda: D.stats_now(h, p, name)["queued"] == 0, 30,
                   "%s: nothing queued" % name)
            stats[name] = D.stats_now(h, p, name)
        src = _SOURCE_RE.findall(h.read("daemon.err"))
        assert src, "no source stats line"
        p.terminate()
        assert p.wait(timeout=30) == 0, p.returncode
        rx.stop()
        msgs = messages(rx)
        apps = collections.Counter(m["app"] for m in msgs)
        assert len(msgs) == n * len(names) and all(
            apps[a] == n for a in names), (
            "%d messages for %d events x %d outputs: %s" % (
                len(msgs), n, len(names), dict(apps)))
        log = rx.log()
        assert "oversize" not in log, log[-2000:]
        marked = {}
        for name in names:
            if name in ("cef", "leef"):
                marked[name] = (check_cef if name == "cef" else check_leef)(
                    [m for m in msgs if m["app"] == name], events)
                continue
            items = []
            for m in msgs:
                if m["app"] != name:
                    continue
                sd = m["all"].get("rfc5424-sd", {}).get(D.SD_ID)
                assert sd, "%s: no [%s] in %s" % (name, D.SD_ID,
                                                  D.short(m["rawmsg"]))
                items.append((sd, m["msg"], len(m["rawmsg"].encode(
                    "utf-8", "surrogatepass"))))
            marked[name], cut = D.check_sd(name, items, events, LIMIT,
                                           lf=name == "lf")
            assert marked[name] >= n // 20 and cut > 0, (
                "%s: %d shrunk, %d cut: the test is moot" % (
                    name, marked[name], cut))
        for name in names:
            assert stats[name]["truncated"] == marked[name], (
                name, stats[name], marked[name])
            assert stats[name]["acked"] == n, (name, stats[name])
        assert int(src[-1]) == sum(marked.values()), (src[-1], marked)
        print("%d events, each one message at rsyslog's default %d bytes "
              "over %s; shrunk (marked, counted): %s" % (
                  n, LIMIT, ", ".join(names), marked))
    finally:
        rx.stop()


D.main(test)
