"""Helpers for the daemon's integration tests: temp dirs, the simulator,
config files, the daemon as a subprocess, and bounded polling.

Every wait is a poll with a deadline; every process started is stopped by
Harness.close(), which the tests call from a finally block.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SRCDIR = os.path.abspath(os.environ.get("srcdir", "."))
TOP_BUILDDIR = os.path.abspath(os.environ.get("top_builddir", "."))
DAEMON = os.environ.get("HSS_FORWARDER",
                        os.path.join(TOP_BUILDDIR, "src", "hss-forwarder"))
SIM = os.path.join(SRCDIR, "tools", "hss-sim")
# HSS_VALGRIND=1 runs the daemon under valgrind; an error exits 99.
WRAP = (["valgrind", "--error-exitcode=99", "--leak-check=full",
         "--errors-for-leak-kinds=definite", "-q"]
        if os.environ.get("HSS_VALGRIND") == "1" else [])
PROJECT = "0123456789abcdef0123456789abcdef"
AK = "TESTACCESSKEY0000001"
SK = "test-secret-key-do-not-use"


class Failure(Exception):
    pass


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class Harness:
    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="hssfwd-%s-" % name)
        self.procs = []
        self.sim_port = None

    # -- simulator -------------------------------------------------------
    def start_sim(self, *args, aksk=(AK, SK)):
        portfile = os.path.join(self.dir, "sim.port")
        cmd = [sys.executable, SIM, "--port", "0", "--port-file", portfile]
        if aksk:
            cmd += ["--aksk", "%s:%s" % aksk]
        cmd += list(args)
        log = open(os.path.join(self.dir, "sim.log"), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        self.sim = p

        def ready():
            if p.poll() is not None:
                raise Failure("simulator exited: " + self.read("sim.log"))
            return os.path.exists(portfile) and open(portfile).read().strip()
        self.sim_port = int(wait_for(ready, 20, "the simulator"))
        return self.sim_port

    def sim_get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.sim_port, path),
                                    timeout=30) as r:
            return json.load(r)

    def sim_post(self, path, obj):
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.sim_port, path),
            data=json.dumps(obj).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def sim_ids(self, category="host", epid="all_granted_eps", begin=None, end=None):
        q = "project_id=%s&category=%s&enterprise_project_id=%s" % (PROJECT, category, epid)
        if begin is not None:
            q += "&begin_time=%013d&end_time=%013d" % (begin, end)
        return set(self.sim_get("/_sim/events?" + q)["event_ids"])

    # -- config ----------------------------------------------------------
    def source_yaml(self, name="src1", category="host", extra=""):
        return """  - name: %s
    region: ap-southeast-1
    project_id: %s
    category: %s
    enterprise_project_id: all_granted_eps
    endpoint: http://127.0.0.1:%d
    credentials:
      method: aksk
      access_key_env: TEST_HSS_AK
      secret_key_env: TEST_HSS_SK
%s""" % (name, PROJECT, category, self.sim_port or 9, extra)

    def write_config(self, sources, outputs, top="", name="hss.yaml"):
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        text = "state_directory: %s\nstats_interval: 0\n%s" % (
            os.path.join(self.dir, "state"), top)
        text += "sources:\n" + sources + "outputs:\n" + outputs
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def stdout_output(self, fmt="json", name="out"):
        return "  - name: %s\n    format: %s\n    transport: stdout\n" % (name, fmt)

    # -- daemon ----------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        e["TEST_HSS_AK"] = AK
        e["TEST_HSS_SK"] = SK
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        return e

    def run(self, *args, timeout=120, stdout_name="daemon.out", stderr_name="daemon.err"):
        """Run the daemon to completion; returns (rc, stdout, stderr)."""
        out = open(os.path.join(self.dir, stdout_name), "wb")
        err = open(os.path.join(self.dir, stderr_name), "wb")
        p = subprocess.Popen(WRAP + [DAEMON] + list(args), stdout=out, stderr=err,
                             env=self.env())
        self.procs.append(p)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise Failure("daemon did not finish within %d s: %s" % (
                timeout, self.read(stderr_name)[-3000:]))
        out.close()
        err.close()
        return rc, self.read(stdout_name), self.read(stderr_name)

    def spawn(self, *args, stdout_name="daemon.out", stderr_name="daemon.err",
              env=None):
        out = open(os.path.join(self.dir, stdout_name), "ab")
        err = open(os.path.join(self.dir, stderr_name), "ab")
        p = subprocess.Popen(WRAP + [DAEMON] + list(args), stdout=out, stderr=err,
                             env=self.env() if env is None else env)
        self.procs.append(p)
        return p

    def read(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, needle, timeout=30, name="daemon.err", proc=None):
        def seen():
            if proc is not None and proc.poll() is not None and needle not in self.read(name):
                raise Failure("daemon exited (%s) before logging %r:\n%s" % (
                    proc.returncode, needle, self.read(name)[-3000:]))
            return needle in self.read(name)
        return wait_for(seen, timeout, repr(needle))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if os.environ.get("KEEP_TEST_DIRS"):
            print("kept", self.dir)
            return
        subprocess.run(["rm", "-rf", self.dir])


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (0, why) when
    nothing listens yet."""
    import urllib.error
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except urllib.error.URLError as e:
        return 0, str(e)


def metric(text, name):
    """The value of the first sample of metric name in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def complete_lines(text):
    """The lines of a file another process is still writing: a last line
    without its newline is not complete yet and is left out."""
    lines = text.split("\n")
    return lines[:-1]


def delivered_ids(stdout_text):
    """event_ids of the json-format messages on the daemon's stdout (the
    daemon's own messages, such as gaps, are not events)."""
    ids = []
    for line in complete_lines(stdout_text):
        if line.strip():
            o = json.loads(line)
            if "event_id" in o or "_hss" not in o or "type" not in o["_hss"]:
                ids.append(o["event_id"])
    return ids


def count_lines(path):
    """The complete lines of a file the daemon is writing."""
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def gap_messages(stdout_text):
    """The _hss objects of the json-format gap messages on stdout."""
    gaps = []
    for line in complete_lines(stdout_text):
        if line.strip():
            o = json.loads(line)
            h = o.get("_hss", {})
            if "event_id" not in o and h.get("type") == "gap":
                gaps.append(h)
    return gaps


def iso_ms(text):
    """The epoch milliseconds of a time as the daemon logs it
    (2026-12-02T06:51:32.289Z), exact (no float rounding)."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + t.microsecond // 1000


def faketime_lib():
    """The path of libfaketime (Debian package faketime), or None."""
    try:
        out = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True,
                             text=True).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.endswith("/libfaketime.so.1") and os.path.exists(line):
            return line
    return None


def faketime_env(env, tsfile, offset):
    """Preload libfaketime into env with its offset read from tsfile (so a
    test can step the clock at run time by rewriting it); the monotonic
    clock is left alone. Writes offset (e.g. "+1200") to tsfile."""
    with open(tsfile, "w") as f:
        f.write(offset + "\n")
    env["LD_PRELOAD"] = faketime_lib()
    env["FAKETIME_TIMESTAMP_FILE"] = tsfile
    env["FAKETIME_NO_CACHE"] = "1"
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":verify_asan_link_order=0").lstrip(":")
    return env


def main(test):
    """Run test(h) with a fresh Harness; exit 0 pass, 1 fail, 77 skip."""
    h = Harness(test.__name__)
    try:
        test(h)
    except Failure as e:
        print("FAIL:", e)
        print("--- daemon stderr (tail):\n" + h.read("daemon.err")[-4000:])
        h.close()
        sys.exit(1)
    except AssertionError as e:
        print("FAIL: assertion:", e)
        print("--- daemon stderr (tail):\n" + h.read("daemon.err")[-4000:])
        h.close()
        sys.exit(1)
    h.close()
    print("PASS")
    sys.exit(0)
