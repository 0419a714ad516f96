# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fact sheet's test oracles (mindie-deploy-flow.md section 11) on the objects the real role renders
from our release-shaped fixture. Each test names its oracle number."""
import json
import os

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_config

MULTI = {'mindie_prefill': {'p1': {}, 'p2': {}}, 'mindie_decode': {'d1': {}, 'd2': {}},
         'mindie_control': {'cpu1': {}}}
SINGLE = {'mindie_single': {'s1': {}}}
HELPERS = ('file_utils.py', 'get_group_id.py', 'update_mindie_server_config.py', 'gen_config_single_container.py')


@pytest.fixture(scope='module', params=['multi', 'single', 'single_a3'])
def rendered(request, render):
    layout = 'multi' if request.param == 'multi' else 'single'
    extra = {'mindie_layout': layout, 'pd_deploy_hardware': 'a3' if request.param == 'single_a3' else 'a2'}
    if layout == 'multi':
        extra.update({'mindie_p_instances': 2, 'mindie_d_instances': 2})
    r = render(MULTI if layout == 'multi' else SINGLE, extra, key='oracle-' + request.param)
    assert r.rc == 0, r.output[-3000:]
    r.variant = request.param
    return r


def _deps(r):
    return {d['metadata']['name']: d for d in r.kinds('Deployment')}


def _pod(dep):
    return dep['spec']['template']['spec']


def _env(dep):
    return {e['name']: e for e in _pod(dep)['containers'][0]['env']}


def _configs(r):
    if r.variant == 'multi':
        names = {'config.json': 'mindie-server-config', 'ms_controller.json': 'mindie-ms-controller-config',
                 'ms_coordinator.json': 'mindie-ms-coordinator-config', 'http_client_ctl.json': 'mindie-http-client-ctl-config'}
        return {f: json.loads(r.get('ConfigMap', cm)['data'][f]) for f, cm in names.items()}
    data = r.get('ConfigMap', 'config-file-path')['data']
    return {f: json.loads(t) for f, t in data.items()}


def test_oracle_01_every_configmap_volume_and_subpath_exists(rendered):
    cms = {o['metadata']['name']: o for o in rendered.kinds('ConfigMap')}
    for dep in rendered.kinds('Deployment'):
        pod = _pod(dep)
        vols = {v['name']: v for v in pod['volumes']}
        for mount in pod['containers'][0]['volumeMounts']:
            vol = vols[mount['name']]
            if 'configMap' not in vol:
                continue
            name = vol['configMap']['name']
            assert name in cms, '%s mounts ConfigMap %s, which the role does not create' % (dep['metadata']['name'], name)
            assert cms[name]['metadata']['namespace'] == dep['metadata']['namespace']
            if 'subPath' in mount:
                assert mount['subPath'] in cms[name]['data'], (name, mount['subPath'])


def test_oracle_02_file_utils_next_to_every_python_helper(rendered):
    for dep in rendered.kinds('Deployment'):
        paths = [m['mountPath'] for m in _pod(dep)['containers'][0]['volumeMounts']]
        helpers = [p for p in paths if p.startswith('/mnt/configmap/') and p.rsplit('/', 1)[1] in HELPERS[1:]]
        assert helpers, '%s runs no MindIE helper' % dep['metadata']['name']
        assert '/mnt/configmap/file_utils.py' in paths and '/mnt/configmap/boot.sh' in paths


def test_oracle_03_04_server_labels_and_rings_config(rendered):
    dep = _deps(rendered)['mindie-server']
    assert 'ring-controller.atlas' in dep['metadata']['labels']
    tmpl = dep['spec']['template']['metadata']['labels']
    assert tmpl['deploy-name'] == dep['metadata']['name'] == 'mindie-server'
    assert 'ring-controller.atlas' in tmpl
    rings = rendered.get('ConfigMap', 'rings-config-' + dep['metadata']['name'])
    assert 'status' in json.loads(rings['data']['hccl.json'])
    assert set(dep['spec']['selector']['matchLabels'].items()) <= set(tmpl.items())
    assert tmpl['app'] == 'mindie-server'


def test_oracle_05_control_labels_and_service(rendered):
    if rendered.variant != 'multi':
        pytest.skip('oracle 5 is about the multi-pod Controller/Coordinator objects')
    deps = _deps(rendered)
    ctl = deps['mindie-ms-controller']['spec']['template']['metadata']['labels']
    assert ctl['app'] == 'mindie-ms-controller' and ctl['deploy-name'] == 'mindie-ms-controller'
    coord = deps['mindie-ms-coordinator']['spec']['template']['metadata']['labels']
    assert coord['app'] == 'mindie-ms-coordinator' and 'deploy-name' not in coord
    svc = rendered.kinds('Service')[0]
    assert svc['spec']['selector']['app'] == 'mindie-ms-coordinator'
    assert svc['metadata']['name'] != 'mindie-ms-coordinator'
    # Controller/Coordinator on the CPU control node: no NPU node label required
    for name in ('mindie-ms-controller', 'mindie-ms-coordinator'):
        assert 'accelerator' not in _pod(deps[name]).get('nodeSelector', {})


def test_config_files_each_pod_mounts_as_mindies_yamls(rendered):
    """Fact sheet 8 (volumes): the Coordinator also gets ms_controller.json, which its boot.sh branch
    copies into conf/ (2.5); without the mount MindIE's cp fails in the pod."""
    if rendered.variant != 'multi':
        pytest.skip('the single-machine pod takes its configs from config-file-path')
    want = {'mindie-ms-controller': {'ms_controller.json', 'http_client_ctl.json'},
            'mindie-ms-coordinator': {'ms_controller.json', 'ms_coordinator.json', 'http_client_ctl.json'},
            'mindie-server': {'config.json', 'http_client_ctl.json'}}
    for name, dep in _deps(rendered).items():
        got = {m['mountPath'].rsplit('/', 1)[1] for m in _pod(dep)['containers'][0]['volumeMounts']
               if m['mountPath'].startswith('/mnt/configmap/') and m['mountPath'].endswith('.json')}
        assert got == want[name], (name, got)


def test_oracle_06_07_npus_and_world_size(rendered):
    dep = _deps(rendered)['mindie-server']
    res = _pod(dep)['containers'][0]['resources']
    npus = int(res['requests']['huawei.com/Ascend910'])
    assert res['requests']['huawei.com/Ascend910'] == res['limits']['huawei.com/Ascend910']
    assert isinstance(res['requests']['huawei.com/Ascend910'], str)  # a quantity, as server-side apply wants
    server = _configs(rendered)['config.json']
    world = server['BackendConfig']['ModelDeployConfig']['ModelConfig'][0]['worldSize']
    assert all(len(ids) == world for ids in server['BackendConfig']['npuDeviceIds'])
    if rendered.variant == 'multi':
        assert npus == world
    else:
        # MindIE splits the pod's NPUs into instances of worldSize: at least one P and one D
        assert npus % world == 0 and npus // world >= 2
    if rendered.variant == 'single_a3':
        assert npus == 16
        assert _pod(dep)['schedulerName'] == 'volcano'
        assert _pod(dep)['nodeSelector']['accelerator-type'] == 'module-a3-16'
        assert dep['metadata']['annotations']['sp-block'] == str(npus)
    else:
        assert 'schedulerName' not in _pod(dep) and 'sp-block' not in dep['metadata'].get('annotations', {})


def test_oracle_08_09_env(rendered):
    for name, dep in _deps(rendered).items():
        env = _env(dep)
        assert env['POD_IP']['valueFrom']['fieldRef']['fieldPath'] == 'status.podIP'
        assert env['CONFIG_FROM_CONFIGMAP_PATH']['value'] == '/mnt/configmap'
        assert env['MIES_INSTALL_PATH']['value'].startswith('/usr/local/')
        if rendered.variant == 'multi':
            path = env['GLOBAL_RANK_TABLE_FILE_PATH']['value']
            assert path.endswith('/..data/global_ranktable.json')
            mounts = {m['name']: m['mountPath'] for m in _pod(dep)['containers'][0]['volumeMounts']}
            assert path.rsplit('/..data/', 1)[0] == mounts['global-ranktable']
        else:
            assert env['MINDIE_MS_GEN_SERVER_PORT']['value'] and env['CONFIG_FROM_CONFIG_FILE_PATH']['value']
        if name == 'mindie-server':
            assert env['CANN_INSTALL_PATH']['value']


def test_oracle_10_controller_status_hostpath(rendered):
    if rendered.variant != 'multi':
        pytest.skip('oracle 10 is about the multi-pod Controller')
    dep = _deps(rendered)['mindie-ms-controller']
    vols = {v['name']: v for v in _pod(dep)['volumes']}
    install = _env(dep)['MIES_INSTALL_PATH']['value']
    mounts = [m for m in _pod(dep)['containers'][0]['volumeMounts'] if 'hostPath' in vols[m['name']]]
    assert [(vols[m['name']]['hostPath']['path'], m['mountPath']) for m in mounts] == [
        ('/data/mindie-ms/status', install + '/logs')]


def test_oracle_11_19_volume_modes(rendered):
    for dep in rendered.kinds('Deployment'):
        for vol in _pod(dep)['volumes']:
            cm = vol.get('configMap')
            if not cm:
                continue
            mode = cm.get('defaultMode', 0o644)
            if cm['name'] in ('boot-bash-script', 'python-file-utils'):
                assert mode & 0o100, '%s must be executable by its owner' % cm['name']
            elif cm['name'] != 'mindie-pd-scripts':
                assert mode & ~0o640 == 0, '%s mode %o is wider than 0640' % (cm['name'], mode)


def test_oracle_12_to_16_configs_pass_the_parsers(rendered):
    configs = _configs(rendered)
    kmc = True  # the fixture renders with mindie_secret_format kmc (default)
    layout = 'multi' if rendered.variant == 'multi' else 'single'
    assert mindie2_config.check_server(configs['config.json'], kmc, single=layout == 'single') == []
    assert mindie2_config.check_controller(configs['ms_controller.json'], kmc) == []
    assert mindie2_config.check_coordinator(configs['ms_coordinator.json'], kmc) == []
    assert mindie2_config.check_http_client(configs['http_client_ctl.json'], kmc) == []
    assert mindie2_config.check_consistency(configs) == []
    ctl, coord, server = configs['ms_controller.json'], configs['ms_coordinator.json'], configs['config.json']
    assert server['ServerConfig']['inferMode'] == 'dmi' and server['ServerConfig']['distDPServerEnabled'] is False
    assert isinstance(ctl['mindie_server_port'], int) and isinstance(coord['http_config']['predict_port'], str)
    assert coord['digs_scheduler_config']['deploy_mode'] == ctl['deploy_mode']
    svc = rendered.kinds('Service')[0]
    assert str(svc['spec']['ports'][0]['targetPort']) == coord['http_config']['predict_port']


def test_oracle_18_no_host_privileges(rendered):
    for dep in rendered.kinds('Deployment'):
        pod = _pod(dep)
        assert not pod.get('hostNetwork') and not pod.get('hostPID')
        sc = pod['containers'][0]['securityContext']
        assert sc['allowPrivilegeEscalation'] is False and sc['capabilities']['drop'] == ['ALL']
        assert not sc.get('privileged')
        assert not [v for v in pod['volumes'] if 'driver' in v.get('hostPath', {}).get('path', '')]


def test_mindie_scripts_are_the_release_files(rendered):
    release = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'mindie2-release')
    cm = rendered.get('ConfigMap', 'boot-bash-script')['data']['boot.sh']
    with open(os.path.join(release, 'deploy_scripts', 'boot_helper', 'boot.sh')) as handle:
        assert cm == handle.read()
