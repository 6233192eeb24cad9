#!/usr/bin/env python3
"""stdout transport: LF-framed messages, written directly when stdout is a
regular file (epoll cannot watch one) and non-blocking through an event
when it is a pipe whose reader is slow; a raw CR or LF inside a message is
replaced by a space and counted. Every message is acknowledged once
written."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "lib"))
import receivers as R  # noqa: E402


def main(tmp):
    path = os.path.join(tmp, "in")
    msgs = ["<134>1 - h app - - - m%d \u00e9 [x=\"y\"]" % i + "z" * (i % 300)
            for i in range(1, 20001)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(msgs) + "\n")
    want = ("\n".join(msgs) + "\n").encode("utf-8")

    out = os.path.join(tmp, "stdout.file")
    with open(out, "wb") as fo:
        r = subprocess.run([R.probe_path(), "-t", "stdout", "--file", path,
                            "-T", "20"], stdout=fo, stderr=subprocess.PIPE,
                           timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    with open(out, "rb") as f:
        assert f.read() == want
    print("regular file: %d messages exact" % len(msgs))

    p = subprocess.Popen([R.probe_path(), "-t", "stdout", "--file", path,
                          "-T", "20"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    R._started.append(p)
    got = bytearray()
    while True:
        b = p.stdout.read1(4096)
        if not b:
            break
        got += b
        if len(got) % 7 == 0:
            time.sleep(0.001)       # a slow reader: the pipe fills
    rc = p.wait(20)
    err = p.stderr.read().decode()
    assert rc == 0, err
    assert bytes(got) == want, (len(got), len(want))
    assert "acked=20000" in err, err
    print("pipe: %d messages exact through a slow reader" % len(msgs))

    r = subprocess.run([R.probe_path(), "-t", "stdout", "-n", "3", "--crlf",
                        "-T", "10"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    lines = r.stdout.split(b"\n")
    assert r.returncode == 0 and len(lines) == 4 and lines[3] == b"", lines
    assert all(b" a  b " in x for x in lines[:3]), lines
    assert b"\r" not in r.stdout
    assert b"lf_replaced=6" in r.stderr, r.stderr
    print("CR/LF inside messages: replaced and counted (6)")


R.main_wrapper(main)
