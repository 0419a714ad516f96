# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our release-shaped fixture acts out MindIE's boot steps: the right binary per rank-table group, and
MindIE's failures when a helper, env or the table is missing (fact sheet 2.2-2.7). Runs boot.sh for real
in a temporary layout; the image's binaries are recording stand-ins."""
import json
import os
import shutil
import stat
import subprocess

import pytest

FIXTURE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'mindie2-release')
SCRIPTS = {'boot.sh': 'boot_helper/boot.sh', 'file_utils.py': 'utils/file_utils.py',
           'get_group_id.py': 'boot_helper/get_group_id.py',
           'update_mindie_server_config.py': 'boot_helper/update_mindie_server_config.py'}
CONFIGS = {'config.json': 'mindie-llm/conf', 'ms_controller.json': 'mindie-service/conf',
           'ms_coordinator.json': 'mindie-service/conf', 'http_client_ctl.json': 'mindie-service/conf'}
POD_IP = '198.18.0.5'
BIN = '#!/bin/bash\necho "$(basename "$0") $* GRT=$GLOBAL_RANK_TABLE_FILE_PATH" >> "$RECORD"\n'


def layout(tmp_path, group, drop=()):
    cm, install, rt = tmp_path / 'configmap', tmp_path / 'install', tmp_path / 'rt' / '..data'
    for d in (cm, install / 'conf', install / 'bin', rt):
        d.mkdir(parents=True)
    for key, rel in SCRIPTS.items():
        if key not in drop:
            shutil.copy(os.path.join(FIXTURE, 'deploy_scripts', rel), str(cm / key))
            os.chmod(str(cm / key), 0o550 if key in ('boot.sh', 'file_utils.py') else 0o640)
    for name, rel in CONFIGS.items():
        shutil.copy(os.path.join(FIXTURE, rel, name), str(cm / name))
        os.chmod(str(cm / name), 0o640)
    for name in ('mindieservice_daemon', 'ms_controller', 'ms_coordinator'):
        (install / 'bin' / name).write_text(BIN)
        os.chmod(str(install / 'bin' / name), 0o755)
    table = {'status': 'completed', 'server_group_list': [
        {'group_id': str(g), 'server_list': [{'server_ip': POD_IP if g == group else '198.18.0.%d' % (10 + g)}]}
        for g in (2, 1, 0)]}
    (rt / 'global_ranktable.json').write_text(json.dumps(table))
    os.chmod(str(rt / 'global_ranktable.json'), 0o640)
    env = {'PATH': os.environ['PATH'], 'POD_IP': POD_IP, 'MIES_INSTALL_PATH': str(install),
           'CONFIG_FROM_CONFIGMAP_PATH': str(cm), 'GLOBAL_RANK_TABLE_FILE_PATH': str(rt / 'global_ranktable.json'),
           'RECORD': str(tmp_path / 'record')}
    return cm, install, env


def boot(tmp_path, group, drop=(), unset=()):
    cm, install, env = layout(tmp_path, group, drop)
    for name in unset:
        env.pop(name)
    proc = subprocess.run(['/bin/bash', str(cm / 'boot.sh')], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
    record = tmp_path / 'record'
    return proc, record.read_text() if record.exists() else '', install


def test_server_starts_the_daemon_with_its_config(tmp_path):
    proc, record, install = boot(tmp_path, 2)
    assert proc.returncode == 0, proc.stdout
    assert record.startswith('mindieservice_daemon'), proc.stdout
    assert stat.S_IMODE(os.stat(str(install / 'conf' / 'config.json')).st_mode) == 0o640


def test_controller_reads_its_copy_of_the_table(tmp_path):
    proc, record, install = boot(tmp_path, 1)
    assert record == 'ms_controller  GRT=%s\n' % (install / 'global_ranktable.json'), proc.stdout


def test_coordinator_gets_pod_ip_and_fixed_ports(tmp_path):
    _proc, record, _install = boot(tmp_path, 0)
    assert record.startswith('ms_coordinator %s 1025 %s 1026' % (POD_IP, POD_IP))


@pytest.mark.parametrize('unset', ['POD_IP', 'GLOBAL_RANK_TABLE_FILE_PATH'])
def test_nothing_starts_without_a_group(tmp_path, unset):
    proc, record, _install = boot(tmp_path, 2, unset=(unset,))
    assert record == '' and proc.returncode == 0, proc.stdout  # MindIE's boot.sh ends 0; the pod restarts


def test_missing_get_group_id_starts_the_wrong_component(tmp_path):
    # the role is python3's exit status: a missing script gives 2, so a Controller pod runs the Server
    # branch (fact sheet 2.2/2.7: the file check only logs); the Controller never comes up
    proc, record, _install = boot(tmp_path, 1, drop=('get_group_id.py',))
    assert record.startswith('mindieservice_daemon') and 'ms_controller' not in record, proc.stdout


def test_missing_file_utils_fails_the_pod(tmp_path):
    proc, record, _install = boot(tmp_path, 2, drop=('file_utils.py',))
    assert proc.returncode == 1 and record == '', proc.stdout


def test_wide_table_mode_is_refused_by_get_group_id(tmp_path):
    cm, _install, env = layout(tmp_path, 2)
    os.chmod(env['GLOBAL_RANK_TABLE_FILE_PATH'], 0o644)
    # get_group_id.py waits forever on a file it refuses (as MindIE's does): bounded here by a timeout
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(['python3', str(cm / 'get_group_id.py')], env=env, timeout=3, check=False)
