#!/usr/bin/env python3
"""queue_limit_bytes: with large messages the byte limit pauses the
sources long before queue_limit (messages) would. A receiver that accepts
but never reads (tiny SO_RCVBUF); 256 KiB messages, queue_limit 10000,
queue_limit_bytes 4 MiB: the output is congested at the 16th message
(not 10,000, which would be 2.5 GB), the congestion log names
queue_limit_bytes, the sender stops generating; when the receiver reads,
everything arrives in order."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 100
SIZE = 256 * 1024
LIMIT_BYTES = 4 * 1024 * 1024


def main(tmp):
    r = R.start_sink(tmp, rcvbuf=4096, hold=True)
    p = R.Probe(tmp, ["-t", "tcp", "-f", "octet", "-a", r.address, "-n",
                      str(N), "-s", str(SIZE), "-m", str(1024 * 1024),
                      "-q", "10000", "--queue-bytes", str(LIMIT_BYTES),
                      "--pause-when-congested", "-T", "60",
                      "--stats-ms", "100"])
    try:
        R.wait_for(lambda: p.has("connected 1"), 10, what="connected")
        R.wait_for(lambda: any(x.startswith("congested 1") for x in
                               p.lines()), 15, what="congested 1")
        line = [x for x in p.lines() if x.startswith("congested 1")][0]
        gen0 = int(line.split("generated=")[1])
        # over 4 MiB: the 16th message of 256 KiB (framed: a few bytes more)
        assert gen0 == LIMIT_BYTES // SIZE, line
        R.wait_for(lambda: "over queue_limit_bytes 4194304" in p.err(), 10,
                   what="the congestion log line")
        assert "over queue_limit " not in p.err(), p.err()
        R.wait_for(lambda: p.stats()["enqueued"] == gen0, 10,
                   what="stats after the congestion")
        time.sleep(0.5)                              # five stats lines
        st = p.stats()
        assert st["enqueued"] == gen0, (st, gen0)    # stopped generating
        print("congested at %d messages of %d bytes (queue_limit 10000)"
              % (gen0, SIZE))
        r.release()
        rc = p.wait(60)
        assert rc == 0, "rc %s\n%s" % (rc, p.report())
        frames = R.wait_for(
            lambda: (lambda f: len(f) >= N and f)(
                R.parse_octet_frames(r.data())), 20,
            what="%d frames" % N)
        ids = [int(f.split(b'id="')[1].split(b'"')[0]) for f in frames]
        assert ids == list(range(1, N + 1)), "lost or reordered"
        assert "no longer congested" in p.err(), p.err()
    except Exception:
        print(p.report())
        raise
    finally:
        p.stop()
        r.stop()


R.main_wrapper(main)
