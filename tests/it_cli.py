#!/usr/bin/env python3
"""The command line: -h, -V, unknown options, -n exit codes."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H


def run(*args, env=None):
    p = subprocess.run(H.WRAP + [H.DAEMON] + list(args), capture_output=True, text=True,
                       timeout=30, env=env)
    return p.returncode, p.stdout, p.stderr


def test(h):
    rc, out, err = run("-h")
    assert rc == 0 and out.startswith("usage: hss-forwarder [-c FILE]"), (rc, out)

    rc, out, err = run("--bogus")
    assert rc == 2, rc
    assert "usage: hss-forwarder" in err and out == "", (out, err)

    rc, out, err = run("extra-argument")
    assert rc == 2 and "unexpected argument: extra-argument" in err, err

    rc, out, err = run("-V")
    lines = out.splitlines()
    assert rc == 0, rc
    assert lines[0].startswith("hss-forwarder "), lines
    for i, lib in enumerate(["libcurl ", "cJSON ", "libevent ", "OpenSSL ", "libyaml "]):
        assert lines[i + 1].startswith(lib) and len(lines[i + 1]) > len(lib), lines

    # The shipped example config is valid once its secrets exist.
    example = os.path.join(H.SRCDIR, "etc", "hss-forwarder.yaml")
    env = h.env()
    env["HSS_ACCESS_KEY"] = "EXAMPLEAK"
    env["HSS_SECRET_KEY"] = "example-sk"
    rc, out, err = run("-n", "-c", example, env=env)
    assert rc == 0, (rc, err)
    assert err.endswith("configuration OK\n"), err

    # A broken config: exit 1, the error names file, line and column.
    bad = os.path.join(h.dir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("log_level: loud\nsources: []\noutputs: []\n")
    rc, out, err = run("-n", "-c", bad)
    assert rc == 1, rc
    assert err.startswith(bad + ":1:12: "), err
    assert "configuration OK" not in err

    rc, out, err = run("-n", "-c", os.path.join(h.dir, "missing.yaml"))
    assert rc == 1 and os.path.join(h.dir, "missing.yaml") in err, err


H.main(test)
