# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API stand-in's pods and its Ascend Operator stand-in give pd_deploy's rank-table step what a real
Ascend cluster gives it: pod IPs, and a rings-config filled for the running Server pods."""
import json
import os
import sys
import threading
import time

import pytest

kubernetes = pytest.importorskip('kubernetes', reason='the kubernetes client drives the stand-in')
from kubernetes import config, dynamic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'k8s_standin'))
import server as standin  # noqa: E402
from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_ranktable  # noqa: E402

MANAGER = 'ascend.mindie'


def _start(tmp_path, operator=True):
    httpd, store = standin.make_server(0, ready_delay=0.3, ascend_operator=operator)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    kubeconfig = str(tmp_path / 'kubeconfig')
    standin.write_kubeconfig(kubeconfig, httpd.server_address[1], None)
    client = dynamic.DynamicClient(config.new_client_from_config(kubeconfig))
    client.resources.get(api_version='v1', kind='Namespace').create(
        body={'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'ns'}})
    return httpd, client


@pytest.fixture
def api(tmp_path):
    httpd, client = _start(tmp_path)
    yield client
    httpd.shutdown()
    httpd.server_close()


def _dep(name, replicas, npus, app=None, ring=True, image='i'):
    labels = {'app': app or name, 'deploy-name': name}
    meta = {'name': name, 'namespace': 'ns', 'labels': {'ring-controller.atlas': 'ascend-910b'} if ring else {}}
    limits = {'huawei.com/Ascend910': str(npus)} if npus else {}
    return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': meta,
            'spec': {'replicas': replicas, 'selector': {'matchLabels': labels},
                     'template': {'metadata': {'labels': labels},
                                  'spec': {'containers': [{'name': 'c', 'image': image,
                                                           'resources': {'limits': limits}}]}}}}


def _rings(client, name='rings-config-mindie-server'):
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    return cms.get(name=name, namespace='ns')


def _seed(client, name='rings-config-mindie-server'):
    client.resources.get(api_version='v1', kind='ConfigMap').create(
        body={'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': name, 'namespace': 'ns'},
              'data': {'hccl.json': json.dumps({'status': 'initializing'})}}, namespace='ns')


def _pods(client, app):
    return client.resources.get(api_version='v1', kind='Pod').get(namespace='ns', label_selector='app=' + app).items


def test_running_pods_have_their_own_ip_on_a_node(api):
    deps = api.resources.get(api_version='apps/v1', kind='Deployment')
    deps.server_side_apply(body=_dep('web', 2, 0), name='web', namespace='ns', field_manager=MANAGER)
    pending = _pods(api, 'web')
    assert [p.status.podIP for p in pending] == [None, None]  # no IP before the pod runs
    assert all(p.spec.nodeName and p.status.hostIP for p in pending)
    time.sleep(0.4)
    running = _pods(api, 'web')
    ips = [p.status.podIP for p in running]
    assert len(set(ips)) == 2 and not set(ips) & {p.status.hostIP for p in running}
    assert ips == [p.status.podIP for p in _pods(api, 'web')]  # stable while the pod lives
    # a new template means new pods, and new pods get new IPs
    deps.server_side_apply(body=_dep('web', 2, 0, image='j'), name='web', namespace='ns', field_manager=MANAGER)
    time.sleep(0.4)
    assert not set(ips) & {p.status.podIP for p in _pods(api, 'web')}


def test_operator_fills_rings_config_once_the_servers_run(api):
    deps = api.resources.get(api_version='apps/v1', kind='Deployment')
    _seed(api)
    deps.server_side_apply(body=_dep('mindie-server', 2, 8), name='mindie-server', namespace='ns',
                           field_manager=MANAGER)
    for name, app in (('mindie-ms-controller', None), ('mindie-ms-coordinator', None)):
        deps.server_side_apply(body=_dep(name, 1, 0, app, ring=False), name=name, namespace='ns',
                               field_manager=MANAGER)
    assert json.loads(_rings(api).data['hccl.json']) == {'status': 'initializing'}
    time.sleep(0.4)
    cm = _rings(api)
    table = json.loads(cm.data['hccl.json'])
    servers = _pods(api, 'mindie-server')
    assert table['status'] == 'completed' and table['server_count'] == '2'
    assert sorted(s['container_ip'] for s in table['server_list']) == sorted(p.status.podIP for p in servers)
    assert {s['server_id'] for s in table['server_list']} == {p.status.hostIP for p in servers}
    assert all(len(s['device']) == 8 for s in table['server_list'])
    # the collection's rank-table builder accepts it for the running pods
    pods = [api.client.sanitize_for_serialization(p.to_dict()) for p in
            api.resources.get(api_version='v1', kind='Pod').get(namespace='ns').items]
    built = mindie2_ranktable.build(cm.data, pods, 'mindie-server', 'mindie-ms-controller', 'mindie-ms-coordinator')
    assert [g['group_id'] for g in built['server_group_list']] == ['2', '1', '0']
    # nothing changed: the operator leaves the ConfigMap alone (same resourceVersion)
    assert _rings(api).metadata.resourceVersion == cm.metadata.resourceVersion


def test_operator_only_fills_an_existing_configmap_of_a_labelled_npu_deployment(api):
    deps = api.resources.get(api_version='apps/v1', kind='Deployment')
    deps.create(body=_dep('mindie-server', 1, 8), namespace='ns')
    deps.create(body=_dep('plain', 1, 8, ring=False), namespace='ns')
    _seed(api, 'rings-config-plain')
    time.sleep(0.4)
    cms = api.resources.get(api_version='v1', kind='ConfigMap').get(namespace='ns').items
    assert [c.metadata.name for c in cms] == ['rings-config-plain']  # never created by the operator
    assert json.loads(cms[0].data['hccl.json']) == {'status': 'initializing'}  # not labelled: not its business


def test_operator_can_be_switched_off(tmp_path):
    httpd, client = _start(tmp_path, operator=False)
    try:
        _seed(client)
        client.resources.get(api_version='apps/v1', kind='Deployment').create(
            body=_dep('mindie-server', 1, 8), namespace='ns')
        time.sleep(0.4)
        assert json.loads(_rings(client).data['hccl.json']) == {'status': 'initializing'}
    finally:
        httpd.shutdown()
        httpd.server_close()
