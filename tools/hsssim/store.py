"""The event store: generation, query validation, matching, paging and the
"hard realities" (late visibility, shuffle, churn, mutate, hostile)."""

import bisect
import random
import re
import threading
import time

from . import gen

DAY_MS = 86400000
MAX_SPAN_MS = 2 * DAY_MS
_DIGITS13 = re.compile(r"^[0-9]{13}$")
_INT = re.compile(r"^[0-9]{1,10}$")
INF = float("inf")
FILTER_TIMES = ("occur", "visible")

ENUMS = {
    "handle_status": gen.HANDLE_STATUS,
    "severity": gen.SEVERITIES,
    "attack_tag": gen.ATTACK_TAGS,
    "asset_value": gen.ASSET_VALUES,
    "att_ck": gen.ATT_CK,
}
SUBSTRING_FILTERS = ("host_name", "container_name", "event_name")
EXACT_FILTERS = ("host_id", "private_ip", "public_ip")


class Query:
    category = None
    ep = "0"
    begin = None
    end = None
    last_days = None
    offset = 0
    limit = 10

    def __init__(self):
        self.enums = {}          # name -> value (single)
        self.severity_list = None
        self.event_types = None
        self.event_class_ids = None
        self.tag_list = None
        self.strings = {}        # host_name etc.

    def window(self, now):
        if self.begin is not None:
            return self.begin, self.end
        if self.last_days is not None:
            return now - self.last_days * DAY_MS, now
        return None, None


def _one_of(name, values):
    return "%s must be one of %s" % (name, ", ".join(values))


def parse_query(pairs, strict=True):
    """pairs: [(bytes, bytes)] from the raw query.  Returns (Query, None) or
    (None, message).  strict=False (the oracle): no limits on span, offset,
    limit; category optional."""
    multi = {}
    for k, v in pairs:
        multi.setdefault(k.decode("utf-8", "replace"), []).append(
            v.decode("utf-8", "replace"))

    def first(name):
        v = multi.get(name)
        return v[0] if v else None

    q = Query()
    cat = first("category")
    if cat is None:
        if strict:
            return None, "category is required"
    elif cat not in ("host", "container"):
        return None, "category must be host or container"
    q.category = cat
    ep = first("enterprise_project_id")
    if ep is not None:
        if not 1 <= len(ep) <= 256:
            return None, "enterprise_project_id must be 1 to 256 characters"
        q.ep = ep
    b, e = first("begin_time"), first("end_time")
    for name, val in (("begin_time", b), ("end_time", e)):
        if val is not None and not _DIGITS13.match(val):
            return None, "%s must be 13 digits (epoch milliseconds)" % name
    ld = first("last_days")
    if ld is not None and (b is not None or e is not None):
        return None, "last_days cannot be combined with begin_time or end_time"
    if (b is None) != (e is None):
        return None, "begin_time and end_time must be given together"
    if b is not None:
        q.begin, q.end = int(b), int(e)
        if q.begin > q.end:
            return None, "begin_time must not be later than end_time"
        if strict and q.end - q.begin > MAX_SPAN_MS:
            return None, ("the range from begin_time to end_time must not "
                          "exceed 2 days (172800000 ms)")
    if ld is not None:
        if not _INT.match(ld) or not 1 <= int(ld) <= 30:
            return None, "last_days must be an integer from 1 to 30"
        q.last_days = int(ld)
    lim = first("limit")
    if lim is not None:
        if not _INT.match(lim) or (strict and not 10 <= int(lim) <= 1000):
            return None, "limit must be an integer from 10 to 1000"
        q.limit = int(lim)
    off = first("offset")
    if off is not None:
        if not _INT.match(off) or (strict and not 0 <= int(off) <= 2000000):
            return None, "offset must be an integer from 0 to 2000000"
        q.offset = int(off)
    for name, values in ENUMS.items():
        v = first(name)
        if v is not None:
            if v not in values:
                return None, _one_of(name, values)
            q.enums[name] = v
    if "severity_list" in multi:
        for v in multi["severity_list"]:
            if v not in gen.SEVERITIES:
                return None, _one_of("severity_list items", gen.SEVERITIES)
        q.severity_list = set(multi["severity_list"])
    if "event_types" in multi:
        vals = multi["event_types"]
        if not 1 <= len(vals) <= 500:
            return None, "event_types must have 1 to 500 items"
        for v in vals:
            if not _INT.match(v) or not 1000 <= int(v) <= 30000:
                return None, ("event_types items must be integers from 1000 "
                              "to 30000")
        q.event_types = set(int(v) for v in vals)
    if "event_class_ids" in multi:
        q.event_class_ids = set(multi["event_class_ids"])
    if "tag_list" in multi:
        q.tag_list = set(multi["tag_list"])
    for name in SUBSTRING_FILTERS + EXACT_FILTERS:
        v = first(name)
        if v is not None:
            q.strings[name] = v
    return q, None


class DenseBlock:
    """count synthetic events of the first project, all at one occur_time
    (so no split in time can separate them), made only when a page holds
    them: a window of more than 2,000,000 events at the cost of the pages
    read.  Category host, enterprise project 0, never late, hostile,
    poisoned or mutating; they match a query without filters other than
    time, category and enterprise project."""

    def __init__(self, seed, pid, occur_time, count):
        self.seed = str(seed).encode()
        self.pid = pid
        self.t = occur_time
        self.n = count
        self._frag = None

    def matches(self, pid, q, now):
        if pid != self.pid or q.category not in (None, "host") or \
                q.ep not in ("0", "all_granted_eps"):
            return False
        if q.enums or q.severity_list is not None or \
                q.event_types is not None or \
                q.event_class_ids is not None or q.tag_list is not None or \
                q.strings:
            return False
        lo, hi = q.window(now)
        return lo is None or lo <= self.t <= hi

    def event_id(self, i):
        import uuid
        d = gen.hashlib.blake2b(self.seed + b":dense:%d" % i,
                                digest_size=16).digest()
        return str(uuid.UUID(bytes=d, version=4))

    def body(self, i):
        if self._frag is None:
            self._frag = (b'"event_class_id":"dense_0001","event_type":1001,'
                          b'"event_name":"Dense event","severity":"Low",'
                          b'"host_name":"dense-host","host_id":"dense-host-'
                          b'0001","attack_phase":"Exploit","attack_tag":'
                          b'"attack_attempt","occur_time":%d,'
                          b'"handle_status":"unhandled","event_count":1,'
                          b'"resource_info":{"enterprise_project_id":"0"}}'
                          % self.t)
        return b'{"event_id":"%s",%s' % (self.event_id(i).encode(),
                                         self._frag)


class WithDense:
    """The matched list (newest first) with a dense block inside it, after
    the events newer than the block: a read-only sequence whose slices
    are lists of Event or ("dense", i)."""

    def __init__(self, real, block, key=None):
        self.real = real
        self.block = block
        key = key or (lambda e: e.occur_time)
        self.k = sum(1 for e in real if key(e) > block.t)

    def __len__(self):
        return len(self.real) + self.block.n

    def __getitem__(self, sl):
        a, b, _ = sl.indices(len(self))
        k, n, out = self.k, self.block.n, []
        for i in range(a, b):
            if i < k:
                out.append(self.real[i])
            elif i < k + n:
                out.append(("dense", i - k))
            else:
                out.append(self.real[i - n])
        return out


class Store:
    def __init__(self, seed, anchor_ms, region, domain_id):
        self.lock = threading.RLock()
        self.seed = seed
        self.anchor_ms = anchor_ms      # the API's time at start
        self.base_ms = anchor_ms        # anchor_ms minus the start offset
        self.t0 = time.time()
        self.region = region
        self.domain_id = domain_id
        self.projects = {}
        self.by_id = {}
        self.next_idx = 0
        self.container_share = 0.25
        self.late_ms = 0
        self.late_max_ms = 0
        self.late_share = 0.0
        self.clock_offset_ms = 0
        self.max_now = 0           # the latest API time reached so far
        self.poison_share = 0.0
        self.poison_kind = "syntax"
        self.mb_id_share = 0.0
        self.total_extra = 0
        self.total_factor = 1.0
        self.dense = None          # DenseBlock or None
        self.filter_time = "occur"  # or "visible": what begin/end match
        self.max_force_delay = 0   # the longest delay_ms of add-events
        self.hostile = False
        self.hostile_share = 0.1
        self.mutate = False
        self.mutate_share = 0.1
        self.shuffle = False
        self.churn = False
        self.churn_insert = 1
        self.churn_handle = 1
        self.churn_limit = 0
        self.churned = 0
        self.counters = {"churn_inserted": 0, "churn_handled": 0,
                         "mutations": 0, "live_added": 0, "added": 0}
        self.epoch = 0
        self.rngs = {k: random.Random("%s:%s" % (seed, k))
                     for k in ("live", "churn", "add", "shuffle", "mutate")}

    def now_ms(self):
        """The API's clock: --now-ms plus the time since start, plus the
        clock offset.  Also remembered as max_now (for "ever visible")."""
        t = self.base_ms + int((time.time() - self.t0) * 1000) + \
            self.clock_offset_ms
        if t > self.max_now:
            self.max_now = t
        return t

    def start_offset(self, off):
        """The clock offset at start: the API's time at start stays
        anchor_ms, later steps of the offset move it."""
        self.clock_offset_ms = off
        self.base_ms = self.anchor_ms - off

    def wall_ms(self):
        """The API's wall clock (Date header, signature skew, tokens): the
        machine's clock plus the clock offset."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def add_project(self, pid, name, n_events):
        n_hosts = max(10, min(500, n_events // 40))
        self.projects[pid] = gen.Project(pid, name, self.region,
                                         self.domain_id, self.seed, n_hosts)

    def generate(self, pid, n, span_ms):
        p = self.projects[pid]
        rng = random.Random("%s:%s:events" % (self.seed, pid))
        r = rng.random
        lo = self.anchor_ms - span_ms
        share = self.container_share
        evs = []
        for i in range(n):
            t = lo + int(r() * (span_ms + 1))
            cat = "container" if r() < share else "host"
            e = gen.new_event(rng, p, i, t, cat, self.anchor_ms)
            evs.append(e)
        evs.sort(key=lambda e: (e.occur_time, e.idx))
        for e in evs:
            e.idx = self.next_idx
            self.next_idx += 1
            self.maybe_mb_id(e)
            self.by_id[e.event_id] = e
        p.events = evs
        p.keys = [(e.occur_time, e.idx) for e in evs]

    def insert(self, e):
        p = e.project
        k = (e.occur_time, e.idx)
        pos = bisect.bisect_right(p.keys, k)
        p.keys.insert(pos, k)
        p.events.insert(pos, e)
        self.by_id[e.event_id] = e

    def maybe_mb_id(self, e, force=None):
        """Give e a multi-byte id if force, or if force is None and its
        draw is under mb_id_share."""
        if force or (force is None and self.mb_id_share > 0 and
                     gen.u_extra(e, 1) < self.mb_id_share):
            e.event_id = gen.mb_id(e.event_id)

    def new_events(self, rng_name, count, occur_time=None, pid=None,
                   category=None, ep=None, late=None, origin="added",
                   delay=None, poison=None, mb_id=None):
        """Create and insert count events; returns them.  delay: visible
        only from occur_time + delay (ms); poison: a POISON_KINDS kind or
        False (never poisoned); mb_id: True/False forces the id form."""
        rng = self.rngs[rng_name]
        out = []
        p = self.projects[pid] if pid else next(iter(self.projects.values()))
        for _ in range(count):
            now = self.now_ms()
            t = now if occur_time is None else occur_time
            cat = category or ("container" if rng.random() <
                               self.container_share else "host")
            e = gen.new_event(rng, p, self.next_idx, t, cat, max(now, t), ep,
                              origin)
            self.next_idx += 1
            e.force_late = late
            e.force_delay = delay
            if delay is not None and delay > self.max_force_delay:
                self.max_force_delay = delay
            e.force_poison = poison
            self.maybe_mb_id(e, mb_id)
            self.insert(e)
            out.append(e)
        return out

    # -- visibility, hostility

    def late_on(self):
        return self.late_share > 0 and (self.late_ms > 0 or
                                        self.late_max_ms > 0)

    def is_late(self, e):
        if e.force_delay is not None:
            return True
        if e.force_late is not None:
            return e.force_late
        return self.late_on() and e.u_late < self.late_share

    def delay(self, e):
        """How long after its occur_time e becomes visible (0: at once).
        A late event's delay is late_ms, or with late_max_ms > late_ms
        uniform in [late_ms, late_max_ms]; its draw is u_late / late_share,
        uniform in [0, 1) for the events under the share."""
        if e.force_delay is not None:
            return e.force_delay
        if not self.is_late(e):
            return 0
        lo, hi = self.late_ms, self.late_max_ms
        if hi <= lo:
            return lo
        v = e.u_late / self.late_share if self.late_share > 0 else 0.0
        return lo + int(min(v, 1.0) * (hi - lo))

    def visible(self, e, now):
        """A late event from occur_time + delay on; any other at once
        (even one whose occur_time is ahead of the API's clock)."""
        if not self.is_late(e):
            return True
        return now >= e.occur_time + self.delay(e)

    def filter_key(self, e):
        """The time begin_time/end_time match: occur_time, or with
        filter_time "visible" the time e became visible (occur_time +
        delay), as an API filtering on record creation time would."""
        if self.filter_time == "visible":
            return e.occur_time + self.delay(e)
        return e.occur_time

    def poison_of(self, e):
        """The poison kind of e, or None."""
        if e.force_poison is not None:
            return e.force_poison or None
        if self.poison_share > 0 and gen.u_extra(e, 2) < self.poison_share:
            return self.poison_kind
        return None

    def reported_total(self, n):
        """total_num as the API reports it: n times total_factor plus
        total_extra (the lying total_num reality)."""
        return int(n * self.total_factor) + self.total_extra

    def is_hostile(self, e):
        return self.hostile and e.u_hostile < self.hostile_share

    def filter_fields(self, e):
        if self.is_hostile(e):
            if e.fh is None:
                e.fh = gen.hostile_filter_fields(e)
            return e.fh
        return e.f

    def is_mutating(self, e):
        return self.mutate and e.u_mutate < self.mutate_share

    def set_hostile(self, on=None, share=None):
        if on is not None:
            self.hostile = bool(on)
        if share is not None:
            self.hostile_share = float(share)
        self.epoch += 1

    # -- queries

    def match(self, pid, q, now, visible_only=True):
        """Events of project pid matching q, in the base order: occur_time
        descending, then insertion index descending (newest first)."""
        p = self.projects[pid]
        lo, hi = q.window(now)
        by_visible = self.filter_time == "visible"
        if by_visible and lo is not None:
            # visible_at >= occur_time >= visible_at - the longest delay
            lo0 = lo
            lo -= max(self.late_ms, self.late_max_ms, self.max_force_delay)
        i = 0 if lo is None else bisect.bisect_left(p.keys, (lo, -1))
        j = len(p.keys) if hi is None else bisect.bisect_right(p.keys,
                                                               (hi, INF))
        cat = q.category
        ep = q.ep
        any_ep = ep == "all_granted_eps"
        en = q.enums
        hs = en.get("handle_status")
        sev = en.get("severity")
        atag = en.get("attack_tag")
        aval = en.get("asset_value")
        attck = en.get("att_ck")
        sevl = q.severity_list
        ets = q.event_types
        ecs = q.event_class_ids
        tags = q.tag_list
        strs = q.strings
        late_on = self.late_on()
        out = []
        for e in p.events[i:j]:
            if cat is not None and e.category != cat:
                continue
            if not any_ep and e.ep != ep:
                continue
            if visible_only and (late_on or e.force_late or
                                 e.force_delay is not None) and \
                    not self.visible(e, now):
                continue
            if by_visible and lo is not None and \
                    not lo0 <= self.filter_key(e) <= hi:
                continue
            if hs is not None and e.handle_status != hs:
                continue
            if sev is not None and e.severity != sev:
                continue
            if sevl is not None and e.severity not in sevl:
                continue
            if atag is not None and e.attack_tag != atag:
                continue
            if aval is not None and e.host.asset_value != aval:
                continue
            if attck is not None and e.att_ck != attck:
                continue
            if ets is not None and e.etype[0] not in ets:
                continue
            if ecs is not None or tags is not None or strs:
                f = self.filter_fields(e)
                if ecs is not None and f["event_class_id"] not in ecs:
                    continue
                if tags is not None and not tags.intersection(f["tag_list"]):
                    continue
                ok = True
                for k, v in strs.items():
                    fv = f[k]
                    if k in SUBSTRING_FILTERS:
                        if v not in fv:
                            ok = False
                            break
                    elif fv != v:
                        ok = False
                        break
                if not ok:
                    continue
            out.append(e)
        if by_visible:
            out.sort(key=lambda e: (self.filter_key(e), e.idx))
        out.reverse()
        return out

    def event_json(self, e):
        """The event as served: hostile if it is, poisoned if it is."""
        if e.json is None or e.json_epoch != self.epoch:
            e.json = gen.body_json(e, self.is_hostile(e))
            e.json_epoch = self.epoch
        kind = self.poison_of(e)
        if kind is not None:
            return gen.poison_json(e.json, e.event_id, kind)
        return e.json

    def page_body(self, total, page):
        return b'{"total_num":%d,"data_list":[%s]}' % (
            total, b",".join(self.dense.body(e[1]) if isinstance(e, tuple)
                             else self.event_json(e) for e in page))

    def churn_step(self, pid, q, matched, now):
        """Churn "between two page requests": called for a request with
        offset > 0 before its page is computed.  Inserts churn_insert
        events inside the queried window and marks churn_handle unhandled
        events of the pages before this offset handled.  Returns what
        changed (for the request log), or {} when churn is off or spent."""
        if not self.churn or q.offset <= 0 or (
                self.churn_limit > 0 and self.churned >= self.churn_limit):
            return {}
        self.churned += 1
        rng = self.rngs["churn"]
        lo, hi = q.window(now)
        hi = now if hi is None else min(hi, now)
        lo = now - DAY_MS if lo is None else lo
        lo = min(lo, hi)
        ep = None if q.ep == "all_granted_eps" else q.ep
        cat = q.category or "host"
        ins = []
        for _ in range(self.churn_insert):
            t = lo + int(rng.random() * (hi - lo + 1))
            ins += self.new_events("churn", 1, t, pid, cat, ep, False,
                                   "churn")
        cand = [e for e in matched[:q.offset]
                if e.handle_status == "unhandled"]
        handled = []
        for e in rng.sample(cand, min(self.churn_handle, len(cand))):
            e.handle_status = "handled"
            e.handle_time = now
            e.handle_method = "mark_as_handled"
            e.handler = "secops"
            e.json = None
            handled.append(e.event_id)
        self.counters["churn_inserted"] += len(ins)
        self.counters["churn_handled"] += len(handled)
        return {"churn_inserted": [e.event_id for e in ins],
                "churn_handled": handled}

    def after_serve(self, page, now):
        """Mutations of the events just served.  Returns what changed."""
        if not self.mutate:
            return {}
        mut = []
        for e in page:
            if self.is_mutating(e):
                e.event_count += 1
                if e.handle_status == "unhandled":
                    e.handle_status = "handled"
                    e.handle_time = now
                    e.handle_method = "mark_as_handled"
                    e.handler = "auto-remediation"
                e.json = None
                mut.append(e.event_id)
        self.counters["mutations"] += len(mut)
        return {"mutated": mut} if mut else {}

    def meta(self, e, now):
        return {"event_id": e.event_id, "project_id": e.project.id,
                "category": e.category, "enterprise_project_id": e.ep,
                "occur_time": e.occur_time, "att_ck": e.att_ck,
                "late": self.is_late(e),
                "delay_ms": self.delay(e),
                "visible_at": e.occur_time + self.delay(e),
                "visible": self.visible(e, now),
                "poison": self.poison_of(e),
                "id_bytes": len(e.event_id.encode("utf-8")),
                "hostile": self.is_hostile(e),
                "mutating": self.is_mutating(e), "origin": e.origin,
                "index": e.idx}
