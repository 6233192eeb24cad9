#!/usr/bin/env python3
"""Backpressure: a receiver that accepts but never reads (tiny SO_RCVBUF).
The queue fills to queue_limit, the output reports congested=1, the
sender stops generating and its memory stays flat (VmRSS sampled); when
the receiver starts reading everything arrives and nothing is lost.

Memory bound: while congested the output holds at most queue_limit + 1
messages (each ~560 bytes with framing and bookkeeping here) plus the
framed window WIRE_HIGH (256 KiB, doubling growth of its buffer): about
1.1 MB in all, so RSS must not move by more than 2 MB while stalled, and
must stay the same size whatever the number of messages still to send."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 20000
LIMIT = 1000
SIZE = 500


def main(tmp):
    r = R.start_sink(tmp, rcvbuf=4096, hold=True)
    p = R.Probe(tmp, ["-t", "tcp", "-f", "octet", "-a", r.address, "-n",
                      str(N), "-s", str(SIZE), "-q", str(LIMIT),
                      "--pause-when-congested", "-T", "60",
                      "--stats-ms", "100"])
    try:
        R.wait_for(lambda: p.has("connected 1"), 10, what="connected")
        R.wait_for(lambda: any(x.startswith("congested 1") for x in
                               p.lines()), 15, what="congested 1")
        line = [x for x in p.lines() if x.startswith("congested 1")][0]
        gen0 = int(line.split("generated=")[1])
        assert LIMIT < gen0 <= LIMIT + 500, line  # one batch at most over
        samples = []
        for _ in range(20):                       # 2 s while stalled
            samples.append(R.rss_kb(p.proc.pid))
            time.sleep(0.1)
        st = p.stats()
        assert st["enqueued"] == gen0, (st, gen0)  # stopped generating
        # the few the tiny receive buffer took are acknowledged, the rest
        # are held: nothing dropped, still congested (clears below half)
        assert st["queue_depth"] + st["acked"] == gen0, st
        assert st["queue_depth"] >= LIMIT // 2, st
        assert st["connected"] == 1, st
        spread = max(samples) - min(samples)
        print("congested at %d generated, depth %d; VmRSS %d..%d kB "
              "(spread %d kB)" % (gen0, st["queue_depth"], min(samples),
                                  max(samples), spread))
        assert spread < 2048, samples
        r.release()
        rc = p.wait(60)
        assert rc == 0, "rc %s\n%s" % (rc, p.report())
        frames = R.wait_for(
            lambda: (lambda f: len(f) >= N and f)(
                R.parse_octet_frames(r.data())), 20,
            what="%d frames" % N)
        ids = [int(f.split(b'id="')[1].split(b'"')[0]) for f in frames]
        assert ids == list(range(1, N + 1)), "lost or reordered"
        assert all(len(f) == SIZE for f in frames)
        st = p.stats()
        cong = [x for x in p.lines() if x.startswith("congested")]
        assert st["acked"] == N and st["resent"] == 0, st
        assert len(cong) >= 3, cong     # on, off, on ... as it drained
        print("released: all %d arrived in order; %d congestion changes"
              % (N, len(cong)))
    except Exception:
        print(p.report())
        raise
    finally:
        p.stop()
        r.stop()


R.main_wrapper(main)
