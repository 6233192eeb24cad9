#!/usr/bin/env python3
"""--reset SOURCE --since DURATION moves a cursor back, its ids kept.

After a --once run, --reset src1 --since 2h sets the state file's end to
now - 2h and keeps every id. The next --once run asks the simulator for a
first window beginning at that end minus the lookback (the request log),
re-sends none of the events already sent, and delivers exactly the events
that appeared in the range meanwhile (added after the first run). A source
without a state file gets one, and its first start begins there instead of
now - backfill. An unknown source is refused naming the configured ones;
--reset is refused while a daemon holds the state directory, saying so,
and the cursor is not moved.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import statefile  # noqa: E402

LOOKBACK_MS = 10 * 60 * 1000        # the default lookback
HOUR_MS = 3600 * 1000
KEEP_MS = LOOKBACK_MS + 24 * HOUR_MS   # lookback + sweep_range (default)


def state(h, name):
    """The saved state, the journal included: the reset is a save."""
    st = statefile.read(os.path.join(h.dir, "state"), name)
    assert st is not None, "no state file for %s" % name
    return st


def event_requests(h, since):
    return [r for r in h.sim_get("/_sim/requests?since=%d" % since)
            if (r.get("path") or "").endswith("/event/events")]


def last_seq(h):
    reqs = h.sim_get("/_sim/requests")
    return reqs[-1]["seq"] if reqs else 0


def test(h):
    h.start_sim("--events", "600", "--span", "3d", "--seed", "31",
                "--rate-limit", "0")
    extra = "    backfill: 2d\n    settle: 0s\n    calls_per_minute: 600\n" \
        "    poll_interval: 10m\n"
    conf = h.write_config(h.source_yaml("src1", "host", extra) +
                          h.source_yaml("fresh", "container", extra),
                          h.stdout_output("json"))
    once1 = h.write_config(h.source_yaml("src1", "host", extra),
                           h.stdout_output("json"), name="once1.yaml")
    rc, out, err = h.run("--once", "-c", once1, stdout_name="run1.out",
                         stderr_name="run1.err")
    assert rc == 0, err[-2000:]
    first = H.delivered_ids(out)
    assert len(first) == len(set(first)) > 0
    before = state(h, "src1")

    # Unknown source: refused, naming the configured ones.
    rc, out, err = h.run("--reset", "nosuch", "--since", "2h", "-c", conf,
                         stdout_name="r0.out", stderr_name="r0.err")
    assert rc == 1 and out == "", (rc, out, err)
    assert 'hss-forwarder: --reset: no source "nosuch" in %s (its sources: '\
        '"src1", "fresh")' % conf in err, err

    t0 = int(time.time() * 1000)
    rc, out, err = h.run("--reset", "src1", "--since", "2h", "-c", conf,
                         stdout_name="r1.out", stderr_name="r1.err")
    t1 = int(time.time() * 1000)
    assert rc == 0, (rc, out, err)
    after = state(h, "src1")
    end = after["end"]
    assert t0 - 2 * HOUR_MS <= end <= t1 - 2 * HOUR_MS, (t0, end, t1)
    assert sorted(after["ids"]) == sorted(before["ids"]), "ids not kept"
    assert out.startswith('source "src1": cursor reset: end '), out
    assert "%d tracked ids kept" % len(statefile.kept(before, KEEP_MS)) \
        in out, out

    # Events that appeared in the range since: the next run sends these,
    # and nothing it sent before.
    added = h.sim_post("/_sim/add-events", {
        "count": 5, "occur_time_ms": end + HOUR_MS,
        "enterprise_project_id": "0", "category": "host"})["event_ids"]
    seq = last_seq(h)
    rc, out, err = h.run("--once", "-c", once1, stdout_name="run2.out",
                         stderr_name="run2.err")
    assert rc == 0, err[-2000:]
    reqs = event_requests(h, seq)
    assert reqs and reqs[0]["begin_time"] == end - LOOKBACK_MS, \
        (end, reqs[:1])
    assert min(r["begin_time"] for r in reqs) == end - LOOKBACK_MS, reqs
    again = H.delivered_ids(out)
    assert sorted(again) == sorted(added), (again, added)

    # A source without a state file: one is created, and its first start
    # begins there, not at now - backfill.
    t0 = int(time.time() * 1000)
    rc, out, err = h.run("--reset", "fresh", "--since", "90m", "-c", conf,
                         stdout_name="r2.out", stderr_name="r2.err")
    t1 = int(time.time() * 1000)
    assert rc == 0, (rc, out, err)
    fresh = state(h, "fresh")
    assert t0 - 90 * 60000 <= fresh["end"] <= t1 - 90 * 60000, fresh
    assert fresh["ids"] == [] and fresh["category"] == "container", fresh
    assert out.startswith('source "fresh": cursor created with end '), out
    seq = last_seq(h)
    once2 = h.write_config(h.source_yaml("fresh", "container", extra),
                           h.stdout_output("json"), name="once2.yaml")
    rc, out, err = h.run("--once", "-c", once2, stdout_name="run3.out",
                         stderr_name="run3.err")
    assert rc == 0, err[-2000:]
    reqs = event_requests(h, seq)
    assert reqs and reqs[0]["begin_time"] == fresh["end"] - LOOKBACK_MS, \
        (fresh["end"], reqs[:1])
    want = h.sim_ids("container", begin=fresh["end"] - LOOKBACK_MS,
                     end=reqs[-1]["end_time"])
    assert sorted(H.delivered_ids(out)) == sorted(want)

    # Refused while a daemon holds the state directory.
    p = h.spawn("-f", "-c", conf)
    h.wait_log('source "fresh": starting', proc=p)
    rc, out, err = h.run("--reset", "src1", "--since", "5h", "-c", conf,
                         stdout_name="r3.out", stderr_name="r3.err")
    assert rc == 1 and out == "", (rc, out, err)
    want = "hss-forwarder: --reset refused: a running hss-forwarder (pid " \
        "%d) holds the state directory %s" % (p.pid, os.path.join(
            h.dir, "state"))
    assert want in err, err
    assert state(h, "src1")["end"] >= end, "the refused reset moved it"
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=15) == 0


H.main(test)
