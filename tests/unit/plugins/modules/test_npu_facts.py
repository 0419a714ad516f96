# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.ascend.mindie.plugins.modules import npu_facts

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
DMI = ('# dmidecode 3.4\nGetting SMBIOS data from sysfs.\n\nHandle 0x0001, DMI type 1, 27 bytes\n'
       'System Information\n\tManufacturer: Huawei\n\tProduct Name: %s\n\tVersion: V1\n')


@pytest.fixture
def run(run_module):
    return lambda args: run_module(npu_facts.main, args)


def script(path, body):
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def fake_npu_smi(tmp_path, info_fixture, board_fixture='npu_smi_board_910b.txt', rc=0, log=None):
    info = os.path.abspath(os.path.join(FIXTURES, info_fixture))
    board = os.path.abspath(os.path.join(FIXTURES, board_fixture))
    logline = 'echo "$@" >> %s\n' % log if log else ''
    return script(tmp_path / 'npu-smi', logline + (
        'if [ "$2" = "-t" ]; then cat %s; exit 0; fi\ncat %s\nexit %d\n' % (board, info, rc)))


def fake_dmidecode(tmp_path, product='Atlas 800I A2', rc=0):
    text = DMI % product
    return script(tmp_path / 'dmidecode', "cat <<'EOF'\n%sEOF\nexit %d\n" % (text, rc))


def test_a2_node(tmp_path, run):
    log = tmp_path / 'calls.log'
    version = tmp_path / 'version.info'
    version.write_text('Version=24.1.0.3.b030\nascendhal_version=7.35.19\n')
    result = run({
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_a2_910b3_24.1.0.3.txt', log=str(log)),
        'dmidecode_path': fake_dmidecode(tmp_path),
        'driver_version_file': str(version),
    })
    assert result['changed'] is False
    facts = result['ansible_facts']['ascend_npu']
    assert facts['present'] is True and facts['error'] is None
    assert facts['model'] == 'atlas_800i_a2' and facts['model_name'] == 'Atlas 800I A2'
    assert facts['npu_count'] == 8 and facts['device_count'] == 8 and facts['health_ok'] is True
    assert facts['driver_version'] == '24.1.0.3.b030' and facts['driver_version_source'] == 'version.info'
    assert facts['npu_smi_version'] == '24.1.0.3'
    assert facts['firmware_version'] == '7.8.0.6.201' and facts['firmware_error'] is None
    assert facts['dmi']['product_name'] == 'Atlas 800I A2' and facts['dmi']['classification'] == 'atlas_800i_a2'
    assert [e['source'] for e in facts['model_evidence']] == ['layout', 'chip_name', 'ddr', 'hbm', 'dmi_product_name']
    # Two read-only npu-smi calls: the table and the first NPU's board.
    assert log.read_text().splitlines() == ['info', 'info -t board -i 0']


def test_a3_node_banner_driver_version_without_firmware(tmp_path, run):
    result = run({
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_a3_25.3.rc1.txt'),
        'dmidecode_path': fake_dmidecode(tmp_path, 'Atlas 800I A3'),
        'driver_version_file': str(tmp_path / 'absent'),
        'gather_firmware': False,
    })
    facts = result['ansible_facts']['ascend_npu']
    assert facts['model'] == 'atlas_800i_a3'
    assert facts['npu_count'] == 8 and facts['device_count'] == 16 and facts['dies_per_npu'] == 2
    assert facts['driver_version'] == '25.3.rc1' and facts['driver_version_source'] == 'npu-smi banner'
    assert facts['firmware_version'] is None
    assert len(facts['processes']) == 4


def test_missing_npu_smi_is_reported_not_a_traceback(tmp_path, run):
    result = run({
        'npu_smi_path': str(tmp_path / 'no-such-npu-smi'),
        'dmidecode_path': fake_dmidecode(tmp_path, 'PowerEdge R750'),
    })
    assert not result.get('failed')
    facts = result['ansible_facts']['ascend_npu']
    assert facts['present'] is False and facts['model'] == 'unknown'
    assert 'npu-smi not found' in facts['error']
    assert facts['dmi']['product_name'] == 'PowerEdge R750' and facts['dmi']['classification'] is None


def test_failing_npu_smi_keeps_its_words(tmp_path, run):
    path = script(tmp_path / 'npu-smi', 'echo "dcmi module initialize failed. ret is -8005"\nexit 8\n')
    result = run({'npu_smi_path': path, 'dmidecode_path': str(tmp_path / 'none')})
    facts = result['ansible_facts']['ascend_npu']
    assert facts['present'] is False
    assert facts['error'] == 'npu-smi info exited 8: dcmi module initialize failed. ret is -8005'
    assert facts['dmi']['available'] is False and facts['dmi']['error'] == 'dmidecode not found'


def test_unknown_output_fails_with_the_line(tmp_path, run):
    bad = tmp_path / 'bad.txt'
    with open(os.path.join(FIXTURES, 'npu_smi_a2_910b3_24.1.0.3.txt')) as handle:
        bad.write_text(handle.read().replace('HBM-Usage(MB)', 'HBM-Use(MB)  '))
    path = script(tmp_path / 'npu-smi', 'cat %s\n' % bad)
    result = run({'npu_smi_path': path, 'dmidecode_path': str(tmp_path / 'none')})
    assert result['failed'] is True
    assert result['msg'].startswith('cannot understand "npu-smi info" output: unknown second header line')
    assert 'HBM-Use(MB)' in result['msg']


def test_310p_node_is_other_with_evidence_not_a_failed_task(tmp_path, run):
    result = run({
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_310p3_23.0.0.txt'),
        'dmidecode_path': fake_dmidecode(tmp_path, 'Atlas 300I Pro'),
        'gather_firmware': False,
    })
    assert not result.get('failed'), result
    facts = result['ansible_facts']['ascend_npu']
    assert facts['present'] is True and facts['model'] == 'other'
    assert facts['layout'] == 'chip_device' and facts['npu_count'] == 2
    assert facts['chip_names'] == ['310P3'] and facts['hbm_total_mb_per_device'] == []
    layout = [e for e in facts['model_evidence'] if e['source'] == 'layout'][0]
    assert layout['suggests'] == 'other' and '310P' in layout['detail']


def test_dmidecode_permission_denied_is_evidence_not_failure(tmp_path, run):
    dmi = script(tmp_path / 'dmidecode', 'echo "/dev/mem: Permission denied" >&2\nexit 1\n')
    result = run({
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_910b4_32g_25.5.2.txt'), 'dmidecode_path': dmi})
    facts = result['ansible_facts']['ascend_npu']
    assert facts['model'] == 'atlas_800i_a2'
    assert 'Permission denied' in facts['dmi']['error']
    dmi_evidence = [e for e in facts['model_evidence'] if e['source'] == 'dmi_product_name'][0]
    assert dmi_evidence['value'] is None and 'not available' in dmi_evidence['detail']


def test_800t_dmi_makes_other(tmp_path, run):
    result = run({
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_a2_910b3_24.1.0.3.txt'),
        'dmidecode_path': fake_dmidecode(tmp_path, 'Atlas 800T A2')})
    assert result['ansible_facts']['ascend_npu']['model'] == 'other'


def test_bad_patterns_fail(tmp_path, run):
    result = run({'dmi_product_patterns': {'atlas_800i_a2': ['(']}})
    assert result['failed'] is True and 'invalid dmi_product_patterns' in result['msg']


def test_board_failure_is_not_fatal(tmp_path, run):
    info = os.path.abspath(os.path.join(FIXTURES, 'npu_smi_a2_910b3_24.1.0.3.txt'))
    path = script(tmp_path / 'npu-smi', 'if [ "$2" = "-t" ]; then echo "This device does not support querying board" ; exit 2; fi\ncat %s\n' % info)
    result = run({'npu_smi_path': path, 'dmidecode_path': str(tmp_path / 'none')})
    facts = result['ansible_facts']['ascend_npu']
    assert facts['present'] is True and facts['firmware_version'] is None
    assert 'exited 2' in facts['firmware_error']


def test_check_mode_is_supported(tmp_path, run):
    result = run({
        '_ansible_check_mode': True,
        'npu_smi_path': fake_npu_smi(tmp_path, 'npu_smi_a2_910b3_24.1.0.3.txt'),
        'dmidecode_path': fake_dmidecode(tmp_path)})
    assert not result.get('skipped') and result['ansible_facts']['ascend_npu']['npu_count'] == 8
