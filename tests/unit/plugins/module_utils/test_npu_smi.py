# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import npu_smi
from ansible_collections.ascend.mindie.plugins.module_utils.npu_smi import NpuSmiParseError

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


A2 = fixture('npu_smi_a2_910b3_24.1.0.3.txt')
A2_32G = fixture('npu_smi_910b4_32g_25.5.2.txt')
A3 = fixture('npu_smi_a3_25.3.rc1.txt')


def widen(text, extra=10):
    """Re-pad every table cell wider, as 26.x drivers do: parsers must not use fixed columns."""
    out = []
    for line in text.splitlines():
        if line.startswith('|'):
            cells = line.strip('|').split('|')
            out.append('|' + '|'.join(c + ' ' * extra for c in cells) + '|')
        elif line.startswith('+'):
            out.append(line[:-1] + line[-2] * extra + '+')
        else:
            out.append(line)
    return '\n'.join(out) + '\n'


def replace_line(text, old, new, count=1):
    assert old in text
    return text.replace(old, new, count)


# ---- real samples --------------------------------------------------------------------------------

def test_a2_sample_eight_npus():
    table = npu_smi.parse_npu_smi_info(A2)
    assert table['layout'] == npu_smi.LAYOUT_CHIP
    assert table['npu_smi_version'] == '24.1.0.3'
    assert table['driver_version'] == '24.1.0.3'
    assert [d['npu_id'] for d in table['devices']] == list(range(8))
    # The 24.1.0.3 chip cell is 0 on every row: ids come from the NPU column, never the chip cell.
    assert set(d['chip_id'] for d in table['devices']) == {0}
    first = table['devices'][0]
    assert first == {
        'npu_id': 0, 'name': '910B3', 'health': 'OK', 'power_w': 98.9, 'temp_c': 38,
        'hugepages_used': 0, 'hugepages_total': 0, 'chip_id': 0, 'phy_id': None, 'bus_id': '0000:C1:00.0',
        'aicore_pct': 0, 'ddr_used_mb': 0, 'ddr_total_mb': 0, 'hbm_used_mb': 3382, 'hbm_total_mb': 65536,
    }
    assert table['processes'] == []
    summary = npu_smi.summarize(table)
    assert summary['npu_count'] == 8 and summary['device_count'] == 8 and summary['dies_per_npu'] == 1
    assert summary['chip_names'] == ['910B3']
    assert summary['hbm_total_mb_per_device'] == [65536]
    assert summary['unhealthy'] == []


def test_910b4_32g_sample_with_process_section():
    table = npu_smi.parse_npu_smi_info(A2_32G)
    assert table['npu_smi_version'] == '25.5.2'
    assert [(d['npu_id'], d['chip_id']) for d in table['devices']] == [(0, 0), (1, 1)]
    assert [d['hbm_total_mb'] for d in table['devices']] == [32768, 32768]
    assert table['processes'] == []


def test_a3_sample_sixteen_dies():
    table = npu_smi.parse_npu_smi_info(A3)
    assert table['layout'] == npu_smi.LAYOUT_CHIP_PHY
    assert table['npu_smi_version'] == '25.3.rc1'
    assert len(table['devices']) == 16
    assert len(table['npus']) == 8
    assert [d['phy_id'] for d in table['devices']] == list(range(16))
    assert [(d['npu_id'], d['chip_id']) for d in table['devices'][:4]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # Die 1 prints Power "-".
    assert table['devices'][1]['power_w'] is None
    assert table['devices'][0]['power_w'] == 166.9
    # A 5-digit used value touches the slash: "46536/ 65536".
    assert table['devices'][0]['hbm_used_mb'] == 46536
    assert table['npus'][0]['device_count'] == 2
    assert table['npus'][0]['hbm_total_mb'] == 131072
    assert table['processes'] == [
        {'npu_id': 0, 'chip_id': 0, 'pid': 2173027, 'name': '', 'memory_mb': 43266},
        {'npu_id': 0, 'chip_id': 1, 'pid': 2173030, 'name': '', 'memory_mb': 43266},
        {'npu_id': 1, 'chip_id': 0, 'pid': 2173031, 'name': '', 'memory_mb': 43266},
        {'npu_id': 1, 'chip_id': 1, 'pid': 2173032, 'name': '', 'memory_mb': 43266},
    ]
    summary = npu_smi.summarize(table)
    assert summary['npu_count'] == 8 and summary['device_count'] == 16 and summary['dies_per_npu'] == 2
    assert summary['chip_names'] == ['Ascend910']


@pytest.mark.parametrize('text', [A2, A2_32G, A3], ids=['a2', 'a2-32g', 'a3'])
def test_wider_columns_parse_the_same(text):
    assert npu_smi.parse_npu_smi_info(widen(text))['devices'] == npu_smi.parse_npu_smi_info(text)['devices']


def test_crlf_and_leading_noise_are_tolerated():
    text = 'Warning: some locale message\r\n' + A2.replace('\n', '\r\n')
    assert len(npu_smi.parse_npu_smi_info(text)['devices']) == 8


def test_table_without_banner():
    lines = A2.splitlines()
    text = '\n'.join(lines[2:])   # drop the top rule and the banner
    table = npu_smi.parse_npu_smi_info(text)
    assert table['npu_smi_version'] is None and len(table['devices']) == 8


def test_hyphenated_name_na_power_and_health_words_are_kept():
    text = replace_line(A2, '| 2     910B3               | OK            | 98.2 ',
                        '| 2     910B4-1             | Alarm         | NA   ')
    text = text.replace('910B3 ', '910B4-1', )
    table = npu_smi.parse_npu_smi_info(text)
    dev = table['devices'][2]
    assert dev['name'] == '910B4-1' and dev['health'] == 'Alarm' and dev['power_w'] is None
    assert npu_smi.summarize(table)['unhealthy'] == [{'npu_id': 2, 'chip_id': 0, 'phy_id': None, 'health': 'Alarm'}]
    assert table['npus'][2]['health'] == 'Alarm'


def test_process_rows_with_name_and_26x_container_column():
    head = A2_32G.split('+---------------------------+---------------+----------------------------------------------------+\n| NPU     Chip')[0]
    proc = (
        '+---------------------------+---------------+--------------------------+-------------------------+-----------+\n'
        '| NPU     Chip              | Process id    | Process id in container  | Process name            | Process memory(MB) |\n'
        '+===========================+===============+==========================+=========================+===========+\n'
        '| 0       0                 | 4242          | 17                       | mindie_llm_back         | 3000      |\n'
        '| No running processes found in NPU 1                                                            |\n'
        '+===========================+===============+==========================+=========================+===========+\n'
    )
    table = npu_smi.parse_npu_smi_info(head + proc)
    assert table['processes'] == [{'npu_id': 0, 'chip_id': 0, 'pid': 4242, 'name': 'mindie_llm_back',
                                   'memory_mb': 3000}]


# ---- output that must fail loudly ----------------------------------------------------------------

BAD_CASES = {
    'empty': ('', 'printed nothing'),
    'no table': ('There is no NPU card on this server.\n', 'no npu-smi table header'),
    'unknown first header': (A2.replace('Hugepages-Usage(page)', 'Hugepages(page)      '), 'unknown first header'),
    'unknown second header': (A2.replace('| Chip                      |', '| Chip  Die-ID              |'),
                              'unknown second header'),
    'header words only': (A2.split('+===')[0], 'lists no NPU'),
    'third line per row': (replace_line(A2, '| 0                         | 0000:C1:00.0  | 0           0    / 0          3382 / 65536         |\n',
                                        '| 0                         | 0000:C1:00.0  | 0           0    / 0          3382 / 65536         |\n'
                                        '| 0                         | 0000:C1:00.1  | 0           0    / 0          3382 / 65536         |\n'),
                           'more than two lines'),
    'missing chip row': (replace_line(A2, '| 0                         | 0000:C2:00.0  | 0           0    / 0          3594 / 65536         |\n', ''),
                         'without its chip row'),
    'missing NPU row': (replace_line(A2, '| 1     910B3               | OK            | 101.0       39                0    / 0             |\n', ''),
                        'chip row without its NPU row'),
    'duplicate NPU id': (replace_line(A2, '| 1     910B3               | OK ', '| 0     910B3               | OK '),
                         'NPU 0 listed twice'),
    'bad bus id': (replace_line(A2, '0000:C1:00.0', 'C1:00.0     '), 'not a PCI address'),
    'missing HBM pair': (replace_line(A2, '3382 / 65536', '3382        '), 'used/total pair'),
    'health with two words': (replace_line(A2, '| OK            | 98.9', '| OK BAD        | 98.9'), 'not one word'),
    'garbage power': (replace_line(A2, '98.9 ', 'high '), 'neither a number'),
    'A3 row without Phy-ID': (replace_line(A3, '| 1     1                   | 0000:9F:00.0', '| 1                         | 0000:9F:00.0'),
                              'expected Chip and Phy-ID'),
    'A3 duplicate Phy-ID': (replace_line(A3, '| 1     3                   |', '| 1     1                   |'), 'Phy-ID 1 listed twice'),
    'text inside the table': (replace_line(A2, '+===========================+===============+====================================================+\n| 3 ',
                                           'some stray text\n| 3 '), 'text outside the table'),
    'truncated after NPU row': (A2.split('| 0                         | 0000:C1:00.0')[0], 'without its chip row'),
    'unknown process row': (A3.replace('| No running processes found in NPU 2 ', '| Something else happened in NPU 2   '),
                            'unexpected full-width line'),
}


@pytest.mark.parametrize('text,message', list(BAD_CASES.values()), ids=list(BAD_CASES))
def test_unknown_shapes_fail_loudly(text, message):
    with pytest.raises(NpuSmiParseError, match=re.escape(message)):
        npu_smi.parse_npu_smi_info(text)


def test_error_names_the_line():
    text = replace_line(A2, '0000:C1:00.0', 'C1:00.0     ')
    with pytest.raises(NpuSmiParseError) as err:
        npu_smi.parse_npu_smi_info(text)
    assert err.value.line_no == 8 and 'C1:00.0' in err.value.line


# ---- key/value listings and version.info ---------------------------------------------------------

def test_board_listing():
    blocks = npu_smi.parse_key_value_blocks(fixture('npu_smi_board_910b.txt'))
    assert len(blocks) == 1
    assert blocks[0]['Firmware Version'] == '7.8.0.6.201'
    assert blocks[0]['PCI Device ID'] == '0xD802'
    assert blocks[0]['Chip Count'] == '1'


def test_memory_listing_with_two_chip_blocks():
    one = fixture('npu_smi_memory_910b.txt')
    blocks = npu_smi.parse_key_value_blocks(one + one.replace('Chip ID                        : 0',
                                                              'Chip ID                        : 1'))
    assert [b['Chip ID'] for b in blocks] == ['0', '1']
    assert blocks[1]['HBM Capacity(MB)'] == '32768'


def test_key_value_rejects_other_text():
    with pytest.raises(NpuSmiParseError, match='Label : value'):
        npu_smi.parse_key_value_blocks('        NPU ID : 0\nError: the device is busy\n')
    with pytest.raises(NpuSmiParseError, match='no "Label : value"'):
        npu_smi.parse_key_value_blocks('\n\n')


def test_driver_version_info():
    text = 'Version=24.1.0.3\nascendhal_version=7.35.19\npackage_version=24.1.0.3\n'
    assert npu_smi.parse_driver_version_info(text) == '24.1.0.3'
    assert npu_smi.parse_driver_version_info('package_version=23.0.rc3\n') == '23.0.rc3'
    assert npu_smi.parse_driver_version_info('garbage') is None


# ---- model verdict -------------------------------------------------------------------------------

def evidence_by_source(evidence):
    return dict((e['source'], e) for e in evidence)


def test_verdict_a2_with_matching_dmi():
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2), npu_smi.MODEL_A2, 'Atlas 800I A2')
    assert model == npu_smi.MODEL_A2
    ev = evidence_by_source(evidence)
    assert set(ev) == {'layout', 'chip_name', 'ddr', 'hbm', 'dmi_product_name'}
    assert ev['dmi_product_name']['value'] == 'Atlas 800I A2'
    assert ev['hbm']['suggests'] == npu_smi.MODEL_A2


def test_verdict_a3():
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A3), None, None)
    assert model == npu_smi.MODEL_A3
    assert evidence_by_source(evidence)['layout']['value'] == {'layout': 'chip_phy', 'dies_per_npu': 2, 'devices': 16}


def test_verdict_unknown_dmi_string_is_reported_raw_and_npu_smi_decides():
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2_32G), None, 'IT21HMDB Custom')
    assert model == npu_smi.MODEL_A2
    dmi = evidence_by_source(evidence)['dmi_product_name']
    assert dmi['value'] == 'IT21HMDB Custom' and dmi['suggests'] is None and 'no known pattern' in dmi['detail']


def test_verdict_dmi_800t_makes_other():
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2), npu_smi.MODEL_OTHER, 'Atlas 800T A2')
    assert model == npu_smi.MODEL_OTHER
    assert 'npu-smi says Atlas 800I A2' in evidence_by_source(evidence)['dmi_product_name']['detail']


def test_verdict_dmi_a3_on_a2_table_is_a_conflict():
    model, dummy = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2), npu_smi.MODEL_A3, 'Atlas 800I A3')
    assert model == npu_smi.MODEL_OTHER


def test_verdict_910a_trap_bare_910b_with_ddr():
    text = A2.replace('910B3', '910B ').replace('| 0           0    / 0          ', '| 0           0    / 15171      ')
    table = npu_smi.parse_npu_smi_info(text)
    assert npu_smi.summarize(table)['ddr_total_mb_per_device'] == [15171]
    model, evidence = npu_smi.model_verdict(table, None, None)
    assert model == npu_smi.MODEL_OTHER
    ev = evidence_by_source(evidence)
    assert ev['chip_name']['suggests'] == npu_smi.MODEL_OTHER
    assert ev['ddr']['suggests'] == npu_smi.MODEL_OTHER


def test_verdict_bare_910b_without_ddr_is_still_not_a2():
    model, dummy = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2.replace('910B3', '910B ')), None, None)
    assert model == npu_smi.MODEL_OTHER


def test_verdict_a2g_name_is_a2():
    model, dummy = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A2.replace('910B3', 'A2G3 ')), None, None)
    assert model == npu_smi.MODEL_A2


def test_verdict_a2_names_in_a3_layout_is_other():
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(A3.replace('Ascend910', '910B3    ')), None, None)
    assert model == npu_smi.MODEL_OTHER
    assert evidence_by_source(evidence)['layout']['suggests'] == npu_smi.MODEL_A3


def test_verdict_hbm_outside_table_is_reported_not_decisive():
    text = A2.replace('/ 65536', '/ 16384')
    model, evidence = npu_smi.model_verdict(npu_smi.parse_npu_smi_info(text), None, None)
    assert model == npu_smi.MODEL_A2
    assert evidence_by_source(evidence)['hbm']['suggests'] == 'mismatch'


# A 310P-class table in the driver's shape (our sample): second header "Chip  Device", the first
# header's last word cut to "Hugepages-Usage(page", Power NA, one DDR pair and no HBM column.
P310 = fixture('npu_smi_310p3_23.0.0.txt')


def test_310p_table_parses_with_device_column_and_no_hbm():
    table = npu_smi.parse_npu_smi_info(P310)
    assert table['layout'] == npu_smi.LAYOUT_CHIP_DEVICE
    assert [(d['npu_id'], d['chip_id'], d['device_id']) for d in table['devices']] == [
        (2, 0, 0), (130, 0, 1)]
    first = table['devices'][0]
    assert first['power_w'] is None and first['ddr_total_mb'] == 21527
    assert first['hbm_total_mb'] is None and first['bus_id'] == '0000:03:00.0'
    assert table['devices'][1]['health'] == 'Warning' and table['devices'][1]['hugepages_total'] == 1024
    summary = npu_smi.summarize(table)
    assert summary['npu_count'] == 2 and summary['hbm_total_mb_per_device'] == []


@pytest.mark.parametrize('dmi', [None, 'Atlas 800I A2'])
def test_310p_verdict_is_other_with_evidence(dmi):
    table = npu_smi.parse_npu_smi_info(widen(P310))
    model, evidence = npu_smi.model_verdict(
        table, npu_smi.MODEL_A2 if dmi else None, dmi)
    assert model == npu_smi.MODEL_OTHER
    ev = evidence_by_source(evidence)
    assert ev['layout']['suggests'] == 'other' and 'Chip/Device' in ev['layout']['detail']
    assert ev['chip_name']['value'] == ['310P3'] and ev['chip_name']['suggests'] == 'other'
    assert ev['ddr']['suggests'] == 'other' and 'no HBM column' in ev['ddr']['detail']


def test_device_column_listed_twice_fails():
    text = replace_line(P310, '| 0     1      | 0000:83', '| 0     0      | 0000:83')
    with pytest.raises(NpuSmiParseError, match='Device 0 listed twice'):
        npu_smi.parse_npu_smi_info(text)


def test_verdict_hbm_table_is_configurable_for_a3_variant():
    text = A3.replace('/ 65536', '/ 32768')
    table = npu_smi.parse_npu_smi_info(text)
    dummy, evidence = npu_smi.model_verdict(table, None, None)
    assert evidence_by_source(evidence)['hbm']['suggests'] == 'mismatch'
    dummy, evidence = npu_smi.model_verdict(table, None, None, {npu_smi.MODEL_A3: [32768, 65536]})
    assert evidence_by_source(evidence)['hbm']['suggests'] == npu_smi.MODEL_A3


# ---- the lab's simulators (tests/lab) print what the parser accepts -------------------------------

LAB = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'lab')
LAB_EXPECTED = {
    'a2-64g': ('atlas_800i_a2', 8, 8, [65536]),
    'a2-32g': ('atlas_800i_a2', 8, 8, [32768]),
    'a3': ('atlas_800i_a3', 8, 16, [65536]),
    'a2-7npu': ('atlas_800i_a2', 7, 7, [65536]),
    'a2-bad-health': ('atlas_800i_a2', 8, 8, [65536]),
    'a1-910': ('other', 8, 8, [32768]),
}


def _lab_output(tmp_path, profile, argv):
    import json
    import subprocess
    import sys
    sys.path.insert(0, LAB)
    try:
        import profiles
    finally:
        sys.path.remove(LAB)
    doc = profiles.render_node_profile(profile, 'unit', 'node-1', 0, 0)
    path = tmp_path / 'profile.json'
    path.write_text(json.dumps(doc))
    env = dict(os.environ, ATLAS_LAB_PROFILE=str(path))
    proc = subprocess.run([sys.executable] + argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize('profile', sorted(LAB_EXPECTED))
def test_lab_simulator_profiles(tmp_path, profile):
    if not os.path.isfile(os.path.join(LAB, 'sim', 'npu_smi.py')):
        pytest.skip('tests/lab/sim/npu_smi.py is not in this tree')
    from ansible_collections.ascend.mindie.plugins.module_utils import dmidecode
    rc, out = _lab_output(tmp_path, profile, [os.path.join(LAB, 'sim', 'npu_smi.py'), 'info'])
    assert rc == 0
    table = npu_smi.parse_npu_smi_info(out)
    rc, dmi_out = _lab_output(tmp_path, profile, [os.path.join(LAB, 'sim', 'dmidecode.py'), '-t', '1'])
    product = dmidecode.parse_system_information(dmi_out)['product_name'] if rc == 0 else None
    model, evidence = npu_smi.model_verdict(table, dmidecode.classify_product(product), product)
    summary = npu_smi.summarize(table)
    assert (model, summary['npu_count'], summary['device_count'], summary['hbm_total_mb_per_device']) == \
        LAB_EXPECTED[profile], evidence
    assert bool(summary['unhealthy']) == (profile == 'a2-bad-health')
    rc, board = _lab_output(tmp_path, profile, [os.path.join(LAB, 'sim', 'npu_smi.py'), 'info', '-t', 'board', '-i', '0'])
    assert rc == 0 and npu_smi.parse_key_value_blocks(board)[0]['Firmware Version']
