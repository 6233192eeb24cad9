#!/usr/bin/env python3
"""A RELP server that refuses: each case is logged in words, retried with
backoff, and loses nothing.

1. "rsp 500" to the 30th message of each of its first 3 connections: the
   daemon logs the code, the message and the server's text, closes the
   session gracefully (the answers to the messages in flight still
   count), reconnects after a backoff and sends the refused message
   again; every event is answered exactly once. On SIGTERM the daemon
   sends "close", the server answers it, and the daemon exits 0.
2. "serverclose" after 100 answers on each of its first 3 connections:
   logged as such, reconnect after a backoff, every event answered.
3. The answer to "open" is "500 ...": a failed connection attempt with the
   server's words, retried with growing backoff; SIGTERM still exits 0.
"""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import relp as P  # noqa: E402

EVENTS = 600
BREAKS = 3


def run_until_answered(h, srv, want, name):
    conf = h.write_config(D.fast_source(h, page_size=200),
                          P.output_yaml("siem", "json", srv.address),
                          name=name + ".yaml")
    p = h.spawn("-f", "-c", conf, stderr_name=name + ".err")
    D.wait(lambda: set(P.json_ids(srv.answered())) >= want or
           p.poll() is not None, 240, "%s: every event answered" % name)
    assert p.poll() is None, p.returncode
    D.wait(lambda: "queued 0," in stats(h, p, name), 30,
           "%s: nothing queued" % name)
    return p


def stats(h, p, name):
    err = name + ".err"
    n0 = h.read(err).count('stats: output "siem"')
    p.send_signal(signal.SIGUSR1)
    D.wait(lambda: h.read(err).count('stats: output "siem"') > n0, 10,
           "stats")
    return [ln for ln in h.read(err).splitlines()
            if 'stats: output "siem"' in ln][-1]


def stop(h, p, srv, name):
    p.terminate()
    assert p.wait(timeout=30) == 0, (p.returncode, h.read(name + ".err"))
    assert not srv.errors, srv.errors
    return h.read(name + ".err")


def rejected(h, want):
    srv = P.RelpServer(h.dir, fault=("reject", 30), times=BREAKS,
                       reject_text=b"queue full, try later")
    try:
        p = run_until_answered(h, srv, want, "reject")
        err = stop(h, p, srv, "reject")
        said = re.findall(r'output "siem": the server answered 500 to '
                          r'message (\d+): queue full, try later; closing '
                          r'the session to send it again', err)
        assert len(said) == BREAKS, err[-3000:]
        lost = re.findall(r'output "siem": connection to 127.0.0.1:%d '
                          r'lost: the server refused message (\d+); RELP '
                          r'session closed; (\d+) unacknowledged messages? '
                          r'will be sent again; reconnecting in about '
                          r'(\d+) s' % srv.port, err)
        assert [x[0] for x in lost] == said, (said, lost)
        # the refused message and nothing answered after it is sent again
        assert all(x[1] == "1" for x in lost), lost
        answered = P.json_ids(srv.answered())
        assert sorted(answered) == sorted(want), (len(answered),
                                                  len(set(answered)))
        closes = [e for e in srv.events if e[0] == "close"]
        rejects = [e for e in srv.events if e[0] == "reject"]
        # each refusal ended in a close, and so did the shutdown
        assert len(rejects) == BREAKS, srv.events
        assert len(closes) == BREAKS + 1, srv.events
        assert closes[-1][1] == srv.connections, (closes, srv.connections)
        assert "no answer to the RELP close" not in err, err[-2000:]
        print("500 x%d: logged %s, each sent again; %d events answered "
              "once each; SIGTERM: close answered, exit 0" % (
                  BREAKS, said, len(answered)))
        print("\n".join(ln for ln in err.splitlines() if "500" in ln or
                        "lost:" in ln))
    finally:
        srv.stop()


def serverclose(h, want):
    srv = P.RelpServer(h.dir, fault=("serverclose", 100), times=BREAKS,
                       graceful=True)
    try:
        p = run_until_answered(h, srv, want, "sclose")
        err = stop(h, p, srv, "sclose")
        lost = re.findall(r'output "siem": connection to 127.0.0.1:%d '
                          r'lost: the server closed the RELP session '
                          r'\(serverclose\); \d+ unacknowledged messages? '
                          r'will be sent again; reconnecting in about \d+ s'
                          % srv.port, err)
        assert len(lost) == BREAKS, err[-3000:]
        answered = P.json_ids(srv.answered())
        assert sorted(answered) == sorted(want), (len(answered),
                                                  len(set(answered)))
        print("serverclose x%d: logged, reconnected, every event answered "
              "once" % BREAKS)
    finally:
        srv.stop()


def open_refused(h):
    srv = P.RelpServer(h.dir, open_reply=b"500 not today")
    try:
        conf = h.write_config(D.fast_source(h, page_size=200),
                              P.output_yaml("siem", "json", srv.address),
                              name="open.yaml")
        p = h.spawn("-f", "-c", conf, stderr_name="open.err")
        line = ('output "siem": connecting to %s (%s) failed: RELP '
                'session: the server refused the session: 500 not today; '
                'attempt 2, retrying in' % (srv.address, srv.address))
        h.wait_log(line, 60, name="open.err", proc=p)
        err = stop(h, p, srv, "open")
        assert "attempt 1, retrying in 1 s" in err, err[-2000:]
        assert not srv.answered()
        print("open refused: %s" % line)
    finally:
        srv.stop()


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "2d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "5")
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    rejected(h, want)
    os.rename(os.path.join(h.dir, "state"), os.path.join(h.dir, "state1"))
    serverclose(h, want)
    os.rename(os.path.join(h.dir, "state"), os.path.join(h.dir, "state2"))
    open_refused(h)


D.main(test)
