#!/usr/bin/env python3
"""Strings from the API reach the log escaped: an API that answers with an
error_msg and an X-Request-Id holding ESC sequences, CR, LF, a C1 control,
DEL and invalid UTF-8 yields one log line per failure with nothing raw in
it. The request id is escaped by log.c (\\xNN); in error_msg the API
client has already turned C0 controls into spaces, and log.c escapes what
is left (C1, invalid UTF-8). A small HTTP server stands in for the API
(the simulator's error messages are all printable)."""
import http.server
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
import harness as H  # noqa: E402

# JSON escapes: ESC, CR, LF, U+009B (CSI, a C1 control); a raw 0xff byte.
ERROR_BODY = (b'{"error_code":"HSS.0041","error_msg":"boom\\u001b[31mred'
              b'\\r\\nfake: info: ok\\u009b2J\xff"}')
# Raw header bytes: ESC, a lone CR, invalid UTF-8 (0xff) and DEL.
REQUEST_ID = b"rid\x1b]0;title\x07-\rX\xff\x7f"


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.hits += 1
        self.wfile.write(b"HTTP/1.1 500 Internal Server Error\r\n"
                         b"Content-Type: application/json\r\n"
                         b"X-Request-Id: " + REQUEST_ID + b"\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(ERROR_BODY)
                         + ERROR_BODY)

    def log_message(self, *args):
        pass


def test(h):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    srv.hits = 0
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    h.sim_port = srv.server_address[1]
    try:
        conf = h.write_config(h.source_yaml(), h.stdout_output())
        p = h.spawn("-f", "-c", conf)
        h.wait_log("; cursor stays, retrying in ", proc=p)
        p.terminate()
        assert p.wait(timeout=15) == 0, p.returncode
    finally:
        srv.shutdown()
        srv.server_close()
    assert srv.hits >= 1
    raw = open(os.path.join(h.dir, "daemon.err"), "rb").read()
    # Nothing raw: no control byte but the line ends, only valid UTF-8.
    for b in raw:
        assert b == 0x0a or 0x20 <= b < 0x7f or b >= 0x80, (b, raw)
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    assert "\xc2\x9b" not in text and "\x9b" not in text, text
    lines = [ln for ln in text.splitlines()
             if "; cursor stays, retrying in " in ln]
    assert lines, text
    want = (': HTTP 500 HSS.0041: boom [31mred  fake: info: '
            'ok\\xc2\\x9b2J\\xff [request id rid\\x1b]0;title\\x07-\\x0dX\\xff'
            '\\x7f]; cursor stays, retrying in ')
    for ln in lines:
        assert re.match(r'^\S+ hss-forwarder\[\d+\]: warning: source "src1": '
                        r'window ', ln), ln
        assert want in ln, (want, ln)
    # The forged line did not become a line of its own.
    assert not any(ln.startswith("fake:") for ln in text.splitlines()), text
    print("logged: %s" % lines[0])


H.main(test)
