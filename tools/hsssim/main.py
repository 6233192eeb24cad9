"""hss-sim command line: options, start-up, background threads."""

import argparse
import os
import socket
import ssl
import sys
import threading
import time

from . import VERSION, server, store as storemod
from .gen import POISON_KINDS
from .util import parse_duration_ms, parse_signed_duration_ms, wall_ms

DESCRIPTION = """\
Simulator of the Huawei Cloud HSS ListSecurityEvents API
(GET /v5/{project_id}/event/events) and of IAM password tokens
(POST /v3/auth/tokens), with AK/SK SDK-HMAC-SHA256 verification, the
5-calls-per-minute rate limit, AK lockout, fault injection and "hard
realities" (late visibility, shuffle, churn, mutate, hostile strings).
Control and oracle endpoints under /_sim/ (loopback only).
See tools/hss-sim.md."""

DURATIONS = "durations: N[ms|s|m|h|d], a bare number is seconds"


def _aksk(v):
    ak, sep, sk = v.partition(":")
    if not sep or not ak or not sk:
        raise argparse.ArgumentTypeError("want AK:SK")
    return (ak, sk, None)


def _aksk_temp(v):
    parts = v.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("want AK:SK:SECURITYTOKEN")
    return tuple(parts)


def _user(v):
    parts = v.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("want DOMAIN:USER:PASSWORD")
    return tuple(parts)


def _dur(v):
    try:
        return parse_duration_ms(v)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _sdur(v):
    try:
        return parse_signed_duration_ms(v)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _factor(v):
    f = float(v)
    if not 0 <= f <= 1000:
        raise argparse.ArgumentTypeError("want a number from 0 to 1000")
    return f


def _dense(v):
    n, sep, t = v.partition("@")
    try:
        n = int(n)
        if n < 0:
            raise ValueError
        if len(t) == 13 and t.isdigit():
            return (n, int(t), False)
        return (n, parse_signed_duration_ms(t), True)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "want COUNT@TIME: TIME in epoch ms (13 digits) or a signed "
            "duration from the simulator's now at start, e.g. 2500000@-1h")


def _share(v):
    f = float(v)
    if not 0 <= f <= 1:
        raise argparse.ArgumentTypeError("want a number from 0 to 1")
    return f


def _fault(v):
    kind, sep, p = v.partition("=")
    if kind not in server.FAULT_KINDS or not sep:
        raise argparse.ArgumentTypeError(
            "want KIND=P with KIND one of %s" % ", ".join(server.FAULT_KINDS))
    return (kind, _share(p))


def _nonneg_int(v):
    i = int(v)
    if i < 0:
        raise argparse.ArgumentTypeError("want an integer >= 0")
    return i


def build_parser():
    p = argparse.ArgumentParser(
        prog="hss-sim", description=DESCRIPTION, epilog=DURATIONS,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("listening")
    g.add_argument("--bind", default="127.0.0.1", metavar="ADDR",
                   help="address to listen on (default 127.0.0.1; ::1 works)")
    g.add_argument("--port", type=int, default=0, metavar="P",
                   help="TCP port; 0 (default) picks a free one")
    g.add_argument("--port-file", metavar="FILE",
                   help="write the bound port there (atomically) once "
                   "listening")
    g.add_argument("--cert", metavar="FILE", help="PEM certificate: serve "
                   "HTTPS (with --key)")
    g.add_argument("--key", metavar="FILE", help="PEM private key for --cert")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="one line per request on stderr")
    g = p.add_argument_group("credentials and projects")
    g.add_argument("--aksk", type=_aksk, action="append", default=[],
                   metavar="AK:SK", help="a permanent access key (repeatable)")
    g.add_argument("--aksk-temp", type=_aksk_temp, action="append",
                   default=[], metavar="AK:SK:SECURITYTOKEN",
                   help="a temporary access key; requests must send and sign "
                   "X-Security-Token (repeatable)")
    g.add_argument("--user", type=_user, action="append", default=[],
                   metavar="DOMAIN:USER:PASSWORD",
                   help="an IAM user for POST /v3/auth/tokens (repeatable)")
    g.add_argument("--project", action="append", default=[],
                   metavar="PROJECT_ID[:NAME]",
                   help="a project (repeatable; default one project "
                   "0123456789abcdef0123456789abcdef).  NAME is what a token "
                   "scope may name; default --region for the first, "
                   "REGION_N for the others")
    g.add_argument("--region", default="ap-southeast-1",
                   help="region name (default ap-southeast-1)")
    g.add_argument("--domain-id", default="d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
                   help="account (domain) id in events and tokens")
    g.add_argument("--token-lifetime", type=_dur, default=24 * 3600000,
                   metavar="DURATION", help="IAM token lifetime (default 24h)")
    g.add_argument("--lockout", type=_dur, default=300000, metavar="DURATION",
                   help="how long an AK stays locked after 5 failed "
                   "authentications in a row (default 300s)")
    g.add_argument("--rate-limit", type=_nonneg_int, default=5, metavar="N",
                   help="calls per minute per credential on the events "
                   "endpoint, sliding window (default 5; 0 = off)")
    g.add_argument("--retry-after", nargs="?", const="auto", default=None,
                   metavar="S", help="send Retry-After on 429: the seconds "
                   "until a call is allowed again, or the fixed S given")
    g = p.add_argument_group("generated events")
    g.add_argument("--seed", default="1", help="RNG seed (default 1)")
    g.add_argument("--now-ms", type=int, default=None, metavar="MS",
                   help="anchor time (epoch ms) of generation and of the "
                   "simulator's clock; default: the start time")
    g.add_argument("--events", type=_nonneg_int, default=1000, metavar="N",
                   help="events generated per project (default 1000)")
    g.add_argument("--span", type=_dur, default=7 * 86400000,
                   metavar="DURATION", help="occur_time spread over "
                   "[now-span, now] (default 7d)")
    g.add_argument("--container-share", type=_share, default=0.25,
                   metavar="F", help="share of container events (default "
                   "0.25)")
    g.add_argument("--live-rate", type=float, default=0.0, metavar="R",
                   help="new events per minute per project, occur_time = now "
                   "(default 0)")
    g.add_argument("--fixture", metavar="FILE", help="answer every valid "
                   "events request with this file's bytes, verbatim")
    g.add_argument("--no-warm", action="store_true",
                   help="do not pre-serialize events in the background")
    g = p.add_argument_group("hard realities (also at run time: POST "
                             "/_sim/config)")
    g.add_argument("--late-visibility", type=_dur, default=0,
                   metavar="DURATION", help="late events become visible this "
                   "long after their occur_time")
    g.add_argument("--late-visibility-max", type=_dur, default=0,
                   metavar="DURATION", help="if above --late-visibility: each "
                   "late event's delay is drawn uniformly from "
                   "[--late-visibility, this]")
    g.add_argument("--late-share", type=_share, default=None, metavar="F",
                   help="share of late events (default 0.1 when "
                   "--late-visibility or --late-visibility-max is set)")
    g.add_argument("--clock-offset", type=_sdur, default=0,
                   metavar="[+-]DURATION", help="the API's clock is the "
                   "machine's plus this (event visibility, live events, the "
                   "Date header, the signature's 15-minute check, tokens)")
    g.add_argument("--filter-time", choices=storemod.FILTER_TIMES,
                   default="occur", help="what begin_time/end_time match "
                   "and the order sorts by: occur (occur_time, default) or "
                   "visible (when the event became visible, occur_time + "
                   "its late delay, like an API filtering on record "
                   "creation time: a late event comes with an old "
                   "occur_time in a recent window)")
    g.add_argument("--poison-share", type=_share, default=0.0, metavar="F",
                   help="share of poisoned events: served as invalid JSON, "
                   "so a page holding one does not parse (default 0)")
    g.add_argument("--poison-kind", choices=POISON_KINDS, default="syntax",
                   help="syntax: a broken token; nul: a raw NUL byte in a "
                   "string (default syntax)")
    g.add_argument("--total-extra", type=_nonneg_int, default=0, metavar="N",
                   help="total_num lies: reported as actual * "
                   "--total-factor + N (default 0)")
    g.add_argument("--total-factor", type=_factor, default=1.0, metavar="F",
                   help="see --total-extra (default 1)")
    g.add_argument("--dense", type=_dense, metavar="COUNT@TIME",
                   help="COUNT synthetic events all at one occur_time TIME "
                   "(epoch ms, or e.g. -1h from now), made only when served: "
                   "a window of more than 2,000,000 events")
    g.add_argument("--mb-id-share", type=_share, default=0.0, metavar="F",
                   help="share of events whose event_id is 64 characters "
                   "but 118 bytes of UTF-8 (default 0)")
    g.add_argument("--shuffle", action="store_true",
                   help="permute the matched set on every request")
    g.add_argument("--churn", action="store_true",
                   help="between two page requests (on a request with "
                   "offset > 0, before its page is cut) insert events inside "
                   "the queried window and mark unhandled events of the "
                   "earlier pages handled")
    g.add_argument("--churn-insert", type=_nonneg_int, default=1, metavar="N",
                   help="events inserted per churn (default 1)")
    g.add_argument("--churn-handle", type=_nonneg_int, default=1, metavar="N",
                   help="events handled per churn (default 1)")
    g.add_argument("--churn-limit", type=_nonneg_int, default=0, metavar="N",
                   help="stop churning after N churns (default 0 = never)")
    g.add_argument("--mutate", action="store_true",
                   help="a share of events change after each time they are "
                   "served: event_count + 1, and handled if they were not")
    g.add_argument("--mutate-share", type=_share, default=0.1, metavar="F",
                   help="share of mutating events (default 0.1)")
    g.add_argument("--hostile", action="store_true",
                   help="a share of events carry hostile strings in their "
                   "string fields")
    g.add_argument("--hostile-share", type=_share, default=0.1, metavar="F",
                   help="share of hostile events (default 0.1)")
    g = p.add_argument_group("faults (events endpoint only; also at run "
                             "time)")
    g.add_argument("--fault", type=_fault, action="append", default=[],
                   metavar="KIND=P", help="inject a fault with probability P "
                   "(repeatable); KIND: " + ", ".join(server.FAULT_KINDS))
    g.add_argument("--stall-time", type=_dur, default=120000,
                   metavar="DURATION", help="how long a stall fault holds "
                   "the response (default 120s)")
    p.add_argument("--version", action="version", version="hss-sim " +
                   VERSION)
    return p


def parse_args(argv):
    p = build_parser()
    a = p.parse_args(argv)
    if (a.cert is None) != (a.key is None):
        p.error("--cert and --key go together")
    if not a.project:
        a.project = ["0123456789abcdef0123456789abcdef"]
    projects = {}
    for i, spec in enumerate(a.project):
        pid, sep, name = spec.partition(":")
        if not pid:
            p.error("--project: empty project id")
        if not name:
            name = a.region if i == 0 else "%s_%d" % (a.region, i)
        projects[pid] = name
    a.projects = projects
    a.keys = a.aksk + a.aksk_temp
    a.users = a.user
    a.faults = {}
    for k, prob in a.fault:
        a.faults[k] = prob
    if sum(a.faults.values()) > 1.0 + 1e-9:
        p.error("--fault probabilities add up to more than 1")
    if a.retry_after not in (None, "auto"):
        try:
            a.retry_after = _nonneg_int(a.retry_after)
        except (ValueError, argparse.ArgumentTypeError):
            p.error("--retry-after: want seconds")
    if a.late_share is None:
        a.late_share = 0.1 if (a.late_visibility or
                               a.late_visibility_max) else 0.0
    if a.live_rate < 0:
        p.error("--live-rate must be >= 0")
    a.fixture_bytes = None
    if a.fixture:
        with open(a.fixture, "rb") as f:
            a.fixture_bytes = f.read()
    a.lockout_ms = a.lockout
    a.token_lifetime_ms = a.token_lifetime
    a.stall_ms = a.stall_time
    return a


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def live_loop(sim):
    st = sim.store
    next_t = time.monotonic()
    while not sim.stop.is_set():
        r = sim.live_rate
        if r <= 0:
            sim.stop.wait(0.2)
            next_t = time.monotonic()
            continue
        next_t = max(next_t + 60.0 / r, time.monotonic() - 1.0)
        while not sim.stop.is_set():
            d = next_t - time.monotonic()
            if d <= 0 or sim.live_rate != r:
                break
            sim.stop.wait(min(d, 0.2))
        if sim.live_rate != r:
            continue
        with sim.lock:
            for pid in sim.projects:
                st.new_events("live", 1, None, pid, origin="live")
                st.counters["live_added"] += 1


def warm_loop(sim):
    st = sim.store
    with sim.lock:
        evs = [e for p in st.projects.values() for e in p.events]
    for i in range(0, len(evs), 100):
        if sim.stop.is_set():
            return
        with sim.lock:
            for e in evs[i:i + 100]:
                st.event_json(e)
        time.sleep(0.001)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    anchor = a.now_ms if a.now_ms is not None else \
        wall_ms() + a.clock_offset
    st = storemod.Store(a.seed, anchor, a.region, a.domain_id)
    st.container_share = a.container_share
    st.late_ms, st.late_share = a.late_visibility, a.late_share
    st.late_max_ms = a.late_visibility_max
    st.start_offset(a.clock_offset)
    st.poison_share, st.poison_kind = a.poison_share, a.poison_kind
    st.total_extra, st.total_factor = a.total_extra, a.total_factor
    st.mb_id_share = a.mb_id_share
    st.filter_time = a.filter_time
    if a.dense is not None and a.dense[0] > 0:
        n, t, rel = a.dense
        st.dense = storemod.DenseBlock(a.seed, next(iter(a.projects)),
                                       anchor + t if rel else t, n)
    st.shuffle, st.churn = a.shuffle, a.churn
    st.churn_insert, st.churn_handle = a.churn_insert, a.churn_handle
    st.churn_limit = a.churn_limit
    st.mutate, st.mutate_share = a.mutate, a.mutate_share
    st.hostile, st.hostile_share = a.hostile, a.hostile_share
    for pid, name in a.projects.items():
        st.add_project(pid, name, a.events)
        st.generate(pid, a.events, a.span)
    sim = server.Sim(a, st)
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    try:
        info = socket.getaddrinfo(a.bind, a.port, 0, socket.SOCK_STREAM, 0,
                                  socket.AI_NUMERICHOST | socket.AI_PASSIVE)
    except socket.gaierror as e:
        sys.exit("hss-sim: --bind %s: %s" % (a.bind, e))
    fam, _, _, _, addr = info[0]
    srv = server.Server(addr, fam, sim, ctx)
    port = srv.server_address[1]
    if a.port_file:
        write_port_file(a.port_file, port)
    sys.stderr.write("hss-sim: listening on %s://%s:%d (%d events, %.0f ms "
                     "to start)\n" % ("https" if ctx else "http",
                                      "[%s]" % a.bind if ":" in a.bind
                                      else a.bind, port, len(st.by_id),
                                      (time.time() - t0) * 1000))
    sys.stderr.flush()
    threading.Thread(target=live_loop, args=(sim,), daemon=True).start()
    if not a.no_warm and a.fixture_bytes is None:
        threading.Thread(target=warm_loop, args=(sim,), daemon=True).start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop.set()
        srv.server_close()
    return 0
