#!/usr/bin/env python3
"""UDP (RFC 5426): one message per datagram, no framing; a message longer
than max_message_size (here 1000) is cut on a UTF-8 character boundary and
counted in stats.truncated, never dropped; without a configured limit a
datagram is at most 65000 bytes."""

import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def utf8_cut(b, n):
    if len(b) <= n:
        return b
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n]


def run(tmp, msgs, limit, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)   # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10)
    got = []

    def rx():
        try:
            while len(got) < len(msgs):
                got.append(s.recv(70000))
        except socket.timeout:
            pass
    t = threading.Thread(target=rx)
    t.start()
    path = os.path.join(tmp, name + ".in")
    with open(path, "wb") as f:
        f.write(b"\n".join(msgs) + b"\n")
    args = ["-t", "udp", "-a", "127.0.0.1:%d" % s.getsockname()[1],
            "--file", path, "-T", "20"]
    if limit:
        args += ["-m", str(limit)]
    p = R.run_probe(tmp, args, name=name)
    t.join(15)
    s.close()
    assert p.proc.returncode == 0, p.report()
    want = [utf8_cut(m, limit or 65000) for m in msgs]
    assert len(got) == len(want), (len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, "datagram %d: got %r... want %r..." % (i, g[-40:],
                                                              w[-40:])
    st = p.stats()
    ntrunc = sum(1 for m, w in zip(msgs, want) if m != w)
    assert st["truncated"] == ntrunc and st["acked"] == len(msgs), st
    print("%s: %d datagrams exact, %d truncated on a UTF-8 boundary" % (
        name, len(got), ntrunc))
    return ntrunc


def main(tmp):
    msgs = []
    for i in range(1, 201):
        m = ('<134>1 2024-05-01T10:00:00.000Z h app - - - id=%d ' % i)
        m = m.encode()
        if i % 20 == 0:     # 2-, 3- and 4-byte characters across byte 1000
            m += ("\u00e9\u4e16\U0001F600" * 200).encode()
        msgs.append(m)
    assert run(tmp, msgs, 1000, "udp-1000") == 10
    big = [b"<134>1 - h app - - - big " + "\u4e16".encode() * 30000]
    assert run(tmp, big + msgs[:3], 0, "udp-max") == 1


R.main_wrapper(main)
