#!/usr/bin/env python3
"""A wrong secret key: the daemon logs each refusal once with its next step
and backs off (16 s, then 32 s, ...) so that the API's lock after five
failures in a row is not reached; --once gives up with exit 1 and the
reason; no secret reaches the log."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

WRONG_SK = "wrong-secret-key-Zq8"


def test(h):
    h.start_sim("--events", "100", "--span", "1d", "--rate-limit", "0")
    extra = "    calls_per_minute: 600\n    settle: 0s\n"
    conf = h.write_config(h.source_yaml("badkey", "host", extra), h.stdout_output())
    env = h.env()

    # Daemon mode: keeps trying, slowly.
    h.env = lambda: dict(env, TEST_HSS_SK=WRONG_SK)
    d = h.spawn("-f", "-c", conf)
    h.wait_log("authentication refused", proc=d)
    t0 = time.monotonic()
    # Over the next 12 s the first back-off (about 16 s) allows no retry.
    H.wait_for(lambda: time.monotonic() - t0 > 12, 15, "12 s")
    reqs = [r for r in h.sim_get("/_sim/requests") if r["path"].endswith("/event/events")]
    err = h.read("daemon.err")
    refusals = re.findall(r'source "badkey": window .*: page 0 \(offset 0\): '
                          r'authentication refused: HTTP 401 APIG.0301.*; '
                          r'cursor stays, retrying in (\d+)\.\d+s', err)
    assert len(reqs) == 1, [r["status"] for r in reqs]
    assert len(refusals) == 1, err[-2000:]
    assert 12 <= int(refusals[0]) <= 20, refusals
    assert h.sim_get("/_sim/stats")["locked_aks"] == [], "the key got locked"
    assert WRONG_SK not in err and H.SK not in err
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=12) == 0
    assert h.read("daemon.out") == ""

    # --once: gives up after three refusals, exit 1 with the reason.
    h.sim_post("/_sim/reset-limits", {})
    rc, out, err = h.run("-f", "--once", "-c", conf, timeout=120,
                         stdout_name="once.out", stderr_name="once.err")
    assert rc == 1, rc
    assert re.search(r'source "badkey": failed: authentication refused: '
                     r'HTTP 401 APIG.0301', err), err[-2000:]
    assert "--once gives up after 3 attempts" in err, err[-2000:]
    assert WRONG_SK not in err
    assert out == ""


H.main(test)
