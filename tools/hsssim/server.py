"""HTTP(S) front end of the simulator: IAM tokens, AK/SK verification,
rate limit, lockout, faults, the events endpoint and the /_sim/ control
endpoints."""

import calendar
import collections
import email.utils
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import signer, store as storemod
from .gen import POISON_KINDS
from .util import (iso_utc_us, is_loopback, parse_duration_ms,
                   parse_signed_duration_ms, wall_ms)

FAULT_KINDS = ["500", "502", "503", "504", "reset", "stall", "truncated",
               "invalid", "errorbody", "token", "slowbody"]
FAULT_BODIES = {
    "500": (500, "HSS.0041", "Internal query error"),
    "502": (502, "APIGW.0202", "Backend unavailable"),
    "503": (503, "APIGW.0203", "Service unavailable, try again later"),
    "504": (504, "APIGW.0201", "Backend timeout"),
    "errorbody": (200, "HSS.0041", "Internal query error"),
    "token": (401, "APIG.0307", "The token must be updated"),
}
INVALID_JSON = b'{"total_num":1,"data_list":[{"event_id":"sim-invalid",' \
    b'"occur_time":}]}'
EVENTS_RE = re.compile(r"^/v5/([^/]+)/event/events$")
IAM_PREFIX = "Incorrect IAM authentication information: "
LOCKOUT_FAILURES = 5
SKEW_S = 15 * 60
EMPTY = object()


class Key:
    def __init__(self, ak, sk, token=None):
        self.ak, self.sk, self.token = ak, sk, token


class Token:
    def __init__(self, value, domain, user, pid, issued, expires):
        self.value, self.domain, self.user, self.pid = value, domain, user, pid
        self.issued, self.expires = issued, expires
        self.revoked = False


class Cred:
    def __init__(self, ident, pid=None):
        self.id, self.pid = ident, pid


class AuthError(Exception):
    def __init__(self, code, msg, status=401):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def err_body(code, msg):
    return json.dumps({"error_code": code, "error_msg": msg},
                      ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


class Sim:
    """All simulator state; every mutation under self.lock."""

    def __init__(self, opts, store):
        self.store = store
        self.lock = store.lock
        self.keys = {}
        for ak, sk, tok in opts.keys:
            self.keys[ak] = Key(ak, sk, tok)
        self.users = {(d, u): (p, "u-" + hashlib.sha256(
            ("%s/%s" % (d, u)).encode()).hexdigest()[:32])
            for d, u, p in opts.users}
        self.projects = opts.projects            # pid -> name
        self.domain_id = opts.domain_id
        self.region = opts.region
        self.tokens = {}
        self.rate_limit = opts.rate_limit
        self.retry_after = opts.retry_after      # None | "auto" | int s
        self.rate = {}
        self.fails = {}
        self.locked = {}
        self.lockout_ms = opts.lockout_ms
        self.token_lifetime_ms = opts.token_lifetime_ms
        self.stall_ms = opts.stall_ms
        self.faults = dict(opts.faults)
        self.fault_rng = random.Random("%s:faults" % opts.seed)
        self.fixture = opts.fixture_bytes
        self.verbose = opts.verbose
        self.live_rate = opts.live_rate
        self.requests = collections.deque(maxlen=200000)
        self.seq = 0
        self.reset_stats()
        self.stop = threading.Event()

    # ---------------------------------------------------------------- stats

    def reset_stats(self):
        self.requests.clear()
        self.stats = {"requests": 0, "by_status": {}, "4xx": 0, "429": 0,
                      "5xx": 0, "faults": {}, "widest_window_ms": 0,
                      "max_offset": 0}
        self.in_flight = getattr(self, "in_flight", 0)
        self.stalling = getattr(self, "stalling", 0)

    def record(self, rec):
        s = self.stats
        s["requests"] += 1
        st = rec["status"]
        s["by_status"][str(st)] = s["by_status"].get(str(st), 0) + 1
        if 400 <= st < 500:
            s["4xx"] += 1
        if st == 429:
            s["429"] += 1
        if 500 <= st < 600:
            s["5xx"] += 1
        if rec.get("fault"):
            s["faults"][rec["fault"]] = s["faults"].get(rec["fault"], 0) + 1
        b, e = rec.get("begin_time"), rec.get("end_time")
        if isinstance(b, int) and isinstance(e, int):
            s["widest_window_ms"] = max(s["widest_window_ms"], e - b)
        if isinstance(rec.get("offset"), int):
            s["max_offset"] = max(s["max_offset"], rec["offset"])
        self.seq += 1
        rec["seq"] = self.seq
        self.requests.append(rec)

    # ---------------------------------------------------------------- auth

    def authenticate(self, method, raw_path, raw_query, hdrs, body, now,
                     api_now=None):
        """now: the machine's time (lockout); api_now: the API's clock
        (token expiry, signature skew), now when not given."""
        if api_now is None:
            api_now = now
        tok = hdrs.get("x-auth-token")
        if tok is not None:
            t = self.tokens.get(tok.strip())
            if t is None:
                raise AuthError("APIG.0301", IAM_PREFIX + "token is invalid")
            if t.revoked or api_now * 1000000 >= t.expires:
                raise AuthError("APIG.0307", "The token must be updated")
            return Cred("user:%s/%s" % (t.domain, t.user), t.pid)
        auth = hdrs.get("authorization")
        if auth is None:
            raise AuthError("APIG.0301", IAM_PREFIX + "the request has no "
                            "Authorization or X-Auth-Token header")
        a = signer.parse_authorization(auth)
        if a is None:
            raise AuthError("APIG.0301", IAM_PREFIX + "Authorization is not "
                            "'SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., "
                            "Signature=...'")
        ak = a["Access"]
        key = self.keys.get(ak)
        if key is None:
            raise AuthError("APIG.0301", IAM_PREFIX + "ak %s not exist" % ak)
        until = self.locked.get(ak)
        if until is not None:
            if now < until:
                raise AuthError("APIG.0301", IAM_PREFIX + (
                    "the access key %s is locked for %d s after %d "
                    "consecutive failed authentications") % (
                        ak, math.ceil(until - now), LOCKOUT_FAILURES))
            del self.locked[ak]
        try:
            self._verify(key, a, method, raw_path, raw_query, hdrs, body,
                         api_now)
        except AuthError:
            n = self.fails.get(ak, 0) + 1
            if n >= LOCKOUT_FAILURES:
                self.locked[ak] = now + self.lockout_ms / 1000.0
                n = 0
            self.fails[ak] = n
            raise
        self.fails[ak] = 0
        return Cred("ak:" + ak)

    def _verify(self, key, a, method, raw_path, raw_query, hdrs, body, now):
        def fail(msg):
            raise AuthError("APIG.0301", IAM_PREFIX + msg)
        signed = a["signed"]
        if "host" not in signed or "x-sdk-date" not in signed:
            fail("host and x-sdk-date must be signed headers")
        date = hdrs.get("x-sdk-date")
        if date is None:
            fail("x-sdk-date header is missing")
        try:
            if not re.match(r"^\d{8}T\d{6}Z$", date):
                raise ValueError
            t = calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            fail("x-sdk-date is malformed (want YYYYMMDDTHHMMSSZ)")
        if abs(now - t) > SKEW_S:
            fail("x-sdk-date is more than 15 minutes away from the server "
                 "time")
        for h in signed:
            if h not in hdrs:
                fail("signed header %s is missing from the request" % h)
        st = hdrs.get("x-security-token")
        if key.token is not None:
            if st is None:
                fail("x-security-token is required for a temporary access "
                     "key")
            if "x-security-token" not in signed:
                fail("x-security-token must be a signed header")
            if not hmac.compare_digest(st.strip().encode(),
                                       key.token.encode()):
                fail("x-security-token is invalid")
        elif st is not None:
            fail("x-security-token is invalid for a permanent access key")
        if hdrs.get("x-sdk-content-sha256") == signer.UNSIGNED_PAYLOAD:
            bh = signer.UNSIGNED_PAYLOAD
        else:
            bh = hashlib.sha256(body).hexdigest()
        creq = signer.canonical_request(method, raw_path,
                                        signer.parse_raw_query(raw_query),
                                        hdrs, signed, bh)
        sig = signer.signature(key.sk, signer.string_to_sign(date, creq))
        if not hmac.compare_digest(sig.encode(),
                                   a["Signature"].encode("utf-8", "replace")):
            fail("verify aksk signature fail")

    def rate_take(self, cred, now):
        """Sliding one-minute log per credential (kept even when the limit
        is off); refused calls do not count.  Returns seconds to wait
        (0 = allowed)."""
        n = self.rate_limit
        dq = self.rate.setdefault(cred, collections.deque())
        while dq and dq[0] <= now - 60.0:
            dq.popleft()
        if n > 0 and len(dq) >= n:
            return max(1, math.ceil(dq[len(dq) - n] + 60.0 - now))
        dq.append(now)
        return 0

    def pick_fault(self):
        u = self.fault_rng.random()
        acc = 0.0
        for k in FAULT_KINDS:
            acc += self.faults.get(k, 0.0)
            if u < acc:
                return k
        return None

    # ---------------------------------------------------------------- config

    def config_view(self):
        s = self.store
        return {"faults": self.faults, "shuffle": s.shuffle,
                "clock_offset_ms": s.clock_offset_ms,
                "late_visibility_max_ms": s.late_max_ms,
                "poison_share": s.poison_share, "poison_kind": s.poison_kind,
                "total_extra": s.total_extra,
                "total_factor": s.total_factor,
                "mb_id_share": s.mb_id_share,
                "filter_time": s.filter_time,
                "dense": None if s.dense is None else {
                    "count": s.dense.n, "occur_time_ms": s.dense.t},
                "churn": s.churn, "churn_insert": s.churn_insert,
                "churn_handle": s.churn_handle, "churn_limit": s.churn_limit,
                "mutate": s.mutate, "mutate_share": s.mutate_share,
                "hostile": s.hostile, "hostile_share": s.hostile_share,
                "late_visibility_ms": s.late_ms, "late_share": s.late_share,
                "container_share": s.container_share,
                "rate_limit": self.rate_limit,
                "retry_after": self.retry_after,
                "stall_time_ms": self.stall_ms, "lockout_ms": self.lockout_ms,
                "token_lifetime_ms": self.token_lifetime_ms,
                "live_rate": self.live_rate, "fixture": self.fixture is not None,
                "now_ms": s.now_ms(), "projects": self.projects}

    def apply_config(self, c):
        """Validate everything first, then apply; raises ValueError."""
        if not isinstance(c, dict):
            raise ValueError("body must be a JSON object")
        s = self.store
        todo = []

        def share(v):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    not 0 <= v <= 1:
                raise ValueError("a share must be a number from 0 to 1")
            return float(v)

        def boolean(v):
            if not isinstance(v, bool):
                raise ValueError("a switch must be true or false")
            return v

        def count(v):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError("a count must be an integer >= 0")
            return v

        def rate(v):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    v < 0:
                raise ValueError("a rate must be a number >= 0")
            return float(v)

        def dur(v):
            return parse_duration_ms(v)

        def sdur(v):
            return parse_signed_duration_ms(v)

        def sint(v):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError("want an integer")
            return v

        def factor(v):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    not 0 <= v <= 1000:
                raise ValueError("total_factor must be a number from 0 to "
                                 "1000")
            return float(v)

        def ftime(v):
            if v not in storemod.FILTER_TIMES:
                raise ValueError("filter_time must be one of %s" %
                                 ", ".join(storemod.FILTER_TIMES))
            return v

        def pkind(v):
            if v not in POISON_KINDS:
                raise ValueError("poison_kind must be one of %s" %
                                 ", ".join(POISON_KINDS))
            return v

        setters = {
            "shuffle": (boolean, lambda v: setattr(s, "shuffle", v)),
            "churn": (boolean, lambda v: setattr(s, "churn", v)),
            "churn_insert": (count, lambda v: setattr(s, "churn_insert", v)),
            "churn_handle": (count, lambda v: setattr(s, "churn_handle", v)),
            "churn_limit": (count, lambda v: setattr(s, "churn_limit", v)),
            "mutate": (boolean, lambda v: setattr(s, "mutate", v)),
            "mutate_share": (share, lambda v: setattr(s, "mutate_share", v)),
            "hostile": (boolean, lambda v: s.set_hostile(on=v)),
            "hostile_share": (share, lambda v: s.set_hostile(share=v)),
            "late_visibility": (dur, lambda v: setattr(s, "late_ms", v)),
            "late_visibility_ms": (count, lambda v: setattr(s, "late_ms", v)),
            "late_share": (share, lambda v: setattr(s, "late_share", v)),
            "late_visibility_max": (dur, lambda v: setattr(s, "late_max_ms",
                                                           v)),
            "late_visibility_max_ms": (count, lambda v: setattr(
                s, "late_max_ms", v)),
            "clock_offset": (sdur, lambda v: setattr(s, "clock_offset_ms",
                                                     v)),
            "clock_offset_ms": (sint, lambda v: setattr(s, "clock_offset_ms",
                                                        v)),
            "poison_share": (share, lambda v: setattr(s, "poison_share", v)),
            "poison_kind": (pkind, lambda v: setattr(s, "poison_kind", v)),
            "filter_time": (ftime, lambda v: setattr(s, "filter_time", v)),
            "total_extra": (count, lambda v: setattr(s, "total_extra", v)),
            "total_factor": (factor, lambda v: setattr(s, "total_factor", v)),
            "mb_id_share": (share, lambda v: setattr(s, "mb_id_share", v)),
            "container_share": (share,
                                lambda v: setattr(s, "container_share", v)),
            "rate_limit": (count, lambda v: setattr(self, "rate_limit", v)),
            "stall_time": (dur, lambda v: setattr(self, "stall_ms", v)),
            "lockout": (dur, lambda v: setattr(self, "lockout_ms", v)),
            "token_lifetime": (dur, lambda v: setattr(
                self, "token_lifetime_ms", v)),
            "live_rate": (rate, lambda v: setattr(self, "live_rate", v)),
        }
        for k, v in c.items():
            if k == "dense":
                if v is None:
                    blk = None
                elif isinstance(v, dict) and set(v) <= {
                        "count", "occur_time_ms"} and "count" in v:
                    n = count(v["count"])
                    t = v.get("occur_time_ms", s.now_ms() - 3600000)
                    if isinstance(t, bool) or not isinstance(t, int) or \
                            t < 0:
                        raise ValueError("dense.occur_time_ms must be an "
                                         "integer >= 0")
                    blk = storemod.DenseBlock(s.seed, next(iter(
                        self.projects)), t, n) if n > 0 else None
                else:
                    raise ValueError('dense must be null or {"count": N, '
                                     '"occur_time_ms": T}')
                todo.append(lambda blk=blk: setattr(s, "dense", blk))
            elif k == "faults":
                if not isinstance(v, dict):
                    raise ValueError("faults must be an object kind -> "
                                     "probability")
                f = {}
                for kind, p in v.items():
                    if kind not in FAULT_KINDS:
                        raise ValueError("unknown fault kind %r (known: %s)" %
                                         (kind, ", ".join(FAULT_KINDS)))
                    f[kind] = share(p)
                if sum(f.values()) > 1.0 + 1e-9:
                    raise ValueError("fault probabilities add up to more "
                                     "than 1")
                todo.append(lambda f=f: setattr(self, "faults", f))
            elif k == "retry_after":
                if v is None or v is False:
                    ra = None
                elif v is True or v == "auto":
                    ra = "auto"
                else:
                    ra = count(v)
                todo.append(lambda ra=ra: setattr(self, "retry_after", ra))
            elif k in setters:
                check, apply = setters[k]
                val = check(v)
                todo.append(lambda apply=apply, val=val: apply(val))
            else:
                raise ValueError("unknown config key %r" % k)
        for t in todo:
            t()

    # ---------------------------------------------------------------- tokens

    def issue_token(self, domain, user, pid, now):
        value = "MIIsim" + secrets.token_urlsafe(900)
        us = int(now * 1000000)          # times in microseconds
        t = Token(value, domain, user, pid, us,
                  us + self.token_lifetime_ms * 1000)
        self.tokens[value] = t
        return t


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hss-sim"
    sys_version = ""
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        """The Date header: the API's clock (machine clock + offset)."""
        if timestamp is None:
            timestamp = self.server.sim.store.wall_ms() / 1000.0
        return email.utils.formatdate(timestamp, usegmt=True)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- plumbing

    def send(self, status, body, ctype="application/json;charset=UTF-8",
             headers=(), rec=None, code=None):
        if rec is not None:
            rec["status"] = status
            rec["error_code"] = code
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", self.request_id)
        for k, v in headers:
            self.send_header(k, v)
        self.commit_rec()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_json(self, status, code, msg, rec=None, headers=()):
        self.send(status, err_body(code, msg), headers=headers, rec=rec,
                  code=code)

    def commit_rec(self):
        """Log the request before the client can see the end of the
        answer, so /_sim/requests and /_sim/stats never lag behind it."""
        rec, self.rec = self.rec, None
        if rec is None:
            return
        sim = self.server.sim
        with sim.lock:
            sim.in_flight -= 1
            sim.record(rec)
        if sim.verbose:
            sys.stderr.write("hss-sim: %s %s %s%s -> %s %s cred=%s "
                             "fault=%s\n" % (
                                 rec["client"], rec["method"], rec["path"],
                                 "?" + rec["query"] if rec["query"] else "",
                                 rec["status"], rec["error_code"] or "-",
                                 rec["credential"] or "-",
                                 rec["fault"] or "-"))
            sys.stderr.flush()

    def reset_connection(self):
        """Close without a response: RST (SO_LINGER 0)."""
        self.commit_rec()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def dispatch(self):
        sim = self.server.sim
        self.rec = None
        self.request_id = secrets.token_hex(16)
        path, _, query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        hdrs = {}
        for k, v in self.headers.items():
            hdrs.setdefault(k.lower(), v)
        if path.startswith("/_sim/"):
            return self.control(sim, path, query, body)
        rec = {"time_ms": wall_ms(), "method": self.command, "path": path,
               "query": query, "status": 0, "error_code": None,
               "credential": None, "begin_time": None, "end_time": None,
               "offset": None, "limit": None, "fault": None,
               "client": self.client_address[0], "request_id":
               self.request_id, "sdk_date": hdrs.get("x-sdk-date")}
        with sim.lock:
            sim.in_flight += 1
        self.rec = rec
        try:
            m = EVENTS_RE.match(path)
            if path == "/v3/auth/tokens" and self.command == "POST":
                self.iam(sim, query, body, rec)
            elif m and self.command == "GET":
                self.events(sim, m.group(1), path, query, hdrs, body, rec)
            else:
                self.send_error_json(404, "APIG.0101", "The API does not "
                                     "exist or has not been published in "
                                     "the environment", rec)
        finally:
            self.commit_rec()       # if an exception came first

    # -- IAM

    def iam(self, sim, query, body, rec):
        def bad(status, msg, title):
            b = json.dumps({"error": {"code": status, "message": msg,
                                      "title": title}}).encode()
            self.send(status, b, rec=rec, code=str(status))
        try:
            doc = json.loads(body.decode("utf-8"))
            auth = doc["auth"]
            ident = auth["identity"]
            if "password" not in ident["methods"]:
                raise ValueError("identity.methods must contain password")
            u = ident["password"]["user"]
            domain, user, pw = u["domain"]["name"], u["name"], u["password"]
            proj = auth["scope"]["project"]
            if not all(isinstance(x, str) for x in (domain, user, pw)):
                raise ValueError("domain.name, name, password: strings")
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return bad(400, "The request body is invalid: %s" % e,
                       "Bad Request")
        rec["credential"] = "user:%s/%s" % (domain, user)
        now = sim.store.wall_ms() / 1000.0
        with sim.lock:
            known = sim.users.get((domain, user))
            if known is None or not hmac.compare_digest(
                    known[0].encode(), pw.encode()):
                return bad(401, "The username or password is wrong.",
                           "Unauthorized")
            pid = None
            if isinstance(proj, dict) and "id" in proj:
                pid = proj["id"] if proj["id"] in sim.projects else None
            elif isinstance(proj, dict) and "name" in proj:
                for k, n in sim.projects.items():
                    if n == proj["name"]:
                        pid = k
                        break
            if pid is None:
                return bad(400, "The project in scope does not exist.",
                           "Bad Request")
            t = sim.issue_token(domain, user, pid, now)
        dom = {"name": domain, "id": sim.domain_id}
        tok = {"expires_at": iso_utc_us(t.expires),
               "methods": ["password"],
               "issued_at": iso_utc_us(t.issued),
               "user": {"domain": dom, "name": user, "id": known[1],
                        "password_expires_at": ""},
               "project": {"domain": dom, "name": sim.projects[pid],
                           "id": pid},
               "roles": [{"name": "te_admin", "id": "0"}]}
        if "nocatalog=true" not in query.split("&"):
            tok["catalog"] = [{"type": "hss", "id": "hss", "name": "hss",
                               "endpoints": [{"url": "https://%s" %
                                              self.headers.get("Host", ""),
                                              "region": sim.region,
                                              "interface": "public"}]}]
        self.send(201, json.dumps({"token": tok}, ensure_ascii=False)
                  .encode("utf-8"), headers=[("X-Subject-Token", t.value)],
                  rec=rec)

    # -- ListSecurityEvents

    def events(self, sim, pid, path, query, hdrs, body, rec):
        now = time.time()
        api_now = sim.store.wall_ms() / 1000.0
        pairs = signer.parse_raw_query(query)
        for k, v in pairs:
            k = k.decode("utf-8", "replace")
            if k in ("begin_time", "end_time", "offset", "limit") and \
                    rec[k] is None:
                v = v.decode("utf-8", "replace")
                rec[k] = int(v) if v.isdigit() and len(v) < 19 else v
        with sim.lock:
            try:
                cred = sim.authenticate(self.command, path, query, hdrs, body,
                                        now, api_now)
            except AuthError as e:
                return self.send_error_json(e.status, e.code, e.msg, rec)
            rec["credential"] = cred.id
            wait = sim.rate_take(cred.id, time.monotonic())
            if wait:
                h = []
                if sim.retry_after == "auto":
                    h = [("Retry-After", str(wait))]
                elif sim.retry_after is not None:
                    h = [("Retry-After", str(sim.retry_after))]
                return self.send_error_json(
                    429, "APIG.0308", "policy user over ratelimit,limit:%d,"
                    "time:1 minute" % sim.rate_limit, rec, h)
            if pid not in sim.projects or (cred.pid is not None and
                                           cred.pid != pid):
                return self.send_error_json(
                    403, "APIG.0302", "The IAM user is not authorized to "
                    "access the API: project %s is not accessible with this "
                    "credential" % pid, rec)
            q, msg = storemod.parse_query(pairs)
            if msg is not None:
                return self.send_error_json(400, "HSS.0001", msg, rec)
            fault = sim.pick_fault()
            rec["fault"] = fault
            if fault in FAULT_BODIES:
                st, code, text = FAULT_BODIES[fault]
                return self.send_error_json(st, code, text, rec)
            if fault == "reset":
                rec["status"] = 0
                return self.reset_connection()
            if fault == "invalid":
                return self.send(200, INVALID_JSON, rec=rec)
            st = sim.store
            if sim.fixture is not None:
                out = sim.fixture
            else:
                snow = st.now_ms()
                matched = st.match(pid, q, snow)
                churn = st.churn_step(pid, q, matched, snow)
                if churn:
                    rec.update(churn)
                    matched = st.match(pid, q, snow)
                if st.shuffle:
                    st.rngs["shuffle"].shuffle(matched)
                if st.dense is not None and st.dense.matches(pid, q, snow):
                    matched = storemod.WithDense(matched, st.dense,
                                                 st.filter_key)
                page = matched[q.offset:q.offset + q.limit]
                total = st.reported_total(len(matched))
                out = st.page_body(total, page)
                rec["total_num"] = total
                rec["total_actual"] = len(matched)
                rec["returned"] = len(page)
                dense = [e for e in page if isinstance(e, tuple)]
                if dense:
                    rec["dense"] = len(dense)
                    page = [e for e in page if not isinstance(e, tuple)]
                poisoned = [e.event_id for e in page
                            if st.poison_of(e) is not None]
                if poisoned:
                    rec["poisoned"] = poisoned
                rec.update(st.after_serve(page, snow))
            stall_ms = sim.stall_ms
        if fault == "stall":
            self.stall(sim, stall_ms)
        if fault in ("slowbody", "truncated"):
            # the headers of the whole body, its first half
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("X-Request-Id", self.request_id)
            rec["status"] = 200
            self.commit_rec()
            self.end_headers()
            self.wfile.write(out[:len(out) // 2])
        if fault == "slowbody":
            # a pause, then the rest: a client that reads a page as it
            # arrives has half of it meanwhile
            self.wfile.flush()
            self.stall(sim, stall_ms)
            self.wfile.write(out[len(out) // 2:])
            return
        if fault == "truncated":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send(200, out, rec=rec)

    def stall(self, sim, ms):
        """Hold the answer ms, counted in the stats' stalling."""
        with sim.lock:
            sim.stalling += 1
        sim.stop.wait(ms / 1000.0)
        with sim.lock:
            sim.stalling -= 1

    # -- control

    def control(self, sim, path, query, body):
        if not is_loopback(self.client_address[0]):
            return self.send(403, b'{"error":"loopback only"}')
        try:
            obj = self.control_inner(sim, path, query, body)
        except ValueError as e:
            return self.send(400, json.dumps({"error": str(e)}).encode())
        if obj is EMPTY:
            return self.send(404, b'{"error":"no such control endpoint or '
                             b'method"}')
        if isinstance(obj, tuple):
            return self.send(obj[0], json.dumps(obj[1]).encode())
        if isinstance(obj, bytes):
            return self.send(200, obj)
        self.send(200, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def control_inner(self, sim, path, query, body):
        st = sim.store
        cmd = self.command
        pairs = signer.parse_raw_query(query)
        args = {k.decode(): v.decode("utf-8", "replace") for k, v in
                reversed(pairs)}
        jbody = None
        if cmd == "POST":
            try:
                jbody = json.loads(body.decode("utf-8")) if body.strip() \
                    else {}
            except ValueError:
                raise ValueError("body is not JSON")
        with sim.lock:
            if path == "/_sim/events" and cmd == "GET":
                pid = args.get("project_id") or next(iter(sim.projects))
                if pid not in sim.projects:
                    raise ValueError("unknown project_id %s" % pid)
                rest = [(k, v) for k, v in pairs if k != b"project_id"]
                q, msg = storemod.parse_query(rest, strict=False)
                if msg:
                    raise ValueError(msg)
                vis = args.get("visible", "all")
                if vis not in ("all", "now", "ever"):
                    raise ValueError("visible must be all, now or ever")
                now = st.now_ms()
                evs = st.match(pid, q, now, visible_only=False)
                if vis != "all":
                    t = now if vis == "now" else st.max_now
                    evs = [e for e in evs if st.visible(e, t)]
                return {"event_ids": sorted(e.event_id for e in evs),
                        "late_ids": sorted(e.event_id for e in evs
                                           if st.is_late(e)),
                        "hidden_ids": sorted(e.event_id for e in evs
                                             if not st.visible(e, now)),
                        "poison_ids": sorted(e.event_id for e in evs
                                             if st.poison_of(e) is not None),
                        "count": len(evs), "now_ms": now,
                        "max_now_ms": st.max_now,
                        "dense_count": st.dense.n if st.dense is not None
                        and st.dense.matches(pid, q, now) else 0}
            if path == "/_sim/dense" and cmd == "GET":
                blk = st.dense
                if blk is None:
                    return {"count": 0, "event_ids": []}
                i = int(args.get("from", "0") or 0)
                n = int(args.get("count", "10") or 0)
                if i < 0 or not 0 <= n <= 100000:
                    raise ValueError("from >= 0, count 0..100000")
                return {"count": blk.n, "occur_time_ms": blk.t,
                        "event_ids": [blk.event_id(j) for j in
                                      range(i, min(i + n, blk.n))]}
            if path == "/_sim/event" and cmd == "GET":
                e = st.by_id.get(args.get("id", ""))
                if e is None:
                    return (404, {"error": "no such event"})
                return st.event_json(e)
            if path == "/_sim/event-meta" and cmd == "GET":
                e = st.by_id.get(args.get("id", ""))
                if e is None:
                    return (404, {"error": "no such event"})
                return st.meta(e, st.now_ms())
            if path == "/_sim/requests" and cmd == "GET":
                since = int(args.get("since", "0") or 0)
                return [r for r in sim.requests if r["seq"] > since]
            if path == "/_sim/stats" and cmd == "GET":
                out = dict(sim.stats)
                out.update(st.counters)
                out["events"] = len(st.by_id)
                out["in_flight"] = sim.in_flight
                out["stalling"] = sim.stalling
                out["locked_aks"] = sorted(
                    k for k, u in sim.locked.items() if u > time.time())
                out["tokens"] = len(sim.tokens)
                return out
            if path == "/_sim/config" and cmd == "GET":
                return sim.config_view()
            if path == "/_sim/config" and cmd == "POST":
                sim.apply_config(jbody)
                return sim.config_view()
            if path == "/_sim/revoke" and cmd == "POST":
                n = 0
                want = jbody.get("token") if isinstance(jbody, dict) else None
                for t in sim.tokens.values():
                    if want is None or t.value == want:
                        if not t.revoked:
                            n += 1
                        t.revoked = True
                return {"revoked": n}
            if path == "/_sim/add-events" and cmd == "POST":
                return self.add_events(sim, jbody)
            if path == "/_sim/reset-stats" and cmd == "POST":
                sim.reset_stats()
                return {"ok": True}
            if path == "/_sim/reset-limits" and cmd == "POST":
                sim.rate.clear()
                sim.fails.clear()
                sim.locked.clear()
                return {"ok": True}
        return EMPTY

    def add_events(self, sim, b):
        st = sim.store
        if not isinstance(b, dict):
            raise ValueError("body must be a JSON object")
        n = b.get("count", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not \
                0 <= n <= 1000000:
            raise ValueError("count must be an integer 0..1000000")
        t = b.get("occur_time_ms")
        if t is not None and (isinstance(t, bool) or not isinstance(t, int)):
            raise ValueError("occur_time_ms must be an integer")
        pid = b.get("project_id")
        if pid is not None and pid not in sim.projects:
            raise ValueError("unknown project_id")
        cat = b.get("category")
        if cat not in (None, "host", "container"):
            raise ValueError("category must be host or container")
        ep = b.get("enterprise_project_id")
        late = b.get("late")
        if late is not None and not isinstance(late, bool):
            raise ValueError("late must be true or false")
        delay = b.get("delay_ms")
        if delay is not None and (isinstance(delay, bool) or not isinstance(
                delay, int) or delay < 0):
            raise ValueError("delay_ms must be an integer >= 0")
        poison = b.get("poison")
        if poison is True:
            poison = st.poison_kind
        if poison is not None and poison is not False and \
                poison not in POISON_KINDS:
            raise ValueError("poison must be false, true or one of %s" %
                             ", ".join(POISON_KINDS))
        mb = b.get("mb_id")
        if mb is not None and not isinstance(mb, bool):
            raise ValueError("mb_id must be true or false")
        evs = st.new_events("add", n, t, pid, cat, ep, late, "added",
                            delay, poison, mb)
        st.counters["added"] += n
        return {"event_ids": [e.event_id for e in evs],
                "occur_times": [e.occur_time for e in evs]}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, family, sim, ssl_ctx):
        self.address_family = family
        self.sim = sim
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        # No getfqdn(): it may wait for DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, ssl.SSLError, TimeoutError,
                          BrokenPipeError)):
            return
        super().handle_error(request, client_address)
