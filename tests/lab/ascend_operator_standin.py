#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST STAND-IN for the Ascend Operator's rank-table part (MindCluster), for the lab's real control plane.

What the real component does for a plain Deployment (fact sheet mindie-deploy-flow.md section 4.1),
and what this stand-in does the same way:

- only Deployments whose metadata carries the label key ``ring-controller.atlas`` and that request
  ``huawei.com/Ascend910``;
- pods are mapped to the Deployment by the pod label ``deploy-name`` = Deployment name;
- it never creates ``rings-config-<name>``: the ConfigMap must exist in the same namespace;
- ``hccl.json`` becomes ``completed`` only when every replica has a running pod with an IP; until
  then it stays ``initializing``; fields ``status``, ``server_list`` [{``server_id``, ``container_ip``,
  ``device`` [{``device_id``, ``device_ip``, ``rank_id``}]}], ``server_count`` (string), ``version``;
  the ConfigMap key ``version`` carries a timestamp.

Where it differs (no NPU hardware in the lab): devices come from the lab node's NPU ports (the
profile's ``phy_id`` and fabric ``address``) instead of the device plugin's pod annotation; pods on
one node get consecutive device ids in pod-name order; ``server_id`` is the pod's host IP.

The lab runs it beside its control plane (``atlas_lab.py up --k8s`` starts it, ``down`` stops it; log in
``/var/lib/ascend-lab/<ID>/ascend-operator.log``), as a real Ascend cluster runs the component.
Usage: python3 tests/lab/ascend_operator_standin.py --lab-id ID [--kubeconfig PATH] [--once]
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NPU = 'huawei.com/Ascend910'
LABEL = 'ring-controller.atlas'


def _npus(pod_spec):
    total = 0
    for container in pod_spec.get('containers') or []:
        limits = (container.get('resources') or {}).get('limits') or {}
        total += int(limits.get(NPU, 0) or 0)
    return total


def build_hccl(deployment, pods, node_ports):
    """hccl.json content for one Deployment; node_ports: node name -> [(phy_id, address)] sorted."""
    name = deployment['metadata']['name']
    replicas = int((deployment.get('spec') or {}).get('replicas', 1))
    mine = []
    for pod in pods:
        meta, status = pod.get('metadata') or {}, pod.get('status') or {}
        if (meta.get('labels') or {}).get('deploy-name') != name or meta.get('deletionTimestamp'):
            continue
        if status.get('phase') == 'Running' and status.get('podIP') and (pod.get('spec') or {}).get('nodeName'):
            mine.append(pod)
    if len(mine) < replicas or replicas == 0:
        return {'status': 'initializing'}
    mine.sort(key=lambda p: p['metadata']['name'])
    used = {}
    servers = []
    for rank_index, pod in enumerate(mine[:replicas]):
        node = pod['spec']['nodeName']
        count = _npus(pod['spec'])
        ports = node_ports.get(node) or []
        start = used.get(node, 0)
        if start + count > len(ports):
            return {'status': 'initializing'}  # the real component waits for the device plugin too
        used[node] = start + count
        devices = [{'device_id': str(phy), 'device_ip': address, 'rank_id': str(rank_index * count + i)}
                   for i, (phy, address) in enumerate(ports[start:start + count])]
        servers.append({'server_id': pod['status'].get('hostIP') or node, 'container_ip': pod['status']['podIP'],
                        'device': devices})
    return {'status': 'completed', 'server_list': servers, 'server_count': str(len(servers)), 'version': '1.0'}


def lab_node_ports(lab_id):
    sys.path.insert(0, HERE)
    import atlas_lab  # noqa: E402  (the lab's own module: profiles and fabric addresses)
    lab = atlas_lab.Lab(lab_id)
    state = lab.load()
    out = {}
    for node in state['nodes']:
        doc = atlas_lab.node_doc(state, node)
        out[node['name']] = sorted((int(p['phy_id']), p['address']) for p in doc['ports'] if p.get('address'))
    return out


def sync_once(core, apps, node_ports):
    """One pass over every labelled Deployment; returns the names whose table changed."""
    changed = []
    for dep in apps.list_deployment_for_all_namespaces(label_selector=LABEL).items:
        dep = dep.to_dict()
        dep = json.loads(json.dumps(dep, default=str))
        ns, name = dep['metadata']['namespace'], dep['metadata']['name']
        template = dep['spec']['template']['spec']
        if not _npus({'containers': [{'resources': c.get('resources') or {}} for c in template.get('containers') or []]}):
            continue
        try:
            cm = core.read_namespaced_config_map('rings-config-' + name, ns)
        except Exception:  # noqa  (404: the real component also waits for the user to create it)
            continue
        pods = [json.loads(json.dumps(p.to_dict(), default=str)) for p in core.list_namespaced_pod(ns).items]
        pods = [_camel(p) for p in pods]
        table = build_hccl(dep, pods, node_ports)
        text = json.dumps(table, sort_keys=True)
        if (cm.data or {}).get('hccl.json') != text:
            core.patch_namespaced_config_map('rings-config-' + name, ns,
                                             {'data': {'hccl.json': text, 'version': str(int(time.time()))}})
            changed.append('%s/%s:%s' % (ns, name, table['status']))
    return changed


def _camel(pod):
    """The client's to_dict() uses snake_case; build_hccl reads the API's field names."""
    return {'metadata': {'name': pod['metadata']['name'], 'labels': pod['metadata'].get('labels') or {},
                         'deletionTimestamp': pod['metadata'].get('deletion_timestamp')},
            'spec': {'nodeName': pod['spec'].get('node_name'),
                     'containers': [{'resources': c.get('resources') or {}} for c in pod['spec'].get('containers') or []]},
            'status': {'phase': pod['status'].get('phase'), 'podIP': pod['status'].get('pod_ip'),
                       'hostIP': pod['status'].get('host_ip')}}


def start(lab_id, lab_dir):
    """Run the stand-in for the lab's control plane in the background, as the cluster's Ascend
    component runs beside a real control plane (atlas_lab.py up --k8s); returns its pid. Its command line
    names the lab's k8s dir (the admin kubeconfig), so the control plane's down stops it with the rest."""
    kubeconfig = os.path.join(lab_dir, 'k8s', 'admin.kubeconfig')
    with open(os.path.join(lab_dir, 'ascend-operator.log'), 'ab') as logf:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--lab-id', lab_id,
                                 '--kubeconfig', kubeconfig], stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf, start_new_session=True, close_fds=True)
    return proc.pid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lab-id', required=True)
    parser.add_argument('--kubeconfig')
    parser.add_argument('--once', action='store_true')
    parser.add_argument('--interval', type=float, default=2.0)
    args = parser.parse_args(argv)
    from kubernetes import client, config
    kubeconfig = args.kubeconfig or '/var/lib/ascend-lab/%s/k8s/admin.kubeconfig' % args.lab_id
    config.load_kube_config(kubeconfig)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    node_ports = lab_node_ports(args.lab_id)
    while True:
        for item in sync_once(core, apps, node_ports):
            print('ascend-operator stand-in: rings-config for %s' % item, flush=True)
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == '__main__':
    sys.exit(main())
