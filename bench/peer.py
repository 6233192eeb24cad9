#!/usr/bin/env python3
"""A plain Python 3 HSS-to-SIEM connector: the peer hss-forwarder is
measured against in bench/run.  Standard library only, written as a
competent user would write it for production, not to be slow:

  - windows as the daemon plans them (DESIGN.md section 5): the cursor
    `end` (first start: now - backfill), each window [end - lookback,
    min(begin + 2 days - 1 s, now - settle)], ListSecurityEvents pages of
    `limit` events at offset 0, limit, ... while the page was full and
    offset < total_num, the window read again (at most 3 times) when fewer
    distinct event_ids than total_num were seen;
  - AK/SK SDK-HMAC-SHA256 signing (host, x-sdk-date, x-project-id,
    region), one keep-alive HTTPS connection (http.client, verified TLS);
  - dedupe by event_id against the ids of the lookback, kept in the state
    file with the cursor (written to a temporary file, fsync, rename, after
    each window once the output has taken every message);
  - CEF (with an RFC 5424 header) or RFC 5424 (SD params + the whole event
    as compact JSON in MSG), the same fields and escapes as hss-forwarder,
    over TCP with octet-counting framing, one sendall per page.

    bench/peer.py --endpoint https://127.0.0.1:8443 --project ID \\
        --ak AK (secret key in $HSS_SK) --ca-file cert.pem \\
        --output 127.0.0.1:6514 --format cef --state peer.state --once
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.parse

MAX_SPAN_MS = 2 * 86400 * 1000 - 1000
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNRESERVED = "-_.~"

SYSLOG_SEV = {"Critical": 2, "High": 3, "Medium": 4, "Low": 5, "Security": 6}
CEF_SEV = {"Critical": 10, "High": 8, "Medium": 5, "Low": 3, "Security": 1}

# CEF escapes (ArcSight CEF rules): header '|' '\'; extension '\' '=' CR LF;
# other control characters become a space.
_CTRL = {c: " " for c in list(range(0x20)) + [0x7f]}
CEF_HDR = str.maketrans({**_CTRL, "|": "\\|", "\\": "\\\\"})
CEF_EXT = str.maketrans({**_CTRL, "\\": "\\\\", "=": "\\=", "\n": "\\n",
                         "\r": "\\r"})
SD_ESC = str.maketrans({'"': '\\"', "\\": "\\\\", "]": "\\]"})


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--region", default="ap-southeast-1")
    p.add_argument("--category", default="host")
    p.add_argument("--enterprise-project-id", default="all_granted_eps")
    p.add_argument("--ak", required=True)
    p.add_argument("--ca-file")
    p.add_argument("--output", required=True, help="HOST:PORT (TCP)")
    p.add_argument("--format", choices=("cef", "rfc5424"), default="cef")
    p.add_argument("--state", required=True)
    p.add_argument("--backfill", type=float, default=86400, help="seconds")
    p.add_argument("--lookback", type=float, default=600, help="seconds")
    p.add_argument("--settle", type=float, default=30, help="seconds")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--poll-interval", type=float, default=60)
    p.add_argument("--once", action="store_true",
                   help="stop when caught up")
    return p.parse_args()


def quote(s):
    return urllib.parse.quote(s, safe=UNRESERVED)


class Api:
    """Signed ListSecurityEvents calls over one keep-alive connection."""

    def __init__(self, a, sk):
        u = urllib.parse.urlsplit(a.endpoint)
        self.host = u.hostname
        self.port = u.port or 443
        self.hosthdr = u.netloc
        self.path = "/v5/%s/event/events" % a.project
        self.ctx = ssl.create_default_context(cafile=a.ca_file)
        self.a = a
        self.sk = sk.encode()
        self.conn = None

    def _sign(self, query):
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        hdrs = {"host": self.hosthdr, "region": self.a.region,
                "x-project-id": self.a.project, "x-sdk-date": date}
        signed = sorted(hdrs)
        creq = "\n".join(["GET", self.path + "/", query,
                          "".join("%s:%s\n" % (k, hdrs[k]) for k in signed),
                          ";".join(signed), EMPTY_SHA256])
        sts = "SDK-HMAC-SHA256\n%s\n%s" % (
            date, hashlib.sha256(creq.encode()).hexdigest())
        sig = hmac.new(self.sk, sts.encode(), hashlib.sha256).hexdigest()
        return {"Host": self.hosthdr, "Region": self.a.region,
                "X-Project-Id": self.a.project, "X-Sdk-Date": date,
                "Content-Type": "application/json",
                "Authorization": "SDK-HMAC-SHA256 Access=%s, SignedHeaders="
                "%s, Signature=%s" % (self.a.ak, ";".join(signed), sig)}

    def page(self, begin, end, offset, limit):
        params = sorted([("begin_time", "%013d" % begin),
                         ("category", self.a.category),
                         ("end_time", "%013d" % end),
                         ("enterprise_project_id",
                          self.a.enterprise_project_id),
                         ("limit", str(limit)), ("offset", str(offset))])
        query = "&".join("%s=%s" % (quote(k), quote(v)) for k, v in params)
        for attempt in range(5):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(
                        self.host, self.port, context=self.ctx, timeout=60)
                self.conn.request("GET", self.path + "?" + query,
                                  headers=self._sign(query))
                r = self.conn.getresponse()
                body = r.read()
                if r.status == 200:
                    d = json.loads(body)
                    if "total_num" in d and isinstance(d.get("data_list"),
                                                       list):
                        return d
                print("peer: HTTP %d: %s" % (r.status, body[:200]),
                      file=sys.stderr)
            except (OSError, http.client.HTTPException, ValueError) as e:
                print("peer: %s" % e, file=sys.stderr)
                self.conn = None
            time.sleep(min(60, 2 ** attempt))
        raise SystemExit("peer: giving up on %d..%d offset %d" %
                         (begin, end, offset))


class Formatter:
    def __init__(self, a):
        self.a = a
        self.host = socket.gethostname()
        self.seq = 0

    @staticmethod
    def _ts(ms):
        return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S",
                                           time.gmtime(ms // 1000)), ms % 1000)

    def _header(self, ev):
        sev = SYSLOG_SEV.get(ev.get("severity"), 5)
        msgid = ev.get("event_class_id") or str(ev.get("event_type", "-"))
        return "<%d>1 %s %s hss-forwarder - %s" % (
            16 * 8 + sev, self._ts(ev["occur_time"]), self.host, msgid)

    def cef(self, ev):
        def first(key):
            v = ev.get(key)
            return v[0] if isinstance(v, list) and v and \
                isinstance(v[0], dict) else {}
        proc, user, fil = (first("process_info_list"),
                           first("user_info_list"), first("file_info_list"))
        res = ev.get("resource_info") or {}
        eid = ev["event_id"]
        cls = str(ev.get("event_type") or ev.get("event_class_id")
                  or "unknown")
        name = ev.get("event_name") or ev.get("event_class_id") or "unknown"
        ext = [("rt", ev["occur_time"]), ("externalId", eid[:40])]
        if len(eid) > 40:
            ext += [("flexString2Label", "eventId"), ("flexString2", eid)]
        fpath = fil.get("file_path")
        fhash = fil.get("file_hash") or fil.get("file_sha256") or \
            fil.get("file_md5")
        if not fpath and not fhash:
            fpath = proc.get("process_path")
            fhash = proc.get("process_hash") or \
                proc.get("process_file_hash")
        pip, pub = ev.get("private_ip"), ev.get("public_ip")
        for k, v, *label in (
                ("cat", ev.get("event_type")),
                ("act", ev.get("handle_status")),
                ("cnt", ev.get("event_count")),
                ("dvchost", (ev.get("host_name") or "")[:100]),
                ("deviceExternalId", ev.get("host_id")),
                ("c6a1Label" if pip and ":" in pip else "dvc",
                 "privateIp" if pip and ":" in pip else pip),
                ("c6a1", pip if pip and ":" in pip else None),
                ("c6a3Label" if pub and ":" in pub else
                 "deviceTranslatedAddress",
                 "publicIp" if pub and ":" in pub else pub),
                ("c6a3", pub if pub and ":" in pub else None),
                ("src", user.get("login_ip")),
                ("suser", user.get("user_name") or
                 proc.get("process_username")),
                ("suid", user.get("user_id")),
                ("sproc", proc.get("process_name")),
                ("spid", proc.get("process_pid")),
                ("fname", fpath.rsplit("/", 1)[-1] if fpath else None),
                ("filePath", fpath), ("fileHash", fhash),
                ("fsize", fil.get("file_size")),
                ("cs1", ev.get("attack_phase"), "attackPhase"),
                ("cs2", ev.get("attack_tag"), "attackTag"),
                ("cs3", ev.get("event_class_id"), "eventClassId"),
                ("cs4", ev.get("handle_method"), "handleMethod"),
                ("cs5", self.a.project, "projectId"),
                ("cs6", self.a.region, "region"),
                ("cn1", ev.get("handle_time"), "handleTime"),
                ("cn2", proc.get("process_uid"), "processUid"),
                ("cn3", self.seq, "sequenceId"),
                ("flexString1", (proc.get("process_cmdline") or "")[:1023],
                 "processCmdline")):
            if v is not None and v != "":
                if label:
                    ext.append((k + "Label", label[0]))
                ext.append((k, v))
        return "%s - CEF:0|Huawei|HSS|v5|%s|%s|%d|%s" % (
            self._header(ev), cls.translate(CEF_HDR)[:1023],
            name.translate(CEF_HDR)[:512], CEF_SEV.get(ev.get("severity"), 3),
            " ".join("%s=%s" % (k, str(v).translate(CEF_EXT))
                     for k, v in ext))

    def rfc5424(self, ev):
        sd = []
        for k in ("event_id", "event_type", "event_name", "severity",
                  "host_name", "host_id", "private_ip", "public_ip",
                  "os_type", "attack_phase", "attack_tag", "handle_status",
                  "event_count", "container_name", "image_name"):
            v = ev.get(k)
            if v is not None and v != "":
                sd.append(' %s="%s"' % (k, str(v).translate(SD_ESC)))
        return '%s [hss@32473%s project_id="%s" region="%s" source="peer"]' \
            '[origin software="hss-forwarder"][meta sequenceId="%d"] ' \
            '\ufeff%s' % (self._header(ev), "".join(sd), self.a.project,
                          self.a.region, self.seq,
                          json.dumps(ev, ensure_ascii=False,
                                     separators=(",", ":")))

    def frame(self, ev):
        self.seq = self.seq % 2147483647 + 1
        msg = (self.cef(ev) if self.a.format == "cef"
               else self.rfc5424(ev)).encode("utf-8", "replace")
        return b"%d %s" % (len(msg), msg)


def load_state(path):
    try:
        with open(path) as f:
            st = json.load(f)
        return st["end"], dict(st["ids"])
    except FileNotFoundError:
        return None, {}


def save_state(path, end, ids):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"end": end, "ids": list(ids.items())}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    a = parse_args()
    api = Api(a, os.environ["HSS_SK"])
    fmt = Formatter(a)
    host, port = a.output.rsplit(":", 1)
    out = socket.create_connection((host, int(port)))
    end, ids = load_state(a.state)
    if end is None:
        end = int(time.time() * 1000 - a.backfill * 1000)
    calls = sent = 0
    started = int(time.time() * 1000)
    while True:
        # --once: up to the time of the start
        now = started if a.once else int(time.time() * 1000)
        begin = end - int(a.lookback * 1000)
        stop = now - int(a.settle * 1000)
        wend = min(begin + MAX_SPAN_MS, stop)
        if wend <= end:
            if a.once:
                break
            time.sleep(a.poll_interval)
            continue
        for _ in range(3):
            seen = set()
            total = offset = 0
            while True:
                d = api.page(begin, wend, offset, a.page_size)
                calls += 1
                total = d["total_num"]
                frames = []
                for ev in d["data_list"]:
                    eid = ev.get("event_id")
                    if not isinstance(eid, str) or not isinstance(
                            ev.get("occur_time"), int):
                        continue
                    seen.add(eid)
                    if eid in ids:
                        continue
                    ids[eid] = ev["occur_time"]
                    frames.append(fmt.frame(ev))
                if frames:
                    out.sendall(b"".join(frames))
                    sent += len(frames)
                offset += a.page_size
                if len(d["data_list"]) < a.page_size or offset >= total:
                    break
            if len(seen) >= total:
                break
        end = wend
        keep = end - int(a.lookback * 1000)
        ids = {k: t for k, t in ids.items() if t >= keep}
        save_state(a.state, end, ids)
    out.shutdown(socket.SHUT_WR)
    out.recv(1)
    out.close()
    print("peer: %d calls, %d events sent" % (calls, sent), file=sys.stderr)


if __name__ == "__main__":
    main()
