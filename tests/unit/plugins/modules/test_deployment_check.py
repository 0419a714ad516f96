# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import npu_smi
from ansible_collections.ascend.mindie.plugins.modules import deployment_check

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
GROUPS = {'prefill': ['p0', 'p1'], 'decode': ['d0', 'd1']}


def facts(name='npu_smi_a2_910b3_24.1.0.3.txt', cut_last=False):
    with open(os.path.join(FIXTURES, name)) as handle:
        text = handle.read()
    if cut_last:
        text = text[:text.index('| 7     910B3')]
    table = npu_smi.parse_npu_smi_info(text)
    result = npu_smi.summarize(table)
    model, evidence = npu_smi.model_verdict(table)
    result.update({'present': True, 'model': model, 'model_name': npu_smi.MODEL_NAMES[model],
                   'model_evidence': evidence, 'devices': table['devices'], 'health_ok': True})
    return result


@pytest.fixture
def run(run_module):
    def _run(**args):
        base = {'layout': 'multi', 'model_name': 'Qwen2.5-14B-Instruct', 'groups': GROUPS}
        base.update(args)
        return run_module(deployment_check.main, base)
    return _run


def test_description_pass(run):
    result = run()
    assert result['passed'] is True and result['changed'] is False and result['violations'] == []
    assert result['npu_hosts'] == ['p0', 'p1', 'd0', 'd1']
    assert result['node_roles'] == {'p0': 'prefill', 'p1': 'prefill', 'd0': 'decode', 'd1': 'decode'}
    assert result['report']['stage'] == 'description' and result['report']['verdict'] == 'pass'
    assert '| p0 | prefill | not gathered |' in result['report_markdown']


def test_description_violations_returned_without_failing(run):
    result = run(model_name='Qwen2.5-VL-7B-Instruct', features={'prefix_cache': True},
                 sampling_defaults={'best_of': 2})
    assert not result.get('failed') and result['passed'] is False
    assert sorted(v['rule'] for v in result['violations']) == ['feature_forbidden', 'model_family', 'sampling_refused']
    assert len(result['messages']) == 3


def test_fail_on_violations(run):
    result = run(features={'splitfuse': True}, fail_on_violations=True)
    assert result['failed'] is True
    assert result['msg'].startswith('deployment check found 1 violation(s): cluster: multi-machine PD')
    assert result['report']['verdict'] == 'fail'


def test_nodes_stage(run):
    nodes = {'p0': facts(), 'p1': facts(), 'd0': facts(), 'd1': facts(cut_last=True)}
    result = run(stage='nodes', nodes=nodes)
    assert sorted(v['rule'] for v in result['violations']) == ['npu_count', 'npu_count_equal']
    assert all(v['host'] == 'd1' for v in result['violations'])
    assert '| d1 | decode | Atlas 800I A2 | 7 (7) | 64 GB | OK | FAIL |' in result['report_markdown']


def test_nodes_stage_with_config(run):
    a3 = facts('npu_smi_a3_25.3.rc1.txt')
    nodes = {'p0': a3, 'p1': a3, 'd0': a3, 'd1': a3}
    result = run(stage='nodes', nodes=nodes)
    assert sorted(set(v['rule'] for v in result['violations'])) == ['model_supported']
    result = run(stage='nodes', nodes=nodes,
                 allowed_models={'multi': ['atlas_800i_a2', 'atlas_800i_a3']})
    assert result['passed'] is True


def test_nodes_stage_needs_nodes(run):
    result = run(stage='nodes')
    assert result['failed'] is True and 'needs the nodes option' in result['msg']


def test_bad_inputs(run):
    assert 'unknown keys' in run(groups={'prefil': ['p0']})['msg']
    assert 'invalid model patterns' in run(model_allowed_patterns=['('])['msg']
    assert 'must be a list' in run(groups={'prefill': 'p0'})['msg']


def test_host_values_and_cluster_hosts(run):
    result = run(cluster_hosts=['p0', 'p1', 'd0', 'd1', 'x'],
                 host_values={'mindie_layout': {'p0': 'multi', 'd1': 'single'}})
    assert sorted((v['rule'], v['host']) for v in result['violations']) == [
        ('description_consistent', 'd1'), ('groups_unassigned', 'x')]
    result = run(host_values={'mindie_image': {'p0': 'x'}})
    assert result['failed'] is True and 'unknown variables' in result['msg']
