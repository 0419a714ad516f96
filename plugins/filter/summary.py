# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's account for publish_summary.yml and stage_failed.yml (rules in module_utils/run_summary.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ascend.mindie.plugins.module_utils import run_summary


def mindie_node_rows(hosts, hostvars):
    hosts = list(hosts or [])
    return run_summary.node_rows(hosts, [hostvars[h] for h in hosts])


def mindie_unfinished_stages(hosts, hostvars):
    hosts = list(hosts or [])
    return run_summary.unfinished_stages(hosts, [run_summary._get(hostvars[h], "mindie_stages_done", []) for h in hosts])


def mindie_failed_hosts(hosts, hostvars, stage, report_ref=""):
    hosts = list(hosts or [])
    return run_summary.failed_hosts(hosts, [hostvars[h] for h in hosts], stage, report_ref or "")


class FilterModule(object):
    def filters(self):
        return {"mindie_node_rows": mindie_node_rows, "mindie_unfinished_stages": mindie_unfinished_stages,
                "mindie_failed_hosts": mindie_failed_hosts}
