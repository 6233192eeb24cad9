#!/usr/bin/env python3
"""Benchmark of the HSS API simulator (tools/hss-sim): start-up time and
pages of 1000 events per second, first read and warm, over one keep-alive
connection with signed requests.  Prints figures; asserts nothing.

    python3 bench/bench_sim.py [--events N] [--rounds R] [--srcdir DIR]

Start-up is measured from the process start to the port file.  "first
read" reads every event once right after start-up (the host pages then the
container pages, all enterprise projects, the whole span: 21 requests for
20,000 events; pages/s counts 1000 events as a page), with the background
warm-up running (the default) and with --no-warm; "warm" reads the same
pages again.  Not run by make check."""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3,
                   help="simulator runs per mode; the median is printed")
    p.add_argument("--srcdir", default=os.environ.get(
        "srcdir", os.path.dirname(HERE)))
    return p.parse_args()


class Sim:
    """One simulator process on a free loopback port."""

    def __init__(self, srcdir, args):
        self.srcdir = srcdir
        self.args = args

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-sim.")
        pf = os.path.join(self.dir, "port")
        cmd = [sys.executable, os.path.join(self.srcdir, "tools", "hss-sim"),
               "--port", "0", "--port-file", pf] + self.args
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = t0 + 30
        while True:
            if os.path.exists(pf):
                with open(pf) as f:
                    txt = f.read()
                if txt.endswith("\n"):
                    self.startup = time.monotonic() - t0
                    self.port = int(txt)
                    return self
            if self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError("hss-sim exited %s" % self.proc.returncode)
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("hss-sim did not start in 30 s")
            time.sleep(0.002)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def get(conn, hostport, path, params, sign=True):
    """GET path?params over conn (signed for the API); the body."""
    q = testkit.build_query(params)
    hdrs = {"Host": hostport, "Content-Type": "application/json"}
    if sign:
        hdrs, _ = signer.sign("GET", path, q, hdrs, b"", testkit.AK,
                              testkit.SK)
    conn.request("GET", path + "?" + q, headers=hdrs)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError("%s: HTTP %d: %r" % (path, r.status, body[:200]))
    if r.getheader("Connection", "").lower() == "close":
        raise RuntimeError("the simulator closed the connection")
    return body


def read_all(conn, hostport, pages):
    """GET every page (params, events expected); returns (events, bytes,
    seconds)."""
    n = nbytes = 0
    path = testkit.EVENTS_PATH % testkit.PID
    t0 = time.monotonic()
    for params, count in pages:
        body = get(conn, hostport, path, params)
        n += count
        nbytes += len(body)
    return n, nbytes, time.monotonic() - t0


def one_run(srcdir, events, warm):
    args = ["--aksk", "%s:%s" % (testkit.AK, testkit.SK), "--project",
            testkit.PID, "--rate-limit", "0", "--events", str(events),
            "--span", "7d", "--seed", "1"]
    if not warm:
        args.append("--no-warm")
    with Sim(srcdir, args) as sim:
        hostport = "127.0.0.1:%d" % sim.port
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=60)
        try:
            # Every event once, newest first, in pages of 1000; the oracle
            # counts them without building a body.
            pages = []
            for cat in ("host", "container"):
                q = {"category": cat,
                     "enterprise_project_id": "all_granted_eps"}
                total = json.loads(get(conn, hostport, "/_sim/events", q,
                                       False))["count"]
                pages += [(dict(q, last_days=8, limit=1000, offset=off),
                           min(1000, total - off))
                          for off in range(0, total, 1000)]
            first = read_all(conn, hostport, pages)
            again = read_all(conn, hostport, pages)
        finally:
            conn.close()
    return sim.startup, first, again


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    a = parse_args()
    sys.path.insert(0, os.path.join(a.srcdir, "tools"))
    global signer, testkit
    from hsssim import signer, testkit
    print("hss-sim benchmark: --events %d, pages of limit=1000 over one "
          "keep-alive connection,\nsigned requests; pages/s counts 1000 "
          "events as a page; median of %d runs" % (a.events, a.rounds))
    for warm in (True, False):
        runs = [one_run(a.srcdir, a.events, warm) for _ in range(a.rounds)]
        st = median([r[0] for r in runs])
        n, nbytes, _ = runs[0][1]
        f = median([r[1][0] / 1000 / r[1][2] for r in runs])
        w = median([r[2][0] / 1000 / r[2][2] for r in runs])
        print("  %-10s start-up %5.0f ms  first read %5.1f pages/s  "
              "warm %5.1f pages/s  (%d events, %.1f MB)" % (
                  "warm-up" if warm else "--no-warm", st * 1000, f, w, n,
                  nbytes / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
