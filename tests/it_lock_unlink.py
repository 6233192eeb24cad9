#!/usr/bin/env python3
"""The state directory lock survives the deletion of STATEDIR/.lock: with
the file gone, a second daemon on the same state directory still exits 1
with a message naming the directory, and the first keeps running."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "50", "--span", "1d")
    conf = h.write_config(h.source_yaml(extra="    poll_interval: 10m\n"),
                          h.stdout_output())
    state = os.path.join(h.dir, "state")
    first = h.spawn("-f", "-c", conf)
    h.wait_log('source "src1": starting', proc=first)
    lockfile = os.path.join(state, ".lock")
    with open(lockfile) as f:
        assert f.read() == "%d\n" % first.pid
    os.unlink(lockfile)

    rc, out, err = h.run("-f", "-c", conf, stderr_name="second.err",
                         stdout_name="second.out", timeout=30)
    assert rc == 1, (rc, err)
    want = ("error: state directory %s is locked by another hss-forwarder "
            "(pid unknown); refusing to share it\n" % state)
    assert err.endswith(want), err
    assert "starting" not in err, err
    assert not os.path.exists(lockfile), "the refused daemon wrote .lock"
    assert first.poll() is None, "the first daemon must keep running"

    # The same with .lock replaced by a file naming another pid: the
    # directory's lock decides, not the file.
    with open(lockfile, "w") as f:
        f.write("1\n")
    rc, out, err = h.run("-f", "-c", conf, stderr_name="third.err",
                         stdout_name="third.out", timeout=30)
    assert rc == 1, (rc, err)
    assert ("state directory %s is locked by another hss-forwarder (pid 1)"
            % state) in err, err
    assert first.poll() is None, "the first daemon must keep running"
    first.terminate()
    assert first.wait(timeout=15) == 0

    # Once the first has stopped, the lock is free again.
    second = h.spawn("-f", "-c", conf, stderr_name="fourth.err",
                     stdout_name="fourth.out")
    h.wait_log('source "src1": starting', name="fourth.err", proc=second)
    with open(lockfile) as f:
        assert f.read() == "%d\n" % second.pid
    second.terminate()
    assert second.wait(timeout=15) == 0


H.main(test)
