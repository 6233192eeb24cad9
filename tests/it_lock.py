#!/usr/bin/env python3
"""Two daemons on one state directory: the second exits 1 and says who holds it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "50", "--span", "1d")
    conf = h.write_config(h.source_yaml(extra="    poll_interval: 10m\n"),
                          h.stdout_output())
    first = h.spawn("-f", "-c", conf)
    h.wait_log('source "src1": starting', proc=first)
    rc, out, err = h.run("-f", "-c", conf, stderr_name="second.err",
                         stdout_name="second.out", timeout=30)
    assert rc == 1, rc
    want = "is locked by another hss-forwarder (pid %d)" % first.pid
    assert want in err, err
    assert first.poll() is None, "the first daemon must keep running"
    first.terminate()
    assert first.wait(timeout=15) == 0


H.main(test)
