# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory rules for playbooks and roles: the same Python the deployment_check module uses."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules


def mindie_groups_of(groups):
    """Ansible's ``groups`` -> deployment_rules' {single, prefill, decode, control: [hosts]}."""
    return dict((key, list(groups.get(name) or [])) for key, name in deployment_rules.GROUP_NAMES.items())


def mindie_hosts_in_several_groups(groups, keys=None):
    """Hosts that are in more than one of the mindie role groups (``keys``: limit to these short names)."""
    mine = mindie_groups_of(groups)
    if keys is not None:
        mine = dict((k, v) for k, v in mine.items() if k in keys)
    return sorted(h for h, names in deployment_rules.host_groups(mine).items() if len(names) > 1)


def mindie_npu_hosts(groups, layout):
    """The NPU nodes of the layout (docs/CONTRACTS.md): single = mindie_single; else the P and D nodes."""
    mine = mindie_groups_of(groups)
    return mine["single"] if layout == "single" else mine["prefill"] + mine["decode"]


def mindie_node_role(groups, host):
    """The host's role group (single, prefill, decode or control); None for a host in none of them."""
    names = deployment_rules.host_groups(mindie_groups_of(groups)).get(host) or []
    return names[0] if names else None


class FilterModule(object):
    def filters(self):
        return {"mindie_hosts_in_several_groups": mindie_hosts_in_several_groups, "mindie_npu_hosts": mindie_npu_hosts,
                "mindie_node_role": mindie_node_role}
