#!/usr/bin/env python3
"""hss-sim: generated events: deterministic for a seed (byte-identical
pages across runs), different for another seed, and covering the whole
event schema of the reference (every type, severity, status, nested list,
Unicode names, the official example's schema deviations)."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("srcdir", "."), "tools"))
from hsssim.testkit import NOW_MS, SimProc, base_args, run  # noqa: E402

N = 3000
SPAN = 7 * 86400000
ALL = {"enterprise_project_id": "all_granted_eps"}
TOP = """event_id event_class_id event_type event_name severity container_name
image_name host_name host_id private_ip public_ip os_type host_status
agent_status protect_status asset_value attack_phase attack_tag occur_time
handle_time handle_status handle_method handler operate_accept_list
operate_detail_list forensic_info geo_info malware_info network_info app_info
system_info extend_info resource_info recommendation description
event_abstract event_details tag_list event_count process_info_list
user_info_list file_info_list""".split()
RESOURCE = """domain_id project_id enterprise_project_id region_name vpc_id
cloud_id vm_name vm_uuid container_id container_status pod_uid pod_name
namespace cluster_id cluster_name image_id image_name host_attr service
micro_service sys_arch os_bit os_type os_name os_version""".split()
OPERATE = """agent_id process_pid is_parent file_hash file_path file_attr
private_ip login_ip login_user_name keyword hash""".split()
TYPES = {1001: "malware_0001", 1002: None, 1003: None, 1004: None,
         1005: None, 1006: None, 1010: None, 1011: None, 1012: None,
         1015: "webshell_0001", 1016: None, 1017: None, 2001: None, 2012: None,
         2047: None, 2048: None, 2049: None, 3002: None, 3003: None,
         3004: None, 3005: None, 3007: None, 3015: None, 3018: None,
         3026: None, 3027: None, 3029: None, 3030: None, 3031: None,
         3036: None, 4002: "login_1001", 4004: None, 4006: None, 4014: None,
         4020: None, 6002: None, 6003: None, 13001: "k8s_1001", 13002: None,
         13003: None, 13004: None}


def dump_pages(sim):
    """The raw bytes of every page of both categories."""
    pages = []
    for cat in ("host", "container"):
        off = 0
        while True:
            r = sim.events(dict(ALL, category=cat, limit=1000, offset=off))
            assert r.status == 200, r.body
            pages.append(r.body)
            off += 1000
            if off >= r.json()["total_num"]:
                break
    return pages


def sim_args(seed):
    return base_args("--events", str(N), "--now-ms", str(NOW_MS), "--seed",
                     seed, "--span", "7d")


class Generate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with SimProc(*sim_args("42")) as sim:
            cls.pages = dump_pages(sim)
            cls.events = []
            for cat in ("host", "container"):
                cls.events += [dict(e, _cat=cat) for e in
                               sim.dump(dict(ALL, category=cat))]

    def test_same_seed_identical(self):
        with SimProc(*sim_args("42")) as sim:
            self.assertEqual(dump_pages(sim), self.pages)

    def test_other_seed_differs(self):
        with SimProc(*sim_args("43")) as sim:
            other = dump_pages(sim)
        self.assertNotEqual(other, self.pages)
        ids = set()
        for p in other:
            ids |= set(re.findall(rb'"event_id":"([^"]+)"', p))
        mine = set(e["event_id"].encode() for e in self.events)
        self.assertEqual(ids & mine, set())

    def test_count_time_and_ids(self):
        evs = self.events
        self.assertEqual(len(evs), N)
        self.assertEqual(len(set(e["event_id"] for e in evs)), N)
        for e in evs:
            self.assertTrue(NOW_MS - SPAN <= e["occur_time"] <= NOW_MS)
            self.assertRegex(e["event_id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]"
                             r"{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        ts = sorted(e["occur_time"] for e in evs)
        self.assertLess(ts[0], NOW_MS - SPAN + 86400000)    # spread over span
        self.assertGreater(ts[-1], NOW_MS - 86400000)

    def test_every_field_present_somewhere(self):
        seen = set()
        for e in self.events:
            seen |= set(e)
        self.assertEqual(set(TOP) - seen, set())
        ri = self.events[0]["resource_info"]
        self.assertEqual(sorted(ri), sorted(RESOURCE))
        od = self.events[0]["operate_detail_list"][0]
        self.assertEqual(sorted(od), sorted(OPERATE))

    def test_types_classes_severities(self):
        types = {}
        for e in self.events:
            types.setdefault(e["event_type"], set()).add(e["event_class_id"])
        self.assertEqual(sorted(types), sorted(TYPES))
        for t, cid in TYPES.items():
            self.assertEqual(len(types[t]), 1, t)     # one class id per type
            if cid:
                self.assertEqual(types[t], {cid})
        self.assertEqual(set(e["severity"] for e in self.events),
                         {"Security", "Low", "Medium", "High", "Critical"})
        self.assertEqual(set(e["attack_tag"] for e in self.events),
                         {"attack_success", "attack_attempt", "attack_blocked",
                          "abnormal_behavior", "collapsible_host",
                          "system_vulnerability"})
        self.assertEqual(set(e["attack_phase"] for e in self.events),
                         {"reconnaissance", "weaponization", "delivery",
                          "exploit", "installation", "command_and_control",
                          "actions"})
        self.assertEqual(set(e["asset_value"] for e in self.events),
                         {"important", "common", "test"})

    def test_categories(self):
        host = [e for e in self.events if e["_cat"] == "host"]
        cont = [e for e in self.events if e["_cat"] == "container"]
        self.assertTrue(0.18 < len(cont) / N < 0.32, len(cont))
        for e in cont:
            self.assertIn("container_name", e)
            self.assertIn("image_name", e)
        for e in host:
            self.assertNotIn("container_name", e)
            self.assertLess(e["event_type"], 13000)
        self.assertTrue(any(e["event_type"] >= 13000 for e in cont))

    def test_handled_fields(self):
        methods = set()
        for e in self.events:
            if e["handle_status"] == "handled":
                self.assertGreaterEqual(e["handle_time"], e["occur_time"])
                methods.add(e["handle_method"])
                self.assertIsInstance(e["handler"], str)
            else:
                self.assertEqual(e["handle_status"], "unhandled")
                for k in ("handle_time", "handle_method", "handler"):
                    self.assertNotIn(k, e)
        self.assertEqual(methods, {"mark_as_handled", "ignore",
                                   "add_to_alarm_whitelist",
                                   "add_to_login_whitelist",
                                   "isolate_and_kill"})

    def test_enterprise_projects(self):
        eps = [e["resource_info"]["enterprise_project_id"] for e in self.events]
        self.assertEqual(set(eps), {"0", "ep-finance", "ep-dev"})

    def test_unicode_and_long(self):
        names = " ".join(set(e["host_name"] for e in self.events))
        self.assertRegex(names, "[\u4e00-\u9fff]")        # CJK
        self.assertRegex(names, "[\u0590-\u06ff]")        # Hebrew / Arabic
        self.assertRegex(names, "[\U0001F300-\U0001FAFF]")  # emoji
        users = set(u["user_name"] for e in self.events
                    for u in e.get("user_info_list", []))
        self.assertTrue(any(re.search("[\u4e00-\u9fff]", u) for u in users))
        self.assertTrue(any(re.search("[\u0590-\u06ff]", u) for u in users))
        self.assertTrue(any(len(e["description"].encode()) > 2000
                            for e in self.events))
        self.assertTrue(any(len(e["host_name"]) > 200 for e in self.events))

    def test_schema_deviations_of_the_example(self):
        fa = set(type(d["file_attr"]) for e in self.events
                 for d in e["operate_detail_list"])
        self.assertEqual(fa, {int, str})
        self.assertIn("", [e["extend_info"] for e in self.events])
        self.assertTrue(any(isinstance(e["extend_info"], dict)
                            for e in self.events))
        for e in self.events:
            for u in e.get("user_info_list", []):
                # seconds, not milliseconds
                self.assertLess(u["login_last_time"], 10 ** 11)
                self.assertLessEqual(u["login_last_time"],
                                     e["occur_time"] // 1000)

    def test_nested_lists(self):
        n = {k: sum(1 for e in self.events if e.get(k)) for k in
             ("process_info_list", "user_info_list", "file_info_list")}
        for k, v in n.items():
            self.assertGreater(v, 100, k)
        p = next(e["process_info_list"][0] for e in self.events
                 if "process_info_list" in e)
        for k in ("process_path", "process_cmdline", "parent_process_pid",
                  "child_process_pid", "ancestor_process_path", "escape_mode"):
            self.assertIn(k, p)


if __name__ == "__main__":
    run()
