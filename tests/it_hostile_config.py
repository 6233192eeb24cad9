#!/usr/bin/env python3
"""Hostile configuration files, at start-up (-n) and on reload:
- -n on a FIFO, on /dev/zero and on a directory answers at once with
  FILE:1:1 and exit 1 (the file is opened non-blocking and must be a
  regular file); a FIFO as a secret file or a CA file the same way, at the
  line of its key;
- 100,000 `[` (libyaml takes cubic time on deep flow nesting: 22 s before)
  is refused by -n with FILE:1:33, and on SIGHUP while /metrics keeps
  answering (the time of both is printed, not asserted);
- a LEEF delimiter that can split a key (`_`) or a fixed value (`:`), and a
  plain http:// endpoint that is not loopback, are errors at FILE:LINE:COL;
- a control character in a key is escaped in what -n prints."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import receivers as R  # noqa: E402


def check(*args, env=None):
    t = time.monotonic()
    p = subprocess.run(H.WRAP + [H.DAEMON, "-n"] + list(args),
                       capture_output=True, text=True, timeout=60,
                       env=env if env is not None else CHECK_ENV)
    return p.returncode, p.stderr, (time.monotonic() - t) * 1000


def one_error(path, want, env=None):
    rc, err, ms = check("-c", path, env=env)
    assert rc == 1, (rc, err)
    assert err == want + "\n", (err, want)
    print("# -n %s: exit 1 in %.0f ms" % (os.path.basename(path), ms))


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=30) as r:
        return r.read().decode()


CHECK_ENV = None


def test(h):
    global CHECK_ENV
    CHECK_ENV = h.env()
    fifo = os.path.join(h.dir, "fifo.yaml")
    os.mkfifo(fifo)
    one_error(fifo, fifo + ":1:1: cannot read: a FIFO, not a regular file")
    one_error("/dev/zero", "/dev/zero:1:1: cannot read: a character device, "
              "not a regular file")
    one_error(h.dir, h.dir + ":1:1: cannot read: a directory, not a regular "
              "file")

    deep = os.path.join(h.dir, "deep.yaml")
    with open(deep, "w") as f:
        f.write("[" * 100000)
    one_error(deep, deep + ":1:33: mappings and sequences nested more than "
              "32 deep; the file is refused")

    # FIFOs as a secret file and as a CA file: refused, never opened for
    # a blocking read.
    h.start_sim("--events", "20", "--span", "1d")
    skfifo = os.path.join(h.dir, "sk")
    os.mkfifo(skfifo, 0o600)
    cafifo = os.path.join(h.dir, "ca.pem")
    os.mkfifo(cafifo)
    src = h.source_yaml(extra="    ca_file: %s\n" % cafifo).replace(
        "secret_key_env: TEST_HSS_SK", "secret_key_file: " + skfifo)
    conf = h.write_config(src, h.stdout_output())
    rc, err, ms = check("-c", conf)
    assert rc == 1, (rc, err)
    assert (":14:14: `ca_file`: cannot read %s: a FIFO, not a regular file\n"
            % cafifo) in err, err
    assert (":13:24: `secret_key_file`: cannot read %s: a FIFO, not a "
            "regular file\n" % skfifo) in err, err

    # LEEF delimiters that split keys or fixed values; http:// off loopback.
    out = ("  - name: leef\n    format: leef\n    transport: stdout\n"
           "    leef_delimiter: _\n"
           "  - name: leef2\n    format: leef\n    transport: stdout\n"
           "    leef_delimiter: \":\"\n")
    src = h.source_yaml().replace("http://127.0.0.1", "http://192.0.2.1")
    conf = h.write_config(src, out)
    rc, err, ms = check("-c", conf)
    assert rc == 1, (rc, err)
    lines = err.splitlines()
    assert lines == [
        conf + ":9:15: `endpoint`: `http://192.0.2.1:%d`: plain http:// is "
        "allowed only to a loopback address (127.0.0.0/8, ::1, localhost); "
        "use https://" % h.sim_port,
        conf + ":18:21: `leef_delimiter`: must be one of `^`, `|`, `~` or a "
        "tab (\"\\t\"); other characters occur in LEEF keys or fixed values",
        conf + ":22:21: `leef_delimiter`: must be one of `^`, `|`, `~` or a "
        "tab (\"\\t\"); other characters occur in LEEF keys or fixed values",
    ], lines

    # A TAB and an escape sequence in a key: escaped in what -n prints.
    conf = h.write_config(h.source_yaml(extra='    "ti\\tme\\e[2J": 1\n'),
                          h.stdout_output())
    rc, err, ms = check("-c", conf)
    assert rc == 1, (rc, err)
    assert "unknown key `ti\\x09me\\x1b[2J`" in err, err
    assert "\t" not in err and "\x1b" not in err, err

    # Reload with the deep file: refused, /metrics answers meanwhile.
    port = R.free_port()
    good = h.write_config(h.source_yaml(extra="    poll_interval: 10m\n"),
                          h.stdout_output(),
                          top="metrics_listen: 127.0.0.1:%d\n" % port)
    d = h.spawn("-f", "-c", good)
    h.wait_log('source "src1": starting', proc=d)
    H.wait_for(lambda: "hss_" in metrics(port), 20, "/metrics")
    text = open(good).read()
    with open(good, "w") as f:
        f.write("[" * 100000)
    t = time.monotonic()
    d.send_signal(signal.SIGHUP)
    body = metrics(port)
    print("# /metrics answered %.0f ms after the SIGHUP with 100000 `[`"
          % ((time.monotonic() - t) * 1000))
    assert "hss_" in body
    h.wait_log("keeping the running config", proc=d)
    err = h.read("daemon.err")
    assert "config: %s:1:33: mappings and sequences nested more than 32 " \
        "deep; the file is refused" % good in err, err
    assert d.poll() is None
    with open(good, "w") as f:
        f.write(text)
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=12) == 0


H.main(test)
