#!/usr/bin/env python3
"""State files: corrupt, truncated, empty and foreign-identity files each give
their documented behaviour and message; an unwritable state directory is an
error at start-up."""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def test(h):
    h.start_sim("--events", "300", "--span", "2d", "--rate-limit", "0")
    extra = "    backfill: 3d\n    settle: 0s\n    calls_per_minute: 600\n"
    conf = h.write_config(h.source_yaml("st", "host", extra), h.stdout_output())
    state = os.path.join(h.dir, "state", "st.json")
    rc, out, err = h.run("-f", "--once", "-c", conf)
    assert rc == 0, err
    first = len(H.delivered_ids(out))
    assert first > 0
    good = open(state).read()
    doc = json.loads(good)
    assert doc["project_id"] == H.PROJECT, doc.keys()

    cases = {
        "garbage": "this is not json {",
        "truncated": good[: len(good) // 2],
        "empty": "",
    }
    for case, content in cases.items():
        for f in glob.glob(state + ".corrupt.*"):
            os.unlink(f)
        with open(state, "w") as f:
            f.write(content)
        rc, out, err = h.run("-f", "--once", "-c", conf,
                             stdout_name=case + ".out", stderr_name=case + ".err")
        assert rc == 0, (case, err)
        moved = glob.glob(state + ".corrupt.*")
        assert len(moved) == 1, (case, moved)
        assert open(moved[0]).read() == content, case
        assert 'source "st": ' in err and moved[0] in err, (case, err)
        assert "starting again from now - lookback - backfill" in err, (case, err)
        # Starting again re-delivers (at least once), never silently skips.
        assert len(H.delivered_ids(out)) >= first, case
        json.loads(open(state).read())

    # Another project's state file is refused, left untouched, exit 1.
    foreign = json.loads(open(state).read())
    foreign["project_id"] = "ffffffffffffffffffffffffffffffff"
    text = json.dumps(foreign)
    with open(state, "w") as f:
        f.write(text)
    rc, out, err = h.run("-f", "--once", "-c", conf, stdout_name="foreign.out",
                         stderr_name="foreign.err")
    assert rc == 1, rc
    assert "ffffffffffffffffffffffffffffffff" in err and H.PROJECT in err, err
    assert "state file refused" in err, err
    assert open(state).read() == text
    assert out == ""

    # A state directory that cannot be written: an error at start-up.
    blocker = os.path.join(h.dir, "not-a-dir")
    open(blocker, "w").close()
    bad = h.write_config(h.source_yaml("st", "host", extra), h.stdout_output(),
                         name="bad.yaml")
    text = open(bad).read().replace(os.path.join(h.dir, "state"),
                                    os.path.join(blocker, "state"))
    with open(bad, "w") as f:
        f.write(text)
    rc, out, err = h.run("-f", "--once", "-c", bad, stdout_name="ro.out",
                         stderr_name="ro.err")
    assert rc == 1, rc
    assert "state directory %s" % os.path.join(blocker, "state") in err, err


H.main(test)
