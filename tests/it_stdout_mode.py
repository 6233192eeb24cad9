#!/usr/bin/env python3
"""transport stdout needs the foreground:
- without -f or --once (the daemon would go to the background, where its
  standard output is /dev/null) the config is refused, exit 1, with the
  output named and the fix;
- with --once, or -f, it runs;
- -n warns about it unless -f or --once comes with it, and exits 0;
and a daemon started with descriptors 0-2 closed opens /dev/null there
first: its lock and its connections never take them."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import reloadlib as L  # noqa: E402


def test(h):
    h.start_sim("--events", "20", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0")
    conf = h.write_config(h.source_yaml(extra=L.source_extra("1h")),
                          h.stdout_output())
    line = open(conf).read().split("\n").index("  - name: out") + 1
    msg = ("%s:%d: output `out`: transport stdout needs -f or --once: in the "
           "background the daemon's standard output is /dev/null and every "
           "event sent there would be lost; run it in the foreground with -f "
           "(as the systemd unit does) or --once, or send to the SIEM with "
           "transport tcp, tls, relp or udp" % (conf, line))

    rc, out, err = h.run("-c", conf, timeout=30, stderr_name="bg.err")
    assert rc == 1, (rc, err)
    assert msg + "\n" in err, err
    assert "starting" not in err and out == "", err
    assert not os.path.exists(os.path.join(h.dir, "state", "src1.json"))

    rc, out, err = h.run("--once", "-c", conf, stderr_name="once.err")
    assert rc == 0, err
    assert len(H.delivered_ids(out)) == 20, out

    rc, _, err = h.run("-n", "-c", conf, stderr_name="n.err")
    assert rc == 0, err
    assert ("warning: %s (a start without -f or --once refuses this "
            "config)\n" % msg) in err, err
    assert err.endswith("configuration OK\n"), err
    for opt in ("-f", "--once"):
        rc, _, err = h.run("-n", opt, "-c", conf, stderr_name="nf.err")
        assert rc == 0 and "transport stdout" not in err, (opt, err)

    d = h.spawn("-f", "-c", conf, stdout_name="f.out", stderr_name="f.err")
    h.wait_log('source "src1": starting', name="f.err", proc=d)
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=12) == 0

    # Descriptors 0-2 closed: /dev/null there, the lock and sockets above.
    r = L.LineReceiver()
    try:
        conf2 = h.write_config(h.source_yaml("src2", extra=L.source_extra()),
                               L.output_yaml("siem", r), name="fd.yaml")
        p = subprocess.Popen(
            ["sh", "-c", 'exec 0<&- 1>&- 2>&- "$0" "$@"'] + H.WRAP +
            [H.DAEMON, "-f", "-c", conf2], env=h.env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        h.procs.append(p)
        state = os.path.join(h.dir, "state", "src2.json")
        H.wait_for(lambda: os.path.exists(state) and
                   len(r.event_ids()) == 20, 60, "the first commit")
        fds = {}
        for fd in os.listdir("/proc/%d/fd" % p.pid):
            try:
                fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (p.pid, fd))
            except OSError:
                pass
        for fd in (0, 1, 2):
            assert fds.get(fd) == "/dev/null", fds
        lock = [fd for fd, t in fds.items()
                if t == os.path.join(h.dir, "state")]
        assert lock and min(lock) > 2, fds
        assert [fd for fd, t in fds.items() if t.startswith("socket:")], fds
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=12) == 0
    finally:
        r.close()


H.main(test)
