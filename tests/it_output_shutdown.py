#!/usr/bin/env python3
"""Graceful stop (output_shutdown, on SIGTERM in the probe): generation
stops, what was sent is acknowledged, TLS ends with close_notify (the
receiver sees a clean end of stream, not an EOF in violation of the
protocol) and the callback runs once; a receiver that reads nothing makes
the shutdown give up at its deadline, saying how many messages are left."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def main(tmp):
    certs = R.make_certs(tmp)
    r = R.start_sink(tmp, tls="server", certs=certs)
    try:
        p = R.Probe(tmp, ["-t", "tls", "-a", r.address, "--ca", certs["ca"],
                          "-n", "1000000", "--rate", "5000", "-T", "30"],
                    name="graceful")
        R.wait_for(lambda: any(x.startswith("acked ") and
                               int(x.split()[1]) >= 1000
                               for x in p.lines()), 15, what="1000 acked")
        p.proc.send_signal(signal.SIGTERM)
        rc = p.wait(15)
        st = p.stats()
        assert rc == 0 and p.has("shutdown done depth=0"), p.report()
        assert st["acked"] == st["enqueued"], st
        assert p.lines().count("shutdown done depth=0") == 1
        frames = R.wait_for(lambda: (lambda f: len(f) >= st["acked"] and f)(
            R.parse_octet_frames(r.data())), 10, what="frames")
        assert len(frames) == st["acked"], (len(frames), st)
        R.wait_for(lambda: "sink: closed" in r.log(), 5, what="sink closed")
        assert "sink: connection:" not in r.log(), r.log()
        print("graceful: %d acknowledged, close_notify seen by the "
              "receiver" % st["acked"])
    finally:
        r.stop()
    r = R.start_sink(tmp, hold=True, rcvbuf=4096)
    try:
        p = R.Probe(tmp, ["-t", "tcp", "-a", r.address, "-n", "3000", "-s",
                          "1000", "-T", "30", "--shutdown-ms", "700"],
                    name="deadline")
        R.wait_for(lambda: p.has("generated 3000"), 10, what="generated")
        t0 = time.monotonic()
        p.proc.send_signal(signal.SIGTERM)
        rc = p.wait(15)
        took = time.monotonic() - t0
        assert rc == 3, p.report()
        assert "not acknowledged in time" in p.err(), p.err()
        assert took < 5, took
        print("deadline: gave up after %.1f s: %s" % (took, [
            x for x in p.err().splitlines() if "in time" in x][0]
            .split("warning: ")[1]))
    finally:
        r.stop()


R.main_wrapper(main)
