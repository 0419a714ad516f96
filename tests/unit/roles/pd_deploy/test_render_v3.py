# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pd_deploy with mindie_generation 3 (MindIE PyMotor): the real role renders upstream's Deployment-mode
objects; bad combinations are refused naming the generation and the option."""
import json

from ansible_collections.ascend.mindie.plugins.module_utils import k8s_schema
from ansible_collections.ascend.mindie.plugins.module_utils import motor_config as mc

MULTI = {'mindie_prefill': {'p1': {}, 'p2': {}}, 'mindie_decode': {'d1': {}}, 'mindie_control': {'cpu1': {}}}
V3 = {'mindie_layout': 'multi', 'pd_deploy_hardware': 'a2', 'mindie_generation': 3, 'mindie_p_instances': 2,
      'mindie_d_instances': 1, 'mindie_npus_per_instance': 2, 'mindie_image': 'mindie-motor:3.0.0b2-lab'}


def _deps(r):
    return {d['metadata']['name']: d for d in r.kinds('Deployment')}


def test_v3_objects(render):
    r = render(MULTI, V3, key='v3')
    assert r.rc == 0, r.output[-3000:]
    for version in ('1.30', '1.25'):
        _schema, errors = k8s_schema.validate_objects(r.objects, version, strict=True)
        assert errors == [], errors
    deps = _deps(r)
    assert sorted(deps) == ['mindie-motor-controller', 'mindie-motor-coordinator', 'mindie-server-d0',
                            'mindie-server-p0', 'mindie-server-p1']
    svcs = {s['metadata']['name']: s for s in r.kinds('Service')}
    assert sorted(svcs) == ['mindie-motor-controller-service', 'mindie-motor-coordinator-infer',
                            'mindie-motor-coordinator-mgmt']
    assert svcs['mindie-motor-coordinator-mgmt']['spec']['publishNotReadyAddresses'] is True
    assert 'publishNotReadyAddresses' not in svcs['mindie-motor-coordinator-infer']['spec']
    infer = svcs['mindie-motor-coordinator-infer']['spec']
    assert infer['type'] == 'NodePort' and infer['ports'][0]['nodePort'] == 31015 and infer['ports'][0]['targetPort'] == 1025
    # user_config.json in the motor-config ConfigMap is what motor_config builds, and it passes its check
    data = r.get('ConfigMap', 'motor-config')['data']
    cfg = json.loads(data['user_config.json'])
    assert mc.check_user_config(cfg) == []
    assert cfg['motor_deploy_config']['p_instances_num'] == 2 and cfg['motor_deploy_config']['hardware_type'] == '800I-A2'
    assert cfg['motor_engine_decode_config']['model_config']['decode_parallel_config']['tp_size'] == 2
    assert cfg['motor_deploy_config']['tls_config']['mgmt_tls_config']['enable_tls'] is True
    assert cfg['motor_deploy_config']['tls_config']['infer_tls_config']['enable_tls'] is False
    assert {'motor_pod.py', 'motor_config.py', 'inference_smoke.py', 'mindie_gen_cert.py'} <= set(data)

    d0 = deps['mindie-server-d0']['spec']['template']['spec']
    env = {e['name']: e.get('value') for e in d0['containers'][0]['env']}
    # one instance per pod: a replacement pod registers anew (the Controller refuses a JOB_NAME it has)
    assert env['ROLE'] == 'decode' and env['JOB_NAME'] == 'mindie-motor-$(POD_NAME)' and env['MOTOR_DEVICE_COUNT'] == '2'
    assert [e['valueFrom']['fieldRef']['fieldPath'] for e in d0['containers'][0]['env'] if e['name'] == 'POD_NAME'] == ['metadata.name']
    # a file of its own (subPath), not the ConfigMap volume's symlink: mindie-motor refuses a symlinked config
    assert env['USER_CONFIG_PATH'] == '/mnt/motor-user-config/user_config.json'
    assert {'name': 'motor-config', 'mountPath': '/mnt/motor-user-config/user_config.json', 'subPath': 'user_config.json',
            'readOnly': True} in d0['containers'][0]['volumeMounts']
    assert env['CONTROLLER_SERVICE'] == 'mindie-motor-controller-service.mindie.svc.cluster.local'
    assert env['COORDINATOR_SERVICE'] == 'mindie-motor-coordinator-mgmt.mindie.svc.cluster.local'
    assert d0['containers'][0]['resources']['limits']['huawei.com/Ascend910'] == '2'  # a quantity: string for server-side apply
    assert d0['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'][0][
        'matchExpressions'][0]['values'] == ['d1']
    p1 = deps['mindie-server-p1']['spec']['template']['spec']
    assert p1['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'][0][
        'matchExpressions'][0]['values'] == ['p1', 'p2']
    # probes on the health endpoints, through the helper that reads the readiness body
    coord = deps['mindie-motor-coordinator']['spec']['template']['spec']
    assert coord['containers'][0]['readinessProbe']['exec']['command'][-3:] == ['probe', 'coordinator', 'readiness']
    assert d0['containers'][0]['livenessProbe']['exec']['command'][-3:] == ['probe', 'nodemanager', 'liveness']


def test_v3_ca_key_only_in_init_container(render):
    """The security Secret is mounted by the init container alone; the main container gets the
    memory-backed leaf directory, read-only."""
    r = render(MULTI, V3, key='v3')
    assert r.rc == 0, r.output[-3000:]
    for name, dep in _deps(r).items():
        spec = dep['spec']['template']['spec']
        secret_vols = {v['name'] for v in spec['volumes'] if 'secret' in v}
        assert secret_vols == {'security'}, name
        main = spec['containers'][0]
        assert not {m['name'] for m in main['volumeMounts']} & secret_vols, name
        tls_mount = [m for m in main['volumeMounts'] if m['name'] == 'motor-tls'][0]
        assert tls_mount['readOnly'] is True and tls_mount['mountPath'] == mc.TLS_MOUNT
        assert [v for v in spec['volumes'] if v['name'] == 'motor-tls'][0]['emptyDir']['medium'] == 'Memory'
        init = spec['initContainers']
        assert len(init) == 1 and init[0]['image'] == main['image']
        assert 'security' in {m['name'] for m in init[0]['volumeMounts']}
        script = init[0]['command'][-1]
        assert '--format plaintext' in script and '--ip "$POD_IP"' in script
    ctl = _deps(r)['mindie-motor-controller']['spec']['template']['spec']['initContainers'][0]['command'][-1]
    assert 'mindie-motor-controller-service.mindie.svc.cluster.local' in ctl


def test_v3_refuses_kmc(render):
    r = render(MULTI, dict(V3, mindie_secret_format='kmc'))
    assert r.rc != 0
    assert "mindie_generation 3 with mindie_secret_format 'kmc'" in r.output
    assert r.objects == []  # refused before anything was rendered


def test_v3_refuses_infer_tls_and_single_layout(render):
    r = render(MULTI, dict(V3, pd_deploy_v3_infer_tls=True))
    assert r.rc != 0 and 'crash-loops' in r.output
    r = render({'mindie_single': {'n1': {}}}, dict(V3, mindie_layout='single'))
    assert r.rc != 0 and 'mindie_layout multi' in r.output


def test_v3_refuses_unknown_user_config_key(render):
    r = render(MULTI, dict(V3, pd_deploy_v3_user_config_overrides={'motor_coordinator_config': {'timeout_config': {'request_timout': 5}}}))
    assert r.rc != 0
    assert 'unknown key motor_coordinator_config.timeout_config.request_timout' in r.output
    assert r.objects == []
