#!/usr/bin/env python3
"""The open file limit: each source keeps its state journal open, so the
daemon raises its soft RLIMIT_NOFILE to the hard limit (at most 65536) at
start; when even the hard limit is short for the configuration it says so
(the limit, the need, what to raise) and runs on."""
import json
import os
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402


def soft_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files in /proc/%d/limits" % pid)


def test(h):
    h.start_sim("--events", "20", "--span", "1d", "--rate-limit", "0")
    conf = h.write_config(h.source_yaml(extra="    backfill: 2d\n"),
                          h.stdout_output())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 512:
        print("SKIP: the hard open file limit is %d here" % hard)
        h.close()
        sys.exit(77)
    # a low soft limit, as a shell's default: the daemon raises it
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        d = h.spawn("-f", "-c", conf)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    h.wait_log("starting hss-forwarder", proc=d)
    h.wait_log('source "src1": starting', proc=d)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    assert soft_limit(d.pid) == want, (soft_limit(d.pid), want)
    assert "open file limit" not in h.read("daemon.err")
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0

    # a hard limit of 64: 1 source and 1 output may need 71; said, and
    # the events are delivered all the same
    r = subprocess.run(["prlimit", "--nofile=64:64", H.DAEMON, "--once",
                        "-c", conf], capture_output=True, text=True,
                       env=h.env(), timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert ("warning: the open file limit is 64 (hard limit 64) and 1 "
            "sources may need 71; raise LimitNOFILE (systemd) or ulimit "
            "-n, or state saves and connections will fail with \"Too many "
            "open files\"") in r.stderr, r.stderr[-3000:]
    # the first run delivered some, this one the rest
    ids = [json.loads(line)["event_id"]
           for out in (h.read("daemon.out"), r.stdout)
           for line in out.splitlines() if line.endswith("}")]
    assert len(ids) == len(set(ids)) and set(ids) == h.sim_ids(), \
        (len(ids), r.stderr[-3000:])


H.main(test)
