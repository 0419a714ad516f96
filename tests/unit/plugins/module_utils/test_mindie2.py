# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MindIE 2.x material: release reading, config checks (fact sheet section 6), rank table, sizing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os
import shutil
import subprocess
import zipfile

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules as rules
from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_config as cfg
from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_ranktable as rt
from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_release as rel

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
RELEASE = os.path.join(REPO, 'tests', 'fixtures', 'mindie2-release')
HELPERS = {'multi': ['boot_helper/boot.sh', 'utils/file_utils.py', 'boot_helper/get_group_id.py',
                     'boot_helper/update_mindie_server_config.py'],
           'single': ['boot_helper/boot.sh', 'utils/file_utils.py', 'boot_helper/gen_config_single_container.py']}


@pytest.fixture
def release(tmp_path):
    root = tmp_path / 'release'
    shutil.copytree(RELEASE, str(root))
    return root


# ---------------------------------------------------------------- release material

@pytest.mark.parametrize('layout', ['multi', 'single'])
def test_release_tree_gives_every_helper_and_config(layout, release):
    out = rel.read_release(str(release), layout)
    keys = {k for data in out['scripts'].values() for k in data}
    assert keys == {os.path.basename(h) for h in HELPERS[layout]}
    assert out['scripts']['boot-bash-script']['boot.sh'] == (release / 'deploy_scripts/boot_helper/boot.sh').read_text()
    assert set(out['configs']) == set(rel.CONFIG_FILES)
    assert out['sources']['config.json'].endswith('mindie-llm/conf/config.json')


@pytest.mark.parametrize('layout', ['multi', 'single'])
def test_each_missing_helper_is_named(layout, release):
    for helper in HELPERS[layout]:
        path = release / 'deploy_scripts' / helper
        saved = path.read_bytes()
        path.unlink()
        with pytest.raises(rel.ReleaseError, match=helper.replace('.', r'\.')):
            rel.read_release(str(release), layout)
        path.write_bytes(saved)


@pytest.mark.parametrize('name', rel.CONFIG_FILES)
def test_missing_config_base_is_named(name, release):
    for path in release.rglob(name):
        path.unlink()
    with pytest.raises(rel.ReleaseError, match='no %s' % name.replace('.', r'\.')):
        rel.read_release(str(release), 'multi')


def test_deploy_scripts_conf_wins_and_bad_json_is_named(release):
    conf = release / 'deploy_scripts' / 'conf'
    conf.mkdir()
    (conf / 'ms_controller.json').write_text('{"deploy_mode": "pd_separate"')
    with pytest.raises(rel.ReleaseError, match='deploy_scripts/conf/ms_controller.json is not valid JSON'):
        rel.read_release(str(release), 'multi')


def test_unreadable_helper_is_named(release):
    if os.getuid() == 0:
        pytest.skip('root reads mode-000 files; the unreadable case cannot be built as root')
    path = release / 'deploy_scripts/boot_helper/get_group_id.py'
    path.chmod(0)
    with pytest.raises(rel.ReleaseError, match='cannot read .*get_group_id.py'):
        rel.read_release(str(release), 'multi')


def test_no_deploy_scripts_and_two_deploy_scripts(tmp_path, release):
    with pytest.raises(rel.ReleaseError, match='no MindIE deploy_scripts'):
        rel.read_release(str(tmp_path / 'release' / 'mindie-llm'), 'multi')
    shutil.copytree(str(release / 'deploy_scripts'), str(release / 'other' / 'deploy_scripts'))
    with pytest.raises(rel.ReleaseError, match='several deploy_scripts'):
        rel.read_release(str(release), 'multi')


def test_wheel_layout(tmp_path):
    # the wheel puts deploy_scripts under mindie_motor/examples/kubernetes_deploy_scripts and the
    # configuration under mindie_motor/conf (MindIE-Motor setup.py); config.json comes from mindie_llm
    wheel = tmp_path / 'mindie_motor-2.3.0-py3-none-linux_aarch64.whl'
    with zipfile.ZipFile(str(wheel), 'w') as archive:
        for dirpath, _dirs, files in os.walk(os.path.join(RELEASE, 'deploy_scripts')):
            for name in files:
                full = os.path.join(dirpath, name)
                archive.write(full, 'mindie_motor/examples/kubernetes_deploy_scripts/' +
                              os.path.relpath(full, os.path.join(RELEASE, 'deploy_scripts')))
        for name in ('ms_controller.json', 'ms_coordinator.json', 'http_client_ctl.json'):
            archive.write(os.path.join(RELEASE, 'mindie-service/conf', name), 'mindie_motor/conf/' + name)
        archive.write(os.path.join(RELEASE, 'mindie-llm/conf/config.json'), 'mindie_llm/conf/config.json')
    work = tmp_path / 'work'
    work.mkdir()
    root = rel.extract(str(wheel), str(work))
    out = rel.read_release(root, 'multi')
    assert out['deploy_scripts'].endswith('mindie_motor/examples/kubernetes_deploy_scripts')
    assert out['sources']['ms_controller.json'].endswith('mindie_motor/conf/ms_controller.json')


def test_run_package_is_extracted_with_its_own_extract(tmp_path):
    # a self-extracting stand-in: it answers only --extract=<dir>, like the Ascend .run packages
    payload = tmp_path / 'payload.tar'
    subprocess.check_call(['tar', '-C', RELEASE, '-cf', str(payload), '.'])
    run = tmp_path / 'Ascend-mindie-service_2.1.RC1_linux-aarch64.run'
    run.write_bytes(b'#!/bin/bash\ncase "$1" in --extract=*) d="${1#--extract=}";; *) echo "usage" >&2; exit 2;; esac\n'
                    b'line=$(grep -a -n -m1 "^__PAYLOAD__$" "$0" | cut -d: -f1)\n'
                    b'tail -n +$((line + 1)) "$0" | tar -C "$d" -xf -\n'
                    b'exit $?\n__PAYLOAD__\n' + payload.read_bytes())
    work = tmp_path / 'work'
    work.mkdir()
    root = rel.extract(str(run), str(work))
    assert rel.read_release(root, 'single')['scripts']['boot-bash-script']
    broken = tmp_path / 'broken.run'
    broken.write_text('#!/bin/bash\necho "not a package" >&2\nexit 3\n')
    with pytest.raises(rel.ReleaseError, match=r'broken\.run --extract=.*failed \(rc 3\): not a package'):
        rel.extract(str(broken), str(tmp_path / 'work2'))


def test_missing_release_path_is_named(tmp_path):
    with pytest.raises(rel.ReleaseError, match='does not exist'):
        rel.extract(str(tmp_path / 'nope.run'), str(tmp_path))


# ---------------------------------------------------------------- configuration checks

def _bases():
    return rel.read_release(RELEASE, 'multi')['configs']


def test_fixture_bases_pass_every_check():
    configs, errors = cfg.build_and_check(_bases(), {}, {}, kmc=True, layout='multi')
    assert errors == [
        "config.json: ServerConfig.inferMode: 'standard' is not one of dmi"]  # the shipped default; the role sets dmi


REQUIRED = [
    ('ms_controller.json', 'deploy_mode'), ('ms_controller.json', 'role_decision_methods'),
    ('ms_controller.json', 'transfer_type'), ('ms_controller.json', 'scaling_rule_file_path'),
    ('ms_controller.json', 'http_server.port'), ('ms_controller.json', 'mindie_server_control_port'),
    ('ms_controller.json', 'digs_periodic_role_decision.role_decision_time_period'),
    ('ms_controller.json', 'tls_config.request_server_tls_enable'),
    ('ms_controller.json', 'tls_config.http_server_tls_items.kmc_ksf_master'),
    ('ms_coordinator.json', 'http_config.predict_port'), ('ms_coordinator.json', 'request_limit.body_limit'),
    ('ms_coordinator.json', 'tls_config.mindie_mangment_tls_enable'),
    ('ms_coordinator.json', 'tls_config.status_tls_items.kmcKsfStandby'),
    ('ms_coordinator.json', 'digs_scheduler_config.max_res_num'), ('ms_coordinator.json', 'string_token_rate'),
    ('http_client_ctl.json', 'cert.tls_passwd'), ('http_client_ctl.json', 'tls_enable'),
    ('config.json', 'ServerConfig.e2eTimeout'), ('config.json', 'ServerConfig.distDPServerEnabled'),
    ('config.json', 'BackendConfig.ScheduleConfig.supportSelectBatch'),
    ('config.json', 'BackendConfig.ModelDeployConfig.maxInputTokenLen'),
]


def _drop(data, path):
    node = data
    parts = path.split('.')
    for part in parts[:-1]:
        node = node[part]
    del node[parts[-1]]


@pytest.mark.parametrize('name,key', REQUIRED)
def test_missing_key_is_named(name, key):
    bases = _bases()
    bases['config.json']['ServerConfig']['inferMode'] = 'dmi'
    _drop(bases[name], key)
    _configs, errors = cfg.build_and_check(bases, {}, {}, kmc=True, layout='multi')
    assert errors and all(e.startswith('%s: %s' % (name, key)) for e in errors), errors
    assert 'missing' in errors[0]


@pytest.mark.parametrize('name,key,value,why', [
    ('ms_controller.json', 'mindie_server_port', '1025', 'a JSON integer'),
    ('ms_coordinator.json', 'http_config.manage_port', 1026, 'a string of digits'),
    ('ms_controller.json', 'http_server.port', 80, 'outside'),
    ('ms_controller.json', 'deploy_mode', 'pd', 'not one of'),
    ('ms_controller.json', 'default_p_rate', 2, 'both 0'),
    ('config.json', 'ServerConfig.httpsEnabled', 'true', 'a JSON boolean'),
    ('config.json', 'ServerConfig.distDPServerEnabled', True, 'must be false'),
])
def test_mistyped_key_is_named(name, key, value, why):
    overrides = {}
    node = overrides.setdefault(name, {})
    parts = key.split('.')
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    overrides.setdefault('config.json', {}).setdefault('ServerConfig', {}).setdefault('inferMode', 'dmi')
    _configs, errors = cfg.build_and_check(_bases(), {}, overrides, kmc=True, layout='multi')
    assert any(e.startswith(name) and why in e for e in errors), errors


def test_kmc_keys_only_for_kmc_releases():
    bases = _bases()
    bases['config.json']['ServerConfig']['inferMode'] = 'dmi'
    for items in bases['ms_controller.json']['tls_config'].values():
        if isinstance(items, dict):
            items.pop('kmc_ksf_master', None)
    configs, errors = cfg.build_and_check(bases, {}, {}, kmc=False, layout='multi')
    assert errors == []
    # oracle 14: absent for KMC-less releases (nothing would provide the files they name)
    assert not [k for k in cfg.KMC_KEYS if k in json.dumps(configs)]
    errors = cfg.build_and_check(bases, {}, {}, kmc=True, layout='multi')[1]
    assert errors and all('kmc_ksf_master' in e for e in errors)


def test_ports_and_mode_must_agree_across_files():
    over = {'config.json': {'ServerConfig': {'inferMode': 'dmi', 'managementPort': 1126}},
            'ms_coordinator.json': {'digs_scheduler_config': {'deploy_mode': 'single_node'}}}
    errors = cfg.build_and_check(_bases(), {}, over, kmc=True, layout='multi')[1]
    assert any('managementPort=1126 differs' in e for e in errors)
    assert any('deploy_mode' in e and 'differs' in e for e in errors)


def test_model_list_merges_item_by_item():
    merged = cfg.merge({'M': [{'a': 1, 'b': 2}], 'ids': [[0, 1, 2, 3]]}, {'M': [{'a': 5}], 'ids': [[0, 1]]})
    assert merged == {'M': [{'a': 5, 'b': 2}], 'ids': [[0, 1]]}


# ---------------------------------------------------------------- sizing and placement rule

def test_single_machine_world_size_is_per_instance():
    assert rules.single_machine_sizing(8, 0, 0, 0) == {'world_size': 4, 'instances': 2, 'pod_npus': 8}
    assert rules.single_machine_sizing(8, 0, 3, 1) == {'world_size': 2, 'instances': 4, 'pod_npus': 8}
    assert rules.single_machine_sizing(16, 2, 0, 0) == {'world_size': 2, 'instances': 8, 'pod_npus': 16}
    assert rules.single_machine_sizing(8, 2, 1, 1) == {'world_size': 2, 'instances': 2, 'pod_npus': 4}
    with pytest.raises(ValueError, match='need 12 NPUs'):
        rules.single_machine_sizing(8, 4, 2, 1)
    with pytest.raises(ValueError, match='at least one P and one D'):
        rules.single_machine_sizing(8, 8, 0, 0)


def test_server_slots_follow_the_anti_affinity():
    # one Server pod per node: 2 nodes of 8 NPUs hold 2 pods of 4 NPUs, not 4
    assert rules.server_slots([8, 8], 4) == 2
    assert rules.server_slots([8, 2], 4) == 1


# ---------------------------------------------------------------- global rank table

def _pod(app, ip, phase='Running', deleting=False):
    meta = {'name': '%s-%s' % (app, ip), 'labels': {'app': app}}
    if deleting:
        meta['deletionTimestamp'] = '2026-01-01T00:00:00Z'
    return {'metadata': meta, 'status': {'phase': phase, 'podIP': ip}}


def _rings(ips, status='completed'):
    servers = [{'server_id': '198.18.0.%d' % (10 + i), 'container_ip': ip,
                'device': [{'device_id': str(d), 'device_ip': '198.19.%d.%d' % (i, d), 'rank_id': str(i * 2 + d)}
                           for d in range(2)]} for i, ip in enumerate(ips)]
    return {'hccl.json': json.dumps({'status': status, 'server_list': servers, 'server_count': str(len(ips)),
                                     'version': '1.0'})}


PODS = [_pod('mindie-server', '198.18.0.101'), _pod('mindie-server', '198.18.0.102'),
        _pod('mindie-ms-controller', '198.18.0.103'), _pod('mindie-ms-coordinator', '198.18.0.104'),
        _pod('mindie-ms-controller', '198.18.0.99', deleting=True)]


def _build(rings, pods=None):
    return rt.build(rings, PODS if pods is None else pods, 'mindie-server', 'mindie-ms-controller', 'mindie-ms-coordinator')


def test_global_table_format():
    table = _build(_rings(['198.18.0.101', '198.18.0.102']))
    assert table['status'] == 'completed' and table['version'] == '1.0'
    groups = {g['group_id']: g for g in table['server_group_list']}
    assert [g['group_id'] for g in table['server_group_list']] == ['2', '1', '0']
    assert groups['2']['server_count'] == '2'
    assert [s['server_ip'] for s in groups['2']['server_list']] == ['198.18.0.101', '198.18.0.102']
    assert groups['2']['server_list'][1]['device'][1]['device_logical_id'] == '1'
    assert groups['1']['server_list'] == [{'server_ip': '198.18.0.103'}]  # the Terminating pod is left out
    assert groups['0']['server_list'] == [{'server_ip': '198.18.0.104'}]
    assert 'deploy_server' not in groups['2']


def test_global_table_refuses_incomplete_or_stale_rings():
    with pytest.raises(ValueError, match='not completed'):
        _build(_rings(['198.18.0.101', '198.18.0.102'], status='initializing'))
    # a Server pod was recreated with a new IP: the old rings-config no longer describes it
    with pytest.raises(ValueError, match='recreated'):
        _build(_rings(['198.18.0.101', '198.18.0.150']))
    bad = _rings(['198.18.0.101', '198.18.0.102'])
    bad['hccl.json'] = bad['hccl.json'].replace('"rank_id": "3"', '"rank_id": "4096"')
    with pytest.raises(ValueError, match='outside'):
        _build(bad)


def test_hardware_type_is_copied():
    rings = _rings(['198.18.0.101', '198.18.0.102'])
    rings['hardware_type'] = '800I A2(64G)'
    table = _build(copy.deepcopy(rings))
    assert table['server_group_list'][0]['server_list'][0]['hardware_type'] == '800I A2(64G)'


# ---------------------------------------------------------------- coexistence

def _obj(kind, name, ns='mindie', instance=None, node_port=None):
    labels = {'app.kubernetes.io/managed-by': 'ascend.mindie', 'app.kubernetes.io/instance': instance} if instance else {}
    obj = {'kind': kind, 'metadata': {'name': name, 'namespace': ns, 'labels': labels}}
    if node_port:
        obj['spec'] = {'ports': [{'port': 1025, 'nodePort': node_port}]}
    return obj


PLANNED = [_obj('Deployment', 'mindie-server', instance='a'), _obj('Service', 'mindie-ms-coordinator-infer', instance='a',
                                                                   node_port=31015)]


def test_no_clash_with_our_own_objects():
    assert rules.object_clashes(PLANNED, [_obj('Deployment', 'mindie-server', instance='a'),
                                          _obj('Service', 'mindie-ms-coordinator-infer', instance='a', node_port=31015)],
                                'a') == ''


def test_clash_with_deploy_sh_objects_and_other_instances():
    why = rules.object_clashes(PLANNED, [_obj('Deployment', 'mindie-server')], 'a')
    assert 'Deployment mindie/mindie-server exists' in why and "deploy.sh" in why
    why = rules.object_clashes(PLANNED, [_obj('Deployment', 'mindie-server', instance='b')], 'a')
    assert 'pd_deploy instance b' in why


def test_clash_on_node_port_in_another_namespace():
    why = rules.object_clashes(PLANNED, [_obj('Service', 'other', ns='team-b', instance='b', node_port=31015)], 'a')
    assert why == 'NodePort 31015 is already used by Service team-b/other'
