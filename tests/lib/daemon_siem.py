"""Helpers for the daemon-level SIEM tests (tests/it_siem_*.py): receivers
that parse what they get (rsyslog with mmpstrucdata / mmnormalize, syslog-ng
with format-json), output YAML, the daemon's stats line, the cursor file, the
simulator's event oracle and the transformations the formatters document.

Builds on harness.py (simulator, daemon) and receivers.py (certificates,
rsyslog/syslog-ng/sink processes); edits neither.
"""
import json
import os
import re
import signal
import socket
import sys
import time

import harness as H
import receivers as R
import statefile

# Events of a simulator page are formatted one by one; these are the ones
# the tests compare (DESIGN.md section 8, src/format_rfc5424.c).
SD_STR = ["event_id", "event_name", "severity", "host_name", "host_id",
          "private_ip", "public_ip", "os_type", "attack_phase", "attack_tag",
          "handle_status", "container_name", "image_name"]
SD_INT = ["event_type", "event_count"]
SD_ID = "hss@32473"
REGION = "ap-southeast-1"


def wait(pred, timeout, what, interval=0.05):
    return H.wait_for(pred, timeout, what, interval)


# ------------------------------------------------------------ receivers

# CEF after an RFC 5424 header: rsyslog's msg is "CEF:0|...". Debian 12's
# liblognorm drops the first character of the first extension key unless a
# space follows the seventh '|' (liblognorm #363): rebuild the string with
# that space. A header field may hold '\|' (escaped), hence the regex.
_CEF_RE = r"^(CEF:0(\|([^|\\]|\\.)*){6}\|)(.*)$"


def _rs_str(s):
    """A RainerScript string constant."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace(
        "$", "\\$") + '"'


def rsyslog_parsed_rules(rb, out):
    """The rsyslog template and ruleset "r" of start_rsyslog_parsed: one
    JSON line per message in out (app, rawmsg, msg and the structured data
    or, for CEF, the extension parsed with the rulebase rb)."""
    return [
        'template(name="j" type="list") {',
        ' constant(value="{\\"app\\":\\"")',
        ' property(name="app-name" format="json")',
        ' constant(value="\\",\\"rawmsg\\":\\"")',
        ' property(name="rawmsg" format="json")',
        ' constant(value="\\",\\"msg\\":\\"")',
        ' property(name="msg" format="json")',
        ' constant(value="\\",\\"all\\":")',
        ' property(name="$!all-json")',
        ' constant(value="}\\n")',
        '}',
        'ruleset(name="r") {',
        ' action(type="mmpstrucdata" sd_name.lowercase="off")',
        ' if ($msg startswith "CEF:") then {',
        '  set $.hdr = re_extract($msg, %s, 0, 1, "");'
        % _rs_str(_CEF_RE),
        '  set $.ext = re_extract($msg, %s, 0, 4, "");'
        % _rs_str(_CEF_RE),
        '  set $.cefmsg = $.hdr & " " & $.ext;',
        '  action(type="mmnormalize" rulebase="%s" variable="$.cefmsg")'
        % rb,
        ' }',
        ' action(type="omfile" file="%s" template="j")' % out,
        '}',
    ]


def start_rsyslog_parsed(tmpdir, mode="tcp", certs=None, server="server",
                         permitted_peer="client.test", port=None):
    """rsyslogd writing one JSON object per message to .outfile:
    {"rawmsg":..., "msg":..., "sd": $!rfc5424-sd (mmpstrucdata,
    sd_name.lowercase off), "cef": mmnormalize's parse of a CEF msg}.
    Control characters are kept as they are (escapeControlCharactersOnReceive
    off), so a CR/LF in an octet-counted frame comes out as itself."""
    rsyslogd = R.which("rsyslogd")
    if rsyslogd is None:
        raise R.Skip("rsyslogd not found (Debian packages rsyslog "
                     "rsyslog-gnutls)")
    d = os.path.join(tmpdir, "rsyslogp-%s-%d" % (mode, time.monotonic_ns()))
    os.makedirs(os.path.join(d, "work"))
    out = os.path.join(d, "out.json")
    conf = os.path.join(d, "rsyslog.conf")
    rb = os.path.join(d, "cef.rb")
    with open(rb, "w") as f:
        f.write("version=2\nrule=:%cef:cef%\n")

    def cmd(p):
        g = ['workDirectory="%s"' % os.path.join(d, "work"),
             'maxMessageSize="4m"',
             'parser.escapeControlCharactersOnReceive="off"']
        if mode in ("tls", "mtls"):
            g += R.rsyslog_tls_globals(certs, server)
        m = ['load="imtcp"', 'maxSessions="50"', 'maxFrameSize="4000000"']
        m += R.rsyslog_tls_imtcp(mode, permitted_peer)
        lines = [
            "global(%s)" % " ".join(g),
            "module(%s)" % " ".join(m),
            'module(load="mmpstrucdata")',
            'module(load="mmnormalize")',
        ] + rsyslog_parsed_rules(rb, out) + [
            'input(type="imtcp" port="%d" address="127.0.0.1" ruleset="r")'
            % p,
        ]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(d, "pid")]

    cmd(1)
    R.rsyslog_validate(rsyslogd, conf)
    return R._run_until_listening("rsyslogp-" + mode, cmd, d, "127.0.0.1",
                                  out, port=port)


def start_syslogng_parsed(tmpdir, mode="tcp", certs=None, server="server",
                          port=None):
    """syslog-ng 3.38 syslog() source (octet counting, RFC 5424 parsed)
    writing $(format-json --scope rfc5424 --scope nv-pairs) per line."""
    binp, env = R.syslogng_command()
    d = os.path.join(tmpdir, "syslogngp-%s-%d" % (mode, time.monotonic_ns()))
    os.makedirs(d)
    out = os.path.join(d, "out.json")
    conf = os.path.join(d, "syslog-ng.conf")

    def cmd(p):
        tls = ""
        if mode == "tls":
            tls = ('tls(key-file("%s") cert-file("%s") ca-file("%s") '
                   'peer-verify(optional-untrusted))' % (
                       certs[server + "_key"], certs[server], certs["ca"]))
        with open(conf, "w") as f:
            f.write('@version: 3.38\n'
                    'options { log-msg-size(4194304); stats-freq(0); };\n'
                    'source s { syslog(transport("%s") ip("127.0.0.1") '
                    'port(%d) max-connections(50) log-msg-size(4194304) '
                    '%s); };\n'
                    'destination d { file("%s" template("$(format-json '
                    '--scope rfc5424 --scope nv-pairs)\\n") '
                    'flush-lines(1)); };\n'
                    'log { source(s); destination(d); };\n'
                    % ("tcp" if mode == "tcp" else "tls", p, tls, out))
        return [binp, "-F", "-e", "--no-caps", "-f", conf,
                "-R", os.path.join(d, "persist"),
                "-p", os.path.join(d, "pid"),
                "-c", os.path.join(d, "ctl")]

    return R._run_until_listening("syslogngp-" + mode, cmd, d, "127.0.0.1",
                                  out, env=env, port=port)


def json_lines(receiver):
    """The receiver's complete JSON lines, parsed."""
    return [json.loads(ln) for ln in receiver.lines()]


# ------------------------------------------------------------ config

def output_yaml(name, fmt, transport, address, framing=None, ca=None,
                cert=None, key=None, extra=""):
    y = ("  - name: %s\n    format: %s\n    transport: %s\n    address: %s\n"
         % (name, fmt, transport, address))
    if framing:
        y += "    framing: %s\n" % framing
    if transport == "tls":
        y += "    tls:\n      ca_file: %s\n" % ca
        if cert:
            y += "      cert_file: %s\n      key_file: %s\n" % (cert, key)
    return y + extra


def fast_source(h, name="src1", backfill="3d", page_size=None, extra=""):
    e = ("    backfill: %s\n    settle: 0s\n    calls_per_minute: 600\n"
         % backfill)
    if page_size:
        e += "    page_size: %d\n" % page_size
    return h.source_yaml(name, "host", e + extra)


# ------------------------------------------------------------ daemon state

_STATS_RE = re.compile(
    r'stats: output "(?P<name>[^"]+)": (?P<conn>[a-z ]+), '
    r'queued (?P<queued>\d+), enqueued (?P<enqueued>\d+), '
    r'acknowledged (?P<acked>\d+), truncated (?P<truncated>\d+), '
    r'resent (?P<resent>\d+), reconnects (?P<reconnects>\d+), '
    r'failed connects (?P<failed>\d+), bytes (?P<bytes>\d+)')


def output_stats(text, name):
    """The last stats line of output NAME in the daemon's log, as a dict
    (ints, and "connected": bool), or None."""
    last = None
    for m in _STATS_RE.finditer(text):
        if m.group("name") == name:
            last = m
    if last is None:
        return None
    d = dict((k, int(v)) for k, v in last.groupdict().items()
             if k not in ("name", "conn"))
    d["connected"] = last.group("conn") == "connected"
    return d


def stats_now(h, proc, name, timeout=10):
    """SIGUSR1 the daemon and wait for a new stats line of output NAME."""
    n0 = h.read("daemon.err").count('stats: output "%s"' % name)
    proc.send_signal(signal.SIGUSR1)
    wait(lambda: h.read("daemon.err").count('stats: output "%s"' % name)
         > n0, timeout, "a stats line after SIGUSR1")
    return output_stats(h.read("daemon.err"), name)


def cursor(h, source="src1"):
    """The source's saved state (snapshot and journal) as a dict with "end"
    and "ids", or None when there is none."""
    return statefile.read(os.path.join(h.dir, "state"), source)


def cursor_end(h, source="src1"):
    c = cursor(h, source)
    return None if c is None else c["end"]


def cursor_ids(h, source="src1"):
    """The event_ids of the cursor's dedupe set ([id, occur_time] pairs)."""
    c = cursor(h, source)
    return set() if c is None else set(p[0] for p in c["ids"])


def json_ids_of(data):
    """event_ids of the complete JSON lines in data (bytes)."""
    return [json.loads(ln)["event_id"] for ln in data.split(b"\n")[:-1]]


def octet_frames(data):
    """RFC 6587 octet-counted frames of data; an incomplete last frame is
    left out, anything else malformed raises ValueError."""
    out, i = [], 0
    while i < len(data):
        sp = data.find(b" ", i, i + 12)
        if sp == -1:
            if len(data) - i < 12 and data[i:].isdigit():
                break
            raise ValueError("bad frame length at %d: %r" % (
                i, data[i:i + 20]))
        n = int(data[i:sp])
        if data[i:sp] != str(n).encode() or n <= 0:
            raise ValueError("bad frame length at %d" % i)
        if sp + 1 + n > len(data):
            break
        out.append(data[sp + 1:sp + 1 + n])
        i = sp + 1 + n
    return out


_SD_ID_RE = re.compile(rb' event_id="([^"\\]*)"')
_CEF_ID_RE = re.compile(rb" externalId=([^ ]*)")


def rfc5424_id(msg):
    m = _SD_ID_RE.search(msg)
    assert m, "no event_id in %s" % short(msg)
    return m.group(1).decode()


def cef_id(msg):
    assert msg.startswith(b"<") and b" CEF:0|Huawei|HSS|" in msg, short(msg)
    m = _CEF_ID_RE.search(msg)
    assert m, "no externalId in %s" % short(msg)
    return m.group(1).decode()


def page_requests(h, since=0):
    """The simulator's events-endpoint requests after seq since."""
    return [r for r in h.sim_get("/_sim/requests?since=%d" % since)
            if "/event/events" in (r.get("path") or "")]


# ------------------------------------------------------------ the oracle

def sim_event(h, eid):
    """The event as the API serves it (raw JSON text decoded by Python's
    json, so a \\u0000 is '\\x00' and a lone \\udc80 a lone surrogate)."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/_sim/event?id=%s"
                                % (h.sim_port, eid), timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def sim_events(h, ids):
    return dict((i, sim_event(h, i)) for i in ids)


_SURR = re.compile("[\ud800-\udfff]")


def api_string(s):
    """What the daemon holds for an API string: src/event.c rewrites every
    \\u0000 and every unpaired surrogate escape into U+FFFD before cJSON
    parses the page (paired surrogates are raw UTF-8 in the simulator's
    output, so every surrogate Python sees here is unpaired)."""
    return _SURR.sub("\ufffd", s.replace("\x00", "\ufffd"))


def sd_expected(ev, source, lf_framing=False):
    """The SD params src/format_rfc5424.c sends for ev, as a receiver that
    undoes the PARAM-VALUE escapes sees them. With lf framing a CR/LF in a
    value is sent as an escaped backslash and a letter, which decodes to
    the two visible characters \\n / \\r."""
    want = {}
    for k in SD_STR:
        v = ev.get(k)
        if isinstance(v, str):
            v = api_string(v)
            if lf_framing:
                v = v.replace("\n", "\\n").replace("\r", "\\r")
            want[k] = v
    for k in SD_INT:
        if isinstance(ev.get(k), int):
            want[k] = str(ev[k])
    want["project_id"] = H.PROJECT
    want["region"] = REGION
    want["source"] = source
    return want


def utf8_cut(s, maxbytes):
    """s cut to at most maxbytes of UTF-8 on a character boundary (what
    format_escape's maxin does)."""
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= maxbytes:
        return s
    b = b[:maxbytes]
    return b.decode("utf-8", "ignore")


_CEF_CTRL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def cef_value(s, maxbytes):
    """A CEF extension value as src/format_cef.c builds it, unescaped: the
    API string (U+FFFD for NUL / lone surrogates), cut to maxbytes on a
    character boundary, control characters other than CR/LF -> space."""
    return _CEF_CTRL.sub(" ", utf8_cut(api_string(s), maxbytes))


def cef_expected(ev):
    """The extension keys the test compares (src/format_cef.c's table)."""
    want = {"rt": str(ev["occur_time"]),
            "externalId": cef_value(ev["event_id"], 40),
            "cs5": H.PROJECT, "cs5Label": "projectId",
            "cs6": REGION, "cs6Label": "region"}
    if isinstance(ev.get("event_type"), int):
        want["cat"] = str(ev["event_type"])
    if isinstance(ev.get("handle_status"), str):
        want["act"] = cef_value(ev["handle_status"], 63)
    if isinstance(ev.get("event_count"), int):
        want["cnt"] = str(ev["event_count"])
    if isinstance(ev.get("host_name"), str):
        want["dvchost"] = cef_value(ev["host_name"], 100)
    if isinstance(ev.get("host_id"), str):
        want["deviceExternalId"] = cef_value(ev["host_id"], 255)
    if isinstance(ev.get("attack_phase"), str):
        want["cs1"] = cef_value(ev["attack_phase"], 4000)
    if isinstance(ev.get("attack_tag"), str):
        want["cs2"] = cef_value(ev["attack_tag"], 4000)
    if isinstance(ev.get("event_class_id"), str):
        want["cs3"] = cef_value(ev["event_class_id"], 4000)
    return want


def diff_fields(got, want):
    """Keys of want whose value in got differs: [(key, got, want)]."""
    return [(k, got.get(k), v) for k, v in sorted(want.items())
            if got.get(k) != v]


def short(x, n=160):
    r = repr(x)
    return r if len(r) <= n else r[:n] + "...(%d chars)" % len(r)


def free_port():
    return R.free_port(socket.AF_INET)


def main(test):
    """harness.main(test), plus: a receivers.Skip exits 77, any other
    exception fails (with the traceback), and every receiver started by
    receivers.py is stopped whatever happens."""
    import traceback
    h = H.Harness(test.__name__)
    rc = 1
    try:
        test(h)
        rc = 0
    except R.Skip as e:
        print("SKIP:", e)
        rc = R.SKIP
    except (H.Failure, AssertionError) as e:
        print("FAIL:", e)
        print("--- daemon stderr (tail):\n" + h.read("daemon.err")[-4000:])
    except Exception:
        traceback.print_exc()
        print("--- daemon stderr (tail):\n" + h.read("daemon.err")[-4000:])
    finally:
        for p in R._started:
            R.stop(p, signal.SIGKILL)
        h.close()
    print("PASS" if rc == 0 else "")
    sys.exit(rc)


def api_value(v):
    """api_string() applied to every string (keys too) of a JSON value."""
    if isinstance(v, str):
        return api_string(v)
    if isinstance(v, list):
        return [api_value(x) for x in v]
    if isinstance(v, dict):
        return dict((api_string(k), api_value(x)) for k, x in v.items())
    return v


# ------------------------------------------------------------ comparisons

BOM = "\ufeff"
# what the hostile values put in the SD params, as a receiver decodes them
SPECIALS = '"\\]|=\r\n\ufffd'


# src/format_fit.c: a cut value ends with U+2026; the identity of an event
# (format.h) is cut only when it alone does not fit.
MARK = "\u2026"
SD_IDENTITY = {"event_id", "event_type", "severity", "host_name", "host_id",
               "private_ip", "public_ip", "project_id", "region", "source"}
JSON_IDENTITY = {"event_id", "occur_time", "event_type", "event_class_id",
                 "severity", "host_name", "host_id", "private_ip",
                 "public_ip"}


def cut_of(got, want):
    """got is want, or want cut: a shorter prefix of it (in UTF-8 bytes)
    followed by U+2026."""
    if got == want:
        return True
    if not isinstance(got, str) or not got.endswith(MARK):
        return False
    g = got[:-1].encode("utf-8", "surrogatepass")
    w = want.encode("utf-8", "surrogatepass")
    return len(g) < len(w) and w.startswith(g)


def json_cut_of(got, want, top=False):
    """JSON got is want with string values cut; at the top, only the
    identity members may be all that is left."""
    if isinstance(got, str):
        return isinstance(want, str) and cut_of(got, want)
    if isinstance(got, list):
        return isinstance(want, list) and len(got) == len(want) and all(
            json_cut_of(g, w) for g, w in zip(got, want))
    if isinstance(got, dict):
        if not isinstance(want, dict) or not set(got) <= set(want):
            return False
        if set(got) != set(want) and not (top and set(got) <=
                                          JSON_IDENTITY):
            return False
        return all(json_cut_of(got[k], want[k]) for k in got)
    return got == want


def check_values(name, eid, sd, want, truncated, maxsize=None):
    """SD params equal want; when truncated, what src/format_rfc5424.c
    documents: truncated="true" original_size="N" (N > maxsize), each value
    whole or cut, the params other than the identity left out only when
    an identity value is cut, an identity value cut only when the event's
    identity is long (a value over 1000 bytes). Returns whether a value
    was cut."""
    extra = set(sd) - set(want) - {"truncated", "original_size"}
    assert not extra, "%s: %s: unexpected params %s" % (name, eid, extra)
    if not truncated:
        assert "original_size" not in sd, (name, eid)
        bad = diff_fields(sd, want)
        assert not bad, "%s: event %s: SD params differ: %s" % (
            name, eid, [(k, short(g), short(w)) for k, g, w in bad])
        return False
    assert maxsize is None or int(sd.get("original_size", "0")) > maxsize, \
        "%s: %s: original_size %s" % (name, eid, sd.get("original_size"))
    bad = [k for k in want if k in sd and not cut_of(sd[k], want[k])]
    assert not bad, "%s: %s: values neither whole nor cut: %s" % (
        name, eid, [(k, short(sd[k]), short(want[k])) for k in bad])
    missing = [k for k in want if k not in sd]
    assert not [k for k in missing if k in SD_IDENTITY], (
        "%s: %s: identity params left out: %s" % (name, eid, missing))
    id_cut = [k for k in want if k in SD_IDENTITY and sd[k] != want[k]]
    if id_cut:
        assert max(len(want[k].encode("utf-8", "surrogatepass"))
                   for k in SD_IDENTITY if k in want) > 1000, (
            "%s: %s: identity cut: %s" % (name, eid, id_cut))
        assert set(want) - set(sd) >= set(want) - SD_IDENTITY, (
            "%s: %s: identity cut while other params stay" % (name, eid))
    return any(sd[k] != want[k] for k in want if k in sd)


def check_sd(name, items, events, maxsize, lf=False, bom=True):
    """Each event exactly once; SD params and MSG equal the event, or, for
    a message that would pass maxsize (None: no size check), shrunk as
    src/format_rfc5424.c documents: marked (SD truncated/original_size, in
    MSG "_hss":{"truncated":true,"original_size":N}), each value whole or
    cut to a prefix ending with U+2026, MSG valid JSON (or left out when
    the identity alone is long).
    items: (SD params of [hss@32473] as a dict, MSG text, message size in
    bytes or None). bom False: the receiver may
    have removed the BOM. Returns (messages shrunk, messages with a value
    cut)."""
    seen = {}
    shrunk = cut = 0
    specials = set()
    for sd, text, size in items:
        eid = sd.get("event_id")
        assert eid in events, "%s: unknown event_id %s" % (name, short(eid))
        assert eid not in seen, "%s: %s received twice" % (name, eid)
        seen[eid] = 1
        ev = events[eid]
        assert size is None or size <= maxsize, \
            "%s: %s: a %d-byte message" % (name, eid, size)
        truncated = sd.get("truncated") == "true"
        shrunk += truncated
        for v in sd.values():
            specials.update(c for c in SPECIALS if c in v)
        was_cut = check_values(name, eid, sd, sd_expected(ev, "src1", lf),
                               truncated, maxsize)
        if truncated and not text:
            cut += was_cut
            continue
        if not bom and not text.startswith(BOM):
            text = BOM + text
        assert text.startswith(BOM), "%s: %s: MSG without BOM: %s" % (
            name, eid, short(text))
        got = json.loads(text[len(BOM):])
        want = api_value(ev)
        if truncated:
            hss = got.pop("_hss", None)
            assert hss == {"truncated": True, "original_size":
                           int(sd["original_size"])}, (name, eid, hss)
            want.pop("_hss", None)
            assert json_cut_of(got, want, top=True), \
                "%s: %s: MSG is not the event cut" % (name, eid)
            cut += was_cut or got != want
            continue
        assert got == want, "%s: %s: MSG differs from the " \
            "event" % (name, eid)
    missing = set(events) - set(seen)
    assert not missing, "%s: %d events missing, e.g. %s" % (
        name, len(missing), sorted(missing)[:3])
    want = set(SPECIALS) - ({"\r", "\n"} if lf else set())
    assert specials >= want, "%s: no SD value held %s: the hostile " \
        "values were not exercised" % (name, sorted(want - specials))
    return shrunk, cut


# ------------------------------------------------------------ file sink

class Sink:
    """A TCP/TLS receiver in its own python process (this file run as a
    program, see _sink_main) that writes the bytes of connection N (a
    number unique across restarts, growing) to DIR/conn-N.bin as it reads
    them (flushed at once) and logs what happens to DIR/events.log
    ("accept N", "close N clean", "close N ragged", "close N error: ...").

    stop() (SIGTERM) is a graceful receiver shutdown: it stops listening,
    half-closes every connection (FIN, so the daemon sees "closed by the
    peer" and stops sending), keeps reading each one until the daemon's own
    FIN and only then exits. So every byte the receiver's kernel
    acknowledged has been read and written to the file: a receiver killed
    with SIGKILL instead loses what sat unread in its socket buffer, bytes
    that TCP acknowledged (and that the daemon therefore counts as
    delivered), which no sender can detect."""

    def __init__(self, tmpdir, certs=None, rcvbuf=None, hold=False,
                 port=None):
        self.dir = os.path.join(tmpdir, "fsink-%d" % time.monotonic_ns())
        os.makedirs(self.dir)
        self.hold_file = os.path.join(self.dir, "release") if hold else None
        self.certs = certs
        self.rcvbuf = rcvbuf
        self.port = port
        self.proc = None
        self.start()

    def _cmd(self, port):
        c = [sys.executable, os.path.abspath(__file__), "sink", "--port",
             str(port), "--dir", self.dir]
        if self.certs:
            c += ["--cert", self.certs["server"], "--key",
                  self.certs["server_key"]]
        if self.rcvbuf:
            c += ["--rcvbuf", str(self.rcvbuf)]
        if self.hold_file:
            c += ["--hold", self.hold_file]
        return c

    def start(self):
        r = R._run_until_listening("fsink", self._cmd, self.dir, "127.0.0.1",
                                   None, port=self.port)
        self.proc, self.port = r.proc, r.port
        self.logfile = r.logfile

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stop(self, timeout=20):
        """Graceful stop (see above); SIGKILL only if it hangs."""
        R.stop(self.proc, signal.SIGTERM, timeout)

    def restart(self):
        self.stop()
        self.start()

    def release(self):
        open(self.hold_file, "w").close()

    def events(self):
        try:
            with open(os.path.join(self.dir, "events.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def conn_files(self):
        return sorted((f for f in os.listdir(self.dir)
                       if f.startswith("conn-")),
                      key=lambda f: int(f[5:-4]))

    def received(self):
        """Total bytes received so far."""
        return sum(os.path.getsize(os.path.join(self.dir, f))
                   for f in self.conn_files())

    def _conns(self):
        for f in self.conn_files():
            with open(os.path.join(self.dir, f), "rb") as fh:
                yield fh.read()

    def messages(self, framing):
        """Every complete message of every connection ("lf" or
        "octet-counting"); a message cut by a connection's end was never
        acknowledged and is left out."""
        out = []
        for data in self._conns():
            if framing == "lf":
                out += data.split(b"\n")[:-1]
            else:
                out += octet_frames(data)
        return out

    def json_ids(self):
        """event_ids of the complete JSON lines of every connection (lf
        framing; a line cut by a connection's end was never
        acknowledged and is left out)."""
        ids = []
        for f in self.conn_files():
            with open(os.path.join(self.dir, f), "rb") as fh:
                data = fh.read()
            for ln in data.split(b"\n")[:-1]:
                ids.append(json.loads(ln)["event_id"])
        return ids


def _sink_main(argv):
    import argparse
    import ssl
    import threading
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--dir")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--rcvbuf", type=int)
    p.add_argument("--hold")
    a = p.parse_args(argv)
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    ls.settimeout(0.02)
    lock = threading.Lock()
    stopping = threading.Event()
    conns = {}
    evlog = open(os.path.join(a.dir, "events.log"), "a")

    def log(line):
        with lock:
            evlog.write(line + "\n")
            evlog.flush()

    def serve(n, raw):
        out = open(os.path.join(a.dir, "conn-%d.bin" % n), "wb")
        conn = raw
        how = "clean"
        try:
            if ctx is not None:
                conn = ctx.wrap_socket(raw, server_side=True,
                                       suppress_ragged_eofs=False)
            with lock:
                conns[n] = conn
            if stopping.is_set():
                conn.shutdown(socket.SHUT_WR)
            if a.hold:
                while not os.path.exists(a.hold) and not stopping.is_set():
                    time.sleep(0.05)
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                out.write(b)
                out.flush()
        except ssl.SSLEOFError:
            how = "ragged"
        except (OSError, ssl.SSLError) as e:
            how = "error: %s" % e
        finally:
            out.close()
            log("close %d %s" % (n, how))
            with lock:
                conns.pop(n, None)
            conn.close()

    threads = []
    signal.signal(signal.SIGTERM, lambda *x: stopping.set())
    n = 0
    while not stopping.is_set():
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        n = time.monotonic_ns()     # unique across restarts, ordered
        log("accept %d" % n)
        t = threading.Thread(target=serve, args=(n, c), daemon=True)
        t.start()
        threads.append(t)
    ls.close()
    # graceful: FIN to every peer, then read until theirs
    with lock:
        live = list(conns.values())
    for conn in live:
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    for t in threads:
        t.join(15)
    log("exit")
    os._exit(0)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "sink":
    _sink_main(sys.argv[2:])
