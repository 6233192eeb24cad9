#!/usr/bin/env python3
"""--state prints where each cursor stands, read only.

After a --once run, the line of the source gives the state file's committed
end (ISO 8601 UTC, with its lag), its number of ids, the begin of its first
window and the file's size (and its journal files', if any), exactly as
the snapshot and its journal files hold them; a source never
run has no state file yet; a corrupt state file is reported (exit 1) and
left where it is; no file is created or changed. While a daemon runs,
--state says so ("as of its last save") and still answers.
"""
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import statefile  # noqa: E402

KEEP_MS = (10 * 60 + 24 * 3600) * 1000     # lookback + sweep_range


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def snapshot(d):
    return dict((f, open(os.path.join(d, f), "rb").read())
                for f in sorted(os.listdir(d)) if f != ".lock")


def test(h):
    h.start_sim("--events", "400", "--span", "2d", "--seed", "21",
                "--rate-limit", "0")
    extra = "    backfill: 3d\n    settle: 0s\n    calls_per_minute: 600\n" \
        "    poll_interval: 10m\n"
    conf = h.write_config(h.source_yaml("src1", "host", extra) +
                          h.source_yaml("later", "container", extra),
                          h.stdout_output("json"))
    state = os.path.join(h.dir, "state")
    # Only src1 runs: "later" is added to the config afterwards.
    once = h.write_config(h.source_yaml("src1", "host", extra),
                          h.stdout_output("json"), name="once.yaml")
    rc, out, err = h.run("--once", "-c", once)
    assert rc == 0, err[-2000:]

    path = os.path.join(state, "src1.json")
    c = statefile.read(state, "src1")
    journal = statefile.journal_files(state, "src1")
    before = snapshot(state)
    rc, out, err = h.run("--state", "-c", conf, stdout_name="state.out",
                         stderr_name="state.err")
    assert rc == 0, (rc, out, err)
    assert snapshot(state) == before, "--state changed a file"
    assert sorted(os.listdir(state)) == sorted([".lock", "src1.json"] +
                                               journal), os.listdir(state)
    lines = out.splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == "state directory %s: no hss-forwarder is running" \
        % state, lines
    m = re.fullmatch(
        r'source "src1": committed end (\S+) \((\d+s behind|up to date)\), '
        r'(\d+) tracked ids, read since (\S+), state file (\S+) '
        r'\((\d+) bytes\)(?: and its journal \((\d+) bytes in (\d+) '
        r'files?\))?', lines[1])
    assert m, lines[1]
    assert m.group(1) == iso(c["end"]), (m.group(1), c["end"])
    # Those a start keeps: lookback + sweep_range (defaults) before the end.
    kept = statefile.kept(c, KEEP_MS)
    assert int(m.group(3)) == len(kept) > 0, (m.group(3), len(kept))
    assert m.group(4) == iso(c["since"]), (m.group(4), c["since"])
    assert m.group(5) == path and int(m.group(6)) == os.path.getsize(path), \
        lines[1]
    jbytes = sum(os.path.getsize(os.path.join(state, f)) for f in journal)
    if journal:
        assert (int(m.group(7)), int(m.group(8))) == (jbytes, len(journal)), \
            (lines[1], jbytes, journal)
    else:
        assert m.group(7) is None, lines[1]
    assert lines[2] == 'source "later": no state file yet (%s): the first ' \
        'start reads from now - backfill, 3d0h back' % os.path.join(
            state, "later.json"), lines[2]

    # While the daemon runs: said so, and answered.
    p = h.spawn("-f", "-c", conf)
    H.wait_for(lambda: os.path.exists(os.path.join(state, "later.json")),
               30, "the daemon's first save of later.json")
    rc, out, err = h.run("--state", "-c", conf, stdout_name="state2.out",
                         stderr_name="state2.err")
    assert rc == 0, (rc, out, err)
    lines = out.splitlines()
    assert lines[0] == "state directory %s: hss-forwarder pid %d is " \
        "running (daemon running: as of its last save)" % (state, p.pid), \
        lines
    assert lines[1].startswith('source "src1": committed end '), lines
    assert lines[2].startswith('source "later": committed end '), lines
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=15) == 0

    # A corrupt file is reported, not moved (nor its journal files).
    with open(os.path.join(state, "later.json"), "w") as f:
        f.write("[]")
    files = sorted(os.listdir(state))
    rc, out, err = h.run("--state", "-c", conf, stdout_name="state3.out",
                         stderr_name="state3.err")
    assert rc == 1, (rc, out, err)
    want = 'source "later": FAIL: %s is corrupt (not a JSON object); the ' \
        'daemon moves it aside and reads again from now - lookback - ' \
        'backfill' % os.path.join(state, "later.json")
    assert out.splitlines()[2] == want, out
    assert sorted(os.listdir(state)) == files, os.listdir(state)
    assert [f for f in files if not f.startswith("src1.")] == sorted(
        [".lock", "later.json"] + statefile.journal_files(state, "later")), \
        files


H.main(test)
