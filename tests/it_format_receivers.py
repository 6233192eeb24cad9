#!/usr/bin/env python3
"""Second opinions on the message formats from real parsers.

A page of hostile events (every string field holding, in turn, characters
each format must escape, control characters, invalid UTF-8, RTL text, emoji,
long values) plus the official example is formatted by tests/format-dump and
read back by:
  - go-syslog's strict RFC 5424 parser (tests/tools/rfc5424check, built here
    with the Debian golang packages): every message, octet-counting and lf
    framing, must be accepted and its SD params must equal the event's;
  - rsyslog (imtcp, mmpstrucdata, mmnormalize with a CEF rulebase, omfile
    writing $!all-json), run unprivileged on a free loopback port: every SD
    param and every CEF header field and extension pair must come back.
The expected values are computed here from the documented rules.
Exit 77 (skip) only when a Debian package is missing.
"""

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP_BUILDDIR = os.environ.get("top_builddir", ".")
SRCDIR = os.environ.get("srcdir",
                        os.path.join(os.path.dirname(__file__), ".."))
DUMP = os.path.join(TOP_BUILDDIR, "tests", "format-dump")
GOPATH = "/usr/share/gocode"
SD_ID = "hss@32473"
CTX = {"source": "prod-ap-southeast-1-host", "region": "ap-southeast-1",
       "project_id": "0123456789abcdef0123456789abcdef"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what[:2000], file=sys.stderr)


def prerequisites():
    missing = []
    if shutil.which("go") is None:
        missing.append("golang-go")
    if not os.path.isdir(GOPATH + "/src/github.com/influxdata/go-syslog"):
        missing.append("golang-github-influxdata-go-syslog-dev")
    if not os.path.isdir(GOPATH + "/src/github.com/leodido/ragel-machinery"):
        missing.append("golang-github-leodido-ragel-machinery-dev")
    rs = shutil.which("rsyslogd") or (
        "/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if rs is None:
        missing.append("rsyslog")
    return rs, missing


# ---- the hostile page ---------------------------------------------------

# ~3 KB per field: past every CEF length limit. (rsyslog's mmpstrucdata
# gives up on an SD element much past 64 KB; 15 fields of 6 KB fail.)
LONG = ("ab=\\|]\"^ \U0001F600\r\n\u4e2d\t " * 150)
PAYLOADS = [
    "|", "\\", "=", "]", "\"", "\r", "\n", "a\r\nb", "x\\", "\\n", "\t",
    "\x1b[31mred", "\x7f", "\x01\x02\x1f", "\u202eevil",
    "\u05e9\u05dc\u05d5\u05dd", "\U0001F600\U0001F44D\U0001F3FD", "\u2028",
    " lead and trail ", "x\\]\"=|^ y=z k2=v2", "a=b c=d", " cs1=forged",
    "^sev=10^", "CEF:0|a|b|c|d|e|10|x=y", "]\"[meta sequenceId=\"9\"]",
    # invalid UTF-8, one surrogate-escaped char per raw byte
    b"\xff".decode("utf-8", "surrogateescape"),
    b"a\xc0\xafb".decode("utf-8", "surrogateescape"),
    b"\xed\xa0\x80z".decode("utf-8", "surrogateescape"),
    b"\xf0\x9f\x98!".decode("utf-8", "surrogateescape"),
    LONG,
]
STRING_FIELDS = ["event_name", "severity", "host_name", "host_id",
                 "private_ip", "public_ip", "os_type", "attack_phase",
                 "attack_tag", "handle_status", "handle_method",
                 "container_name", "image_name", "event_class_id"]


def hostile_events():
    evs = []
    for i, p in enumerate(PAYLOADS):
        v = "<" + p + ">"
        ev = {"event_id": ("h%d-" % i) + p[:40], "occur_time": 1661593036627,
              "event_type": 4004, "event_count": 2}
        for f in STRING_FIELDS:
            ev[f] = v
        ev["process_info_list"] = [{"process_name": v, "process_path": v,
                                    "process_pid": 77,
                                    "process_username": v,
                                    "process_cmdline": v,
                                    "process_hash": v}]
        ev["user_info_list"] = [{"user_name": v, "login_ip": "198.51.100.1"}]
        ev["file_info_list"] = [{"file_path": "/tmp/" + v, "file_hash": v}]
        evs.append(ev)
    return evs


def page_bytes(events):
    text = json.dumps({"total_num": len(events), "data_list": events},
                      ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


def fix(s):
    """As the forwarder sends it: each invalid byte -> U+FFFD."""
    return "".join("\ufffd" if "\udc80" <= c <= "\udcff" else c for c in s)


def cut(s, maxbytes):
    b = s.encode("utf-8")
    if len(b) <= maxbytes:
        return s
    b = b[:maxbytes]
    while b and (b[-1] & 0xC0) == 0x80:
        b = b[:-1]
    if b and b[-1] >= 0xC0:
        b = b[:-1]
    return b.decode("utf-8")


def sval(ev, key):
    v = ev.get(key)
    return v if isinstance(v, str) and v != "" else None


def first(ev, lst):
    v = ev.get(lst)
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return v[0]
    return {}


# ---- expected fields ----------------------------------------------------

SD_NAMES = ["event_id", "event_type", "event_name", "severity", "host_name",
            "host_id", "private_ip", "public_ip", "os_type", "attack_phase",
            "attack_tag", "handle_status", "event_count", "container_name",
            "image_name"]


def want_sd(ev, lf):
    out = {}
    for n in SD_NAMES:
        v = ev.get(n)
        if isinstance(v, int) and not isinstance(v, bool):
            out[n] = str(v)
        elif isinstance(v, str) and v:
            v = fix(v)
            if lf:
                v = v.replace("\r", "\\r").replace("\n", "\\n")
            out[n] = v
    out.update(CTX)
    return out


def ipv(s):
    try:
        return ipaddress.ip_address(s).version if s else 0
    except ValueError:
        return 0


def want_cef(ev):
    def ext(v):
        return "".join(" " if (ord(c) < 0x20 and c not in "\r\n")
                       or c == "\x7f" else c for c in v)

    out = {}

    def s(key, v, mx):
        if isinstance(v, str) and v:
            out[key] = ext(cut(fix(v), mx))

    def n(key, v):
        if isinstance(v, int) and not isinstance(v, bool):
            out[key] = str(v)

    proc = first(ev, "process_info_list")
    user = first(ev, "user_info_list")
    fil = first(ev, "file_info_list")
    n("rt", ev["occur_time"])
    s("externalId", ev["event_id"], 40)
    if len(ev["event_id"]) > 40:
        out["flexString2Label"] = "eventId"
        s("flexString2", ev["event_id"], 1023)
    n("cat", ev.get("event_type"))
    s("act", sval(ev, "handle_status"), 63)
    n("cnt", ev.get("event_count"))
    s("dvchost", sval(ev, "host_name"), 100)
    s("deviceExternalId", sval(ev, "host_id"), 255)
    pip, pub = sval(ev, "private_ip"), sval(ev, "public_ip")
    if ipv(pip) == 4:
        out["dvc"] = pip
    elif ipv(pip) == 6:
        out["c6a1Label"], out["c6a1"] = "privateIp", pip
    if ipv(pub) == 4:
        out["deviceTranslatedAddress"] = pub
    elif ipv(pub) == 6:
        out["c6a3Label"], out["c6a3"] = "publicIp", pub
    if ipv(sval(user, "login_ip")) == 4:
        out["src"] = user["login_ip"]
    s("suser", sval(user, "user_name") or sval(proc, "process_username"), 1023)
    n("suid", user.get("user_id"))
    s("sproc", sval(proc, "process_name"), 1023)
    n("spid", proc.get("process_pid"))
    fpath, fhash = sval(fil, "file_path"), sval(fil, "file_hash")
    if fpath:
        s("fname", fpath.replace("\\", "/").rsplit("/", 1)[-1], 1023)
    if fpath is None and fhash is None:
        fpath = sval(proc, "process_path")
        fhash = sval(proc, "process_hash") or sval(proc, "process_file_hash")
    s("filePath", fpath, 1023)
    s("fileHash", fhash, 255)
    for i, (label, v) in enumerate([
            ("attackPhase", sval(ev, "attack_phase")),
            ("attackTag", sval(ev, "attack_tag")),
            ("eventClassId", sval(ev, "event_class_id")),
            ("handleMethod", sval(ev, "handle_method")),
            ("projectId", CTX["project_id"]), ("region", CTX["region"])], 1):
        if v:
            out["cs%dLabel" % i] = label
            s("cs%d" % i, v, 4000)
    if isinstance(proc.get("process_uid"), int):
        out["cn2Label"], out["cn2"] = "processUid", str(proc["process_uid"])
    out["cn3Label"], out["cn3"] = "sequenceId", None     # set per message
    if sval(proc, "process_cmdline"):
        out["flexString1Label"] = "processCmdline"
        s("flexString1", proc["process_cmdline"], 1023)
    return out


def want_cef_header(ev):
    name = sval(ev, "event_name") or sval(ev, "event_class_id") or "unknown"
    name = "".join(" " if ord(c) < 0x20 or c == "\x7f" else c
                   for c in cut(fix(name), 512))
    sev = {"Critical": "10", "High": "8", "Medium": "5", "Low": "3",
           "Security": "1"}.get(ev.get("severity"), "3")
    return {"DeviceVendor": "Huawei", "DeviceProduct": "HSS",
            "DeviceVersion": "v5", "SignatureID": str(ev["event_type"]),
            "Name": name, "Severity": sev}


def rsyslog_ctl(v):
    """rsyslog writes control characters received as #ooo."""
    return "".join("#%03o" % ord(c) if ord(c) < 0x20 else c for c in v)


# ---- running things -----------------------------------------------------

def dump(page, *args):
    r = subprocess.run([DUMP, *args, page], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "format-dump %s: %s" % (args, r.stderr[:500]))
    return r.stdout


def go_validate(tmp, events, page):
    gobin = os.path.join(tmp, "rfc5424check")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH,
               GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", gobin, "."],
                       cwd=os.path.join(SRCDIR, "tests", "tools",
                                        "rfc5424check"),
                       env=env, stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        check(False, "go build: " + r.stderr.decode(errors="replace"))
        return
    for framing in ("octet-counting", "lf"):
        data = dump(page, "-f", "rfc5424", "-F", framing, "-m", "0")
        r = subprocess.run([gobin, framing], input=data,
                           stdout=subprocess.PIPE, timeout=60)
        res = [json.loads(line) for line in r.stdout.splitlines()]
        check(r.returncode == 0 and len(res) == len(events),
              "go-syslog %s: %d of %d messages, rc %d" %
              (framing, len(res), len(events), r.returncode))
        for i, (ev, m) in enumerate(zip(events, res)):
            if not m.get("ok"):
                check(False, "go-syslog %s rejected event %d: %s" %
                      (framing, i, m.get("error")))
                continue
            want = {SD_ID: want_sd(ev, framing == "lf"),
                    "origin": {"software": "hss-forwarder",
                               "swVersion": m["sd"]["origin"]["swVersion"]},
                    "meta": {"sequenceId": str(i + 1)}}
            check(m["sd"] == want, "go-syslog %s event %d SD:\n%r\n!=\n%r" %
                  (framing, i, m["sd"], want))
            msg = m["msg"]
            check(msg.startswith("\ufeff"), "event %d: MSG has no BOM" % i)
            got = json.loads(msg.lstrip("\ufeff"))
            check(got == fixed_json(ev), "event %d: MSG JSON differs" % i)
    print("go-syslog: %d events x 2 framings checked" % len(events))


def fixed_json(v):
    if isinstance(v, str):
        return fix(v)
    if isinstance(v, list):
        return [fixed_json(x) for x in v]
    if isinstance(v, dict):
        return {fix(k): fixed_json(x) for k, x in v.items()}
    return v


def free_port_file(path, deadline):
    while time.time() < deadline:
        try:
            with open(path) as f:
                s = f.read().strip()
            if s:
                return int(s)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return None


def send(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)


def wait_lines(path, n, deadline):
    while time.time() < deadline:
        try:
            with open(path, "rb") as f:
                lines = f.read().splitlines()
            if len(lines) >= n:
                return lines
        except OSError:
            pass
        time.sleep(0.05)
    try:
        with open(path, "rb") as f:
            return f.read().splitlines()
    except OSError:
        return []


RSYSLOG_CONF = """
global(workDirectory="{d}" maxMessageSize="2m")
module(load="imtcp")
module(load="mmpstrucdata")
module(load="mmnormalize")
template(name="j" type="string" string="%$!all-json%\\n")
input(type="imtcp" address="127.0.0.1" port="0" maxFrameSize="2000000"
      listenPortFileName="{d}/sd.port" ruleset="sd")
input(type="imtcp" address="127.0.0.1" port="0" maxFrameSize="2000000"
      listenPortFileName="{d}/cef.port" ruleset="cef")
ruleset(name="sd") {{
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file="{d}/sd.out" template="j")
}}
# liblognorm #363 (Debian 12): a space must follow the seventh '|'.
ruleset(name="cef") {{
  set $.cef = re_extract($msg, '{re}', 0, 1, "") & " " &
              re_extract($msg, '{re}', 0, 4, "");
  action(type="mmnormalize" ruleBase="{d}/cef.rb" variable="$.cef")
  action(type="omfile" file="{d}/cef.out" template="j")
}}
"""
CEF_RE = r"^(CEF:0(\\|([^\\\\|]|\\\\.)*){6}\\|)(.*)$"


def rsyslog(tmp, rsyslogd, events, page):
    d = os.path.join(tmp, "rs")
    os.mkdir(d)
    with open(os.path.join(d, "cef.rb"), "w") as f:
        f.write("version=2\nrule=:%cef:cef%\n")
    conf = os.path.join(d, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(RSYSLOG_CONF.format(d=d, re=CEF_RE))
    r = subprocess.run([rsyslogd, "-N1", "-f", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        check(False, "rsyslogd -N1: " + r.stdout.decode(errors="replace"))
        return
    log = open(os.path.join(d, "rsyslogd.log"), "wb")
    proc = subprocess.Popen([rsyslogd, "-n", "-f", conf, "-i",
                             os.path.join(d, "rsyslogd.pid")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        sd_port = free_port_file(os.path.join(d, "sd.port"), deadline)
        cef_port = free_port_file(os.path.join(d, "cef.port"), deadline)
        if sd_port is None or cef_port is None:
            check(False, "rsyslogd did not listen")
            return
        octet = dump(page, "-f", "rfc5424", "-m", "0")
        lf = dump(page, "-f", "rfc5424", "-F", "lf", "-m", "0")
        cef = dump(page, "-f", "cef", "-H", "-m", "0")
        send(sd_port, octet + lf)
        send(cef_port, cef)
        n = len(events)
        sd_lines = wait_lines(os.path.join(d, "sd.out"), 2 * n,
                              time.time() + 30)
        cef_lines = wait_lines(os.path.join(d, "cef.out"), n,
                               time.time() + 30)
        check(len(sd_lines) == 2 * n, "rsyslog SD: %d of %d messages" %
              (len(sd_lines), 2 * n))
        check(len(cef_lines) == n, "rsyslog CEF: %d of %d messages" %
              (len(cef_lines), n))
        for k, line in enumerate(sd_lines[:2 * n]):
            i, is_lf = k % n, k >= n
            got = json.loads(line).get("rfc5424-sd")
            if got is None:
                check(False, "rsyslog SD event %d: not parsed: %r" %
                      (i, line[:300]))
                continue
            want = {key: rsyslog_ctl(v)
                    for key, v in want_sd(events[i], is_lf).items()}
            check(got.get(SD_ID) == want,
                  "rsyslog SD event %d (%s):\n%r\n!=\n%r" %
                  (i, "lf" if is_lf else "octet", got.get(SD_ID), want))
            check(set(got) == {SD_ID, "origin", "meta"},
                  "rsyslog SD event %d: elements %r" % (i, sorted(got)))
        for i, line in enumerate(cef_lines[:n]):
            got = json.loads(line).get("cef")
            if got is None:
                check(False, "rsyslog CEF event %d: not parsed: %r" %
                      (i, line[:300]))
                continue
            ext = got.pop("Extensions", {})
            want = want_cef_header(events[i])
            check(got == want, "rsyslog CEF header %d:\n%r\n!=\n%r" %
                  (i, got, want))
            want = want_cef(events[i])
            want["cn3"] = str(i + 1)
            check(ext == want, "rsyslog CEF extension %d:\n%r\n!=\n%r" %
                  (i, ext, want))
        print("rsyslog: %d SD messages, %d CEF messages checked" %
              (len(sd_lines), len(cef_lines)))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    rsyslogd, missing = prerequisites()
    if missing:
        print("SKIP: missing Debian packages: " + " ".join(missing))
        return 77
    if not os.access(DUMP, os.X_OK):
        print("FAIL: %s not built" % DUMP)
        return 1
    with open(os.path.join(SRCDIR, "tests", "data", "event", "good",
                           "official-example.json")) as f:
        official = json.load(f)["data_list"][0]
    events = [official] + hostile_events()
    tmp = tempfile.mkdtemp(prefix="it_format_")
    try:
        page = os.path.join(tmp, "page.json")
        with open(page, "wb") as f:
            f.write(page_bytes(events))
        go_validate(tmp, events, page)
        rsyslog(tmp, rsyslogd, events, page)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all receiver checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
