"""Support for tests/it_api_*.py: run tests/api-probe against hss-sim
(started with tools/hsssim/testkit.SimProc), make test CAs with openssl,
parse the probe's result lines."""

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or "."
sys.path.insert(0, os.path.join(SRCDIR, "tools"))

from hsssim import testkit  # noqa: E402

PROBE = os.path.join(BUILDDIR, "tests", "api-probe")
PID = testkit.PID
AK = testkit.AK
SK = testkit.SK
NOW_MS = testkit.NOW_MS
LINE = re.compile(r"^(\S+) (\S+) http=(\d+) calls=(\d+) throttled=(\d+) "
                  r"total=(-?\d+) ms=(\d+) detail=(.*)$")


class Result:
    def __init__(self, m):
        self.source = m.group(1)
        self.status = m.group(2)
        self.http = int(m.group(3))
        self.calls = int(m.group(4))
        self.throttled = int(m.group(5))
        self.total = int(m.group(6))
        self.ms = int(m.group(7))
        self.detail = m.group(8)

    def __repr__(self):
        return "<%s %s http=%d calls=%d throttled=%d total=%d %s>" % (
            self.source, self.status, self.http, self.calls, self.throttled,
            self.total, self.detail)


class Run:
    def __init__(self, proc, out, err):
        self.rc = proc.returncode
        self.out = out
        self.err = err
        self.results = []
        self.cancelled = []
        self.other = []
        for ln in out.splitlines():
            m = LINE.match(ln)
            if m:
                self.results.append(Result(m))
            elif ln.endswith(" cancelled"):
                self.cancelled.append(ln.split()[0])
            else:
                self.other.append(ln)

    def __repr__(self):
        return "rc=%s\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out,
                                                    self.err)


def clean_env(extra=None):
    """The environment without any proxy setting, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                "no_proxy")}
    env.update(extra or {})
    return env


def probe(endpoint, *args, env=None, timeout=60, window=(None, None)):
    """Run api-probe; returns a Run. The window defaults to the simulator's
    fixed NOW_MS anchor (2 days back)."""
    b, e = window
    if e is None:
        e = NOW_MS
    if b is None:
        b = e - 2 * 86400000 + 1000
    cmd = [PROBE, "--endpoint", endpoint, "--project", PID,
           "--begin", str(b), "--end", str(e)] + list(args)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env if env is not None else clean_env())
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("api-probe timed out: %s" % err.decode())
    return Run(p, out.decode("utf-8", "replace"),
               err.decode("utf-8", "replace"))


def sim(*args, ssl_context=None):
    """A started SimProc anchored at NOW_MS."""
    s = testkit.SimProc("--now-ms", str(NOW_MS), *args,
                        ssl_context=ssl_context)
    s.start()
    return s


def requests(s, path_prefix=None):
    reqs = s.ctl("/_sim/requests")
    if path_prefix:
        reqs = [r for r in reqs if r["path"].startswith(path_prefix)]
    return reqs


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name):
    """A CA: d/name-ca.pem, d/name-ca.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=%s test CA" % name, "-keyout", name + "-ca.key",
            "-out", name + "-ca.pem", cwd=d)
    return os.path.join(d, name + "-ca.pem")


def make_server_cert(d, ca, name, san="IP:127.0.0.1,DNS:localhost"):
    """A server certificate signed by CA ca: (cert, key) paths."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=%s" % name, "-keyout", name + ".key",
            "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + "-ca.pem",
            "-CAkey", ca + "-ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="it-api.")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def need(prog):
    if shutil.which(prog) is None:
        print("SKIP: %s is not installed" % prog)
        sys.exit(77)


wait_until = testkit.wait_until
run = testkit.run
