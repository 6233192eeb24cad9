"""Helpers for the reload tests (tests/it_reload_*.py): an in-process TCP
receiver that counts its connections and keeps each one's lines apart,
/metrics counters, the simulator's request count, and config text edits.

Builds on harness.py; edits nothing of it.
"""
import json
import os
import re
import socket
import threading
import time

import harness as H
import statefile


class LineReceiver:
    """A TCP listener on 127.0.0.1 (a thread) for json format with lf
    framing: counts the connections it accepted and keeps the complete
    lines of each. hold=True: accept, never read (the sender's bytes stay
    unacknowledged once the small receive buffer is full)."""

    def __init__(self, hold=False):
        self.sock = socket.socket()
        if hold:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hold = hold
        self.lock = threading.Lock()
        self.conns = []         # per connection: list of complete lines
        self.open = 0
        self.held = []
        self.stopping = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append([])
                idx = len(self.conns) - 1
                self.open += 1
            if self.hold:
                self.held.append(c)
                continue
            threading.Thread(target=self._read, args=(c, idx),
                             daemon=True).start()

    def _read(self, c, idx):
        buf = b""
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            with self.lock:
                self.conns[idx].extend(ln.decode("utf-8", "replace")
                                       for ln in lines if ln)
        c.close()
        with self.lock:
            self.open -= 1

    def connections(self):
        with self.lock:
            return len(self.conns)

    def lines(self, conn=None):
        with self.lock:
            if conn is not None:
                return list(self.conns[conn])
            return [ln for c in self.conns for ln in c]

    def event_ids(self, conn=None):
        """event_ids of the events (not heartbeats or gaps) received."""
        ids = []
        for ln in self.lines(conn):
            o = json.loads(ln)
            if "event_id" in o:
                ids.append(o["event_id"])
        return ids

    def close(self):
        self.stopping = True
        self.sock.close()
        for c in self.held:
            c.close()


def output_yaml(name, receiver, extra=""):
    return ("  - name: %s\n    format: json\n    transport: tcp\n"
            "    address: %s\n    framing: lf\n%s" % (name, receiver.address,
                                                     extra))


def source_extra(poll="1h", extra=""):
    """A source that catches up fast and then polls every `poll`, without
    the late sweep (so that every API call is a live window)."""
    return ("    backfill: 2d\n    settle: 0s\n    calls_per_minute: 600\n"
            "    poll_interval: %s\n    sweep_range: 0s\n%s" % (poll, extra))


def metrics(port):
    status, body = H.http_get(port, "/metrics")
    assert status == 200, (status, body)
    return body


def counters(text):
    """{(metric, label): value} of every *_total sample of /metrics."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(hss_forwarder_\w+_total)\{(\w+="[^"]*")\} (\S+)$',
                     line)
        if m:
            out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def settled(h, port, quiet=1.5, timeout=30):
    """The *_total counters once the daemon is idle: two snapshots of the
    counters and of the simulator's request count `quiet` seconds apart are
    equal. A source that has just committed its events may still read the
    last milliseconds up to now in a second window; comparing counters
    across a reload is only meaningful after that."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        snap = (counters(metrics(port)), len(sim_requests(h)))
        if snap == last:
            return snap[0]
        if time.monotonic() > deadline:
            raise AssertionError("the daemon did not go idle in %ss: %r"
                                 % (timeout, snap))
        last = snap
        time.sleep(quiet)


def sim_requests(h):
    """API requests the simulator answered for events (not /_sim/)."""
    return [r for r in h.sim_get("/_sim/requests")
            if "/event/events" in r["path"]]


def add_events(h, count, ago_ms=30000, category="host"):
    now = h.sim_get("/_sim/config")["now_ms"]
    r = h.sim_post("/_sim/add-events", {
        "count": count, "occur_time_ms": now - ago_ms,
        "category": category})
    return r["event_ids"]


def rewrite(path, old, new):
    text = open(path).read()
    assert old in text, (old, text)
    with open(path + ".new", "w") as f:
        f.write(text.replace(old, new))
    os.rename(path + ".new", path)


def state(h, name):
    """The saved state of source name: its snapshot and journal files."""
    st = statefile.read(os.path.join(h.dir, "state"), name)
    assert st is not None, "no state file for %s" % name
    return st
