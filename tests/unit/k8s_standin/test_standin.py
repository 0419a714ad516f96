# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API test stand-in behaves like the API server where kubernetes.core relies on it."""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

kubernetes = pytest.importorskip('kubernetes', reason='the kubernetes client drives the stand-in')
from kubernetes import config, dynamic  # noqa: E402
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, '..', '..', 'k8s_standin', 'server.py')
sys.path.insert(0, os.path.dirname(SERVER))
import server as standin  # noqa: E402

MANAGER = 'ascend.mindie'


@pytest.fixture
def api(tmp_path):
    httpd, store = standin.make_server(0, ready_delay=0.3, fail_deployments=['broken'], token='s3cr3t')
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    kubeconfig = str(tmp_path / 'kubeconfig')
    standin.write_kubeconfig(kubeconfig, httpd.server_address[1], 's3cr3t')
    client = dynamic.DynamicClient(config.new_client_from_config(kubeconfig))
    client.resources.get(api_version='v1', kind='Namespace').create(
        body={'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'ns'}})
    yield client, store, kubeconfig
    httpd.shutdown()
    httpd.server_close()


def _cm(name, data, labels=None):
    return {'apiVersion': 'v1', 'kind': 'ConfigMap',
            'metadata': {'name': name, 'namespace': 'ns', 'labels': labels or {'a': '1'}}, 'data': data}


def _dep(name, replicas=2):
    labels = {'app': name}
    return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': name, 'namespace': 'ns'},
            'spec': {'replicas': replicas, 'selector': {'matchLabels': labels},
                     'template': {'metadata': {'labels': labels},
                                  'spec': {'containers': [{'name': 'c', 'image': 'i'}]}}}}


def test_kubeconfig_is_private_and_points_at_loopback(api):
    _client, _store, kubeconfig = api
    assert oct(os.stat(kubeconfig).st_mode & 0o777) == '0o600'
    with open(kubeconfig) as handle:
        assert 'http://127.0.0.1:' in handle.read()


def test_token_is_required(api):
    _client, _store, kubeconfig = api
    with open(kubeconfig) as handle:
        server = json.load(handle)['clusters'][0]['cluster']['server']
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + '/api/v1/namespaces', timeout=5)
    assert err.value.code == 401
    req = urllib.request.Request(server + '/api/v1/namespaces', headers={'Authorization': 'Bearer s3cr3t'})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.load(resp)['items'][0]['metadata']['name'] == 'ns'


def test_server_side_apply_is_idempotent_and_tracks_changes(api):
    client, _store, _kubeconfig = api
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    first = cms.server_side_apply(body=_cm('c', {'k': 'v'}), name='c', namespace='ns', field_manager=MANAGER)
    again = cms.server_side_apply(body=_cm('c', {'k': 'v'}), name='c', namespace='ns', field_manager=MANAGER)
    assert first.metadata.resourceVersion == again.metadata.resourceVersion
    assert again.metadata.managedFields[0].manager == MANAGER
    changed = cms.server_side_apply(body=_cm('c', {'k2': 'v'}), name='c', namespace='ns', field_manager=MANAGER)
    assert changed.metadata.resourceVersion != first.metadata.resourceVersion
    # a key this manager stopped applying is removed (apply semantics, not merge)
    assert dict(changed.data) == {'k2': 'v'}
    with pytest.raises(Exception):
        cms.server_side_apply(body=_cm('c', {'k': 'v'}), name='c', namespace='ns', field_manager=None)


def test_dry_run_changes_nothing(api):
    client, _store, _kubeconfig = api
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    result = cms.server_side_apply(body=_cm('d', {'k': 'v'}), name='d', namespace='ns', field_manager=MANAGER,
                                   dry_run='All')
    assert result.data.k == 'v'
    with pytest.raises(NotFoundError):
        cms.get(name='d', namespace='ns')
    cms.create(body=_cm('d', {'k': 'v'}), namespace='ns')
    cms.delete(name='d', namespace='ns', dry_run='All')
    assert cms.get(name='d', namespace='ns').data.k == 'v'


def test_create_conflict_and_missing_namespace(api):
    client, _store, _kubeconfig = api
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    cms.create(body=_cm('x', {}), namespace='ns')
    with pytest.raises(ConflictError):
        cms.create(body=_cm('x', {}), namespace='ns')
    body = _cm('y', {})
    body['metadata']['namespace'] = 'nowhere'
    with pytest.raises(NotFoundError):
        cms.create(body=body, namespace='nowhere')


@pytest.mark.parametrize('selector, names', [
    ('a=1', ['p', 'q']), ('a==1,b=2', ['q']), ('a=1,b!=2', ['p']), ('b in (2,3)', ['q', 'r']),
    ('b notin (2)', ['p', 'r']), ('b', ['q', 'r']), ('!b', ['p']),
])
def test_label_selectors(api, selector, names):
    client, _store, _kubeconfig = api
    cms = client.resources.get(api_version='v1', kind='ConfigMap')
    cms.create(body=_cm('p', {}, {'a': '1'}), namespace='ns')
    cms.create(body=_cm('q', {}, {'a': '1', 'b': '2'}), namespace='ns')
    cms.create(body=_cm('r', {}, {'a': '0', 'b': '3'}), namespace='ns')
    found = cms.get(namespace='ns', label_selector=selector).items
    assert sorted(o.metadata.name for o in found) == names


def test_deployment_becomes_available_and_pods_follow(api):
    client, _store, _kubeconfig = api
    deps = client.resources.get(api_version='apps/v1', kind='Deployment')
    pods = client.resources.get(api_version='v1', kind='Pod')
    deps.server_side_apply(body=_dep('web'), name='web', namespace='ns', field_manager=MANAGER)
    status = deps.get(name='web', namespace='ns').status
    assert status.unavailableReplicas == 2
    assert [p.status.phase for p in pods.get(namespace='ns', label_selector='app=web').items] == ['Pending'] * 2
    time.sleep(0.4)
    dep = deps.get(name='web', namespace='ns')
    assert dep.status.availableReplicas == 2 and dep.status.observedGeneration == dep.metadata.generation
    assert [c.type for c in dep.status.conditions if c.status == 'True'] == ['Available', 'Progressing']
    assert all(p.status.containerStatuses[0].ready for p in pods.get(namespace='ns', label_selector='app=web').items)
    # a spec change bumps the generation and restarts the clock
    body = _dep('web', replicas=3)
    dep2 = deps.server_side_apply(body=body, name='web', namespace='ns', field_manager=MANAGER)
    assert dep2.metadata.generation == dep.metadata.generation + 1
    assert not deps.get(name='web', namespace='ns').status.availableReplicas


def test_failure_mode_reports_crashloop(api):
    client, _store, _kubeconfig = api
    deps = client.resources.get(api_version='apps/v1', kind='Deployment')
    pods = client.resources.get(api_version='v1', kind='Pod')
    deps.create(body=_dep('broken', replicas=1), namespace='ns')
    time.sleep(0.4)
    assert not deps.get(name='broken', namespace='ns').status.availableReplicas
    pod = pods.get(namespace='ns', label_selector='app=broken').items[0]
    assert pod.status.containerStatuses[0].state.waiting.reason == 'CrashLoopBackOff'


def test_delete_removes_pods(api):
    client, _store, _kubeconfig = api
    deps = client.resources.get(api_version='apps/v1', kind='Deployment')
    pods = client.resources.get(api_version='v1', kind='Pod')
    deps.create(body=_dep('gone', replicas=1), namespace='ns')
    deps.delete(name='gone', namespace='ns')
    assert pods.get(namespace='ns', label_selector='app=gone').items == []
    with pytest.raises(NotFoundError):
        deps.get(name='gone', namespace='ns')


def test_cli_writes_port_and_kubeconfig(tmp_path):
    port_file, kubeconfig = tmp_path / 'port', tmp_path / 'kc'
    proc = subprocess.Popen([sys.executable, SERVER, '--kubeconfig', str(kubeconfig), '--port-file', str(port_file)],
                            stderr=subprocess.PIPE)
    try:
        for _attempt in range(100):
            if port_file.exists():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        assert ('127.0.0.1:%d' % port) in kubeconfig.read_text()
        client = dynamic.DynamicClient(config.new_client_from_config(str(kubeconfig)))
        assert client.version['kubernetes']['gitVersion'].endswith('standin')
    finally:
        proc.terminate()
        proc.wait(10)
