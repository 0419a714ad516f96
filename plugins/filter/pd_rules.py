# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deployment rules for templates and tasks: the same Python the preflight module uses."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules, mindie2_ranktable


def pd_single_sizing(node_npus, npus_per_instance, p_rate, d_rate):
    try:
        return deployment_rules.single_machine_sizing(node_npus, npus_per_instance, p_rate, d_rate)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def pd_server_slots(node_npus, npus_per_pod):
    return deployment_rules.server_slots([int(n) for n in node_npus], int(npus_per_pod))


def pd_rings_completed(rings_data):
    """rings-config-<server> data holds an hccl.json with status completed."""
    return mindie2_ranktable.parse_rings(rings_data) is not None


def pd_global_ranktable(pods, rings_data, server_app, controller_app, coordinator_app):
    try:
        return mindie2_ranktable.build(rings_data, pods, server_app, controller_app, coordinator_app)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def pd_global_ranktable_problem(pods, rings_data, server_app, controller_app, coordinator_app):
    """Why the table cannot be built yet ('' when it can)."""
    try:
        mindie2_ranktable.build(rings_data, pods or [], server_app, controller_app, coordinator_app)
    except ValueError as exc:
        return str(exc)
    return ''


def pd_object_clashes(existing, planned, instance):
    return deployment_rules.object_clashes(planned, existing or [], instance)


class FilterModule(object):
    def filters(self):
        return {'pd_single_sizing': pd_single_sizing, 'pd_server_slots': pd_server_slots,
                'pd_global_ranktable': pd_global_ranktable, 'pd_rings_completed': pd_rings_completed,
                'pd_global_ranktable_problem': pd_global_ranktable_problem, 'pd_object_clashes': pd_object_clashes}
