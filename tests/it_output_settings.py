#!/usr/bin/env python3
"""The output's syslog settings reach the wire: facility, hostname, app_name
and sd_id from the config appear in every RFC 5424 header of a --once run,
with PRI = facility * 8 + the event's severity."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

SEV = {"Critical": 2, "High": 3, "Medium": 4, "Low": 5, "Security": 6}


def test(h):
    h.start_sim("--events", "200", "--span", "1d", "--rate-limit", "0", "--seed", "2")
    extra = "    settle: 0s\n    backfill: 2d\n    calls_per_minute: 600\n"
    out = ("  - name: syslog\n    format: rfc5424\n    transport: stdout\n"
           "    facility: local6\n    hostname: collector-7\n"
           "    app_name: hssfwd-test\n    sd_id: hss@99999\n")
    conf = h.write_config(h.source_yaml("set", "host", extra), out)
    rc, stdout, err = h.run("-f", "--once", "-c", conf)
    assert rc == 0, err[-2000:]
    lines = stdout.splitlines()
    assert len(lines) == len(h.sim_ids("host")) > 0
    pat = re.compile(r'^<(\d+)>1 \S+ collector-7 hssfwd-test (\d+) \S+ '
                     r'\[hss@99999 event_id="([^"]+)"')
    for line in lines:
        m = pat.match(line)
        assert m, line[:200]
        ev = h.sim_get("/_sim/event?id=" + m.group(3))
        assert int(m.group(1)) == 22 * 8 + SEV[ev["severity"]], (m.group(1), ev["severity"])
        # MSG is the BOM and the event as the API sent it.
        msg = line.split("\ufeff", 1)[1]
        assert json.loads(msg)["event_id"] == m.group(3)


H.main(test)
