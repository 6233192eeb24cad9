#!/usr/bin/env python3
"""A FIFO where a state file goes never blocks the daemon (it used to
hang in open(), deaf to SIGTERM):
- a FIFO as STATEDIR/SOURCE.json at start-up: the source is refused with
  the reason and the daemon exits 1 at once;
- a FIFO as the state file of a source added by a reload: that source is
  refused, the other keeps running;
- a FIFO as STATEDIR/SOURCE.json.tmp (where the cursor is written before
  the rename): the commit fails with the reason, nothing blocks;
and SIGTERM then stops the daemon within the design's 10 s."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402


def test(h):
    h.start_sim("--events", "50", "--span", "1d")
    conf = h.write_config(h.source_yaml(extra="    poll_interval: 10m\n"),
                          h.stdout_output())
    state = os.path.join(h.dir, "state")
    fifo = os.path.join(state, "src1.json")
    os.mkfifo(fifo, 0o600)
    t = time.monotonic()
    rc, out, err = h.run("-f", "-c", conf, timeout=30)
    print("# start-up with a FIFO state file: exit %d after %.1f s"
          % (rc, time.monotonic() - t))
    assert rc == 1, (rc, err)
    assert ('source "src1": state file refused: cannot read %s: a FIFO, '
            'not a regular file' % fifo) in err, err
    os.unlink(fifo)

    # src1's temporary file is a FIFO: its commits fail, nothing blocks.
    os.mkfifo(fifo + ".tmp", 0o600)
    d = h.spawn("-f", "-c", conf)
    h.wait_log("cannot create %s.tmp: not a regular file" % fifo, proc=d)
    os.unlink(fifo + ".tmp")

    # A reload adds src2, whose state file is a FIFO.
    os.mkfifo(os.path.join(state, "src2.json"), 0o600)
    text = open(conf).read()
    text = text.replace("outputs:\n", h.source_yaml(
        name="src2", extra="    poll_interval: 10m\n") + "outputs:\n")
    with open(conf, "w") as f:
        f.write(text)
    d.send_signal(signal.SIGHUP)
    h.wait_log('source "src2": state file refused', proc=d)
    h.wait_log("reload: new config applied", proc=d)
    assert d.poll() is None
    t = time.monotonic()
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=12)
    print("# SIGTERM: exit %d after %.1f s" % (rc, time.monotonic() - t))
    assert "stopped" in h.read("daemon.err")


H.main(test)
