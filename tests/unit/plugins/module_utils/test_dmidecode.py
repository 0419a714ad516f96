# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import dmidecode
from ansible_collections.ascend.mindie.plugins.module_utils.dmidecode import DmidecodeParseError

TYPE1 = """# dmidecode 3.3
Getting SMBIOS data from sysfs.
SMBIOS 3.2.0 present.

Handle 0x0001, DMI type 1, 27 bytes
System Information
\tManufacturer: Huawei
\tProduct Name: Atlas 800I A2
\tVersion: V1
\tSerial Number: 2102314XYZ
\tUUID: 12345678-1234-1234-1234-123456789abc
\tWake-up Type: Power Switch
\tSKU Number: To be filled by O.E.M.
\tFamily: Atlas

Handle 0x0002, DMI type 1, 27 bytes
System Information
\tManufacturer: Other
\tProduct Name: Second Block
"""


def test_type1_fields_first_block_only_no_serial():
    info = dmidecode.parse_system_information(TYPE1)
    assert info == {'manufacturer': 'Huawei', 'product_name': 'Atlas 800I A2', 'version': 'V1',
                    'sku_number': None, 'family': 'Atlas'}


def test_quiet_output_without_handles():
    text = 'System Information\n\tManufacturer: Huawei\n\tProduct Name: Atlas 800I A3\n'
    assert dmidecode.parse_system_information(text)['product_name'] == 'Atlas 800I A3'


def test_other_types_before_type1_are_ignored():
    text = ('Handle 0x0000, DMI type 0, 26 bytes\nBIOS Information\n\tVendor: Huawei\n\tVersion: 1.0\n\n'
            + TYPE1.split('\n\n', 1)[1])
    assert dmidecode.parse_system_information(text)['manufacturer'] == 'Huawei'


@pytest.mark.parametrize('text', [
    '',
    '# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.3.0 present.\n',
    '/sys/firmware/dmi/tables/smbios_entry_point: Permission denied\n/dev/mem: Permission denied\n',
])
def test_no_system_information_fails(text):
    with pytest.raises(DmidecodeParseError, match='System Information'):
        dmidecode.parse_system_information(text)


def test_string_output():
    assert dmidecode.parse_product_name_string('# SMBIOS entry point\nAtlas 800I A2\n') == 'Atlas 800I A2'
    assert dmidecode.parse_product_name_string('Not Specified\n') is None
    with pytest.raises(DmidecodeParseError):
        dmidecode.parse_product_name_string('a\nb\n')


@pytest.mark.parametrize('name,expected', [
    ('Atlas 800I A2', 'atlas_800i_a2'),
    ('ATLAS 800I-A2', 'atlas_800i_a2'),
    ('Atlas 800I A2 (Model 3000)', 'atlas_800i_a2'),
    ('Atlas 800I A3 SuperPoD', 'atlas_800i_a3'),
    ('Atlas 800I A3 超节点服务器', 'atlas_800i_a3'),
    ('Atlas 800T A2', 'other'),
    ('Atlas 800 (Model 9000)', 'other'),
    ('Atlas 900 A2 PoDc', 'other'),
    ('Atlas 9000 A3 SuperPoD', 'other'),
    ('Atlas 800I A20', None),
    ('PowerEdge R750', None),
    (None, None),
    ('', None),
])
def test_classify_default_patterns(name, expected):
    assert dmidecode.classify_product(name) == expected


def test_classify_custom_patterns():
    patterns = {'atlas_800i_a2': ['^IT21HMDB'], 'atlas_800i_a3': [], 'other': ['.*']}
    assert dmidecode.classify_product('IT21HMDB-X', patterns) == 'atlas_800i_a2'
    assert dmidecode.classify_product('Atlas 800I A2', patterns) == 'other'


def test_validate_patterns():
    assert dmidecode.validate_patterns(dmidecode.DEFAULT_PRODUCT_PATTERNS) == []
    errors = dmidecode.validate_patterns({'atlas_800i_a2': ['(unclosed'], 'other': 'not-a-list'})
    assert len(errors) == 2 and 'not a valid regular expression' in errors[0] and 'expected a list' in errors[1]
