#!/usr/bin/env python3
"""hss-sim: --bind ::1 listens on IPv6 loopback and serves signed requests
(Host: [::1]:port is signed).  Skipped (77) when the host has no IPv6
loopback."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import SimProc, base_args, run  # noqa: E402

try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind(("::1", 0))
    s.close()
except OSError:
    print("SKIP: no IPv6 loopback")
    sys.exit(77)


class Ipv6(unittest.TestCase):
    def test_ipv6_loopback(self):
        with SimProc(*base_args("--events", "20"), bind="::1") as sim:
            self.assertEqual(sim.hostport, "[::1]:%d" % sim.port)
            r = sim.events({"category": "host"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(sim.ctl("/_sim/requests")[0]
                             ["client"], "::1")


if __name__ == "__main__":
    run()
