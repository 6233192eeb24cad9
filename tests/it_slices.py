#!/usr/bin/env python3
"""A dense window is read in time slices, earliest first, and the cursor
moves with them (DESIGN.md section 11, "dense windows are read in slices
sized from total_num and committed per slice"): what a source holds while
it reads a window of any size stays bounded.

1,500 events over 5 hours, pages of 10: the window (more than 64 pages)
is read in ceil(1500 / 320) = 5 slices. sweep_range 0s and lookback 1m, so
the cursor keeps the ids of the last minute before its end only. The
checkpoints of the window must move its end forward through the window, and
hold far fewer ids than the window has. A SIGKILL after a checkpoint moved
the end: the next run's window starts at that end minus the lookback, not
at the window's begin, and the two runs deliver every event, none twice
but those of the last unsaved moment."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H
import statefile

EVENTS = 1500
CKPT = re.compile(r'source "sl": checkpoint of window (\S+)\.\.(\S+) '
                  r'\(end (\S+), (\d+) ids')


def checkpoints(text):
    return [(H.iso_ms(m.group(1)), H.iso_ms(m.group(2)),
             H.iso_ms(m.group(3)), int(m.group(4)))
            for m in CKPT.finditer(text)]


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "5h", "--container-share",
                "0", "--rate-limit", "0", "--seed", "21")
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    extra = ("    backfill: 6h\n    settle: 0s\n    page_size: 10\n"
             "    lookback: 1m\n    sweep_range: 0s\n"
             "    calls_per_minute: 600\n")
    conf = h.write_config(h.source_yaml("sl", extra=extra),
                          h.stdout_output())
    state = os.path.join(h.dir, "state")

    # Run until a checkpoint moved the end past a third of the window.
    p = h.spawn("-f", "-v", "-c", conf)
    h.wait_log('source "sl": window ', proc=p)
    h.wait_log("events; reading it in 5 slices, the cursor moving with "
               "them", proc=p)

    def far():
        if p.poll() is not None:
            raise H.Failure("daemon exited: " + h.read("daemon.err")[-3000:])
        c = checkpoints(h.read("daemon.err"))
        return c and c[-1][2] > c[-1][0] + (c[-1][1] - c[-1][0]) // 3
    H.wait_for(far, 120, "a checkpoint a third into the window")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    cks = checkpoints(h.read("daemon.err"))
    begin, end = cks[0][0], cks[0][1]
    ends = [c[2] for c in cks]
    assert all(c[0] == begin and c[1] == end for c in cks), cks
    assert ends == sorted(ends), ends                 # it only moves forward
    assert begin < ends[-1] < end, (begin, ends[-1], end)
    assert len(set(e for e in ends if e > begin)) >= 2, ends  # per slice
    # Ids behind end - lookback are pruned: a slice's worth, not the window's.
    most = max(c[3] for c in cks)
    assert most < EVENTS // 3, most
    saved = statefile.read(state, "sl")
    assert saved["end"] == ends[-1], (saved["end"], ends[-1])
    first = H.delivered_ids(h.read("daemon.out"))

    rc, out, err = h.run("--once", "-v", "-c", conf, stdout_name="once.out",
                         stderr_name="once.err")
    assert rc == 0, err[-3000:]
    m = re.search(r'source "sl": window (\S+)\.\.', err)
    assert m and H.iso_ms(m.group(1)) == ends[-1] - 60000, (
        m and m.group(0), ends[-1])
    second = H.delivered_ids(out)
    assert len(set(first)) == len(first) and len(set(second)) == len(second)
    assert set(first) | set(second) == want, len(want - set(first + second))
    again = set(first) & set(second)
    # Only what was delivered after the last checkpoint comes again.
    assert not again & saved_ids(saved), sorted(again & saved_ids(saved))[:5]
    print("5 slices; %d checkpoints moved the end %d times, at most %d ids "
          "held of %d; after SIGKILL the next window began at the saved "
          "end - lookback, %d events delivered twice" % (
              len(cks), len(set(ends)), most, EVENTS, len(again)))


def saved_ids(saved):
    return set(pair[0] for pair in saved["ids"])


if __name__ == "__main__":
    H.main(test)
