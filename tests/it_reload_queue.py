#!/usr/bin/env python3
"""SIGHUPs during a reload still being applied are queued, and the newest
file wins: the first reload replaces output "slow", whose receiver never
reads, so its old connection flushes for 10 s; two more SIGHUPs meanwhile
(the file changed between them) give one more reload, with the last file.
What the old "slow" never acknowledged reaches the new one (the source
reads it again); output "fast" keeps its one connection throughout."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import reloadlib as L  # noqa: E402

APPLIED = "reload: new config applied: "


def write(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def test(h):
    h.start_sim("--events", "300", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0")
    held = L.LineReceiver(hold=True)
    fast, slow2, extra, extra2 = (L.LineReceiver() for _ in range(4))
    conf = h.write_config(h.source_yaml(extra=L.source_extra("1h")),
                          L.output_yaml("fast", fast) +
                          L.output_yaml("slow", held))
    want = h.sim_ids("host", "all_granted_eps")
    d = h.spawn("-f", "-c", conf)
    try:
        # The source waits for slow's acknowledgements, which never come.
        H.wait_for(lambda: fast.event_ids(), 60, "events on fast")
        base = open(conf).read()
        second = base.replace(L.output_yaml("slow", held),
                              L.output_yaml("slow", slow2))
        write(conf, second)
        d.send_signal(signal.SIGHUP)
        h.wait_log('output "slow": shutting down', proc=d)

        write(conf, second + L.output_yaml("extra", extra))
        d.send_signal(signal.SIGHUP)
        h.wait_log("this one follows it", proc=d)
        write(conf, second + L.output_yaml("extra2", extra2))
        d.send_signal(signal.SIGHUP)
        H.wait_for(lambda: h.read("daemon.err").count(
            "this one follows it") == 2, 10, "the third SIGHUP")
        assert ("reload: the previous reload is still being applied (0 "
                "sources stopping, 1 outputs flushing); this one follows it, "
                "with the file as it is then") in h.read("daemon.err")
        assert APPLIED not in h.read("daemon.err")

        h.wait_log(APPLIED + "sources: 1 kept, 0 restarted, 0 added, 0 "
                   "removed; outputs: 1 kept, 1 changed (slow), 0 added, 0 "
                   "removed", proc=d)
        h.wait_log(APPLIED + "sources: 1 kept, 0 restarted, 0 added, 0 "
                   "removed; outputs: 2 kept, 0 changed, 1 added (extra2), "
                   "0 removed", proc=d)
        err = h.read("daemon.err")
        assert err.count(APPLIED) == 2, err
        assert 'output "extra"' not in err, err
        assert extra.connections() == 0
        H.wait_for(lambda: extra2.connections() == 1, 10, "extra2")
        # The old slow held messages unacknowledged: read again for the
        # new one, which gets every event.
        assert ('source "src1": a replaced output did not acknowledge all '
                'of its events; reading them again') in err, err
        H.wait_for(lambda: set(slow2.event_ids()) == want, 60,
                   "every event on the new slow")
        H.wait_for(lambda: set(fast.event_ids()) == want, 10,
                   "every event on fast")
        assert fast.connections() == 1, fast.connections()
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=12) == 0
    finally:
        for r in (held, fast, slow2, extra, extra2):
            r.close()


H.main(test)
