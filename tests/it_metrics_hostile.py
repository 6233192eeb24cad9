#!/usr/bin/env python3
"""The metrics listener against hostile clients (src/httpd.c):
- GET and HEAD are answered with "Connection: close"; a request with a
  body (Content-Length above 0, or Transfer-Encoding) gets 413;
- a partial request is closed, unanswered, after the 5 s idle timeout; one
  that keeps dribbling bytes after the 10 s request timeout;
- an endless header line gets 431 and the connection closes; the daemon's
  RSS stays within a few MB;
- past the cap of 64 connections a new connection is closed at once
  (logged once), the 64 held ones are still answered, and /metrics answers
  when they are gone;
- with its file descriptors exhausted (RLIMIT_NOFILE lowered under it),
  accept() failures pause the listener instead of spinning and are logged
  once; once the connections close, /metrics answers again and the cursor
  is saved again."""
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import daemon_siem as D  # noqa: E402
import harness as H  # noqa: E402

CAP = 64


def spawn(h, conf, nofile, name):
    """The daemon with RLIMIT_NOFILE's soft limit set to nofile."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    err = open(os.path.join(h.dir, name + ".err"), "ab")
    out = open(os.path.join(h.dir, name + ".out"), "ab")
    p = subprocess.Popen(H.WRAP + [H.DAEMON, "-f", "-c", conf], stdout=out,
                         stderr=err, env=h.env(), preexec_fn=limit)
    h.procs.append(p)
    return p


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(s, timeout=30):
    """Everything until the server closes (bounded in time and size)."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < 1 << 20:
        left = deadline - time.monotonic()
        if left <= 0:
            raise H.Failure("no EOF within %d s, got %r" % (timeout, data))
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    return data


def request(port, raw):
    s = connect(port)
    try:
        s.sendall(raw)
        return read_all(s)
    finally:
        s.close()


def head_of(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise H.Failure("no VmRSS")


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def accepted(pid, port):
    """Connections to port that the daemon has accepted: its socket
    descriptors whose TCP entry has that local port and is not the
    listener (counting all descriptors would also count the API client's
    connections, which come and go)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            c = row.split()
            if int(c[1].rsplit(":", 1)[1], 16) == port and c[3] != "0A" \
                    and c[9] in inodes:
                n += 1
    return n


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_requests(port):
    # GET: 200 and Connection: close; HEAD: the same head, no body.
    st, hdrs, body = head_of(request(port, b"GET /metrics HTTP/1.1\r\n"
                                     b"Host: x\r\n\r\n"))
    assert st == "HTTP/1.1 200 OK", st
    assert hdrs["connection"] == "close", hdrs
    assert hdrs["content-type"] == "text/plain; version=0.0.4", hdrs
    assert int(hdrs["content-length"]) == len(body), (hdrs, len(body))
    assert b"# TYPE hss_forwarder_source_received_total counter" in body
    resp = request(port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    st, hdrs, body = head_of(resp)
    assert st == "HTTP/1.1 200 OK" and body == b"", resp
    assert int(hdrs["content-length"]) > 100, hdrs
    # Bodies are refused, whatever announces them; other methods get 405.
    for raw in (b"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                b"GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n5\r\nhello\r\n0\r\n\r\n"):
        st, hdrs, body = head_of(request(port, raw))
        assert st == "HTTP/1.1 413 Content Too Large", (raw, st)
        assert hdrs["connection"] == "close", hdrs
    st, hdrs, _ = head_of(request(port, b"POST /metrics HTTP/1.1\r\n"
                                  b"Content-Length: 1\r\n\r\nx"))
    assert st == "HTTP/1.1 405 Method Not Allowed", st
    assert hdrs["allow"] == "GET, HEAD", hdrs
    st, _, _ = head_of(request(port, b"GET /metrics HTTP/1.1\r\n"
                               b"Content-Length: x\r\n\r\n"))
    assert st == "HTTP/1.1 400 Bad Request", st
    st, _, _ = head_of(request(port, b"GET /metrics HTTP/2.0\r\n\r\n"))
    assert st == "HTTP/1.1 505 HTTP Version Not Supported", st
    st, _, _ = head_of(request(port, b"GET /nothing HTTP/1.1\r\n\r\n"))
    assert st == "HTTP/1.1 404 Not Found", st
    print("requests: GET, HEAD, 413, 405, 400, 505, 404 as expected")


def check_timeouts(port):
    # A partial request: closed without an answer after the idle timeout.
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    got = read_all(s, timeout=30)
    idle = time.monotonic() - t0
    s.close()
    assert got == b"", got
    assert idle >= 4.5, "closed after %.1f s, before the idle timeout" % idle
    # A byte every second: closed after the whole-request timeout.
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    got = b""
    for i in range(40):
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            got = s.recv(4096)
            break
        try:
            s.sendall(b"X-Slow-%d: 1\r\n" % i)
        except OSError:
            break
    dribble = time.monotonic() - t0
    s.close()
    assert got == b"", got
    assert 9.5 <= dribble < 40, "closed after %.1f s" % dribble
    print("timeouts: idle closed after %.1f s, dribble after %.1f s"
          % (idle, dribble))


def check_endless_header(pid, port):
    before = rss_kb(pid)
    s = connect(port)
    s.setblocking(False)
    s.sendall(b"GET /metrics HTTP/1.1\r\nX-Endless: ")
    chunk = b"a" * 65536
    sent, resp = 0, b""
    deadline = time.monotonic() + 60
    closed = False
    while not closed and sent < 256 << 20 and time.monotonic() < deadline:
        r, w, _ = select.select([s], [s], [], 1.0)
        if r:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                b = b""
            resp += b
            closed = not b
        if w and not closed:
            try:
                sent += s.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
    s.close()
    after = rss_kb(pid)
    assert closed, "still open after %d bytes" % sent
    assert resp.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"
                           b"\r\n"), resp[:200]
    assert after - before < 8192, (before, after)
    print("endless header: 431 after %d bytes sent; RSS %d -> %d kB"
          % (sent, before, after))


def check_cap(h, pid, port):
    # Earlier checks' connections may still be draining: start from none.
    H.wait_for(lambda: accepted(pid, port) == 0, 20,
               "the earlier metrics connections to close")
    held = []
    for i in range(CAP):
        s = connect(port)
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        held.append(s)
    H.wait_for(lambda: accepted(pid, port) >= CAP, 20,
               "the daemon to accept %d connections" % CAP)
    # Past the cap: closed at once, a complete request left unanswered.
    for i in range(5):
        got = request(port, b"GET /metrics HTTP/1.0\r\n\r\n")
        assert got == b"", got
    # The held ones are answered.
    for s in held:
        s.sendall(b"\r\n")
    for s in held:
        st, _, _ = head_of(read_all(s))
        assert st == "HTTP/1.1 200 OK", st
        s.close()
    # Once the daemon has seen them close, there is room again.
    H.wait_for(lambda: request(port, b"GET /healthz HTTP/1.0\r\n\r\n"),
               20, "an answer after the held connections closed")
    lines = [ln for ln in h.read("daemon.err").splitlines()
             if "connections open, the most allowed" in ln]
    assert len(lines) == 1, lines
    assert lines[0].endswith(": warning: metrics: 64 connections open, the "
                             "most allowed: closing new ones (1 closed since "
                             "the last report)"), lines
    print("cap: 5 refused past %d, the held ones answered" % CAP)


def check_fd_exhaustion(h, conf, port):
    before = D.cursor_end(h)
    p = spawn(h, conf, 256, "d2")
    h.wait_log("metrics: listening on", name="d2.err", proc=p)
    # A save of this daemon: the descriptors it keeps open are open (the
    # state journal's, from its first save on; the API connection).
    H.wait_for(lambda: (D.cursor_end(h) or 0) > (before or 0), 30,
               "a first cursor save")
    # Leave the daemon two free descriptors, then queue 40 connections.
    used = nfds(p.pid)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (used + 2, hard))
    conns = [connect(port) for _ in range(40)]
    want = ("warning: metrics: cannot accept a connection: Too many open "
            "files; not accepting for 1s (1 failure since the last report)")
    h.wait_log(want, name="d2.err", proc=p)
    # Not spinning on the connections it cannot take.
    c0, t0 = cpu_s(p.pid), time.monotonic()
    time.sleep(4)
    busy = (cpu_s(p.pid) - c0) / (time.monotonic() - t0)
    assert busy < 0.5, "%.0f%% CPU while accept() fails" % (busy * 100)
    for s in conns:
        s.close()
    # It recovers: /metrics answers, the cursor is saved again.
    end = D.cursor_end(h)

    def answered():
        try:
            return head_of(request(port, b"GET /metrics HTTP/1.0\r\n\r\n"))[0]
        except OSError:
            return None
    st = H.wait_for(answered, 60, "/metrics after the back-off")
    assert st == "HTTP/1.1 200 OK", st
    H.wait_for(lambda: D.cursor_end(h) > end, 40, "a cursor save")
    log = h.read("d2.err")
    print("--- d2.err (tail):\n" + log[-1500:])
    accept_lines = [ln for ln in log.splitlines() if "cannot accept" in ln]
    assert accept_lines == [accept_lines[0]] and \
        accept_lines[0].endswith(want), accept_lines
    assert "Error from accept" not in log, log[-2000:]
    p.terminate()
    assert p.wait(timeout=15) == 0, p.returncode
    print("fd exhaustion: %.0f%% CPU, one log line, recovered" % (busy * 100))


def test(h):
    h.start_sim("--events", "50", "--span", "1d", "--rate-limit", "0")
    port = D.free_port()
    conf = h.write_config(
        D.fast_source(h, backfill="1d", extra="    poll_interval: 10s\n"),
        h.stdout_output(), top="metrics_listen: 127.0.0.1:%d\n" % port)
    p = spawn(h, conf, 1024, "daemon")
    h.wait_log("metrics: listening on", proc=p)
    check_requests(port)
    check_timeouts(port)
    check_endless_header(p.pid, port)
    check_cap(h, p.pid, port)
    assert p.poll() is None
    p.terminate()
    assert p.wait(timeout=15) == 0, p.returncode
    check_fd_exhaustion(h, conf, port)
    for name in ("daemon.err", "d2.err"):
        assert not re.search(r"AddressSanitizer|runtime error", h.read(name))


D.main(test)
