#!/usr/bin/env python3
"""The response-size cap: a page of exactly the cap is read whole, one byte
more is an error that says so ("response larger than N bytes"), never a
shortened page; with a Content-Length and with chunked encoding (no length
known in advance)."""

import http.server
import json
import os
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tests",
                                "data", "api"))
import apikit  # noqa: E402

CAP = 65536


def page(size):
    """A valid page of exactly size bytes: one event, padded with blanks."""
    body = json.dumps({"total_num": 1, "data_list": [{
        "event_id": "cap-1", "occur_time": apikit.NOW_MS - 1000,
        "event_type": 1001, "event_name": "x" * 100}]}).encode()
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    size = 0        # set per test
    chunked = False

    def do_GET(self):
        body = page(Handler.size)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if Handler.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 4000):
                part = body[i:i + 4000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass    # the client aborting an oversized body resets the connection


class ResponseCap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(("127.0.0.1", 0), Handler)
        cls.thr = threading.Thread(target=cls.srv.serve_forever,
                                   kwargs={"poll_interval": 0.05})
        cls.thr.start()
        cls.url = "http://127.0.0.1:%d" % cls.srv.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()
        cls.thr.join(5)

    def call(self, size, chunked):
        Handler.size, Handler.chunked = size, chunked
        r = apikit.probe(self.url, "--aksk", "%s:%s" % (apikit.AK,
                                                        apikit.SK),
                         "--max-response", str(CAP), "--timeout", "10s")
        self.assertEqual(len(r.results), 1, r)
        return r.results[0]

    def check(self, chunked):
        x = self.call(CAP, chunked)
        self.assertEqual((x.status, x.http, x.total), ("ok", 200, 1), x)
        x = self.call(CAP + 1, chunked)
        self.assertEqual(x.status, "network", x)
        self.assertEqual(x.total, -1, x)
        self.assertIn("response larger than %d bytes" % CAP, x.detail)

    def test_content_length(self):
        self.check(False)

    def test_chunked(self):
        self.check(True)


if __name__ == "__main__":
    apikit.run()
