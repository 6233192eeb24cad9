#!/usr/bin/env python3
"""Mid-window checkpoints: while a long window is still being read, the ids
the outputs have acknowledged are saved with the window's end unchanged, so
a crash repeats at most what was not yet acknowledged, not the window.

calls_per_minute 1 holds the source after its first page (the second call
waits a minute for its token): the first 100 events are delivered and then
saved by a checkpoint (state file: exactly those ids, end 0). SIGKILL, and
a --once run (600 calls a minute) delivers the other 200, none again."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import statefile

PAGE = 100


def printed(h, name):
    return [json.loads(line)["event_id"] for line in
            H.complete_lines(h.read(name)) if line.strip()]


def test(h):
    h.start_sim("--events", "300", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "8")
    want = h.sim_ids()
    assert len(want) == 300, len(want)
    extra = ("    backfill: 2d\n    settle: 0s\n    page_size: %d\n"
             "    calls_per_minute: %%d\n" % PAGE)
    slow = h.write_config(h.source_yaml("ck", extra=extra % 1),
                          h.stdout_output(), name="slow.yaml")
    state = os.path.join(h.dir, "state", "ck.json")

    p = h.spawn("-f", "-v", "-c", slow)
    H.wait_for(lambda: len(printed(h, "daemon.out")) >= PAGE, 30,
               "the first page on stdout")
    h.wait_log('source "ck": checkpoint of window ', proc=p)
    first = printed(h, "daemon.out")
    assert len(first) == PAGE, len(first)     # the second call is waiting
    cur = statefile.read(os.path.dirname(state), "ck")
    assert cur["end"] == 0, cur["end"]        # the window is not done
    assert sorted(pair[0] for pair in cur["ids"]) == sorted(first)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)

    fast = h.write_config(h.source_yaml("ck", extra=extra % 600),
                          h.stdout_output(), name="fast.yaml")
    rc, _, err = h.run("--once", "-c", fast, stdout_name="once.out",
                       stderr_name="once.err")
    assert rc == 0, err[-2000:]
    assert 'source "ck": starting (' in err and "cursor resumed)" in err, err
    second = printed(h, "once.out")
    assert not set(second) & set(first), "delivered again after the kill"
    assert sorted(first + second) == sorted(want), (len(first), len(second))
    print("checkpoint held %d ids at end 0; after SIGKILL the next run "
          "delivered the other %d, none twice" % (len(first), len(second)))


H.main(test)
