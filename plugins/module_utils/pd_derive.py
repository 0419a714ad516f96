# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the deploy stage (pd_deploy) works out from the inventory before it renders anything.

Pure functions over plain data; the role reaches them through the filters in plugins/filter/pd_derive.py.
The words follow docs/CONTRACTS.md: a device is one die as Kubernetes counts it (``huawei.com/Ascend910``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

import math

# Devices (dies) per node as Kubernetes counts them: 8 NPUs of one die on A2, 8 NPUs of two dies on A3.
DEVICES_PER_NODE = {'a2': 8, 'a3': 16}

MODEL_PREFIX = 'atlas_800i_'

# MindIE: Coordinator memory (MB) = body limit (MB) x max requests x 1.2; its deploy tool refuses
# less than 4Gi. The limit is the request plus a third.
COORDINATOR_MIN_GI = 4


def devices_per_node(hardware):
    """Devices of one node of the given hardware (``a2``/``a3``); ValueError for anything else."""
    try:
        return DEVICES_PER_NODE[hardware]
    except KeyError:
        raise ValueError('unknown hardware %r: use a2 or a3' % (hardware,))


def _get(mapping, key, default=None):
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def fact_models(hosts, hostvars):
    """npu_facts' model verdicts of the hosts (``a2``/``a3``/...), once each, in host order.

    Hosts whose facts were not gathered in this run have no verdict and are left out.
    """
    out = []
    for host in hosts or []:
        facts = _get(hostvars, host, {})
        model = _get(_get(_get(facts, 'ansible_facts', {}), 'ascend_npu', {}), 'model', '')
        if model:
            model = model[len(MODEL_PREFIX):] if model.startswith(MODEL_PREFIX) else model
            if model not in out:
                out.append(model)
    return out


def k8s_node_names(hosts, hostvars):
    """The Kubernetes node names of inventory hosts: host var pd_deploy_k8s_node_name, else the host's name."""
    out = []
    for host in hosts or []:
        try:
            name = hostvars[host]['pd_deploy_k8s_node_name']
        except (KeyError, TypeError):
            name = host
        out.append(name)
    return out


def gi(size):
    """'64Gi' -> 64 (sizes were checked to be whole Gi before)."""
    return int(str(size)[:-2] if str(size).endswith('Gi') else size)


def coordinator_memory(body_limit_mb, max_requests):
    """{'requests': Gi, 'limits': Gi} of the Coordinator (12Gi for 10000 requests of 1 MB)."""
    request = max(COORDINATOR_MIN_GI, int(math.ceil(int(body_limit_mb) * int(max_requests) * 1.2 / 1000)))
    return {'requests': request, 'limits': int(math.ceil(request * 4 / 3.0))}


def pod_memory(body_limit_mb, max_requests, *resources):
    """Memory of the Coordinator and of the single-machine pod that runs all three components.

    ``resources``: the Server's and the Controller's ``{requests: {memory}, limits: {memory}}``;
    in one pod their memory and the Coordinator's add up.
    """
    coordinator = coordinator_memory(body_limit_mb, max_requests)
    single = dict((kind, sum(gi(r[kind]['memory']) for r in resources) + coordinator[kind])
                  for kind in ('requests', 'limits'))
    return {'coordinator': dict((k, '%dGi' % v) for k, v in coordinator.items()),
            'single': dict((k, '%dGi' % v) for k, v in single.items())}


def image_version_label(image):
    """The image's tag (or digest) as a Kubernetes label value: at most 63 characters of [A-Za-z0-9._-],
    starting and ending with an alphanumeric; 'latest' without a tag."""
    ref = image.split('@', 1)
    if len(ref) == 2:
        tag = ref[1]
    else:
        last = image.rsplit('/', 1)[-1]
        tag = last.split(':', 1)[1] if ':' in last else 'latest'
    value = re.sub(r'[^A-Za-z0-9._-]', '_', tag)[:63]
    value = re.sub(r'^[^A-Za-z0-9]+|[^A-Za-z0-9]+$', '', value)
    return value or 'unknown'
