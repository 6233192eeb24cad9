#!/usr/bin/env python3
"""The relp keys of an output, checked by `hss-forwarder -n`: transport
relp with or without a tls block and relp_window is valid; framing with
relp, relp_window with another transport, relp_window out of range and a
tls block with udp are refused with the position and the reason."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402
import receivers as R  # noqa: E402


def check(h, name, output):
    path = h.write_config(h.source_yaml(), output, name=name + ".yaml")
    rc, _, err = h.run("-n", "-c", path, stderr_name=name + ".err")
    return rc, err, path


def test(h):
    certs = R.make_certs(h.dir)
    base = ("  - name: r\n    format: rfc5424\n    transport: relp\n"
            "    address: 127.0.0.1:2514\n")
    ok = [
        ("plain", base),
        ("tls", base + "    tls:\n      ca_file: %s\n" % certs["ca"]),
        ("window", base + "    relp_window: 16384\n"),
        ("window1", base + "    relp_window: 1\n"),
    ]
    for name, out in ok:
        rc, err, _ = check(h, name, out)
        assert rc == 0 and err.endswith("configuration OK\n"), (name, rc,
                                                                err)
    # (name, output, the key, column, the message)
    bad = [
        ("framing", base + "    framing: lf\n", "framing", 5,
         "`framing`: not used with transport relp (RELP frames each "
         "message itself)"),
        ("window0", base + "    relp_window: 0\n", "relp_window", 18,
         "`relp_window`: "),
        ("window-big", base + "    relp_window: 16385\n", "relp_window", 18,
         "`relp_window`: "),
        ("window-tcp", base.replace("relp", "tcp") +
         "    relp_window: 64\n", "relp_window", 5, "`relp_window`: only "
         "used with transport relp (this output uses tcp)"),
        ("tls-udp", base.replace("relp", "udp") +
         "    tls:\n      verify: false\n", "tls", 5, "`tls`: only used "
         "with transport tls or relp (this output uses udp)"),
    ]
    for name, out, key, col, want in bad:
        rc, err, path = check(h, name, out)
        assert rc == 1, (name, rc, err)
        with open(path) as f:
            line = [i + 1 for i, ln in enumerate(f.read().splitlines())
                    if ln.startswith("    %s:" % key)][0]
        want = "%s:%d:%d: %s" % (path, line, col, want)
        assert want in err, (name, want, err)
    print("relp config: %d valid, %d refused with their reason" % (
        len(ok), len(bad)))


H.main(test)
