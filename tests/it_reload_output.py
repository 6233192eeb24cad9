#!/usr/bin/env python3
"""A reload never exits the daemon:
- a new config whose TLS output names a FIFO as its CA file is refused
  (the running config keeps running);
- a new config whose CA file is replaced by garbage after the SIGHUP, while
  the replaced output is still flushing (its receiver holds every message
  unacknowledged: it flushes for 10 s), is applied all the same: its
  outputs were built when the SIGHUP came. (The daemon used to build them
  again after the stop and exit with "the outputs cannot be set up".)
  What the old output never acknowledged is read again by the source for
  the new one (the source restarts from its state file).
SIGTERM then stops the daemon within the design's 10 s."""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import receivers as R  # noqa: E402


def tls_output(port, ca):
    return ("  - name: siem\n    format: rfc5424\n    transport: tls\n"
            "    address: 127.0.0.1:%d\n    tls:\n      ca_file: %s\n"
            "      server_name: localhost\n" % (port, ca))


def test(h):
    if shutil.which("openssl") is None:
        print("SKIP: openssl not found")
        sys.exit(77)
    certs = R.make_certs(h.dir)
    h.start_sim("--events", "300", "--span", "1d")
    # accepts, never reads: nothing beyond its small buffer is acknowledged
    sink = R.start_sink(h.dir, hold=True, rcvbuf=4096)
    h.procs.append(sink.proc)
    dead = R.free_port()
    conf = h.write_config(
        h.source_yaml(extra="    poll_interval: 10m\n"),
        "  - name: siem\n    format: json\n    transport: tcp\n"
        "    address: 127.0.0.1:%d\n" % sink.port)
    d = h.spawn("-f", "-c", conf)
    h.wait_log('source "src1": starting', proc=d)
    H.wait_for(lambda: h.sim_get("/_sim/stats")["by_status"].get("200"),
               30, "a page of events")
    base = open(conf).read()
    head = base[:base.index("outputs:\n")]

    # A FIFO as the new output's CA file: refused before anything stops.
    fifo = os.path.join(h.dir, "fifo.pem")
    os.mkfifo(fifo)
    with open(conf, "w") as f:
        f.write(head + "outputs:\n" + tls_output(dead, fifo))
    d.send_signal(signal.SIGHUP)
    h.wait_log("keeping the running config", proc=d)
    err = h.read("daemon.err")
    assert "`ca_file`: cannot read %s: a FIFO, not a regular file" % fifo \
        in err, err
    assert d.poll() is None

    # A good CA file, replaced by garbage once the stop is under way.
    ca = os.path.join(h.dir, "ca.pem")
    shutil.copy(certs["ca"], ca)
    with open(conf, "w") as f:
        f.write(head + "outputs:\n" + tls_output(dead, ca))
    d.send_signal(signal.SIGHUP)
    h.wait_log('output "siem": shutting down', proc=d)
    with open(ca + ".new", "w") as f:
        f.write("not a certificate\n")
    os.rename(ca + ".new", ca)
    h.wait_log("reload: new config applied: sources: 1 kept, 0 restarted, "
               "0 added, 0 removed; outputs: 0 kept, 1 changed (siem), "
               "0 added, 0 removed", proc=d)
    err = h.read("daemon.err")
    assert 'output "siem": the old connection did not acknowledge' in err, err
    assert ('source "src1": a replaced output did not acknowledge all of '
            'its events; reading them again from the last saved cursor'
            in err), err
    assert err.count('source "src1": starting') == 2, err
    time.sleep(1)
    assert d.poll() is None, h.read("daemon.err")[-2000:]
    assert "cannot be set up" not in h.read("daemon.err")

    t = time.monotonic()
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=12)
    print("# SIGTERM: exit %d after %.1f s" % (rc, time.monotonic() - t))
    assert rc == 0, (rc, h.read("daemon.err")[-2000:])


H.main(test)
