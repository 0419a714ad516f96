# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

import pytest
import yaml

from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules as rules
from ansible_collections.ascend.mindie.plugins.module_utils import dmidecode, npu_smi

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'preflight')
FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')

MULTI = {'prefill': ['p0', 'p1'], 'decode': ['d0', 'd1'], 'single': [], 'control': []}
SINGLE = {'single': ['s0', 's1'], 'prefill': [], 'decode': [], 'control': []}


def desc(**kw):
    base = {'layout': 'multi', 'model_name': 'Qwen2-7B-Instruct', 'features': {}, 'sampling_defaults': {},
            'p_instances': 1, 'd_instances': 1, 'p_rate': 0, 'd_rate': 0, 'npus_per_instance': None}
    base.update(kw)
    return base


def rule_ids(violations):
    return sorted(v['rule'] for v in violations)


def node_facts(name='npu_smi_a2_910b3_24.1.0.3.txt', dmi_product='Atlas 800I A2', transform=None):
    """ascend_npu-like facts built with the real parser from a fixture."""
    with open(os.path.join(FIXTURES, name)) as handle:
        text = handle.read()
    if transform:
        text = transform(text)
    table = npu_smi.parse_npu_smi_info(text)
    facts = npu_smi.summarize(table)
    model, evidence = npu_smi.model_verdict(table, dmidecode.classify_product(dmi_product), dmi_product)
    facts.update({'present': True, 'error': None, 'model': model, 'model_name': npu_smi.MODEL_NAMES[model],
                  'model_evidence': evidence, 'devices': table['devices'], 'health_ok': not facts['unhealthy'],
                  'dmi': {'product_name': dmi_product}, 'driver_version': table['driver_version'],
                  'firmware_version': '7.8.0.6.201'})
    return facts


A2 = node_facts()
A3 = node_facts('npu_smi_a3_25.3.rc1.txt', 'Atlas 800I A3')


def drop_last_npu(text):
    marker = '| 7     910B3'
    return text[:text.index(marker)]


def cluster(**overrides):
    nodes = dict((h, copy.deepcopy(A2)) for h in ('p0', 'p1', 'd0', 'd1'))
    nodes.update(overrides)
    return nodes


# ---- model family --------------------------------------------------------------------------------

@pytest.mark.parametrize('name', [
    'Qwen2-7B-Instruct', 'qwen2-72b', 'Qwen2.5-14B-Instruct', '/data/Qwen2.5-14B-Instruct/',
    'Qwen/Qwen2.5-7B-Instruct', 'Qwen2-57B-A14B', 'qwen2_5-7b-instruct', 'Qwen2.5-Coder-32B-Instruct',
    'Meta-Llama-3-8B-Instruct', 'Llama-3.1-70B-Instruct', 'llama-3.2-3b', 'Llama-3.3-70B-Instruct',
    'meta-llama/Meta-Llama-3-70B', 'LLAMA3-8B', 'llama3.1-8b',
])
def test_model_names_allowed(name):
    ok, reason = rules.model_family_allowed(name)
    assert ok, reason


@pytest.mark.parametrize('name,why', [
    ('Qwen2.5-VL-7B-Instruct', 'multimodal'),
    ('Qwen2-VL-72B', 'multimodal'),
    ('Qwen2-Audio-7B-Instruct', 'multimodal'),
    ('Qwen2.5-Omni-7B', 'multimodal'),
    ('Llama-3.2-11B-Vision-Instruct', 'multimodal'),
    ('Qwen3-8B', 'not a LLaMA3 or Qwen2'),
    ('QwQ-32B', 'not a LLaMA3 or Qwen2'),
    ('DeepSeek-R1-Distill-Qwen-7B', 'not a LLaMA3 or Qwen2'),
    ('DeepSeek-V3', 'not a LLaMA3 or Qwen2'),
    ('Qwen1.5-7B', 'not a LLaMA3 or Qwen2'),
    ('llama-30b', 'not a LLaMA3 or Qwen2'),
    ('Llama-2-7b-hf', 'not a LLaMA3 or Qwen2'),
    ('Llama-4-Scout', 'not a LLaMA3 or Qwen2'),
    ('Qwen20-7B', 'not a LLaMA3 or Qwen2'),
    ('', 'empty'),
    (None, 'empty'),
])
def test_model_names_refused(name, why):
    ok, reason = rules.model_family_allowed(name)
    assert not ok and why in reason


def test_model_patterns_are_configurable():
    assert rules.model_family_allowed('Qwen3-8B', allowed=[r'^qwen3'], denied=[])[0]
    assert not rules.model_family_allowed('Qwen2-7B', denied=[r'7b'])[0]


# ---- description ---------------------------------------------------------------------------------

def test_valid_multi_description_passes():
    assert rules.check_description(desc(), MULTI) == []


def test_valid_single_description_with_prefix_cache_passes():
    assert rules.check_description(desc(layout='single', features={'prefix_cache': True}), SINGLE) == []


def test_single_allows_the_features_only_multi_refuses():
    features = dict((k, True) for k in rules.FEATURES_NOT_MULTI)
    assert rules.check_description(desc(layout='single', features=features), SINGLE) == []


@pytest.mark.parametrize('feature', rules.FEATURES_NOT_MULTI)
def test_multi_refuses_feature(feature):
    out = rules.check_description(desc(features={feature: True}), MULTI)
    assert rule_ids(out) == ['feature_forbidden']
    assert rules.FEATURE_LABELS[feature] in out[0]['message']
    assert 'mindie_features.%s' % feature in out[0]['message']
    assert out[0]['message'].startswith('cluster: ') and 'Fix: ' in out[0]['message']


@pytest.mark.parametrize('layout,groups', [('single', SINGLE), ('multi', MULTI)])
@pytest.mark.parametrize('feature', rules.FEATURES_NEVER)
def test_quantisation_features_refused_everywhere(layout, groups, feature):
    out = rules.check_description(desc(layout=layout, features={feature: True}), groups)
    assert rule_ids(out) == ['feature_forbidden']


def test_false_features_are_fine_and_unknown_keys_are_not():
    assert rules.check_description(desc(features={'prefix_cache': False, 'kv_cache_int8': False}), MULTI) == []
    out = rules.check_description(desc(features={'prefixcache': True}), MULTI)
    assert rule_ids(out) == ['feature_unknown'] and 'prefixcache' in out[0]['message']


@pytest.mark.parametrize('key', rules.SAMPLING_REFUSED)
def test_sampling_keys_refused_whatever_the_value(key):
    out = rules.check_description(desc(sampling_defaults={key: None, 'temperature': 0.7}), MULTI)
    assert rule_ids(out) == ['sampling_refused']
    assert key in out[0]['message'] and 'temperature' not in out[0]['message']


def test_sampling_allowed_keys_pass():
    assert rules.check_description(desc(sampling_defaults={'temperature': 0.7, 'top_p': 0.9, 'top_k': 50}), MULTI) == []


def test_bad_layout_and_model():
    out = rules.check_description(desc(layout='pd', model_name='Qwen2.5-VL-7B'), MULTI)
    assert rule_ids(out) == ['layout', 'model_family']
    model = [v for v in out if v['rule'] == 'model_family'][0]
    assert 'Qwen2.5-VL-7B' in model['message'] and 'multimodal' in model['message']


def test_node_in_two_groups():
    groups = dict(MULTI, decode=['d0', 'p1'])
    out = rules.check_description(desc(), groups)
    assert rule_ids(out) == ['groups_overlap']
    assert out[0]['host'] == 'p1' and 'mindie_prefill' in out[0]['message'] and 'mindie_decode' in out[0]['message']
    assert 'p1' not in rules.node_roles(groups)


def test_groups_must_fit_layout():
    assert rule_ids(rules.check_description(desc(), dict(MULTI, decode=[]))) == ['groups_layout']
    assert rule_ids(rules.check_description(desc(), dict(MULTI, single=['s0']))) == ['groups_layout']
    assert rule_ids(rules.check_description(desc(layout='single'), MULTI)) == ['groups_layout', 'groups_layout']
    assert rule_ids(rules.check_description(desc(layout='single'), dict(SINGLE, control=['c0']))) == ['groups_layout']


def test_instances_rates_npus_per_instance():
    assert rule_ids(rules.check_description(desc(p_instances=0), MULTI)) == ['instances']
    assert rule_ids(rules.check_description(desc(layout='single', p_rate=1, d_rate=0), SINGLE)) == ['rates']
    assert rule_ids(rules.check_description(desc(layout='single', p_rate=-1, d_rate=0), SINGLE)) == ['rates']
    assert rules.check_description(desc(layout='single', p_rate=1, d_rate=3), SINGLE) == []
    assert rule_ids(rules.check_description(desc(npus_per_instance=0), MULTI)) == ['npus_per_instance']


def test_roles_and_npu_hosts():
    groups = dict(MULTI, control=['c0'])
    assert rules.node_roles(groups) == {'p0': 'prefill', 'p1': 'prefill', 'd0': 'decode', 'd1': 'decode',
                                        'c0': 'control'}
    assert rules.npu_hosts(groups) == ['p0', 'p1', 'd0', 'd1']


# ---- nodes ---------------------------------------------------------------------------------------

def test_four_a2_nodes_pass():
    assert rules.check_nodes(desc(), MULTI, cluster()) == []


def test_instances_must_fit_the_nodes():
    # 4 A2 nodes hold 4 Server pods: the role spreads them one per node (required anti-affinity),
    # so smaller pods do not fit more of them (the same rule as the role's, server_slots).
    assert rules.check_nodes(desc(p_instances=2, d_instances=2), MULTI, cluster()) == []
    out = rules.check_nodes(desc(p_instances=3, d_instances=2), MULTI, cluster())
    assert rule_ids(out) == ['instances_fit']
    assert '5 Server pods' in out[0]['message'] and 'hold only 4' in out[0]['message']
    assert rules.check_nodes(desc(p_instances=2, d_instances=2, npus_per_instance=4), MULTI, cluster()) == []
    assert rule_ids(rules.check_nodes(desc(p_instances=4, d_instances=4, npus_per_instance=4), MULTI,
                                      cluster())) == ['instances_fit']


def test_fit_is_not_judged_while_a_node_is_unreadable():
    nodes = cluster(d1={'present': False, 'error': 'npu-smi not found'})
    assert rule_ids(rules.check_nodes(desc(p_instances=2, d_instances=2), MULTI, nodes)) == ['npu_facts']


def test_single_rates_must_fit_the_pod():
    nodes = {'s0': copy.deepcopy(A2), 's1': copy.deepcopy(A2)}
    assert rules.check_nodes(desc(layout='single', p_rate=3, d_rate=5), SINGLE, nodes) == []
    out = rules.check_nodes(desc(layout='single', p_rate=5, d_rate=5), SINGLE, nodes)
    assert rule_ids(out) == ['rates_fit']


def test_a3_among_a2_in_multi():
    out = rules.check_nodes(desc(), MULTI, cluster(d1=copy.deepcopy(A3)))
    assert rule_ids(out) == ['model_same', 'model_supported']
    assert all(v['host'] == 'd1' for v in out)
    supported = [v for v in out if v['rule'] == 'model_supported'][0]
    assert 'runs only on Atlas 800I A2' in supported['message'] and 'Atlas 800I A3' in supported['message']
    same = [v for v in out if v['rule'] == 'model_same'][0]
    assert 'd0, p0, p1 are Atlas 800I A2' in same['message']


def test_a3_allowed_in_single_but_npu_count_must_match():
    out = rules.check_nodes(desc(layout='single'), SINGLE, {'s0': A3, 's1': A3})
    assert out == []
    out = rules.check_nodes(desc(layout='single'), SINGLE, {'s0': A3, 's1': node_facts(transform=drop_last_npu)})
    assert 'npu_count_equal' in rule_ids(out)


def test_seven_npus_on_one_decode_node():
    out = rules.check_nodes(desc(), MULTI, cluster(d1=node_facts(transform=drop_last_npu)))
    assert rule_ids(out) == ['npu_count', 'npu_count_equal']
    equal = [v for v in out if v['rule'] == 'npu_count_equal'][0]
    assert equal['host'] == 'd1' and equal['value'] == 7
    assert 'this decode node has 7' in equal['message'] and 'have 8' in equal['message']


def test_npu_count_expectation_can_be_disabled():
    seven = dict((h, node_facts(transform=drop_last_npu)) for h in ('p0', 'p1', 'd0', 'd1'))
    assert rule_ids(rules.check_nodes(desc(), MULTI, seven)) == ['npu_count'] * 4
    assert rules.check_nodes(desc(), MULTI, seven, {'npus_per_model': {}}) == []


def test_unhealthy_npu_is_named():
    sick = node_facts(transform=lambda t: t.replace('| 3     910B3               | OK      ',
                                                    '| 3     910B3               | Critical'))
    out = rules.check_nodes(desc(), MULTI, cluster(p1=sick))
    assert rule_ids(out) == ['npu_health']
    assert out[0]['host'] == 'p1' and 'NPU 3 Critical' in out[0]['message']


def test_unhealthy_a3_die_names_phy_id():
    sick = node_facts('npu_smi_a3_25.3.rc1.txt', 'Atlas 800I A3',
                      transform=lambda t: t.replace('| 1     3                   |', '| 1     3                   |').replace(
                          '| 1     Ascend910           | OK            | -  ', '| 1     Ascend910           | Warning       | -  ', 1))
    out = rules.check_nodes(desc(layout='single'), {'single': ['s0']}, {'s0': sick})
    assert rule_ids(out) == ['npu_health'] and 'NPU 1 die 1 (Phy-ID 3) Warning' in out[0]['message']


def test_hbm_outside_table():
    small = node_facts(transform=lambda t: t.replace('/ 65536', '/ 16384'))
    out = rules.check_nodes(desc(), MULTI, cluster(p0=small, p1=copy.deepcopy(small), d0=copy.deepcopy(small),
                                                   d1=copy.deepcopy(small)))
    assert rule_ids(out) == ['hbm_size'] * 4 and '16384 MB' in out[0]['message']
    assert '32768 or 65536' in out[0]['message']


def test_a3_low_memory_variant_via_table():
    variant = node_facts('npu_smi_a3_25.3.rc1.txt', 'Atlas 800I A3', transform=lambda t: t.replace('/ 65536', '/ 32768'))
    nodes = {'s0': variant}
    assert rule_ids(rules.check_nodes(desc(layout='single'), {'single': ['s0']}, nodes)) == ['hbm_size']
    config = {'hbm_table_mb': {'atlas_800i_a3': [32768, 65536]}}
    assert rules.check_nodes(desc(layout='single'), {'single': ['s0']}, nodes, config) == []


def test_first_generation_910_refused():
    old = node_facts(dmi_product='Atlas 800 (Model 9000)', transform=lambda t: t.replace('910B3', '910B ').replace(
        '| 0           0    / 0          ', '| 0           0    / 15171      '))
    assert old['model'] == 'other'
    out = rules.check_nodes(desc(layout='single'), {'single': ['s0']}, {'s0': old})
    assert rule_ids(out) == ['model_supported'] and 'non-zero DDR' in out[0]['message']


def test_missing_or_failed_facts():
    nodes = cluster(d0={'present': False, 'error': 'npu-smi not found (PATH, /usr/local/bin)'})
    del nodes['d1']
    out = rules.check_nodes(desc(), MULTI, nodes)
    assert rule_ids(out) == ['npu_facts', 'npu_facts']
    assert 'npu-smi not found' in out[0]['message'] and out[0]['host'] == 'd0'
    assert out[1]['host'] == 'd1' and 'no NPU facts' in out[1]['message']


def test_npus_per_instance_must_fit():
    out = rules.check_nodes(desc(npus_per_instance=16), MULTI, cluster())
    assert rule_ids(out) == ['npus_per_instance'] * 4


def test_require_dmi_match():
    unknown = node_facts(dmi_product='Huawei Server')
    nodes = cluster(p0=unknown)
    assert rules.check_nodes(desc(), MULTI, nodes) == []
    out = rules.check_nodes(desc(), MULTI, nodes, {'require_dmi_match': True})
    assert rule_ids(out) == ['dmi_product'] and 'Huawei Server' in out[0]['message']


def test_every_message_names_node_value_and_fix():
    nodes = cluster(d1=copy.deepcopy(A3), p1=node_facts(transform=drop_last_npu))
    out = rules.check_nodes(desc(features={'prefix_cache': True}), MULTI, nodes)
    out += rules.check_description(desc(features={'prefix_cache': True}), MULTI)
    assert out
    for item in out:
        assert item['message'].startswith((item['host'] or 'cluster') + ': ')
        assert '(found: ' in item['message'] and '. Fix: ' in item['message']


# ---- reports -------------------------------------------------------------------------------------

def test_report_pass_and_markdown():
    report = rules.build_report(desc(), MULTI, cluster(), [], 'nodes')
    assert report['verdict'] == 'pass'
    assert [n['host'] for n in report['nodes']] == ['p0', 'p1', 'd0', 'd1']
    assert all(n['verdict'] == 'pass' for n in report['nodes'])
    assert set(report['nodes'][0]['devices'][0]) == set(rules.REPORT_DEVICE_FIELDS)
    text = rules.render_markdown(report)
    assert '| p0 | prefill | Atlas 800I A2 | 8 (8) | 64 GB | OK | PASS |' in text
    assert 'No violations.' in text


def test_report_fail_names_rows_and_violations():
    nodes = cluster(d1=node_facts(transform=drop_last_npu))
    violations = rules.check_nodes(desc(), MULTI, nodes)
    report = rules.build_report(desc(), dict(MULTI, control=['c0']), nodes, violations, 'nodes')
    assert report['verdict'] == 'fail'
    verdicts = dict((n['host'], n['verdict']) for n in report['nodes'])
    assert verdicts == {'p0': 'pass', 'p1': 'pass', 'd0': 'pass', 'd1': 'fail', 'c0': 'pass'}
    text = rules.render_markdown(report)
    assert '| d1 | decode | Atlas 800I A2 | 7 (7) | 64 GB | OK | FAIL |' in text
    assert '| c0 | control | - | - | - | - | PASS |' in text
    assert '`npu_count_equal`: d1: P and D nodes' in text


def test_report_description_stage():
    violations = rules.check_description(desc(model_name='Qwen2.5-VL-7B'), MULTI)
    report = rules.build_report(desc(model_name='Qwen2.5-VL-7B'), MULTI, {}, violations, 'description')
    assert report['verdict'] == 'fail' and report['stage'] == 'description'
    assert all(n['verdict'] == 'not checked' for n in report['nodes'])
    text = rules.render_markdown(report)
    assert 'nodes were not contacted' in text and '| p0 | prefill | not gathered |' in text


def test_report_is_deterministic():
    first = rules.build_report(desc(), MULTI, cluster(), [], 'nodes')
    changed = cluster()
    for facts in changed.values():
        for dev in facts['devices']:
            dev['hbm_used_mb'] += 100
            dev['temp_c'] = 99
    assert rules.build_report(desc(), MULTI, changed, [], 'nodes') == first


# ---- role defaults stay in sync with the Python defaults -----------------------------------------

def test_role_defaults_match_python_defaults():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    assert defaults['preflight_model_allowed_patterns'] == rules.DEFAULT_MODEL_ALLOWED
    assert defaults['preflight_model_denied_patterns'] == rules.DEFAULT_MODEL_DENIED
    assert defaults['preflight_allowed_models'] == rules.DEFAULT_ALLOWED_MODELS
    # the HBM table has one home (npu_smi); the variable only adds sizes to it
    assert defaults['preflight_hbm_table_mb'] == {} and not hasattr(rules, 'DEFAULT_HBM_TABLE_MB')
    assert defaults['preflight_npus_per_model'] == rules.DEFAULT_NPUS_PER_MODEL
    assert defaults['preflight_dmi_product_patterns'] == dmidecode.DEFAULT_PRODUCT_PATTERNS


def test_hbm_table_adds_operator_sizes_per_model():
    table = npu_smi.hbm_table({'atlas_800i_a3': [32768, '65536']})
    assert table['atlas_800i_a3'] == [32768, 65536] and table['atlas_800i_a2'] == [32768, 65536]
    assert npu_smi.hbm_table() == npu_smi.DEFAULT_HBM_TABLE_MB
    with pytest.raises(ValueError, match=r'hbm_table_mb.atlas_800i_a3 is .*give a list of HBM sizes'):
        npu_smi.hbm_table({'atlas_800i_a3': ['64G']})


def test_argument_specs_mirror_defaults():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    for name, value in defaults.items():
        assert name in options, name
        assert options[name].get('default') == value, name
    assert sorted(options['mindie_features']['options']) == sorted(rules.FEATURES)


# ---- one description for the whole inventory, every node with a role ----------------------------

def test_per_host_override_is_reported():
    host_values = {
        'mindie_model_name': {'p0': 'Qwen2-7B-Instruct', 'p1': 'Qwen2-7B-Instruct', 'd0': 'Qwen2-72B-Instruct'},
        'mindie_features': {'p0': {}, 'p1': {'prefix_cache': False}, 'd0': {'prefix_cache': True}},
        'mindie_layout': {'p0': 'multi', 'p1': 'multi', 'd0': 'multi'},
    }
    out = rules.check_description(desc(), MULTI, host_values=host_values)
    assert rule_ids(out) == ['description_consistent', 'description_consistent']
    assert all(v['host'] == 'd0' for v in out)
    messages = ' '.join(v['message'] for v in out)
    assert 'mindie_model_name differs from the value the run uses (Qwen2-7B-Instruct) (found: Qwen2-72B-Instruct)' in messages
    assert 'mindie_features differs' in messages and 'group_vars/all' in messages


def test_consistent_description_passes():
    host_values = {'mindie_sampling_defaults': {'p0': {'temperature': 0.5}, 'd0': {'temperature': 0.5}},
                   'mindie_npus_per_instance': {'p0': None, 'd0': None}}
    assert rules.check_description(desc(sampling_defaults={'temperature': 0.5}), MULTI, host_values=host_values) == []
    host_values['mindie_npus_per_instance']['d0'] = 4
    out = rules.check_description(desc(sampling_defaults={'temperature': 0.5}), MULTI, host_values=host_values)
    assert rule_ids(out) == ['description_consistent'] and out[0]['host'] == 'd0'


def test_cluster_host_without_role():
    out = rules.check_description(desc(), MULTI, cluster_hosts=['p0', 'p1', 'd0', 'd1', 'stray'])
    assert rule_ids(out) == ['groups_unassigned'] and out[0]['host'] == 'stray'
    assert 'mindie_single, mindie_prefill, mindie_decode, mindie_control' in out[0]['message']


def test_unparsed_npu_smi_output_has_its_own_fix():
    nodes = cluster(d1={'present': False, 'unparsed': True,
                        'error': 'cannot understand "npu-smi info" output: unknown second header line'})
    out = rules.check_nodes(desc(), MULTI, nodes)
    assert rule_ids(out) == ['npu_smi_output'] and out[0]['host'] == 'd1'
    assert 'unknown second header line' in out[0]['message'] and 'refuses to guess' in out[0]['message']
