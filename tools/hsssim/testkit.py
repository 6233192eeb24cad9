"""Support for tests/it_sim_*.py: start hss-sim on a free loopback port,
sign and send requests, read the control endpoints."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from . import signer

SRCDIR = os.environ.get("srcdir", ".")
SIM = os.path.join(SRCDIR, "tools", "hss-sim")
PID = "0123456789abcdef0123456789abcdef"
PID2 = "fedcba9876543210fedcba9876543210"
AK = "SIMTESTAK0000000000A"
SK = "SimTestSecretKey0000000000000000000000SK"
NOW_MS = 1764300000000          # 2025-11-28T03:20:00Z: a fixed anchor
EVENTS_PATH = "/v5/%s/event/events"


def base_args(*extra):
    return ["--aksk", "%s:%s" % (AK, SK), "--project", PID,
            "--rate-limit", "0"] + list(extra)


def build_query(params):
    """params: dict (list values repeat) or list of pairs -> the query the
    SDKs send: canonical order, canonical encoding."""
    pairs = []
    items = params.items() if isinstance(params, dict) else params
    for k, v in items:
        if isinstance(v, (list, tuple)):
            pairs += [(k, str(x)) for x in v]
        else:
            pairs.append((k, str(v)))
    return signer.canonical_query(pairs)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name.lower())


class SimProc:
    def __init__(self, *args, bind="127.0.0.1", ssl_context=None):
        self.args = list(args)
        self.bind = bind
        self.ctx = ssl_context
        self.proc = None
        self.dir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="hss-sim-test.")
        pf = os.path.join(self.dir, "port")
        self.errpath = os.path.join(self.dir, "stderr")
        err = open(self.errpath, "wb")
        cmd = [sys.executable, SIM, "--bind", self.bind, "--port", "0",
               "--port-file", pf] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        deadline = time.monotonic() + 20
        while True:
            if os.path.exists(pf):
                with open(pf) as f:
                    txt = f.read()
                if txt.endswith("\n"):
                    self.port = int(txt)
                    break
            if self.proc.poll() is not None:
                raise RuntimeError("hss-sim exited %s: %s" % (
                    self.proc.returncode, self.stderr()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("hss-sim did not start")
            time.sleep(0.01)
        self.host = "[%s]" % self.bind if ":" in self.bind else self.bind
        self.hostport = "%s:%d" % (self.host, self.port)

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def connect(self, timeout=10):
        if self.ctx is not None:
            return http.client.HTTPSConnection(self.bind, self.port,
                                               timeout=timeout,
                                               context=self.ctx)
        return http.client.HTTPConnection(self.bind, self.port,
                                          timeout=timeout)

    def raw(self, method, target, headers=None, body=b"", timeout=10):
        c = self.connect(timeout)
        try:
            c.putrequest(method, target, skip_host=True,
                         skip_accept_encoding=True)
            hdrs = dict(headers or {})
            hdrs.setdefault("Host", self.hostport)
            if body:
                hdrs["Content-Length"] = str(len(body))
            for k, v in hdrs.items():
                c.putheader(k, v)
            c.endheaders(body or None)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in
                                       r.getheaders()}, data)
        finally:
            c.close()

    def call(self, method, path, params=None, raw_query=None, ak=AK, sk=SK,
             token=None, headers=None, body=b"", date=None,
             security_token=None, sign_only=True, timeout=10):
        q = raw_query if raw_query is not None else build_query(params or {})
        hdrs = {"Host": self.hostport, "Content-Type": "application/json"}
        hdrs.update(headers or {})
        if token is not None:
            hdrs["X-Auth-Token"] = token
        elif ak is not None:
            hdrs, _ = signer.sign(method, path, q, hdrs, body, ak, sk,
                                  date=date, security_token=security_token,
                                  sign_all=sign_only)
        target = path + ("?" + q if q else "")
        return self.raw(method, target, hdrs, body, timeout)

    def events(self, params, project=PID, **kw):
        return self.call("GET", EVENTS_PATH % project, params, **kw)

    def ctl(self, path, body=None):
        """GET (body None) or POST a control endpoint; the decoded JSON."""
        if body is None:
            r = self.raw("GET", path)
        else:
            r = self.raw("POST", path, {"Content-Type": "application/json"},
                         json.dumps(body).encode())
        if r.status != 200:
            raise AssertionError("%s -> %d %r" % (path, r.status, r.body))
        return r.json()

    def token(self, domain, user, password, scope=None, query="?nocatalog=true"):
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"domain": {"name": domain}, "name": user,
                     "password": password}}},
            "scope": {"project": scope or {"name": "ap-southeast-1"}}}}
        return self.raw("POST", "/v3/auth/tokens" + query,
                        {"Content-Type": "application/json;charset=utf8"},
                        json.dumps(body).encode())

    def dump(self, params):
        """Every visible event for params, by paging limit=1000."""
        out = []
        off = 0
        while True:
            p = dict(params)
            p.update(limit=1000, offset=off)
            r = self.events(p)
            if r.status != 200:
                raise AssertionError("dump: %d %r" % (r.status, r.body[:300]))
            d = r.json()
            out += d["data_list"]
            off += 1000
            if off >= d["total_num"]:
                return out


def wait_until(pred, timeout=10.0, step=0.02):
    """Poll pred() until true or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def run():
    """unittest main with automake exit codes (0 pass, 1 fail)."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.wasSuccessful() and r.testsRun > 0:
        if r.skipped and len(r.skipped) == r.testsRun:
            sys.exit(77)
        sys.exit(0)
    sys.exit(1)
