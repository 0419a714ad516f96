# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the deploy stage derives and checks before rendering: rules in module_utils (pd_derive, deployment_rules)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import to_nice_yaml
from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules, pd_derive


def pd_fact_models(hosts, hostvars):
    """Inventory hosts -> npu_facts' model verdicts (a2, a3, ...) gathered in this run, once each."""
    return pd_derive.fact_models(hosts, hostvars)


def pd_k8s_node_names(hosts, hostvars):
    """Inventory hosts -> Kubernetes node names (host var pd_deploy_k8s_node_name, else the host)."""
    return pd_derive.k8s_node_names(hosts, hostvars)


def pd_devices_per_node(hardware):
    """a2/a3 -> devices (dies, huawei.com/Ascend910 units) of one node."""
    try:
        return pd_derive.devices_per_node(hardware)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def pd_pod_memory(server_resources, controller_resources, body_limit_mb, max_requests):
    """{'coordinator': {requests, limits}, 'single': {requests, limits}} in Gi."""
    return pd_derive.pod_memory(body_limit_mb, max_requests, server_resources, controller_resources)


def pd_refused_sampling(sampling):
    return deployment_rules.refused_sampling(sampling)


def pd_refused_features(features, layout):
    return deployment_rules.refused_features(features, layout)


def pd_yaml_documents(objects, header_lines):
    """The objects as one multi-document YAML text, after ``header_lines`` as comments."""
    head = ''.join('# %s\n' % line for line in header_lines)
    return head + ''.join('---\n' + to_nice_yaml(obj, indent=2, sort_keys=False) for obj in objects)


def pd_image_version_label(image):
    """The image reference's tag (or digest) as a valid label value (app.kubernetes.io/version)."""
    return pd_derive.image_version_label(image)


class FilterModule(object):
    def filters(self):
        return {'pd_fact_models': pd_fact_models, 'pd_k8s_node_names': pd_k8s_node_names,
                'pd_devices_per_node': pd_devices_per_node, 'pd_pod_memory': pd_pod_memory,
                'pd_refused_sampling': pd_refused_sampling, 'pd_refused_features': pd_refused_features,
                'pd_yaml_documents': pd_yaml_documents, 'pd_image_version_label': pd_image_version_label}
