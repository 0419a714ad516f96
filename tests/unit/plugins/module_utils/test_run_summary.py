# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's account (module_utils/run_summary.py through plugins/filter/summary.py)."""
from ansible_collections.ascend.mindie.plugins.filter import summary


HOSTVARS = {
    "p1": {"mindie_node_role": "prefill", "ansible_facts": {"ascend_npu": {"model_name": "Atlas 800I A2", "npu_count": 8}},
           "mindie_stages_done": ["preflight", "roce"], "mindie_rescued_in": "roce",
           "ansible_failed_result": {"msg": "RoCE check failed (report: /tmp/job-1/mindie-reports/roce.md)"},
           "ansible_failed_task": {"name": "All NPU ports are up"}},
    "d1": {"mindie_node_role": "decode", "mindie_stages_done": ["preflight"], "mindie_rescued_in": "roce"},
    "d2": {"mindie_stages_done": ["preflight"]},
}


def test_node_rows():
    assert summary.mindie_node_rows(["p1", "d2"], HOSTVARS) == [
        "p1 (prefill): Atlas 800I A2, 8 NPU(s)", "d2 (?): not checked, ? NPU(s)"]


def test_unfinished_stages_name_the_hosts_that_fell_away():
    rows = summary.mindie_unfinished_stages(["p1", "d1", "d2"], HOSTVARS)
    assert [(r["host"], r["stage"]) for r in rows] == [("d1", "roce"), ("d2", "roce")]
    assert rows[0]["message"] == "d1 did not finish stage roce (unreachable: no result)"


def test_failed_hosts_with_task_message_and_unreachable():
    rows = summary.mindie_failed_hosts(["p1", "d1", "d2"], HOSTVARS, "roce", "job artifacts")
    assert rows == [
        {"host": "p1", "task": "All NPU ports are up", "message": "RoCE check failed (report: job artifacts)"},
        {"host": "d2", "task": "", "message": "d2 became unreachable in stage roce"}]
    # outside AWX the report path stays
    assert "/tmp/job-1/mindie-reports/roce.md" in summary.mindie_failed_hosts(["p1"], HOSTVARS, "roce")[0]["message"]
