# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness of the deployed objects, for the deploy stage's waits (rules in module_utils/k8s_status.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ascend.mindie.plugins.module_utils import k8s_status


def pd_expected_deployments(objects, components):
    return k8s_status.expected_deployments(objects, list(components or []))


def pd_not_available(deployments, expected):
    return k8s_status.not_available(deployments, list(expected or []))


def pd_pods_not_ready(pods, events=None):
    return k8s_status.pods_not_ready(pods, events or [])


def pd_object_refs(resources):
    return k8s_status.object_refs(resources)


def pd_node_states(results):
    """k8s_info results looped over node names -> {node: state in words}."""
    return dict((r["item"], k8s_status.node_state((r.get("resources") or [{}])[0])) for r in results or [])


def pd_stuck_pods(pods, node_states):
    return k8s_status.stuck_pod_lines(pods, dict(node_states or {}))


def pd_secret_data(slurped):
    return k8s_status.secret_data(slurped)


def pd_secret_items(data):
    return k8s_status.secret_items(data)


class FilterModule(object):
    def filters(self):
        return {"pd_expected_deployments": pd_expected_deployments, "pd_not_available": pd_not_available,
                "pd_pods_not_ready": pd_pods_not_ready, "pd_object_refs": pd_object_refs,
                "pd_node_states": pd_node_states, "pd_stuck_pods": pd_stuck_pods, "pd_secret_data": pd_secret_data,
                "pd_secret_items": pd_secret_items}
