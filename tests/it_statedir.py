#!/usr/bin/env python3
"""The state directory when the config names none: systemd's
$STATE_DIRECTORY (the first of a colon-separated list; a relative value is
ignored), else the built-in default, /var/lib/hss-forwarder whatever
--prefix was (HSS_DEFAULT_STATEDIR, from the build). A `state_directory`
key always wins. Each case is seen through the lock: the test holds the
directory's lock, and the daemon refuses naming the directory it chose.
Nothing is created outside the test's directory: as root the daemon runs
as nobody, which cannot create the built-in default."""
import fcntl
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H

DEFAULT = os.environ.get("HSS_DEFAULT_STATEDIR", "/var/lib/hss-forwarder")
CONFIG = """stats_interval: 0
%ssources:
  - name: src1
    region: ap-southeast-1
    project_id: 0123456789abcdef0123456789abcdef
    category: host
    endpoint: http://127.0.0.1:9
    credentials:
      method: aksk
      access_key_env: TEST_HSS_AK
      secret_key_env: TEST_HSS_SK
outputs:
  - name: out
    format: json
    transport: stdout
"""


class Env:
    """Where the cases run. As root the daemon runs as nobody (setpriv)
    from a directory of its own, so that a daemon that ignored the
    environment could not create the built-in default either."""

    def __init__(self, h):
        self.wrap = []
        self.dir = h.dir
        self.daemon = H.DAEMON
        self.uid = None
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                print("SKIP: running as root without setpriv")
                h.close()
                sys.exit(77)
            self.uid = 65534
            self.wrap = ["setpriv", "--reuid=65534", "--regid=65534",
                         "--clear-groups", "--"]
            self.dir = os.path.join(h.dir, "nobody")
            os.mkdir(self.dir)
            os.chmod(h.dir, 0o755)
            os.chmod(self.dir, 0o755)
            self.daemon = os.path.join(self.dir, "hss-forwarder")
            shutil.copy(H.DAEMON, self.daemon)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def locked_dir(self, name):
        """A directory locked as by a running daemon: the directory
        itself flocked, its pid in .lock."""
        path = os.path.join(self.dir, name)
        os.mkdir(path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with open(os.path.join(path, ".lock"), "w") as f:
            f.write("4242\n")
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
            os.chown(os.path.join(path, ".lock"), self.uid, self.uid)
        return path, fd

    def run(self, h, config, state_env):
        env = h.env()
        env.pop("STATE_DIRECTORY", None)
        if state_env is not None:
            env["STATE_DIRECTORY"] = state_env
        cmd = self.wrap + H.WRAP + [self.daemon, "-f", "-c", config]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=60, env=env)
        except subprocess.TimeoutExpired as e:
            raise H.Failure("the daemon ran instead of refusing: %s" % e.stderr)
        return p.returncode, p.stderr


def test(h):
    e = Env(h)
    plain = e.write("plain.yaml", CONFIG % "")
    sd, fd1 = e.locked_dir("sd")
    other, fd2 = e.locked_dir("other")
    refused = "is locked by another hss-forwarder (pid 4242)"
    try:
        # $STATE_DIRECTORY, as systemd's StateDirectory= sets it.
        rc, err = e.run(h, plain, sd)
        assert rc == 1, (rc, err)
        assert "state directory %s %s" % (sd, refused) in err, err

        # Several StateDirectory= entries: the first one.
        rc, err = e.run(h, plain, sd + ":" + other)
        assert rc == 1 and "state directory %s %s" % (sd, refused) in err, err

        # The config's key wins over the environment.
        keyed = e.write("keyed.yaml", CONFIG % ("state_directory: %s\n" % other))
        rc, err = e.run(h, keyed, sd)
        assert rc == 1 and "state directory %s %s" % (other, refused) in err, err
        assert sd not in err, err
    finally:
        os.close(fd1)
        os.close(fd2)

    # Without $STATE_DIRECTORY, or with a relative one: the built-in
    # default, whatever the install prefix. The daemon cannot create it
    # (nobody, or a user without write access to it), so it names it.
    probe = DEFAULT if os.path.isdir(DEFAULT) else os.path.dirname(DEFAULT)
    if e.uid is None and os.access(probe, os.W_OK):
        print("SKIP: the built-in default: %s is writable by this user" % probe)
        return
    for state_env in (None, "relative/dir"):
        rc, err = e.run(h, plain, state_env)
        assert rc == 1, (rc, err)
        assert "state directory %s" % DEFAULT in err, (state_env, err)
        assert "relative" not in err, err


H.main(test)
