# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's account (playbooks/tasks/publish_summary.yml and stage_failed.yml, through
plugins/filter/summary.py): one line per node, the hosts a stage failed on and why, the stages an
unreachable host never finished. Inputs are the hosts' variables as mappings."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

NODE_STAGES = ("preflight", "roce", "entropy")
_REPORT_REF = re.compile(r"[(]report: [^)]*[)]")


def _get(mapping, key, default=None):
    try:
        return mapping[key] if key in mapping else default
    except TypeError:
        return default


def node_rows(hosts, host_vars):
    """'host (role): model, N NPU(s)' per node, from the preflight facts when they were gathered."""
    rows = []
    for host, hv in zip(hosts, host_vars):
        npu = _get(_get(hv, "ansible_facts", {}) or {}, "ascend_npu", {}) or {}
        model = npu["model_name"] if "model_name" in npu else npu.get("model", "not checked")
        role = _get(hv, "mindie_node_role", "?")
        rows.append("%s (%s): %s, %s NPU(s)" % (host, role, model, npu.get("npu_count", "?")))
    return rows


def unfinished_stages(hosts, stages_done, stages=NODE_STAGES):
    """A node stage that some hosts finished and others did not failed on those others (unreachable
    hosts are not rescued: the run goes on without them)."""
    done = [list(d or []) for d in stages_done]
    ran = set(s for d in done for s in d)
    return [{"host": h, "task": "", "stage": stage,
             "message": "%s did not finish stage %s (unreachable: no result)" % (h, stage)}
            for stage in stages if stage in ran for h, d in zip(hosts, done) if stage not in d]


def failed_hosts(hosts, host_vars, stage, report_ref=""):
    """Per play host that failed in ``stage``: its task and message; a host that never reached the
    rescue was unreachable. ``report_ref`` (under AWX) replaces report paths that die with the job."""
    rows = []
    for host, hv in zip(hosts, host_vars):
        result = _get(hv, "ansible_failed_result")
        if result is not None:
            msg = str(_get(result, "msg", "unknown error"))
            if report_ref:
                msg = _REPORT_REF.sub("(report: %s)" % report_ref, msg)
            rows.append({"host": host, "task": _get(_get(hv, "ansible_failed_task", {}) or {}, "name", "?"),
                         "message": msg})
        elif _get(hv, "mindie_rescued_in", "") != stage:
            rows.append({"host": host, "task": "", "message": "%s became unreachable in stage %s" % (host, stage)})
    return rows
