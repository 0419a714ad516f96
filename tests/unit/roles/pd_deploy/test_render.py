# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render both layouts with the real role and check the properties the issue asks for."""
import json
import os
import re

import pytest
import yaml

from ansible_collections.ascend.mindie.plugins.module_utils import k8s_schema

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))

SINGLE = {'mindie_single': {'node-a': {'pd_deploy_k8s_node_name': 'atlas-a.k8s'}, 'node-b': {}}}
MULTI = {'mindie_prefill': {'p1': {}, 'p2': {}}, 'mindie_decode': {'d1': {}, 'd2': {}},
         'mindie_control': {'cpu1': {}}}
ROLE = os.path.join(REPO, 'roles', 'pd_deploy')


@pytest.fixture
def single(render):
    return render(SINGLE, {'mindie_layout': 'single', 'pd_deploy_hardware': 'a2',
                           'mindie_p_rate': 3, 'mindie_d_rate': 5}, key='single')


@pytest.fixture
def multi(render):
    return render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2',
                          'mindie_p_instances': 3, 'mindie_d_instances': 1,
                          'pd_deploy_coordinator_max_requests': 20000}, key='multi')


def _deployments(r):
    return {d['metadata']['name']: d for d in r.kinds('Deployment')}


def _container(dep):
    containers = dep['spec']['template']['spec']['containers']
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize('layout', ['single', 'multi'])
def test_render_succeeds_and_validates_strictly(request, layout):
    r = request.getfixturevalue(layout)
    assert r.rc == 0, r.output[-3000:]
    # independent re-validation of what the role wrote (Secrets redacted) for two cluster versions
    for version in ('1.30', '1.25'):
        schema, errors = k8s_schema.validate_objects(r.objects, version, strict=True)
        assert errors == [], errors


def test_single_layout_objects(single):
    deps = _deployments(single)
    assert list(deps) == ['mindie-server']
    dep = deps['mindie-server']
    assert dep['spec']['replicas'] == 2  # one complete PD service per mindie_single node
    c = _container(dep)
    assert c['args'] == ['single', 'single_container']
    env = {e['name']: e.get('value') for e in c['env']}
    assert env['MINDIE_MS_P_RATE'] == '3' and env['MINDIE_MS_D_RATE'] == '5'
    svc = single.get('Service', 'mindie-server-infer')
    assert svc['spec']['type'] == 'NodePort'
    assert svc['spec']['selector']['app'] == 'mindie-server'
    assert svc['spec']['ports'][0]['nodePort'] == 31015
    cfg = single.get('ConfigMap', 'config-file-path')['data']
    controller = json.loads(cfg['ms_controller.json'])
    assert controller['deploy_mode'] == 'pd_disaggregation_single_container'
    assert controller['http_server']['port'] == 1027  # moved off the Server's ports
    # node placement onto the inventory's nodes, honouring pd_deploy_k8s_node_name
    terms = dep['spec']['template']['spec']['affinity']['nodeAffinity'][
        'requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms']
    assert terms[0]['matchExpressions'][0]['values'] == ['atlas-a.k8s', 'node-b']


def test_multi_layout_objects(multi):
    deps = _deployments(multi)
    assert sorted(deps) == ['mindie-ms-controller', 'mindie-ms-coordinator', 'mindie-server']
    assert deps['mindie-ms-controller']['spec']['replicas'] == 1
    assert deps['mindie-ms-coordinator']['spec']['replicas'] == 1
    assert deps['mindie-server']['spec']['replicas'] == 4  # P + D
    controller = json.loads(multi.get('ConfigMap', 'mindie-ms-controller-config')['data']['ms_controller.json'])
    assert (controller['default_p_rate'], controller['default_d_rate']) == (3, 1)
    assert controller['deploy_mode'] == 'pd_separate'
    svc = multi.get('Service', 'mindie-ms-coordinator-infer')
    assert svc['spec']['selector']['app'] == 'mindie-ms-coordinator'
    assert not [s for s in multi.kinds('Service') if s['metadata']['name'] == 'mindie-ms-coordinator']
    # control pods go to mindie_control, servers to the P and D nodes

    def nodes(dep):
        return dep['spec']['template']['spec']['affinity']['nodeAffinity'][
            'requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'][0]['matchExpressions'][0]['values']
    assert nodes(deps['mindie-ms-controller']) == ['cpu1']
    assert sorted(nodes(deps['mindie-server'])) == ['d1', 'd2', 'p1', 'p2']


def test_npu_requests_equal_and_only_on_servers(single, multi):
    # quantities are strings (Kubernetes 1.20's server-side apply refuses integers)
    for r, expected in ((single, '8'), (multi, '8')):
        for name, dep in _deployments(r).items():
            res = _container(dep)['resources']
            if name == 'mindie-server':
                assert res['requests']['huawei.com/Ascend910'] == str(expected)
                assert res['limits']['huawei.com/Ascend910'] == str(expected)
            else:
                assert 'huawei.com/Ascend910' not in res.get('requests', {})
            # every container has cpu and memory requests and limits
            for part in ('requests', 'limits'):
                assert {'cpu', 'memory'} <= set(res[part])


def test_a3_gets_sixteen_npus(render):
    r = render({'mindie_single': {'n': {}}},
               {'mindie_layout': 'single', 'pd_deploy_hardware': 'a3', 'mindie_secret_format': 'plaintext'}, key='a3')
    assert r.rc == 0, r.output[-3000:]
    res = _container(r.get('Deployment', 'mindie-server'))['resources']
    assert res['requests']['huawei.com/Ascend910'] == res['limits']['huawei.com/Ascend910'] == '16'


def test_coordinator_memory_follows_request_limits(multi, single):
    res = _container(_deployments(multi)['mindie-ms-coordinator'])['resources']
    # 20000 requests x 1 MB x 1.2 = 24Gi (MindIE's tier table), limit with a third headroom
    assert res['requests']['memory'] == '24Gi' and res['limits']['memory'] == '32Gi'
    coord = json.loads(multi.get('ConfigMap', 'mindie-ms-coordinator-config')['data']['ms_coordinator.json'])
    assert coord['request_limit']['max_requests'] == 20000 and coord['request_limit']['body_limit'] == 1
    # single pod: Server 64Gi + Controller 2Gi + Coordinator 12Gi (10000 x 1 MB)
    single_res = _container(_deployments(single)['mindie-server'])['resources']
    assert single_res['requests']['memory'] == '78Gi'


def test_security_material_is_secrets_mounted_read_only(single, multi):
    for r in (single, multi):
        secrets = {s['metadata']['name']: s for s in r.kinds('Secret')}
        assert sorted(secrets) == ['mindie-pd-security-controller', 'mindie-pd-security-coordinator',
                                   'mindie-pd-security-server']
        for s in secrets.values():
            assert set(s['data']) >= {'security__ca__ca.key.pem', 'security__ca__ca_passwd.txt', 'gen_cert.json'}
        # no ConfigMap carries key material (file names or contents)
        for cm in r.kinds('ConfigMap'):
            blob = json.dumps(cm['data'])
            assert 'ca.key.pem' not in ' '.join(cm['data']) and 'ksfa' not in ' '.join(cm['data'])
            for data in r.material.values():
                assert data[-40:].decode('latin-1') not in blob
        for dep in r.kinds('Deployment'):
            spec = dep['spec']['template']['spec']
            volumes = {v['name']: v for v in spec['volumes']}
            # the serving container mounts no Secret: the CA key stays in the init container
            assert not [m for m in _container(dep)['volumeMounts'] if 'secret' in volumes[m['name']]], dep['metadata']['name']
            init = spec['initContainers']
            assert [c['name'] for c in init] == ['mindie-tls']
            assert init[0]['image'] == _container(dep)['image']
            assert init[0]['command'][-1] == '--issue-certificates' and init[0]['args'] == _container(dep)['args']
            for mount in _container(dep)['volumeMounts'] + init[0]['volumeMounts']:
                vol = volumes[mount['name']]
                if mount['name'] == 'mindie-tls':  # leaf material: memory-backed, in both containers alike
                    assert vol['emptyDir']['medium'] == 'Memory'
                    assert mount['mountPath'] in ('/usr/local/Ascend/mindie/latest/mindie-service/security',
                                                  '/usr/local/Ascend/mindie/latest/mindie-service/tools/pmt')
                if 'secret' in vol:
                    assert mount['readOnly'] is True
                    assert mount['mountPath'].startswith('/mnt/security')
                    assert vol['secret']['defaultMode'] == 0o400
                    paths = {i['key']: i['path'] for i in vol['secret']['items']}
                    assert paths['security__ca__ca.pem'] == 'security/ca/ca.pem'
                    assert paths['tools__pmt__master__ksfa'] == 'tools/pmt/master/ksfa'
                if 'configMap' in vol or 'hostPath' in vol and mount['name'] == 'model-weights':
                    assert mount.get('readOnly') is True, mount
    # multi: each component mounts only its own Secret, at exactly /mnt/security
    for name, comp in (('mindie-ms-controller', 'controller'), ('mindie-ms-coordinator', 'coordinator'),
                       ('mindie-server', 'server')):
        dep = _deployments(multi)[name]
        secret_vols = [v for v in dep['spec']['template']['spec']['volumes'] if 'secret' in v]
        assert [v['secret']['secretName'] for v in secret_vols] == ['mindie-pd-security-' + comp]
        assert [m['mountPath'] for m in dep['spec']['template']['spec']['initContainers'][0]['volumeMounts']
                if m['name'].startswith('security-')] == ['/mnt/security']
        tls_mounts = sorted((m['mountPath'], m['subPath']) for m in _container(dep)['volumeMounts'] if m['name'] == 'mindie-tls')
        assert tls_mounts == sorted((m['mountPath'], m['subPath']) for m in
                                    dep['spec']['template']['spec']['initContainers'][0]['volumeMounts']
                                    if m['name'] == 'mindie-tls') and len(tls_mounts) == 2


def test_pod_hardening(single, multi):
    for r in (single, multi):
        for dep in r.kinds('Deployment'):
            spec = dep['spec']['template']['spec']
            assert spec['automountServiceAccountToken'] is False
            assert spec['enableServiceLinks'] is False
            assert not spec.get('hostNetwork') and not spec.get('hostPID') and not spec.get('hostIPC')
            # Controller/Coordinator on the mindie_control node need no NPU node labels
            on_cpu = r is multi and dep['metadata']['name'] != 'mindie-server'
            # no empty nodeSelector: Kubernetes drops it and every server-side apply would write again
            assert spec.get('nodeSelector') == (None if on_cpu else {'accelerator': 'huawei-Ascend910'})
            sc = _container(dep)['securityContext']
            assert sc['allowPrivilegeEscalation'] is False and sc['privileged'] is False
            assert sc['capabilities'] == {'drop': ['ALL']}
            assert sc['seccompProfile'] == {'type': 'RuntimeDefault'}
            # no driver hostPath: the Ascend container runtime provides it
            for vol in spec['volumes']:
                if 'hostPath' in vol:
                    assert not vol['hostPath']['path'].startswith('/usr/local/Ascend')


def test_standard_mounts(single, multi):
    for r, model_mount in ((single, '/mnt/mindie-service/ms/model'), (multi, '/data/Qwen2-7B-Instruct')):
        dep = _deployments(r)['mindie-server']
        spec = dep['spec']['template']['spec']
        volumes = {v['name']: v for v in spec['volumes']}
        mounts = {m['mountPath']: m for m in _container(dep)['volumeMounts']}
        assert volumes[mounts['/dev/shm']['name']]['emptyDir']['medium'] == 'Memory'
        assert volumes[mounts[model_mount]['name']]['hostPath']['path'] == '/data/Qwen2-7B-Instruct'
        # multi: the global table (the Server does not mount its rings-config, MindIE's rank-table step
        # reads it); single: rings-config where gen_config_single_container.py reads it
        assert volumes[mounts['/user/serverid/devindex/config']['name']]['configMap']['name'] \
            == ('global-ranktable' if r is multi else 'rings-config-mindie-server')
    rings = multi.get('ConfigMap', 'rings-config-mindie-server')
    assert rings['metadata']['labels']['ring-controller.atlas'] == 'ascend-910b'


def test_probes_exec_the_tls_aware_probe(single, multi):
    expected = {'mindie-ms-controller': ('controller', 'controller'),
                'mindie-ms-coordinator': ('coordinator', 'coordinator'),
                'mindie-server': ('server', 'server')}
    for name, dep in _deployments(multi).items():
        c = _container(dep)
        live, ready = expected[name]
        for kind, probe in (('startup', 'startupProbe'), ('readiness', 'readinessProbe'), ('liveness', 'livenessProbe')):
            cmd = c[probe]['exec']['command']
            assert cmd[1:3] == ['/opt/ascend-mindie/pd_probe.py', kind]
            assert cmd[3] == (ready if kind == 'readiness' else live)
            assert c[probe]['timeoutSeconds'] > int({e['name']: e.get('value') for e in c['env']}['PD_PROBE_HTTP_TIMEOUT'])
        env = {e['name']: e.get('value') for e in c['env']}
        assert env['PD_TLS_ENABLED'] == 'true'
        # the trust bundle (intermediate + root) the init container wrote beside the probe's client certificate
        assert env['PD_PROBE_CA'] == '/run/ascend-mindie/probe/security/ca/ca.pem'
        assert env['PD_PORT_COORDINATOR'] == '1029' and env['PD_PORT_SERVER'] == '1026'
        assert env['PD_PORT_CONTROLLER'] == '1026'
    scripts = multi.get('ConfigMap', 'mindie-pd-scripts')['data']
    assert set(scripts) == {'pd_start.sh', 'pd_probe.py', 'mindie_gen_cert.py', 'kmc.py', 'mindie_pki.py'}
    start = scripts['pd_start.sh']
    assert 'mindie_gen_cert.py' in start and '${POD_IP},${HOST_IP}' in start
    single_c = _container(_deployments(single)['mindie-server'])
    assert single_c['livenessProbe']['exec']['command'][3] == 'controller,coordinator'


def test_labels_name_collection_run_and_instance(single, multi):
    for r in (single, multi):
        revisions = set()
        for obj in r.objects:
            labels = obj['metadata']['labels']
            assert labels['app.kubernetes.io/managed-by'] == 'ascend.mindie'
            assert labels['app.kubernetes.io/instance'] == 'mindie-pd'
            assert re.match(r'^\d+\.\d+\.\d+', labels['ascend.mindie/collection-version'])
            revisions.add(labels['ascend.mindie/revision'])
        assert len(revisions) == 1  # one run's configuration
        for dep in r.kinds('Deployment'):
            tpl = dep['spec']['template']['metadata']
            assert 'ascend.mindie/revision' not in tpl['labels']  # no restart of every pod on any change
            assert re.match(r'^[0-9a-f]{16}$', tpl['annotations']['ascend.mindie/config-hash'])
            assert dep['spec']['selector']['matchLabels'].items() <= tpl['labels'].items()


def test_revision_is_stable_and_tracks_changes(render, multi):
    again = render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2', 'mindie_p_instances': 3,
                           'mindie_d_instances': 1, 'pd_deploy_coordinator_max_requests': 20000})
    assert again.rc == 0
    rev = {o['metadata']['labels']['ascend.mindie/revision'] for o in again.objects}
    # different throwaway PKI material -> different revision; config hashes of pods change too
    assert rev != {o['metadata']['labels']['ascend.mindie/revision'] for o in multi.objects}
    # the rendering is otherwise identical (structure and non-secret data)

    def strip(objs):
        out = []
        for o in objs:
            o = json.loads(json.dumps(o))
            o['metadata']['labels'].pop('ascend.mindie/revision')
            if o['kind'] == 'Deployment':
                o['spec']['template']['metadata']['annotations'].pop('ascend.mindie/config-hash')
            out.append(o)
        return out
    assert strip(again.objects) == strip(multi.objects)


def test_tls_off_has_no_secrets_and_plain_probes(render):
    r = render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2', 'mindie_tls_enabled': False},
               pki=False, key='tls-off')
    assert r.rc == 0, r.output[-3000:]
    assert r.kinds('Secret') == []
    for dep in r.kinds('Deployment'):
        env = {e['name']: e.get('value') for e in _container(dep)['env']}
        assert env['PD_TLS_ENABLED'] == 'false'
    assert 'mindie_gen_cert.py' not in r.get('ConfigMap', 'mindie-pd-scripts')['data']
    server = json.loads(r.get('ConfigMap', 'mindie-server-config')['data']['config.json'])
    assert server['ServerConfig']['httpsEnabled'] is False


@pytest.mark.parametrize('groups, extra, message', [
    (MULTI, {'pd_deploy_service_name_multi': 'mindie-ms-coordinator'}, 'injects MINDIE_MS_COORDINATOR_PORT'),
    (MULTI, {'mindie_sampling_defaults': {'best_of': 2, 'temperature': 0.5}}, 'sets best_of'),
    (SINGLE, {'mindie_layout': 'single', 'mindie_p_rate': 2, 'mindie_d_rate': 0}, 'mindie_p_rate/mindie_d_rate = 2/0'),
    (MULTI, {'mindie_p_instances': 4, 'mindie_d_instances': 1}, 'do not fit'),
    (MULTI, {'pd_deploy_hardware': 'a3'}, 'for Atlas 800I A2 only'),
    (MULTI, {'pd_deploy_kubernetes_version': '1.21'}, 'no Kubernetes 1.21 schemas'),
    ({'mindie_prefill': {'x': {}}, 'mindie_decode': {'x': {}}}, {}, 'in several'),
])
def test_refusals(render, groups, extra, message):
    # each case is a full ansible-playbook run; keep the list to the refusals that matter most
    variables = {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2'}
    variables.update(extra)
    r = render(groups, variables)
    assert r.rc != 0
    assert message in r.output, r.output[-2000:]


def test_missing_pki_material_is_named(render):
    r = render(MULTI, {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2'}, pki=False)
    assert r.rc != 0
    assert 'components/controller/security/ca/ca.pem' in r.output
    assert 'Run the ascend.mindie.pki role first' in r.output


def test_argument_specs_mirror_defaults():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    assert set(specs['main']['options']) == set(defaults)
    assert set(specs['teardown']['options']) <= set(defaults)
    for name, spec in specs['main']['options'].items():
        value = defaults[name]
        if isinstance(value, str) and '{{' in value:
            continue  # mapped from a shared mindie_* variable
        expected = {'str': str, 'int': int, 'bool': bool, 'dict': dict, 'list': list, 'float': float}[spec['type']]
        assert isinstance(value, expected), name
