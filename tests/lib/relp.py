"""RELP (Reliable Event Logging Protocol) receivers for integration tests,
on loopback and free ports.

    import relp as P
    srv = P.RelpServer(tmpdir)                  # thread in this process
    srv = P.RelpServer(tmpdir, drop_every=3, drop_read=5, drop_answer=2)
    ... srv.port, srv.address, srv.answered(), srv.received(), srv.errors
    srv.stop()

    r = P.start_rsyslog_relp(tmpdir)            # rsyslogd with imrelp
    r = P.start_rsyslog_relp(tmpdir, tls=True, certs=R.make_certs(tmpdir))
    ... r.port, r.lines(), r.stop(), r.restart()  (a receivers.Receiver)

RelpServer speaks the server side of RELP as librelp does (doc/relp.md
of librelp; rsyslog's imrelp): it expects "open" first with a
relp_version offer and commands=syslog, checks that transaction numbers
run 1, 2, 3... on each connection, answers "rsp 200" to each "syslog"
and an empty rsp to "close", then sends "0 serverclose 0" and closes.
Every protocol violation it sees is appended to .errors (a test asserts
it stays empty).

Faults: fault=("drop", K, J) | ("reject", K) | ("serverclose", K) is
applied to connections n = every, 2*every, ... (n counts accepted
connections from 1), at most `times` of them (default every=1, times=1:
the first connection only):
  ("drop", K, J): read K syslog messages, answer only the first J, then
      close without a word (a receiver that dies with messages
      unanswered); K <= J reads and answers K, then closes. A client
      whose window is full before K (K > J + window) stops sending: the
      connection is dropped after 1 s without data.
  ("reject", K): answer the K-th message "500 <reject_text>" and go on
      reading (the client is expected to close and send it again).
  ("serverclose", K): after answering K messages, send "0 serverclose 0"
      and close.
  ("pause", B, S): once B bytes were read, answer what was read, stop
      reading for S seconds, then close (what sat in the socket buffer
      was never read: a receiver that stalls and dies).
Other modes:
  reverse=True: the answers to the syslog frames of one received chunk
      are sent in reverse order (RELP allows any order).
  open_reply=bytes: the data of the answer to "open" instead of
      "200 OK" and the usual offers.
  graceful=True: a connection the server ends is half-closed (FIN) and
      read to the client's end (at most 5 s), so that the client reads
      everything the server wrote; by default it is closed at once, and
      a reset (unread data) may destroy the answers before they are
      read.
  tls=certs key (e.g. "server") with certs=receivers.make_certs(): TLS.
.received() lists every syslog message read (duplicates included),
.answered() those answered 200, in order; .connections counts accepts.
"""

import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import receivers as R  # noqa: E402

SOFTWARE = b"hss-test-relp-server,1"


def offers(version=b"0", commands=b"syslog"):
    return (b"200 OK\nrelp_version=" + version + b"\nrelp_software=" +
            SOFTWARE + b"\ncommands=" + commands)


def frame(txnr, cmd, data=b""):
    """One RELP frame: TXNR SP COMMAND SP DATALEN [SP DATA] LF."""
    if data:
        return b"%d %s %d %s\n" % (txnr, cmd, len(data), data)
    return b"%d %s 0\n" % (txnr, cmd)


class ProtocolError(Exception):
    pass


class FrameReader:
    """Incremental parser of RELP frames (either direction)."""

    def __init__(self, maxdata=1 << 20):
        self.buf = b""
        self.maxdata = maxdata

    def feed(self, data):
        """Append data; return the complete frames as (txnr, cmd, data);
        raise ProtocolError on a malformed frame."""
        self.buf += data
        out = []
        while True:
            f = self._one()
            if f is None:
                return out
            out.append(f)

    def _one(self):
        b = self.buf
        i = b.find(b" ")
        if i < 0:
            if len(b) > 10 or not b.isdigit() and b:
                raise ProtocolError("bad transaction number %r" % b[:20])
            return None
        txnr = b[:i]
        if not txnr.isdigit() or len(txnr) > 9:
            raise ProtocolError("bad transaction number %r" % txnr[:20])
        j = b.find(b" ", i + 1)
        if j < 0:
            if len(b) - i > 33:
                raise ProtocolError("command too long")
            return None
        cmd = b[i + 1:j]
        if not cmd.isalpha() or len(cmd) > 32:
            raise ProtocolError("bad command %r" % cmd[:40])
        k = j + 1
        while k < len(b) and b[k:k + 1].isdigit():
            k += 1
        if k == len(b):
            if k - j - 1 > 9:
                raise ProtocolError("data length too long")
            return None
        if k == j + 1 or k - j - 1 > 9:
            raise ProtocolError("bad data length")
        n = int(b[j + 1:k])
        if n > self.maxdata:
            raise ProtocolError("data length %d over %d" % (n, self.maxdata))
        if n == 0:
            if b[k:k + 1] != b"\n":
                raise ProtocolError("no LF after empty frame")
            self.buf = b[k + 1:]
            return int(txnr), cmd.decode(), b""
        if b[k:k + 1] != b" ":
            raise ProtocolError("no space after data length")
        if len(b) < k + 1 + n + 1:
            return None
        data = b[k + 1:k + 1 + n]
        if b[k + 1 + n:k + 2 + n] != b"\n":
            raise ProtocolError("frame not followed by LF")
        self.buf = b[k + 2 + n:]
        return int(txnr), cmd.decode(), data


class RelpServer:
    """A RELP server in a thread of the test process (see the module
    docstring for its modes)."""

    def __init__(self, tmpdir=None, host="127.0.0.1", port=None,
                 fault=None, every=1, times=1,
                 reject_text=b"test rejects", reverse=False,
                 open_reply=None, tls=None, certs=None, graceful=False):
        self.host = host
        self.fault = fault
        self.every = every
        self.times = times
        self.faulted = 0
        self.reject_text = reject_text
        self.reverse = reverse
        self.graceful = graceful
        self.open_reply = open_reply if open_reply is not None else offers()
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certs[tls], certs[tls + "_key"])
        self.lock = threading.Lock()
        self._received = []
        self._answered = []
        self.errors = []
        self.events = []        # ("open"|"close"|"drop"|"reject"|... , n)
        self.connections = 0
        self._conns = []
        self._stop = False
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = socket.socket(fam, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((host, port or 0))
        self.port = self.ls.getsockname()[1]
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def received(self):
        with self.lock:
            return list(self._received)

    def answered(self):
        with self.lock:
            return list(self._answered)

    def log(self, *ev):
        with self.lock:
            self.events.append(ev)

    def error(self, n, what):
        with self.lock:
            self.errors.append("connection %d: %s" % (n, what))

    def stop(self):
        self._stop = True
        self.thread.join(5)
        try:
            self.ls.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
                self._conns.append(c)
            threading.Thread(target=self._serve, args=(c, n),
                             daemon=True).start()

    def _fault_for(self, n):
        """The fault of connection n, or (None,)."""
        with self.lock:
            if (self.fault is None or n % self.every != 0 or
                    self.faulted >= self.times):
                return (None,)
            self.faulted += 1
            return self.fault

    def _serve(self, conn, n):
        try:
            conn.settimeout(30)
            if self.ctx is not None:
                conn = self.ctx.wrap_socket(conn, server_side=True)
                with self.lock:
                    self._conns.append(conn)
            self._session(conn, n)
            if self.graceful and not self._stop:
                self._linger(conn)
        except (OSError, ssl.SSLError) as e:
            if not self._stop:
                self.log("connection-error", n, str(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _session(self, conn, n):
        rd = FrameReader()
        expect = 1
        opened = False
        nmsg = 0               # syslog frames read on this connection
        nbytes = 0             # bytes read on this connection
        nans = 0               # of them answered 200
        fault = self._fault_for(n)
        if fault[0] is not None:
            self.log("fault", n, fault)
        while not self._stop:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                if fault[0] == "drop" and nmsg > fault[2]:
                    self.log("drop", n, nmsg)
                    return
                raise
            if not data:
                self.log("eof", n)
                return
            nbytes += len(data)
            try:
                frames = rd.feed(data)
            except ProtocolError as e:
                self.error(n, str(e))
                return
            out, tail = [], []
            for txnr, cmd, d in frames:
                # librelp's server checks each txnr against its counter
                if txnr != expect:
                    self.error(n, "txnr %d, expected %d" % (txnr, expect))
                    return
                expect = 1 if expect >= 999999999 else expect + 1
                if cmd == "open":
                    if opened:
                        self.error(n, "second open")
                        return
                    lines = d.split(b"\n")
                    if not any(ln.startswith(b"relp_version=")
                               for ln in lines):
                        self.error(n, "open without relp_version")
                    if not any(ln.startswith(b"commands=") and b"syslog" in
                               ln[9:].split(b",") for ln in lines):
                        self.error(n, "open without commands=syslog")
                    opened = True
                    self.log("open", n, d)
                    conn.sendall(frame(txnr, b"rsp", self.open_reply))
                elif cmd == "syslog":
                    if not opened:
                        self.error(n, "syslog before open")
                        return
                    nmsg += 1
                    with self.lock:
                        self._received.append(d)
                    if fault[0] == "drop" and nmsg > fault[2]:
                        conn.settimeout(1.0)
                        if nmsg >= fault[1]:
                            self._flush(conn, out, tail)
                            self.log("drop", n, nmsg)
                            return      # close, the rest unanswered
                        continue
                    if fault[0] == "reject" and nmsg == fault[1]:
                        self.log("reject", n, nmsg)
                        out.append(frame(txnr, b"rsp",
                                         b"500 " + self.reject_text))
                        continue
                    with self.lock:
                        self._answered.append(d)
                    nans += 1
                    out.append(frame(txnr, b"rsp", b"200 OK"))
                    if fault[0] == "drop" and nmsg >= fault[1]:
                        self._flush(conn, out, tail)
                        self.log("drop", n, nmsg)
                        return
                    if fault[0] == "serverclose" and nans >= fault[1]:
                        tail.append(frame(0, b"serverclose"))
                        self._flush(conn, out, tail)
                        self.log("serverclose", n, nmsg)
                        return
                elif cmd == "close":
                    tail.append(frame(txnr, b"rsp"))
                    tail.append(frame(0, b"serverclose"))
                    self._flush(conn, out, tail)
                    self.log("close", n)
                    return
                else:
                    self.error(n, "unexpected command %r" % cmd)
                    return
            self._flush(conn, out, tail)
            if fault[0] == "pause" and nbytes >= fault[1]:
                self.log("pause", n, nmsg)
                time.sleep(fault[2])
                return

    def _linger(self, conn):
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(0.5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if not conn.recv(65536):
                    return
            except socket.timeout:
                continue

    def _flush(self, conn, out, tail):
        """Send the answers to syslog frames (reversed if asked), then
        the answer to close and hints, which stay last."""
        if self.reverse:
            out = out[::-1]
        if out or tail:
            conn.sendall(b"".join(out + tail))


# ---------------------------------------------------------------- rsyslog

def start_rsyslog_relp(tmpdir, tls=False, certs=None, server="server",
                       host="127.0.0.1", template="%rawmsg%", port=None,
                       tlslib=None, auth=None, permitted_peer="client.test",
                       max_data="256k"):
    """rsyslogd in the foreground with imrelp (Debian rsyslog-relp) on a
    free port, writing template + LF per message to .outfile. tls: imrelp
    tls="on" with the certificate certs[server]; tlslib: "gnutls"
    (librelp's default) or "openssl"; auth: the client authentication,
    None (anonymous clients) or "certvalid" or "name" (a certificate
    from certs["ca"], named permitted_peer). librelp 1.11 with GnuTLS
    refuses clients without a certificate whatever the mode ("peer did
    not provide a certificate"): anonymous clients need tlslib="openssl".
    Control characters are kept as received."""
    rsyslogd = R.which("rsyslogd")
    if rsyslogd is None:
        raise R.Skip("rsyslogd not found (Debian package rsyslog)")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so") \
            and not _module_exists("imrelp.so"):
        raise R.Skip("imrelp not found (Debian package rsyslog-relp)")
    d = os.path.join(tmpdir, "rsyslog-relp%s-%d" % (
        "-tls" if tls else "", time.monotonic_ns()))
    os.makedirs(os.path.join(d, "work"))
    out = os.path.join(d, "out.log")
    conf = os.path.join(d, "rsyslog.conf")

    def cmd(p):
        g = ['workDirectory="%s"' % os.path.join(d, "work"),
             'maxMessageSize="%s"' % max_data,
             'parser.escapeControlCharactersOnReceive="off"']
        m = ['load="imrelp"']
        if tlslib:
            m.append('tls.tlslib="%s"' % tlslib)
        i = ['type="imrelp"', 'port="%d"' % p, 'address="%s"' % host,
             'maxDataSize="%s"' % max_data]
        if tls:
            i += ['tls="on"', 'tls.caCert="%s"' % certs["ca"],
                  'tls.myCert="%s"' % certs[server],
                  'tls.myPrivKey="%s"' % certs[server + "_key"]]
            if auth:
                i.append('tls.authMode="%s"' % auth)
            if auth == "name":
                i.append('tls.permittedPeer=["%s"]' % permitted_peer)
        lines = ["global(%s)" % " ".join(g),
                 "module(%s)" % " ".join(m),
                 "input(%s)" % " ".join(i),
                 'template(name="t" type="string" string="%s\\n")'
                 % template,
                 'action(type="omfile" file="%s" template="t")' % out]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(d, "pid")]

    cmd(port or 1)
    R.rsyslog_validate(rsyslogd, conf)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return R._run_until_listening("rsyslog-relp", cmd, d, host, out,
                                  family=fam, port=port)


def _module_exists(name):
    for base in ("/usr/lib/rsyslog", "/usr/lib64/rsyslog"):
        if os.path.exists(os.path.join(base, name)):
            return True
    import glob
    return bool(glob.glob("/usr/lib/*/rsyslog/" + name))


# ---------------------------------------------------------------- probe

def relp_probe_path():
    """tests/relp-probe from the build tree ($top_builddir)."""
    p = os.path.join(os.environ.get("top_builddir", "."), "tests",
                     "relp-probe")
    if not os.path.exists(p):
        raise RuntimeError("%s not built (make check builds it)" % p)
    return p


# ---------------------------------------------------------------- daemon

def output_yaml(name, fmt, address, ca=None, cert=None, key=None,
                extra=""):
    """An output with transport relp; ca: a tls block (RELP over TLS)
    verifying the server with that CA, cert/key: the client certificate."""
    y = ("  - name: %s\n    format: %s\n    transport: relp\n"
         "    address: %s\n" % (name, fmt, address))
    if ca:
        y += "    tls:\n      ca_file: %s\n" % ca
        if cert:
            y += "      cert_file: %s\n      key_file: %s\n" % (cert, key)
    return y + extra


def json_ids(msgs):
    """event_ids of json-format messages (bytes each)."""
    import json
    return [json.loads(m)["event_id"] for m in msgs]
