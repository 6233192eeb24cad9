#!/usr/bin/env python3
"""/healthz tells a monitor what is wrong: 200 "ok" while things work; 503
with a line naming the source when its API calls have failed 3 times in a
row (the simulator answering 503), back to 200 after the next success; 503
with a line naming the output when 3 connection attempts to its receiver
have failed in a row, back to 200 once it reconnects."""
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402


def health(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port,
                                    timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except urllib.error.URLError as e:    # not listening yet
        return 0, str(e)


def test(h):
    h.start_sim("--events", "100", "--span", "1d", "--container-share", "0",
                "--rate-limit", "0", "--seed", "3")
    sink = D.Sink(h.dir)
    mport = D.free_port()
    conf = h.write_config(
        D.fast_source(h, backfill="2d", extra="    poll_interval: 10s\n"),
        D.output_yaml("siem", "json", "tcp", sink.address, "lf"),
        top="metrics_listen: 127.0.0.1:%d\n" % mport)
    want = h.sim_ids()
    h.sim_post("/_sim/config", {"faults": {"503": 1.0}})
    p = h.spawn("-f", "-c", conf)

    # The API fails: after the third failure in a row, 503 naming it.
    st, body = D.wait(lambda: (lambda r: r if r[0] == 503 else None)(
        health(mport)), 30, "/healthz 503 for the source")
    lines = body.splitlines()
    assert len(lines) == 1, body
    assert lines[0].startswith('source "src1": '), body
    assert " API calls failed in a row, last: HTTP 503" in lines[0], body
    n = int(lines[0].split(": ")[1].split()[0])
    assert n >= 3, body
    logged = [ln for ln in h.read("daemon.err").splitlines()
              if 'warning: source "src1": window ' in ln and
              "; cursor stays, retrying in " in ln]
    assert len(logged) >= n, (n, logged)
    print("API failing: 503 %r" % body)

    # The API recovers: the next retry succeeds, health is ok again.
    h.sim_post("/_sim/config", {"faults": {}})
    D.wait(lambda: want <= set(sink.json_ids()), 60, "every event")
    D.wait(lambda: health(mport) == (200, "ok\n"), 30, "/healthz 200")

    # The receiver goes away: 503 naming the output after 3 failed
    # attempts, 200 once it is back (same port).
    sink.stop()
    st, body = D.wait(lambda: (lambda r: r if r[0] == 503 else None)(
        health(mport)), 40, "/healthz 503 for the output")
    assert body.startswith('output "siem": '), body
    assert body.endswith(" connection attempts failed in a row\n"), body
    print("receiver down: 503 %r" % body)
    sink.start()
    D.wait(lambda: health(mport) == (200, "ok\n"), 60,
           "/healthz 200 after the reconnect")
    p.terminate()
    assert p.wait(timeout=15) == 0, p.returncode


D.main(test)
