#!/usr/bin/env python3
"""A receiver that breaks with messages it never processed: tcp loses
them, relp sends them again.

1. The same receiver-break scenario over tcp and over relp, one --once run
   each of the same 2,000 events: on each of the first 3 connections the
   receiver reads 300 KB, processes (relp: answers) what it read, stops
   reading for 1 s and closes, leaving what sat in its socket buffer
   unread. Over tcp the daemon counts those bytes as delivered once the
   receiver's kernel acknowledged them: the events are committed and never
   arrive (the count is printed, not asserted: it depends on socket
   buffers). Over relp nothing unanswered counts as delivered: every
   event is answered 200, 0 lost.
2. A RELP server that reads 60 messages and answers only the first 20,
   the answers in reverse order, then closes, on each of its first 3
   connections: every unanswered message is received again on a later
   connection, every event is answered, and the stats count them resent.
"""
import collections
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import relp as P  # noqa: E402

EVENTS = 2000
BREAKS = 3
READ = 300 * 1024
PAUSE = 1.0


class BreakingTcp:
    """A TCP receiver (lf framing): on each of its first BREAKS connections
    it reads READ bytes, pauses PAUSE s without reading, then closes; later
    connections are read to the end. .lines() are the complete lines
    read."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.data = []
        self.n = 0
        self.stopping = False
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.n += 1
            threading.Thread(target=self._serve, args=(c, self.n),
                             daemon=True).start()

    def _serve(self, c, n):
        got = bytearray()
        c.settimeout(30)
        try:
            while not self.stopping:
                b = c.recv(65536)
                if not b:
                    break
                got += b
                if n <= BREAKS and len(got) >= READ:
                    time.sleep(PAUSE)
                    break
        except OSError:
            pass
        finally:
            c.close()
            with self.lock:
                self.data.append(bytes(got))

    def lines(self):
        with self.lock:
            return [ln for d in self.data for ln in d.split(b"\n")[:-1]]

    def stop(self):
        self.stopping = True
        self.t.join(5)
        self.ls.close()


def lost_over_tcp(h, want):
    srv = BreakingTcp()
    try:
        conf = h.write_config(
            D.fast_source(h, page_size=500),
            D.output_yaml("siem", "json", "tcp",
                          "127.0.0.1:%d" % srv.port, "lf"),
            name="tcp.yaml")
        rc, _, err = h.run("--once", "-c", conf, timeout=300,
                           stderr_name="tcp.err")
        assert rc == 0, (rc, err[-3000:])
        assert srv.n > BREAKS, "only %d connections" % srv.n
        got = set(P.json_ids(srv.lines()))
        assert got <= want, "unknown ids"
        return len(want - got)
    finally:
        srv.stop()


def lost_over_relp(h, want):
    srv = P.RelpServer(h.dir, fault=("pause", READ, PAUSE), times=BREAKS)
    try:
        conf = h.write_config(D.fast_source(h, page_size=500),
                              P.output_yaml("siem", "json", srv.address),
                              name="relp.yaml")
        rc, _, err = h.run("--once", "-c", conf, timeout=300,
                           stderr_name="relp.err")
        assert rc == 0, (rc, err[-3000:])
        assert not srv.errors, srv.errors
        pauses = [e for e in srv.events if e[0] == "pause"]
        assert len(pauses) == BREAKS, srv.events
        got = set(P.json_ids(srv.answered()))
        assert got <= want, "unknown ids"
        # every connection that broke left messages unanswered
        again = err.count("unacknowledged messages will be sent again")
        assert again >= BREAKS, err[-3000:]
        return len(want - got), len(srv.answered()) - len(got)
    finally:
        srv.stop()


def unanswered_resent(h, want):
    srv = P.RelpServer(h.dir, fault=("drop", 60, 20), times=BREAKS,
                       reverse=True)
    try:
        conf = h.write_config(D.fast_source(h, page_size=500),
                              P.output_yaml("siem", "json", srv.address),
                              name="drop.yaml")
        p = h.spawn("-f", "-c", conf, stderr_name="drop.err")
        D.wait(lambda: set(P.json_ids(srv.answered())) >= want or
               p.poll() is not None, 240, "every event answered")
        assert p.poll() is None, p.returncode
        n0 = h.read("drop.err").count('stats: output "siem"')
        p.send_signal(__import__("signal").SIGUSR1)
        D.wait(lambda: h.read("drop.err").count('stats: output "siem"') >
               n0, 10, "stats")
        st = D.output_stats(h.read("drop.err"), "siem")
        p.terminate()
        assert p.wait(timeout=30) == 0, p.returncode
        assert not srv.errors, srv.errors
        drops = [e for e in srv.events if e[0] == "drop"]
        assert len(drops) == BREAKS, srv.events
        received = P.json_ids(srv.received())
        answered = P.json_ids(srv.answered())
        assert set(answered) == want, len(want - set(answered))
        # per dropped connection: 40 read, not answered, read again later
        counts = collections.Counter(received)
        unanswered = collections.Counter(received) - \
            collections.Counter(answered)
        assert sum(unanswered.values()) == BREAKS * 40, unanswered
        for eid in unanswered:
            assert counts[eid] >= 2, eid
        # answers written just before the server's close can die with the
        # connection (its reset discards them): those messages are sent
        # and answered again (at least once), at most 20 per break
        dup = len(answered) - EVENTS
        assert 0 <= dup <= BREAKS * 20, (len(answered), EVENTS)
        assert st["resent"] >= BREAKS * 40, st
        assert st["acked"] == EVENTS and st["queued"] == 0, st
        assert st["reconnects"] >= BREAKS, st
        print("drop 60/answer 20 x%d: %d events answered, %d unanswered "
              "received again, %d answers lost with the connection; "
              "stats %s" % (BREAKS, len(set(answered)),
                            sum(unanswered.values()), dup, st))
        for ln in h.read("drop.err").splitlines():
            if "lost:" in ln:
                print(ln)
    finally:
        srv.stop()


def test(h):
    h.start_sim("--events", str(EVENTS), "--span", "2d",
                "--container-share", "0", "--rate-limit", "0", "--seed", "9")
    want = h.sim_ids()
    assert len(want) == EVENTS, len(want)
    tcp_lost = lost_over_tcp(h, want)
    os.rename(os.path.join(h.dir, "state"), os.path.join(h.dir, "state-tcp"))
    relp_lost, relp_dups = lost_over_relp(h, want)
    print("receiver reads 300 KB, pauses 1 s, closes (x%d) over %d events: "
          "tcp lost %d, relp lost %d (relp duplicates %d)" % (
              BREAKS, EVENTS, tcp_lost, relp_lost, relp_dups))
    assert relp_lost == 0, relp_lost
    os.rename(os.path.join(h.dir, "state"),
              os.path.join(h.dir, "state-relp"))
    unanswered_resent(h, want)


D.main(test)
