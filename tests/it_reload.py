#!/usr/bin/env python3
"""SIGHUP: a broken config is logged and the old one keeps running; a good
one is applied; SIGTERM then exits 0 within 10 s."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "100", "--span", "1d")
    conf = h.write_config(h.source_yaml(extra="    poll_interval: 10m\n"),
                          h.stdout_output())
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "src1": starting', proc=d)

    good = open(conf).read()
    with open(conf, "w") as f:
        f.write(good.replace("poll_interval: 10m", "poll_interval: often")
                .replace("format: json", "format: xml"))
    d.send_signal(signal.SIGHUP)
    h.wait_log("keeping the running config", proc=d)
    err = h.read("daemon.err")
    assert "config: %s:" % conf in err, err
    assert "poll_interval" in err and "format" in err, err
    assert d.poll() is None

    with open(conf, "w") as f:
        f.write(good.replace("poll_interval: 10m", "poll_interval: 5m")
                + H.Harness.stdout_output(None, name="second"))
    d.send_signal(signal.SIGHUP)
    h.wait_log("reload: new config applied", proc=d)
    assert d.poll() is None

    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=12)  # the design's bound is 10 s
    assert rc == 0, rc
    assert "stopped" in h.read("daemon.err")


H.main(test)
