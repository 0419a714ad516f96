# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RoCE mesh plan and verdict: control-node computation over module_utils/roce_plan.py (the
roce_ping module only runs pings on a node)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.mindie.plugins.module_utils import roce_plan


def roce_mesh_plan(nodes, scope="pd", pairing="same_index", generation="auto", both_directions=False,
                   intra_node=False, address_plan=None):
    """Every node's ``{host, role, ports}`` -> the pairs that must talk and each node's ping list."""
    try:
        return roce_plan.plan(list(nodes or []), scope=scope, pairing=pairing, generation=generation,
                              both_directions=bool(both_directions), intra_node=bool(intra_node),
                              address_plan_data=address_plan or None)
    except roce_plan.PlanError as exc:
        raise AnsibleFilterError(str(exc))


def roce_mesh_verdict(nodes, plan, results=None, missing_nodes=None, accept_health=("Success",), subnets=(),
                      vlan=None, require_pvid=False, check_conf=True, check_tls=True, failure_limit=25):
    """Facts, plan and ping results -> {report, markdown, failure_lines}."""
    try:
        report = roce_plan.evaluate(list(nodes or []), plan, dict(results or {}),
                                    accept_health=list(accept_health), subnets=list(subnets or []),
                                    vlan=None if vlan is None else int(vlan), require_pvid=bool(require_pvid),
                                    check_conf=bool(check_conf), check_tls=bool(check_tls),
                                    missing_nodes=dict(missing_nodes or {}))
    except (roce_plan.PlanError, KeyError) as exc:
        raise AnsibleFilterError("cannot evaluate: %s" % exc)
    return {"report": report, "markdown": roce_plan.markdown(report),
            "failure_lines": roce_plan.failure_lines(report, limit=int(failure_limit))}


class FilterModule(object):
    def filters(self):
        return {"roce_mesh_plan": roce_mesh_plan, "roce_mesh_verdict": roce_mesh_verdict}
