#!/usr/bin/env python3
"""--once with a receiver that is down: the daemon does not wait forever.
After 6 failed connection attempts in a row (about 30 s of backoff) it
logs why it gives up and exits 1; nothing unacknowledged is committed, so
the next --once run, with the receiver up, delivers every event, each
once, and exits 0."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402

EVENTS = 80


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "2d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "4")
    port = D.free_port()
    conf = h.write_config(
        D.fast_source(h),
        D.output_yaml("siem", "json", "tcp", "127.0.0.1:%d" % port, "lf"))
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)

    t0 = time.monotonic()
    rc, _, err = h.run("--once", "-c", conf, timeout=150)
    took = time.monotonic() - t0
    assert rc == 1, (rc, err[-3000:])
    attempts = [ln for ln in err.splitlines()
                if 'output "siem": connecting to' in ln and
                "Connection refused" in ln]
    assert len(attempts) == 3, err     # 1-3 logged, then every 10th
    assert ('error: --once: output "siem" failed 6 connection attempts '
            'in a row; giving up') in err, err[-3000:]
    assert "stopped (with failures)" in err, err[-2000:]
    state = os.path.join(h.dir, "state", "src1.json")
    assert not os.path.exists(state), open(state).read()[:500]
    print("receiver down: exit 1 after %.1f s" % took)

    sink = D.Sink(h.dir, port=port)
    rc, _, err = h.run("--once", "-c", conf, timeout=150,
                       stderr_name="daemon2.err")
    assert rc == 0, (rc, err[-3000:])
    got = sink.json_ids()
    assert sorted(got) == sorted(want), (len(got), len(set(got)))
    print("receiver up: %d events, each once, exit 0" % len(got))


D.main(test)
