#!/usr/bin/env python3
"""--once when the cursor cannot be saved (here its temporary file name is
taken by a directory, so every atomic write fails): after 5 tries it exits
1 saying why, and no state file claims the window was committed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "50", "--span", "5m", "--container-share", "0",
                "--rate-limit", "0", "--seed", "61")
    extra = ("    backfill: 10m\n    settle: 0s\n    calls_per_minute: 600\n")
    conf = h.write_config(h.source_yaml("sf", "host", extra), h.stdout_output())
    state = os.path.join(h.dir, "state")
    os.mkdir(os.path.join(state, "sf.json.tmp"))
    rc, out, err = h.run("--once", "-c", conf, timeout=120)
    assert rc == 1, (rc, err[-3000:])
    assert 'source "sf": cannot save the cursor: cannot create ' in err, err[-3000:]
    assert "--once gives up after 5 attempts" in err, err[-3000:]
    assert 'source "sf": failed: cannot save the cursor' in err, err[-3000:]
    assert not os.path.exists(os.path.join(state, "sf.json"))
    # The events were delivered (and are sent again by the next run).
    assert set(H.delivered_ids(out)) == h.sim_ids("host")
    print("exit 1 after 5 failed saves")


H.main(test)
