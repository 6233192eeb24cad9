"""doc/guide.md's recipes as the tests run them (tests/it_guide_*.py).

    import guide as G
    text = G.snippet("rsyslog-tcp")              # the block after the marker
    text = G.substitute(text, {'port="514"': 'port="%d"' % port})
    out = G.hssf_output("hssf-rsyslog-tcp", receiver.address)
    G.run_once(h, name, G.daemon_config(h, name, out), receiver, want)
    cut = G.check_events(name, records, want)    # every event once, parsed

A recipe is the fenced code block that follows a line
`<!-- test: NAME -->` in doc/guide.md. The tests change only what the guide
tells the reader to change (listen address, port, certificate paths, output
file), each by an exact string that must occur in the snippet: a guide edit
that drops one fails the test instead of silently testing something else.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_siem as D  # noqa: E402
import receivers as R  # noqa: E402

GUIDE = os.path.join(os.environ.get("srcdir", "."), "doc", "guide.md")
BOM = "\ufeff"
_MARK = re.compile(r"^<!-- test: ([A-Za-z0-9_.-]+) -->\s*$")


def guide_text():
    with open(GUIDE, encoding="utf-8") as f:
        return f.read()


def snippets():
    """{name: text} of every marked fenced code block."""
    out = {}
    lines = guide_text().split("\n")
    i = 0
    while i < len(lines):
        m = _MARK.match(lines[i])
        i += 1
        if not m:
            continue
        name = m.group(1)
        if i < len(lines) and lines[i].startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            assert j < len(lines), "%s: unterminated code block" % name
            assert name not in out, "%s: marked twice" % name
            out[name] = "\n".join(lines[i + 1:j]) + "\n"
            i = j + 1
    return out


def marked_block(name):
    """The lines after marker NAME up to the next blank line (a table)."""
    lines = guide_text().split("\n")
    for i, ln in enumerate(lines):
        m = _MARK.match(ln)
        if m and m.group(1) == name:
            out = []
            for ln2 in lines[i + 1:]:
                if not ln2.strip():
                    break
                out.append(ln2)
            return out
    raise AssertionError("doc/guide.md: no marker %s" % name)


def snippet(name):
    s = snippets()
    assert name in s, "doc/guide.md has no block marked %s (has %s)" % (
        name, sorted(s))
    return s[name]


def substitute(text, subs):
    """Replace each key of subs (an exact string the guide tells the reader
    to change) by its value; each must occur."""
    for k, v in subs.items():
        assert k in text, "the guide's snippet no longer contains %r:\n%s" % (
            k, text)
        text = text.replace(k, v)
    return text


def outputs_yaml(text):
    """The list items of an `outputs:` snippet, for Harness.write_config."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "outputs:", "an output snippet starts with outputs:"
    return "\n".join(lines[1:]) + "\n"


def hssf_output(name, address, certs=None, client=None):
    """The guide's output snippet NAME with the address (host:port) and the
    CA path replaced (certs: receivers.make_certs()); client: (cert, key)
    for the mutual-TLS paths, which must then be in the snippet."""
    text = snippet(name)
    m = re.search(r"^    address: (\S+)$", text, re.M)
    assert m, "%s: no address" % name
    subs = {"address: " + m.group(1): "address: " + address}
    if certs is not None and "/etc/hss-forwarder/siem-ca.pem" in text:
        subs["/etc/hss-forwarder/siem-ca.pem"] = certs["ca"]
    if client is not None:
        subs["/etc/hss-forwarder/client.pem"] = client[0]
        subs["/etc/hss-forwarder/client.key"] = client[1]
    return outputs_yaml(substitute(text, subs))


def daemon_config(h, name, outputs):
    """A config file: one simulator source (daemon_siem.fast_source), the
    outputs, and a state directory of its own, so that every recipe run
    starts without a cursor and forwards every event."""
    state = os.path.join(h.dir, "state-" + name)
    os.makedirs(state)
    path = os.path.join(h.dir, "hss-%s.yaml" % name)
    with open(path, "w") as f:
        f.write("state_directory: %s\nstats_interval: 0\nsources:\n%s"
                "outputs:\n%s" % (state, D.fast_source(h), outputs))
    return path


def run_once(h, name, conf, receiver, want):
    """hss-forwarder --once with conf; then wait until the receiver wrote
    at least one line per event (--once exits once the receiver's TCP
    stack acknowledged everything; the receiver may still be writing)."""
    rc, _, err = h.run("-f", "--once", "-c", conf, timeout=180,
                       stderr_name="daemon-%s.err" % name)
    assert rc == 0, "%s: hss-forwarder exited %d:\n%s" % (
        name, rc, err[-3000:])
    D.wait(lambda: len(receiver.lines()) >= len(want), 30,
           "%s: %d lines in %s" % (name, len(want), receiver.outfile))


def client_cert(tmpdir, certs):
    """A client certificate from the test CA naming the host the guide's
    mutual-TLS recipes permit (hss-forwarder.example.net)."""
    d = os.path.join(tmpdir, "pki")
    return R._leaf(d, "guide-client", "hss-forwarder.example.net",
                   "DNS:hss-forwarder.example.net", certs["ca_key"],
                   certs["ca"], "clientAuth")[::-1]


# ------------------------------------------------------------ checking

_SD_EVENT_ID = re.compile(r' event_id="((?:[^"\\]|\\.)*)"')


def sd_event_id(sd):
    """event_id of the structured data text (the first SD-PARAM of the
    event's element; event ids hold no quote or backslash)."""
    m = _SD_EVENT_ID.search(sd)
    return m.group(1) if m else None


def check_events(name, records, want):
    """records: one (event_id, app, msgid, msg, truncated) per received
    message, msg the MSG text without the BOM ("" when there is none).
    Every event of want arrives exactly once, as RFC 5424 from
    hss-forwarder, with a MSGID, and its MSG (when there is one) is JSON
    naming the same event_id. Returns the number of truncated messages."""
    seen = {}
    cut = 0
    for eid, app, msgid, msg, truncated in records:
        assert eid is not None, "%s: a message without event_id" % name
        assert eid in want, "%s: unknown event_id %r" % (name, eid)
        assert eid not in seen, "%s: %s received twice" % (name, eid)
        seen[eid] = 1
        assert app == "hss-forwarder", "%s: %s: app %r" % (name, eid, app)
        assert msgid and msgid != "-", "%s: %s: no MSGID" % (name, eid)
        if truncated:
            cut += 1
        if msg:
            try:
                obj = json.loads(msg)
            except ValueError as e:
                raise AssertionError("%s: %s: MSG is not JSON (%s): %r" % (
                    name, eid, e, msg[:200]))
            assert obj.get("event_id") == eid, (
                "%s: %s: MSG names %r" % (name, eid, obj.get("event_id")))
        else:
            assert truncated, "%s: %s: no MSG and not marked truncated" % (
                name, eid)
    missing = set(want) - set(seen)
    assert not missing, "%s: %d events missing, e.g. %s" % (
        name, len(missing), sorted(missing)[:3])
    return cut


def strip_bom(msg):
    return msg[len(BOM):] if msg.startswith(BOM) else msg


# ------------------------------------------------------------ rsyslog

RSYSLOG_CERTS = (("/etc/rsyslog.d/tls/ca.pem", "ca"),
                 ("/etc/rsyslog.d/tls/server.pem", "server"),
                 ("/etc/rsyslog.d/tls/server.key", "server_key"))
RSYSLOG_PORTS = ("514", "6514", "2514")
OUTFILE = "/var/log/hss-forwarder/events.json"


def rsyslog_conf(d, input_name, port, certs):
    """The guide's common part and input INPUT_NAME with the listen
    address, the port, the certificate paths and the output file made to
    run here. Returns (config text, output file)."""
    out = os.path.join(d, "log", "events.json")
    common = substitute(snippet("rsyslog-common"), {OUTFILE: out})
    inp = snippet(input_name)
    subs = {'address="0.0.0.0"': 'address="127.0.0.1"'}
    subs.update(('port="%s"' % p, 'port="%d"' % port)
                for p in RSYSLOG_PORTS if 'port="%s"' % p in inp)
    if "streamDriver" in inp:
        subs.update((path, certs[key]) for path, key in RSYSLOG_CERTS)
    return common + substitute(inp, subs), out


def start_rsyslog_recipe(tmp, name, input_name, certs):
    """rsyslogd -n with rsyslog_conf() on a free loopback port, checked
    with rsyslogd -N1 first."""
    rsyslogd = R.which("rsyslogd")
    if rsyslogd is None:
        raise R.Skip("rsyslogd not found (Debian package rsyslog)")
    d = os.path.join(tmp, "rsyslog-" + name)
    os.makedirs(d)
    conf = os.path.join(d, "rsyslog.conf")
    outfile = []

    def cmd(port):
        text, out = rsyslog_conf(d, input_name, port, certs)
        outfile[:] = [out]
        with open(conf, "w") as f:
            f.write(text)
        return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(d, "pid")]

    cmd(1)
    R.rsyslog_validate(rsyslogd, conf)
    return R._run_until_listening("rsyslog-" + name, cmd, d, "127.0.0.1",
                                  outfile[0])


def rsyslog_records(receiver):
    """check_events() records from the lines of the guide's JSON template
    (time, host, app, severity, msgid, sd: the structured data as text,
    msg)."""
    out = []
    for ln in receiver.lines():
        m = json.loads(ln)
        sd = m.get("sd", "")
        out.append((sd_event_id(sd), m.get("app"), m.get("msgid"),
                    strip_bom(m.get("msg", "")), 'truncated="' in sd))
    return out


def run_rsyslog_recipe(h, name, input_name, output_name, want, certs=None,
                       client=None):
    """rsyslog with the guide's INPUT_NAME, hss-forwarder --once with the
    guide's OUTPUT_NAME: every event of want arrives once, parsed; some
    reached max_message_size (the simulator's hostile events) and rsyslog
    reported no oversize message."""
    r = start_rsyslog_recipe(h.dir, name, input_name, certs)
    try:
        out = hssf_output(output_name, r.address, certs, client)
        run_once(h, name, daemon_config(h, name, out), r, want)
        cut = check_events(name, rsyslog_records(r), want)
        assert cut > 0, "%s: no message reached max_message_size: the " \
            "hostile events were not exercised" % name
        assert "oversize" not in r.log(), "%s: rsyslog: %s" % (
            name, r.log()[-2000:])
        print("%s: %d events, each once, parsed (%d cut to "
              "max_message_size)" % (name, len(want), cut))
    finally:
        r.stop()
