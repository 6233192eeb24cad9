"""Syslog receivers for integration tests, on loopback and free ports.

    import receivers as R
    certs = R.make_certs(tmpdir)              # dict of PEM paths
    r = R.start_rsyslog(tmpdir, mode="tls", certs=certs)
    ... r.port, r.outfile, r.lines() ...
    r.stop()

Receivers (each returns a Receiver with .proc .port .outfile .host .stop()):
  start_rsyslog(tmpdir, mode='tcp'|'tls'|'mtls'|'udp', certs=None, ...)
      imtcp/imudp writing %rawmsg% one per line (octet-counting and lf both
      accepted on one tcp port).
  start_syslogng(tmpdir, mode='tcp'|'tls'|'mtls', certs=None, ...)
      syslog() source (octet counting), flags(no-parse), $MESSAGE per line.
      Needs syslog-ng-core unpacked (see syslogng_root()).
  start_sink(tmpdir, tls=None, require_client_cert=False, rcvbuf=None,
             hold=False, ...)
      a raw TCP/TLS sink in its own python process appending every byte it
      receives to .outfile; hold=True accepts but never reads until
      r.release() (a stalled receiver); TLS 1.3 only with min_tls='1.3'.
Helpers: free_port, wait_listen (polls /proc/net/tcp*, no connection made),
wait_for(pred, timeout), parse_octet_frames, stop(proc), rss_kb(pid).

Everything waits by polling with a deadline; nothing sleeps a fixed time
to "let it start". stop() kills what it started; call it in finally.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SKIP = 77
_started = []           # every process started here, killed at the end
ROOT_DEFAULT = "/tmp/hss-syslog-ng"


class Skip(Exception):
    """A missing prerequisite: the test exits 77 with this reason."""


def which(prog):
    return shutil.which(prog) or (
        os.path.exists("/usr/sbin/" + prog) and "/usr/sbin/" + prog) or None


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until true; raise TimeoutError after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError("timed out waiting for %s" % what)
        time.sleep(interval)


def free_port(family=socket.AF_INET, type_=socket.SOCK_STREAM):
    """A port the kernel just handed out (a receiver that cannot bind it
    after all is retried by the start_* functions)."""
    s = socket.socket(family, type_)
    try:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listening(port, udp=False):
    names = ["udp", "udp6"] if udp else ["tcp", "tcp6"]
    for n in names:
        try:
            with open("/proc/net/" + n) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    lport = int(parts[1].rsplit(":", 1)[1], 16)
                    st = parts[3]
                    if lport == port and (udp or st == "0A"):
                        return True
        except FileNotFoundError:
            pass
    return False


def wait_listen(port, proc=None, timeout=15.0, udp=False):
    """Wait until something listens on port (from /proc/net/tcp*, so no
    connection is made); fail early if proc died."""
    def ok():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("receiver exited with %s" % proc.returncode)
        return _listening(port, udp)
    wait_for(ok, timeout, what="port %d listening" % port)


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stop a process we started (by its pid only); SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except ProcessLookupError:
        pass


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def parse_octet_frames(data):
    """RFC 6587 octet counting -> list of bytes; raises on a bad frame."""
    out, i = [], 0
    while i < len(data):
        sp = data.index(b" ", i)
        n = int(data[i:sp])
        if data[i:sp] != str(n).encode() or n <= 0:
            raise ValueError("bad frame length at %d" % i)
        out.append(data[sp + 1:sp + 1 + n])
        if len(out[-1]) != n:
            raise ValueError("truncated frame at %d" % i)
        i = sp + 1 + n
    return out


class Receiver:
    def __init__(self, kind, proc, host, port, outfile, workdir, cmd=None,
                 env=None, logfile=None):
        self.kind = kind
        self.proc = proc
        self.host = host
        self.port = port
        self.outfile = outfile
        self.workdir = workdir
        self.cmd = cmd
        self.env = env
        self.logfile = logfile
        self.hold_file = None

    @property
    def address(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def data(self):
        try:
            with open(self.outfile, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def lines(self):
        """Received messages, one per line (rsyslog, syslog-ng)."""
        d = self.data()
        return d.split(b"\n")[:-1] if d else []

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (TypeError, FileNotFoundError):
            return ""

    def stop(self, sig=signal.SIGTERM):
        stop(self.proc, sig)

    def kill(self):
        stop(self.proc, signal.SIGKILL)

    def restart(self, timeout=15.0):
        """Start the same command again on the same port."""
        self.stop()
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=self.env)
        _started.append(self.proc)
        log.close()
        wait_listen(self.port, self.proc, timeout,
                    udp=self.kind.endswith("udp"))

    def release(self):
        """start_sink(hold=True): start reading."""
        open(self.hold_file, "w").close()


def _run_until_listening(kind, cmd_for_port, workdir, host, outfile,
                         env=None, udp=False, attempts=3,
                         family=socket.AF_INET, port=None):
    last = None
    fixed = port
    for _ in range(1 if fixed else attempts):
        port = fixed or free_port(
            family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        cmd = cmd_for_port(port)
        logfile = os.path.join(workdir, kind + ".log")
        log = open(logfile, "ab")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, env=env)
        _started.append(proc)
        log.close()
        try:
            wait_listen(port, proc, 15.0, udp=udp)
            return Receiver(kind, proc, host, port, outfile, workdir, cmd,
                            env, logfile)
        except (RuntimeError, TimeoutError) as e:
            last = e
            stop(proc, signal.SIGKILL)
    with open(os.path.join(workdir, kind + ".log"), "rb") as f:
        tail = f.read()[-2000:].decode("utf-8", "replace")
    raise RuntimeError("%s did not start: %s\n%s" % (kind, last, tail))


# ---------------------------------------------------------------- certs

def _openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                               r.stdout.decode()))


def _ca(d, name, cn):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             key, "-out", crt, "-days", "30", "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, crt


def _leaf(d, name, cn, san, ca_key, ca_crt, usage, past=False):
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    crt, ext = os.path.join(d, name + ".pem"), os.path.join(d, name + ".ext")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
             "-out", csr, "-subj", "/CN=" + cn)
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=%s\n"
                "extendedKeyUsage=%s\n" % (san, usage))
    if not past:
        _openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                 "-CAcreateserial", "-out", crt, "-days", "30", "-extfile",
                 ext)
    else:
        # openssl 3.0 x509 cannot backdate; "openssl ca" can
        cadir = os.path.join(d, "ca-db")
        os.makedirs(cadir, exist_ok=True)
        open(os.path.join(cadir, "index.txt"), "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(cadir, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt"
                    "\nserial=$dir/serial\nnew_certs_dir=$dir\n"
                    "default_md=sha256\npolicy=p\nunique_subject=no\n"
                    "[p]\ncommonName=supplied\n" % cadir)
        _openssl("ca", "-batch", "-config", cnf, "-cert", ca_crt, "-keyfile",
                 ca_key, "-in", csr, "-out", crt, "-notext",
                 "-startdate", "20200101000000Z",
                 "-enddate", "20200201000000Z", "-extfile", ext)
    return key, crt


def make_certs(tmpdir):
    """Test PKI made now with openssl (never committed). Returns a dict:
    ca, ca_key; server, server_key (SAN DNS:localhost, IP:127.0.0.1, IP:::1);
    client, client_key (CN and SAN DNS:client.test); expired, expired_key
    (valid January 2020 only); mismatch, mismatch_key (SAN DNS:other.test);
    wrong_ca; wrong, wrong_key (a server cert from wrong_ca)."""
    d = os.path.join(tmpdir, "pki")
    os.makedirs(d, exist_ok=True)
    c = {}
    c["ca_key"], c["ca"] = _ca(d, "ca", "hss test CA")
    c["wrong_ca_key"], c["wrong_ca"] = _ca(d, "wrong-ca", "hss wrong CA")
    san = "DNS:localhost,IP:127.0.0.1,IP:::1"
    c["server_key"], c["server"] = _leaf(d, "server", "localhost", san,
                                         c["ca_key"], c["ca"], "serverAuth")
    c["client_key"], c["client"] = _leaf(d, "client", "client.test",
                                         "DNS:client.test", c["ca_key"],
                                         c["ca"], "clientAuth")
    c["expired_key"], c["expired"] = _leaf(d, "expired", "localhost", san,
                                           c["ca_key"], c["ca"],
                                           "serverAuth", past=True)
    c["mismatch_key"], c["mismatch"] = _leaf(d, "mismatch", "other.test",
                                             "DNS:other.test", c["ca_key"],
                                             c["ca"], "serverAuth")
    c["wrong_key"], c["wrong"] = _leaf(d, "wrong", "localhost", san,
                                       c["wrong_ca_key"], c["wrong_ca"],
                                       "serverAuth")
    return c


# ---------------------------------------------------------------- rsyslog

def start_rsyslog(tmpdir, mode="tcp", certs=None, server="server",
                  permitted_peer="client.test", host="127.0.0.1",
                  template="%rawmsg%", port=None):
    """rsyslogd in the foreground. mode tcp|tls|mtls|udp; server names the
    certs key of the server certificate (server, expired, mismatch,
    wrong). Each message is written as template + LF to .outfile."""
    rsyslogd = which("rsyslogd")
    if rsyslogd is None:
        raise Skip("rsyslogd not found (Debian packages rsyslog "
                   "rsyslog-gnutls)")
    d = os.path.join(tmpdir, "rsyslog-%s-%d" % (mode, time.monotonic_ns()))
    os.makedirs(os.path.join(d, "work"))
    out = os.path.join(d, "out.log")
    conf = os.path.join(d, "rsyslog.conf")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET

    def cmd(port):
        g = ['workDirectory="%s"' % os.path.join(d, "work"),
             'maxMessageSize="256k"']
        if mode in ("tls", "mtls"):
            g += rsyslog_tls_globals(certs, server)
        lines = ["global(%s)" % " ".join(g)]
        if mode == "udp":
            lines.append('module(load="imudp")')
            lines.append('input(type="imudp" port="%d" address="%s")'
                         % (port, host))
        else:
            m = ['load="imtcp"', 'maxSessions="50"']
            m += rsyslog_tls_imtcp(mode, permitted_peer)
            lines.append("module(%s)" % " ".join(m))
            lines.append('input(type="imtcp" port="%d" address="%s")'
                         % (port, host))
        lines.append('template(name="t" type="string" string="%s\\n")'
                     % template)
        lines.append('action(type="omfile" file="%s" template="t")' % out)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(d, "pid")]

    cmd(1)
    rsyslog_validate(rsyslogd, conf)
    return _run_until_listening("rsyslog-" + mode, cmd, d, host, out,
                                udp=(mode == "udp"), family=fam, port=port)


def rsyslog_tls_globals(certs, server):
    """global() parameters: the CA, and the server's certificate and key."""
    return ['defaultNetstreamDriverCAFile="%s"' % certs["ca"],
            'defaultNetstreamDriverCertFile="%s"' % certs[server],
            'defaultNetstreamDriverKeyFile="%s"' % certs[server + "_key"]]


def rsyslog_tls_imtcp(mode, permitted_peer):
    """imtcp module parameters for mode tcp (none), tls (gtls, anonymous
    clients) or mtls (gtls, a client certificate named permitted_peer)."""
    if mode not in ("tls", "mtls"):
        return []
    m = ['streamDriver.name="gtls"', 'streamDriver.mode="1"']
    if mode == "mtls":
        return m + ['streamDriver.authMode="x509/name"',
                    'permittedPeer=["%s"]' % permitted_peer]
    return m + ['streamDriver.authMode="anon"']


def rsyslog_validate(rsyslogd, conf):
    """rsyslogd -N1 on conf: rsyslog would otherwise start with config
    errors and drop messages."""
    r = subprocess.run([rsyslogd, "-N1", "-f", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError("rsyslogd -N1: " + r.stdout.decode())


# ---------------------------------------------------------------- syslog-ng

def syslogng_root():
    """The unpacked syslog-ng-core (it conflicts with rsyslog as a package):
    $HSS_SYSLOGNG_ROOT if set, else /tmp/hss-syslog-ng. If it is missing
    and $HSS_SYSLOGNG_DEB (a .deb) or apt-get download works, unpack it
    there (CI: .ci/run downloads the .deb into its cache once)."""
    root = os.environ.get("HSS_SYSLOGNG_ROOT", ROOT_DEFAULT)
    binp = os.path.join(root, "usr", "sbin", "syslog-ng")
    if os.path.exists(binp):
        return root
    deb = os.environ.get("HSS_SYSLOGNG_DEB")
    tmp = root + ".dl-%d" % os.getpid()
    try:
        os.makedirs(tmp, exist_ok=True)
        if not deb or not os.path.exists(deb):
            r = subprocess.run(["apt-get", "download", "syslog-ng-core"],
                               cwd=tmp, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
            debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
            if r.returncode != 0 or not debs:
                raise Skip("syslog-ng-core not available (apt-get "
                           "download failed; set HSS_SYSLOGNG_DEB)")
            deb = os.path.join(tmp, debs[0])
        x = os.path.join(tmp, "x")
        subprocess.run(["dpkg-deb", "-x", deb, x], check=True)
        try:
            os.rename(x, root)
        except OSError:
            pass        # another test unpacked it meanwhile
    except (OSError, subprocess.SubprocessError) as e:
        raise Skip("syslog-ng-core could not be unpacked: %s" % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.exists(binp):
        raise Skip("syslog-ng not found in %s" % root)
    return root


def syslogng_command():
    """(path of the unpacked syslog-ng binary, the environment it runs
    with); Skip when it is missing or does not run."""
    root = syslogng_root()
    env = dict(os.environ)
    env["SYSLOGNG_PREFIX"] = os.path.join(root, "usr")
    env["LD_LIBRARY_PATH"] = os.path.join(root, "usr", "lib", "syslog-ng")
    binp = os.path.join(root, "usr", "sbin", "syslog-ng")
    r = subprocess.run([binp, "--version"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Skip("syslog-ng does not run (Debian packages libivykis0 "
                   "libnet1 libwrap0 needed): %s" %
                   r.stdout.decode()[-300:])
    return binp, env


def start_syslogng(tmpdir, mode="tcp", certs=None, server="server",
                   host="127.0.0.1", port=None):
    """syslog-ng 3.38 syslog() source (octet counting), no-parse, writing
    $MESSAGE per line. mode tcp|tls|mtls."""
    binp, env = syslogng_command()
    d = os.path.join(tmpdir, "syslogng-%s-%d" % (mode, time.monotonic_ns()))
    os.makedirs(d)
    out = os.path.join(d, "out.log")
    conf = os.path.join(d, "syslog-ng.conf")

    def cmd(port):
        tls = ""
        if mode in ("tls", "mtls"):
            tls = ('tls(key-file("%s") cert-file("%s") ca-file("%s") '
                   'peer-verify(%s))' % (
                       certs[server + "_key"], certs[server], certs["ca"],
                       "required-trusted" if mode == "mtls"
                       else "optional-untrusted"))
        with open(conf, "w") as f:
            f.write('@version: 3.38\n'
                    'options { log-msg-size(262144); stats-freq(0); };\n'
                    'source s { syslog(transport("%s") ip("%s") port(%d) '
                    'max-connections(50) log-msg-size(262144) '
                    'flags(no-parse) %s); };\n'
                    'destination d { file("%s" template("${MESSAGE}\\n") '
                    'template-escape(no) flush-lines(1)); };\n'
                    'log { source(s); destination(d); };\n'
                    % ("tcp" if mode == "tcp" else "tls", host, port, tls,
                       out))
        return [binp, "-F", "-e", "--no-caps", "-f", conf,
                "-R", os.path.join(d, "persist"),
                "-p", os.path.join(d, "pid"),
                "-c", os.path.join(d, "ctl")]

    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _run_until_listening("syslogng-" + mode, cmd, d, host, out,
                                env=env, family=fam, port=port)


# ---------------------------------------------------------------- raw sink

def start_sink(tmpdir, tls=None, require_client_cert=False, rcvbuf=None,
               hold=False, host="127.0.0.1", min_tls=None, certs=None,
               port=None, slow_verify_ms=0, max_tls=None, ciphers=None):
    """A raw TCP (or TLS when tls is a certs key such as "server") sink
    appending every received byte (decrypted) to .outfile. hold: accept
    but do not read until .release(). rcvbuf: SO_RCVBUF of accepted
    sockets. slow_verify_ms: TLS, wait this long after sending the server
    flight before reading the client's certificate and Finished (so the
    client's first application data is TCP-acknowledged before a
    rejection, as with a busy server). max_tls "1.2" and ciphers (an
    OpenSSL cipher list) restrict the server."""
    d = os.path.join(tmpdir, "sink-%d" % time.monotonic_ns())
    os.makedirs(d)
    out = os.path.join(d, "out.bin")
    hold_file = os.path.join(d, "release")

    def cmd(port):
        c = [sys.executable, os.path.abspath(__file__), "sink", "--host",
             host, "--port", str(port), "--out", out]
        if tls:
            c += ["--cert", certs[tls], "--key", certs[tls + "_key"],
                  "--ca", certs["ca"]]
            if require_client_cert:
                c.append("--require-client-cert")
            if min_tls:
                c += ["--min-tls", min_tls]
        if rcvbuf:
            c += ["--rcvbuf", str(rcvbuf)]
        if hold:
            c += ["--hold", hold_file]
        if slow_verify_ms:
            c += ["--slow-verify-ms", str(slow_verify_ms)]
        if max_tls:
            c += ["--max-tls", max_tls]
        if ciphers:
            c += ["--ciphers", ciphers]
        return c

    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    r = _run_until_listening("sink", cmd, d, host, out, family=fam,
                             port=port)
    r.hold_file = hold_file
    return r


def _sink_main(argv):
    import argparse
    import ssl
    import threading
    p = argparse.ArgumentParser()
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--out")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--min-tls")
    p.add_argument("--rcvbuf", type=int)
    p.add_argument("--hold")
    p.add_argument("--slow-verify-ms", type=int, default=0)
    p.add_argument("--max-tls")
    p.add_argument("--ciphers")
    a = p.parse_args(argv)
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.min_tls == "1.3":
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if a.max_tls == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if a.ciphers:
            ctx.set_ciphers(a.ciphers)
        if a.require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.ca)
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind((a.host, a.port))
    ls.listen(16)
    lock = threading.Lock()
    outf = open(a.out, "ab")

    def write(b):
        with lock:
            outf.write(b)
            outf.flush()

    def serve_slow(conn):
        # TLS through memory BIOs, so the server can dawdle between its
        # flight and reading the client's
        inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, outg, server_side=True)
        slept = False
        try:
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pending = outg.read()
                    if pending:
                        conn.sendall(pending)
                        if not slept:
                            time.sleep(a.slow_verify_ms / 1000.0)
                            slept = True
                    b = conn.recv(65536)
                    if not b:
                        raise OSError("eof in handshake")
                    inc.write(b)
            conn.sendall(outg.read())
            while True:
                try:
                    write(obj.read(65536))
                    continue
                except ssl.SSLWantReadError:
                    pass
                b = conn.recv(65536)
                if not b:
                    break
                inc.write(b)
        except (OSError, ssl.SSLError) as e:
            try:
                conn.sendall(outg.read())     # the alert
            except OSError:
                pass
            sys.stderr.write("sink: connection: %s\n" % e)
            sys.stderr.flush()
        finally:
            conn.close()

    def serve(conn):
        if ctx is not None and a.slow_verify_ms:
            return serve_slow(conn)
        try:
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True,
                                       suppress_ragged_eofs=False)
            if a.hold:
                while not os.path.exists(a.hold):
                    time.sleep(0.05)
            while True:
                b = conn.recv(65536)
                if not b:
                    sys.stderr.write("sink: closed\n")
                    sys.stderr.flush()
                    break
                write(b)
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write("sink: connection: %s\n" % e)
            sys.stderr.flush()
        finally:
            conn.close()

    signal.signal(signal.SIGTERM, lambda *x: os._exit(0))
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


# ---------------------------------------------------------------- probe

def probe_path():
    """tests/output-probe from the build tree ($top_builddir)."""
    p = os.path.join(os.environ.get("top_builddir", "."), "tests",
                     "output-probe")
    if not os.path.exists(p):
        raise RuntimeError("%s not built (make check builds it)" % p)
    return p


class Probe:
    """tests/output-probe in the background; stdout lines collected in a
    file so that the test can poll them."""

    def __init__(self, tmpdir, args, name="probe"):
        self.outpath = os.path.join(tmpdir, name + ".out")
        self.errpath = os.path.join(tmpdir, name + ".err")
        o, e = open(self.outpath, "wb"), open(self.errpath, "wb")
        self.proc = subprocess.Popen([probe_path()] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=o,
                                     stderr=e)
        _started.append(self.proc)
        o.close()
        e.close()

    def out(self):
        with open(self.outpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def err(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self):
        return self.out().splitlines()

    def has(self, line):
        return line in self.lines()

    def stats(self):
        """The last 'stats k=v ...' line as a dict of ints."""
        st = None
        for ln in self.lines():
            if ln.startswith("stats "):
                st = dict((k, int(v)) for k, v in
                          (kv.split("=") for kv in ln.split()[1:]))
        return st

    def wait(self, timeout=60.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self):
        stop(self.proc, signal.SIGKILL)

    def report(self):
        return "probe stdout:\n%s\nprobe stderr:\n%s" % (
            self.out()[-3000:], self.err()[-3000:])


def run_probe(tmpdir, args, timeout=60.0, name="probe"):
    p = Probe(tmpdir, args, name)
    p.wait(timeout)
    return p


def probe_messages():
    """300 messages with what a formatter may emit: UTF-8, quotes, brackets,
    backslashes, '=' and a long one; none with CR/LF (lf framing)."""
    out = []
    for i in range(1, 301):
        sd = '[hss@32473 event_id="e-%d" name="a \\"q\\" \\] \\\\ b"]' % i
        body = '{"i":%d,"t":"h\u00e9llo \u4e16\u754c = | ^ <>"}' % i
        if i % 100 == 0:
            body += "x" * 6000
        out.append('<132>1 2024-05-01T10:00:00.%03dZ collector01 '
                   'hss-forwarder - login_1001 %s %s' % (i % 1000, sd, body))
    return out


def check_exact(tmp, r, msgs, name, extra):
    """Send msgs with output-probe (extra: its transport flags) to the
    started receiver r: every one must arrive once, byte for byte, and be
    acknowledged."""
    path = os.path.join(tmp, name + ".in")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(msgs) + "\n")
    p = run_probe(tmp, ["-a", r.address, "--file", path, "-T", "30"] +
                    extra, name=name)
    if p.proc.returncode != 0 or not p.has("all acked"):
        raise AssertionError("%s: probe failed rc=%s\n%s\n%s" % (
            name, p.proc.returncode, p.report(), r.log()))
    want = [m.encode("utf-8") for m in msgs]
    wait_for(lambda: len(r.lines()) >= len(want), 10,
               what="%s: %d lines in %s" % (name, len(want), r.outfile))
    got = r.lines()
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise AssertionError("%s: message %d differs:\n got %r\n"
                                     "want %r" % (name, i + 1, g[:300],
                                                  w[:300]))
        raise AssertionError("%s: %d lines, want %d" % (name, len(got),
                                                        len(want)))
    st = p.stats()
    assert st["acked"] == len(msgs) and st["queue_depth"] == 0, st
    assert st["resent"] == 0 and st["truncated"] == 0, st
    print("%s: %d messages arrived exactly (%d bytes sent)" % (
        name, len(msgs), st["bytes_sent"]))



def main_wrapper(fn):
    """Run a test body fn(tmpdir): exit 0 on success, 77 on Skip, 1 on
    failure; the temporary directory is removed unless HSS_KEEP_TMP."""
    import tempfile
    import traceback
    tmp = tempfile.mkdtemp(prefix="hss-it-output.")
    rc = 1
    try:
        fn(tmp)
        rc = 0
    except Skip as e:
        print("SKIP: %s" % e)
        rc = SKIP
    except Exception:
        traceback.print_exc()
        rc = 1
    finally:
        for proc in _started:
            stop(proc, signal.SIGKILL)
        if os.environ.get("HSS_KEEP_TMP"):
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "sink":
    _sink_main(sys.argv[2:])
