#!/usr/bin/env python3
"""--replay SOURCE --from TIME --to TIME --output NAME re-sends a range.

Two TCP receivers (and standard output) get what a --once run sends. Then a replay of a
range of about four days (three API windows of at most two days, read in
pages of 50), given in the form the gap messages print
(2026-11-30T10:00:00.000Z), re-sends to the named output exactly the
events of the range, all of them, once each (two of them sit on the
millisecond where two windows overlap), and nothing to the other output;
it exits 0 and the state file is byte-identical. A relative range (--from
30h --to 6h) works the same. An unknown output is refused naming the
configured ones; a replay is refused while a daemon holds the state
directory, with the reason, and sends nothing.
"""
import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import daemon_siem as D  # noqa: E402

HOUR_MS = 3600 * 1000
MAX_SPAN_MS = 2 * 86400 * 1000 - 1000   # window.h: WINDOW_MAX_SPAN_MS


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def ids_in(sink, n, what):
    D.wait(lambda: len(sink.json_ids()) >= n, 30, what)
    return sink.json_ids()


def test(h):
    h.start_sim("--events", "1500", "--span", "6d", "--seed", "41",
                "--rate-limit", "0")
    a = D.Sink(h.dir)
    b = D.Sink(h.dir)
    extra = "    backfill: 7d\n    settle: 0s\n    calls_per_minute: 600\n" \
        "    page_size: 50\n    poll_interval: 10m\n"
    now = int(time.time() * 1000)
    frm = now - 100 * HOUR_MS
    to = now - 3 * HOUR_MS
    # On the millisecond two replay windows share.
    edge = h.sim_post("/_sim/add-events", {
        "count": 2, "occur_time_ms": frm + MAX_SPAN_MS - 1,
        "enterprise_project_id": "0", "category": "host"})["event_ids"]
    conf = h.write_config(
        h.source_yaml("src1", "host", extra),
        D.output_yaml("a", "json", "tcp", a.address, "lf") +
        D.output_yaml("b", "json", "tcp", b.address, "lf") +
        h.stdout_output("json", "console"))
    rc, out, err = h.run("--once", "-c", conf, stdout_name="once.out",
                         stderr_name="once.err")
    assert rc == 0, err[-2000:]
    sent = H.delivered_ids(out)
    assert sorted(ids_in(a, len(sent), "the --once run at a")) == \
        sorted(sent)
    assert sorted(ids_in(b, len(sent), "the --once run at b")) == \
        sorted(sent)
    path = os.path.join(h.dir, "state", "src1.json")
    with open(path, "rb") as f:
        saved = f.read()

    # Unknown output: refused, naming the configured ones.
    rc, out, err = h.run("--replay", "src1", "--from", iso(frm), "--to",
                         iso(to), "--output", "c", "-c", conf,
                         stdout_name="r0.out", stderr_name="r0.err")
    assert rc == 1, (rc, err)
    assert 'hss-forwarder: --output: no output "c" in %s (its outputs: ' \
        '"a", "b", "console")' % conf in err, err

    want = h.sim_ids(begin=frm, end=to)
    assert set(edge) <= want and len(want) > 500, len(want)
    na, nb = len(a.json_ids()), len(b.json_ids())
    rc, out, err = h.run("--replay", "src1", "--from", iso(frm), "--to",
                         iso(to), "--output", "b", "-c", conf,
                         stdout_name="r1.out", stderr_name="r1.err")
    assert rc == 0 and out == "", err[-3000:]
    assert 'replay of source "src1" from %s to %s: OK: %d events sent to ' \
        'output "b" and acknowledged' % (iso(frm), iso(to), len(want)) \
        in err, err[-2000:]
    replayed = ids_in(b, nb + len(want), "the replay at b")[nb:]
    assert len(replayed) == len(set(replayed)), "a replayed event twice"
    assert set(replayed) == want, (len(replayed), len(want))
    with open(path, "rb") as f:
        assert f.read() == saved, "the replay touched the state file"
    assert len(a.json_ids()) == na, "the replay sent to output a"
    starts = sorted(r["begin_time"] for r in D.page_requests(h)
                    if r["begin_time"] >= frm and r["offset"] == 0)
    assert starts[0] == frm and frm + MAX_SPAN_MS - 1 in starts, starts[:4]

    # Relative times: now - 30h to now - 6h, to every output.
    na = len(a.json_ids())
    nb = len(b.json_ids())
    t0 = int(time.time() * 1000)
    rc, out, err = h.run("--replay", "src1", "--from", "30h", "--to", "6h",
                         "-c", conf, stdout_name="r2.out",
                         stderr_name="r2.err")
    t1 = int(time.time() * 1000)
    assert rc == 0, err[-3000:]
    m = re.search(r'replay of source "src1" from (\S+) to (\S+): OK: (\d+) '
                  r'events sent to every output \(3\) and acknowledged', err)
    assert m, err[-2000:]
    lo, hi = H.iso_ms(m.group(1)), H.iso_ms(m.group(2))
    assert t0 - 30 * HOUR_MS <= lo <= t1 - 30 * HOUR_MS, (t0, lo)
    assert hi - lo == 24 * HOUR_MS, (lo, hi)
    want = h.sim_ids(begin=lo, end=hi)
    assert int(m.group(3)) == len(want) > 0, (m.group(3), len(want))
    for sink, n in ((a, na), (b, nb)):
        got = ids_in(sink, n + len(want), "the relative replay")[n:]
        assert len(got) == len(set(got)) and set(got) == want, len(got)
    got = H.delivered_ids(out)
    assert len(got) == len(set(got)) and set(got) == want, len(got)

    # Refused while a daemon runs; nothing is sent.
    p = h.spawn("-f", "-c", conf)
    h.wait_log('source "src1": starting', proc=p)
    nb = len(b.json_ids())
    rc, out, err = h.run("--replay", "src1", "--from", iso(frm), "--to",
                         "now", "--output", "b", "-c", conf,
                         stdout_name="r3.out", stderr_name="r3.err")
    assert rc == 1, (rc, err)
    assert "hss-forwarder: --replay refused: a running hss-forwarder (pid " \
        "%d) holds the state directory %s; two processes would share the " \
        "credential's API rate limit" % (p.pid, os.path.join(h.dir, "state")) \
        in err, err
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=15) == 0
    assert len(b.json_ids()) == nb, "the refused replay sent something"
    a.stop()
    b.stop()


D.main(test)
