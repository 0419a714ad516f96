# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST STAND-IN for the Ascend Operator's rank-table part, inside the Kubernetes API stand-in.

On a real Ascend cluster the Ascend Operator (MindCluster) fills ``rings-config-<Deployment>``
(key ``hccl.json``) for Deployments labelled ``ring-controller.atlas`` that request
``huawei.com/Ascend910``, once their pods run; pd_deploy's multi-machine layout waits for that table
(roles/pd_deploy/tasks/ranktable.yml). The API stand-in has no operator, so it runs this one: the
table itself comes from the lab's operator stand-in (tests/lab/ascend_operator_standin.build_hccl,
the one copy of the hccl.json format in the tests); only the invented nodes and their NPUs are
described here. Like the real component it never creates the ConfigMap, it only fills one that
exists, and it rewrites it only when the table changes (new ``version`` timestamp then).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lab'))
from ascend_operator_standin import LABEL, build_hccl, _npus  # noqa: E402  pylint: disable=import-error

MANAGER = 'ascend-operator-standin'
NPUS_PER_NODE = 16  # an Atlas 800I A3 node; A2 has 8 (enough ports for either request)


def node_ports(pods):
    """node name -> [(phy_id, NPU device IP)] for the nodes the pods run on (the stand-in's invented
    ``standin-node-<i>``), as the device plugin reports a node's NPUs."""
    out = {}
    for node in sorted({(p.get('spec') or {}).get('nodeName') for p in pods} - {None}):
        n = int(node.rsplit('-', 1)[1])
        out[node] = [(phy, '198.19.%d.%d' % (200 + n, phy + 1)) for phy in range(NPUS_PER_NODE)]
    return out


def sync(store):
    """One operator pass over the stand-in's stored Deployments; returns the ConfigMaps it wrote."""
    written = []
    for (plural, ns, name), dep in sorted(store.objects.items()):
        if plural != 'deployments' or LABEL not in (dep['metadata'].get('labels') or {}):
            continue
        if not _npus(dep['spec']['template']['spec']):
            continue
        cm_key = ('configmaps', ns, 'rings-config-' + name)
        if cm_key not in store.objects:
            continue  # the real component waits for the user to create it
        pods = store.pods(ns)
        text = json.dumps(build_hccl(dep, pods, node_ports(pods)), sort_keys=True)
        if (store.objects[cm_key].get('data') or {}).get('hccl.json') != text:
            store.merge('configmaps', ns, cm_key[2], {'data': {'hccl.json': text, 'version': str(int(time.time()))}},
                        MANAGER, False)
            written.append('%s/%s' % (ns, cm_key[2]))
    return written
