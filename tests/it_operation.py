#!/usr/bin/env python3
"""What an operator watches (DESIGN.md section 9), on one running daemon:
systemd notifications (READY=1 after the config load, STATUS= with the
slowest lag, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1
on SIGHUP, STOPPING=1 on SIGTERM); the metrics endpoint (/metrics in
Prometheus text with the counters of every source and output, /healthz,
GET only); the periodic stats line; heartbeat messages to the outputs."""
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import receivers as R  # noqa: E402


class Notify:
    """The $NOTIFY_SOCKET end of sd_notify(3): a datagram socket read by a
    thread, so that each message carries the time it arrived."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.seen = []      # (monotonic time, message)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read)
        self.thread.start()

    def _read(self):
        while not self.done.is_set():
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            with self.lock:
                self.seen.append((time.monotonic(), m))

    def drain(self):
        with self.lock:
            return list(self.seen)

    def messages(self):
        return [m for _, m in self.drain()]

    def close(self):
        self.done.set()
        self.thread.join(5)
        self.sock.close()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, None, ""


def metric(text, name, label):
    for line in text.splitlines():
        if line.startswith("%s{%s} " % (name, label)):
            return float(line.split()[-1])
    raise H.Failure("no %s{%s} in:\n%s" % (name, label, text))


def test(h):
    h.start_sim("--events", "150", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0")
    want = h.sim_ids()
    assert len(want) == 150, len(want)
    mport = R.free_port()
    conf = h.write_config(
        h.source_yaml(extra="    poll_interval: 10m\n    settle: 0s\n"
                      "    backfill: 2d\n    calls_per_minute: 600\n"),
        h.stdout_output(),
        top="metrics_listen: 127.0.0.1:%d\nheartbeat_interval: 1s\n" % mport)
    # write_config sets stats_interval: 0; the periodic line wants 1s.
    with open(conf) as f:
        text = f.read().replace("stats_interval: 0", "stats_interval: 1s")
    with open(conf, "w") as f:
        f.write(text)
    notify = Notify(os.path.join(h.dir, "notify"))
    env = h.env()
    env["NOTIFY_SOCKET"] = os.path.join(h.dir, "notify")
    env["WATCHDOG_USEC"] = "1000000"
    d = h.spawn("-f", "-c", conf, env=env)
    try:
        H.wait_for(lambda: "READY=1" in notify.messages(), 20, "READY=1")
        # Every event of the sim, then its window committed.
        H.wait_for(lambda: {json.loads(l)["event_id"] for l in
                            H.complete_lines(h.read("daemon.out"))
                            if '"event_id"' in l} >= want, 60,
                   "all %d events on stdout" % len(want))
        h.wait_log('stats: source "src1": received %d,' % len(want),
                   proc=d)

        # systemd: watchdog every 500 ms, a status with the lag.
        t0 = time.monotonic()
        H.wait_for(lambda: [m for t, m in notify.drain()
                            if t > t0 and m == "WATCHDOG=1"][3:], 10,
                   "4 WATCHDOG=1 after the first events")
        dogs = [t for t, m in notify.drain() if m == "WATCHDOG=1" and t > t0]
        gaps = [b - a for a, b in zip(dogs, dogs[1:])]
        # 0.5 s nominal on an idle loop; a gap of WATCHDOG_USEC (1 s) is
        # what systemd would kill for, a gap near 0 a watchdog per loop turn.
        assert min(gaps) > 0.25 and max(gaps) < 1.0, gaps
        H.wait_for(lambda: [m for m in notify.messages()
                            if m.startswith("STATUS=1 sources, slowest lag ")],
                   40, "a STATUS= line")
        msgs = notify.messages()
        assert msgs[0] == "READY=1", msgs[:5]

        # metrics
        base = "http://127.0.0.1:%d" % mport
        st, ctype, body = get(base + "/metrics")
        assert st == 200 and ctype.startswith("text/plain"), (st, ctype)
        assert "# TYPE hss_forwarder_source_received_total counter" in body
        src = 'source="src1"'
        assert metric(body, "hss_forwarder_source_received_total",
                      src) == len(want), body
        assert metric(body, "hss_forwarder_source_committed_total",
                      src) == len(want), body
        assert metric(body, "hss_forwarder_source_duplicates_total",
                      src) == 0, body
        # settle 0s and the last window just committed: seconds behind
        lag = metric(body, "hss_forwarder_source_lag_seconds", src)
        assert 0 <= lag < 60, lag
        out = 'output="out"'
        assert metric(body, "hss_forwarder_output_connected", out) == 1
        assert metric(body, "hss_forwarder_output_acked_total",
                      out) >= len(want), body
        assert get(base + "/healthz")[0::2] == (200, "ok\n")
        assert get(base + "/nothing")[0] == 404
        req = urllib.request.Request(base + "/metrics", data=b"x",
                                     method="POST")
        try:
            urllib.request.urlopen(req, timeout=10)
            raise H.Failure("POST /metrics was accepted")
        except urllib.error.HTTPError as e:
            assert (e.code, e.headers.get("Allow")) == (405, "GET, HEAD"), e

        # heartbeats on the output, between and after the events
        H.wait_for(lambda: len([l for l in H.complete_lines(h.read("daemon.out"))
                                if '"heartbeat"' in l]) >= 2, 10,
                   "two heartbeats")
        beats = [json.loads(l)["_hss"] for l in
                 H.complete_lines(h.read("daemon.out")) if '"heartbeat"' in l]
        assert all(b["type"] == "heartbeat" for b in beats), beats
        assert beats[-1]["counters"]["events_sent"] == len(want), beats[-1]
        assert beats[-1]["counters"]["sources"] == 1, beats[-1]
        seqs = [b["sequence"] for b in beats]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs

        # SIGHUP: RELOADING=1, then READY=1 again
        k = len(notify.messages())
        d.send_signal(signal.SIGHUP)
        H.wait_for(lambda: "READY=1" in notify.messages()[k:], 20,
                   "READY=1 after the reload")
        after = notify.messages()[k:]
        assert after.index("RELOADING=1") < after.index("READY=1"), after

        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=12)
        assert rc == 0, rc
        assert "STOPPING=1" in notify.messages()[k:], notify.messages()[k:]
    finally:
        notify.close()


H.main(test)
