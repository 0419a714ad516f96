# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""'A node is in one mindie group only' has one home (deployment_rules.host_groups); the playbooks call it
through the filter, and no task writes the rule again."""
import glob
import os

from ansible_collections.ascend.mindie.plugins.filter.inventory import (
    mindie_hosts_in_several_groups, mindie_node_role, mindie_npu_hosts)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_hosts_in_several_groups():
    groups = {"all": ["a", "b", "c"], "mindie_prefill": ["a", "b"], "mindie_decode": ["b"],
              "mindie_control": ["a"], "other": ["c"]}
    assert mindie_hosts_in_several_groups(groups) == ["a", "b"]
    assert mindie_hosts_in_several_groups(groups, ["single", "prefill", "decode"]) == ["b"]
    assert mindie_hosts_in_several_groups({"mindie_single": ["a"]}) == []


def test_npu_hosts_and_node_role_follow_the_layout():
    groups = {"mindie_single": ["s1"], "mindie_prefill": ["p1", "p2"], "mindie_decode": ["d1"], "mindie_control": ["c1"]}
    assert mindie_npu_hosts(groups, "single") == ["s1"]
    assert mindie_npu_hosts(groups, "multi") == ["p1", "p2", "d1"]
    assert mindie_npu_hosts({}, "multi") == [] and mindie_npu_hosts({}, "") == []
    assert [mindie_node_role(groups, h) for h in ("s1", "p2", "d1", "c1", "x")] == \
        ["single", "prefill", "decode", "control", None]


def test_no_task_file_writes_the_rule_again():
    files = glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))
    offenders = []
    for path in files:
        with open(path) as handle:
            text = handle.read()
        # the hand-written idioms the rule used to take: counting a host in a concatenated group list
        if "select('equalto', h" in text or "| unique | length" in text and "mindie_prefill" in text:
            offenders.append(os.path.relpath(path, ROOT))
    assert not offenders, offenders
