#!/usr/bin/env python3
"""A replay that cannot deliver its whole range says so and exits 1.

A poisoned event (its page never parses) sits in a 10-second range beside
three good ones. --replay of that range delivers the three good events,
isolates the poisoned slice as the live windows do, sends one gap message
of at most a second holding the poisoned event's time, and exits 1 with
an INCOMPLETE line; the state file is not created. The command the gap
message gives to read the range again is accepted as it is written (it
fails here only because of the output it is pointed at, not as a usage
error).
"""
import datetime
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def test(h):
    h.start_sim("--events", "50", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "51")
    now = h.sim_get("/_sim/config")["now_ms"]
    t = now - 3600 * 1000 + 456
    good = h.sim_post("/_sim/add-events", {
        "count": 3, "occur_time_ms": t - 2000, "category": "host",
        "enterprise_project_id": "0"})["event_ids"]
    bad = h.sim_post("/_sim/add-events", {
        "count": 1, "occur_time_ms": t, "category": "host",
        "enterprise_project_id": "0", "poison": "syntax"})["event_ids"][0]
    extra = "    settle: 0s\n    calls_per_minute: 600\n    page_size: 100\n"
    conf = h.write_config(h.source_yaml("p", "host", extra),
                          h.stdout_output("json"))
    frm, to = t - 3000, t + 7000
    want = h.sim_ids("host", begin=frm, end=to)
    assert want == set(good) | {bad}, (want, good, bad)

    rc, out, err = h.run("--replay", "p", "--from", iso(frm), "--to",
                         iso(to), "-c", conf, timeout=120)
    assert rc == 1, (rc, err[-3000:])
    assert 'replay of source "p" from %s to %s: INCOMPLETE: 3 events sent ' \
        'to every output (1) and acknowledged, but 1 range could not be ' \
        'read (gap messages sent) (logged above)' % (iso(frm), iso(to)) \
        in err, err[-3000:]
    got = H.delivered_ids(out)
    assert sorted(got) == sorted(good), (got, good)
    gaps = H.gap_messages(out)
    assert len(gaps) == 1, gaps
    g = gaps[0]
    assert g["source"] == "p" and g["begin_ms"] <= t <= g["end_ms"], (g, t)
    assert g["end_ms"] - g["begin_ms"] <= 1000, g
    assert os.listdir(os.path.join(h.dir, "state")) == [".lock"], \
        os.listdir(os.path.join(h.dir, "state"))

    # The gap's command as written (pointed at an output that does not
    # exist, so that it stops after parsing its arguments).
    argv = shlex.split(g["replay"])
    assert argv[:2] == ["hss-forwarder", "--replay"], argv
    rc, out, err = h.run(*(argv[1:] + ["--output", "none", "-c", conf]),
                         stdout_name="again.out", stderr_name="again.err")
    assert rc == 1 and out == "", (rc, out, err)
    assert 'hss-forwarder: --output: no output "none" in %s (its outputs: ' \
        '"out")' % conf in err, err


H.main(test)
