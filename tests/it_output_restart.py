#!/usr/bin/env python3
"""The receiver (rsyslog, tcp, octet counting) is stopped and started again
5 times during a 10,000-message run: every id arrives at least once, the
output reconnects at least 5 times, nothing is lost.

Each stop happens while the sender is paused and the receiver has written
everything sent so far: bytes that the receiver's kernel acknowledged but
that the receiver process never read are outside what TCP acknowledgement
can see (DESIGN.md section 7 accepts that window), so the test does not
kill inside it. Half the stops are SIGKILL, half SIGTERM."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402

N = 10000
ID = re.compile(rb'\[probe@32473 id="(\d+)"\]')


def ids(r):
    return set(int(m.group(1)) for m in ID.finditer(r.data()))


def main(tmp):
    r = R.start_rsyslog(tmp, "tcp")
    pause = os.path.join(tmp, "pause")
    p = R.Probe(tmp, ["-t", "tcp", "-f", "octet", "-a", r.address, "-n",
                      str(N), "-s", "200", "--rate", "2500", "-T", "90",
                      "--pause-file", pause, "--pause-when-congested"])
    try:
        for k in range(1, 6):
            def acked():
                a = [int(x.split()[1]) for x in p.lines()
                     if x.startswith("acked ")]
                return a and a[-1] >= k * 1500
            R.wait_for(acked, 30, what="acked %d" % (k * 1500))
            open(pause, "w").close()
            def paused():
                g = [int(x.split("=")[1]) for x in p.lines()
                     if x.startswith("paused generated=")]
                return len(g) >= k and g
            gen = R.wait_for(paused, 10, what="probe paused")[-1]
            R.wait_for(lambda: len(ids(r)) >= gen, 10,
                       what="receiver wrote %d ids" % gen)
            r.stop(signal.SIGKILL if k % 2 else signal.SIGTERM)
            r.restart()
            os.unlink(pause)
            R.wait_for(lambda: p.has("reconnects %d" % k), 30,
                       what="reconnect %d" % k)
            print("restart %d done at %d messages" % (k, gen))
        rc = p.wait(90)
        if rc != 0:
            raise AssertionError("probe rc %s\n%s" % (rc, p.report()))
        R.wait_for(lambda: len(ids(r)) >= N, 10, what="all ids written")
        got = ids(r)
        missing = set(range(1, N + 1)) - got
        assert not missing, "lost %d ids, e.g. %s" % (
            len(missing), sorted(missing)[:10])
        st = p.stats()
        assert st["acked"] == N and st["queue_depth"] == 0, st
        assert st["reconnects"] >= 5, st
        lost_lines = p.err().count("connection to ")
        assert lost_lines >= 5, p.err()
        print("all %d ids arrived; reconnects=%d resent=%d "
              "connect_failures=%d" % (N, st["reconnects"], st["resent"],
                                       st["connect_failures"]))
    except Exception:
        print(p.report())
        raise
    finally:
        p.stop()
        r.stop()


R.main_wrapper(main)
