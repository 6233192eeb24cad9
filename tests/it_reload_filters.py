#!/usr/bin/env python3
"""A filter change is not fatal:
- `-n` with a new filter prints the notice a start logs (the committed end,
  the --replay command) and exits 0, leaving the state file as it is;
- a start with it runs: the notice once, events after it arrive (those the
  filter matches, only those), the next save records the new hash;
- a reload with another filter change keeps forwarding the same way;
- `-n` then prints no notice (the state file records the filters);
- a state file of another project is refused by `-n` as by a start, with
  how to fix it, exit 1, the file untouched."""
import json
import os
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import reloadlib as L  # noqa: E402

NOTICE = 'source "src1": the filters changed since its state file was written'


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def matching(h, ids, status):
    q = urllib.parse.urlencode({
        "project_id": H.PROJECT, "category": "host",
        "enterprise_project_id": "all_granted_eps",
        "handle_status": status})
    return set(ids) & set(h.sim_get("/_sim/events?" + q)["event_ids"])


def check_forwarding(h, r, status):
    """Events added now arrive if the filter matches them, only then."""
    added = L.add_events(h, 30)
    want = matching(h, added, status)
    assert want and want != set(added), (status, len(want))
    H.wait_for(lambda: want <= set(r.event_ids()), 60,
               "the new %s events" % status)
    got = set(r.event_ids()) & set(added)
    assert got == want, (len(got), len(want))


def test(h):
    h.start_sim("--events", "60", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0")
    r = L.LineReceiver()
    conf = h.write_config(h.source_yaml(extra=L.source_extra("10s")),
                          L.output_yaml("siem", r))
    path = os.path.join(h.dir, "state", "src1.json")
    try:
        rc, _, err = h.run("-f", "--once", "-c", conf, stderr_name="once.err")
        assert rc == 0, err
        first = L.state(h, "src1")
        raw = open(path).read()

        L.rewrite(conf, "    sweep_range: 0s\n", "    sweep_range: 0s\n"
                  "    filters:\n      handle_status: unhandled\n")
        rc, _, err = h.run("-n", "-c", conf, stderr_name="check1.err")
        assert rc == 0, err
        end = iso(first["end"])
        assert "warning: " + NOTICE in err, err
        assert ("the new filters (handle_status=unhandled) apply from the "
                "committed end, %s, on" % end) in err, err
        assert ("run `hss-forwarder --replay src1 --from TIME --to %s`"
                % end) in err, err
        assert err.endswith(conf + ": configuration OK\n"), err
        assert open(path).read() == raw

        d = h.spawn("-f", "-c", conf)
        h.wait_log(NOTICE, proc=d)
        check_forwarding(h, r, "unhandled")
        H.wait_for(lambda: L.state(h, "src1")["filters_hash"] !=
                   first["filters_hash"], 30, "the new hash saved")
        second = L.state(h, "src1")["filters_hash"]
        assert h.read("daemon.err").count(NOTICE) == 1

        L.rewrite(conf, "handle_status: unhandled", "handle_status: handled")
        d.send_signal(signal.SIGHUP)
        h.wait_log("reload: new config applied: sources: 0 kept, 1 "
                   "restarted (src1), 0 added, 0 removed", proc=d)
        err = h.read("daemon.err")
        assert ('source "src1": settings changed (filters); restarting it'
                in err), err
        assert err.count(NOTICE) == 2, err
        assert "the new filters (handle_status=handled) apply" in err, err
        check_forwarding(h, r, "handled")
        H.wait_for(lambda: L.state(h, "src1")["filters_hash"] not in (
            first["filters_hash"], second), 30, "the newer hash saved")
        assert d.poll() is None
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout=12) == 0
        ids = r.event_ids()
        assert len(ids) == len(set(ids)), "an event sent twice"

        rc, _, err = h.run("-n", "-c", conf, stderr_name="check2.err")
        assert rc == 0 and "filters changed" not in err, err

        # Another project: refused by -n as a start refuses it.
        doc = json.loads(open(path).read())
        doc["project_id"] = "ffffffffffffffffffffffffffffffff"
        foreign = json.dumps(doc)
        with open(path, "w") as f:
            f.write(foreign)
        rc, _, err = h.run("-n", "-c", conf, stderr_name="check3.err")
        assert rc == 1, err
        assert ('source "src1": state file refused: %s: project_id is '
                '"ffffffffffffffffffffffffffffffff" in the state file, "%s" '
                'in the config; ' % (path, H.PROJECT)) in err, err
        assert ("give it a new name (its new state file starts from "
                "backfill) or move %s away" % path) in err, err
        assert err.endswith("%s: a start would refuse 1 of 1 sources "
                            "(above) and exit\n" % conf), err
        assert "configuration OK" not in err
        rc, _, err2 = h.run("-f", "-c", conf, stderr_name="start.err")
        assert rc == 1, err2
        refusal = [ln for ln in err.splitlines()
                   if ln.startswith('source "src1": state file refused')]
        assert len(refusal) == 1, err
        assert "error: " + refusal[0] + "\n" in err2, (refusal, err2)
        assert open(path).read() == foreign
    finally:
        r.close()


H.main(test)
