#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: npu_facts
short_description: Gather Ascend NPU facts and the Atlas server-model verdict
version_added: 0.1.0
description:
  - Runs C(npu-smi info), C(dmidecode -t 1) and, when available, C(npu-smi info -t board -i <first NPU>)
    and reads the driver C(version.info), all in one module call, and returns them as
    C(ansible_facts.ascend_npu).
  - Decides the server model (Atlas 800I A2, Atlas 800I A3 or other) from several pieces of evidence
    and reports each of them. npu-smi decides the generation (table layout, chip names, DDR);
    the DMI product name, whose exact 800I strings are not published, only separates 800I servers
    from other servers with the same chips; HBM sizes are reported against the model table.
  - Changes nothing on the node.
  - A node without npu-smi, or where C(npu-smi info) fails, is reported with C(present=false) and an
    C(error) text rather than as a failure. Output that npu-smi prints but this module does not
    understand fails the task with the offending line, never with a guessed NPU count.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  npu_smi_path:
    description:
      - Path of the npu-smi binary.
      - When unset, searched in C(PATH), C(/usr/local/bin), C(/usr/local/sbin) and
        C(/usr/local/Ascend/driver/tools).
    type: path
  dmidecode_path:
    description:
      - Path of the dmidecode binary. When unset, searched in C(PATH) and the sbin directories.
    type: path
  driver_version_file:
    description:
      - The driver's C(version.info); its C(Version=) line is the driver version. When the file is
        absent, the C(Version:) in the npu-smi banner is used.
    type: path
    default: /usr/local/Ascend/driver/version.info
  gather_firmware:
    description:
      - Also run C(npu-smi info -t board -i <first NPU id>) to read the firmware version (one more
        short npu-smi call). A failure there is reported in C(firmware_error), not fatal.
    type: bool
    default: true
  dmi_product_patterns:
    description:
      - Python regular expressions (case-insensitive, C(re.search)) for the DMI product name, keyed by
        C(atlas_800i_a2), C(atlas_800i_a3) and C(other).
      - A product name that matches none of them is reported as is and leaves the verdict to npu-smi.
    type: dict
  hbm_table_mb:
    description:
      - HBM sizes per device (MB) to allow for a model, keyed by C(atlas_800i_a2) and C(atlas_800i_a3), added
        to the built-in table (A2 32768 and 65536, A3 65536). Only used to report the HBM evidence.
    type: dict
notes:
  - Supports check mode; the module only reads.
  - C(dmidecode) needs root; without it the DMI evidence is reported as unavailable.
seealso:
  - module: ascend.mindie.deployment_check
attributes:
  facts:
    description: Sets C(ansible_facts.ascend_npu).
    support: full
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Gather NPU facts
  ascend.mindie.npu_facts:

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ ansible_facts.ascend_npu.model_name }} with {{ ansible_facts.ascend_npu.npu_count }} NPUs"

- name: Accept a site-specific DMI product name
  ascend.mindie.npu_facts:
    dmi_product_patterns:
      atlas_800i_a2: ['800\s*I\s*-?\s*A2\b', '^IT21HMDB']
      atlas_800i_a3: ['800\s*I\s*-?\s*A3\b']
      other: ['800\s*T\b']
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    ascend_npu:
      description: NPU inventory and model verdict of the node.
      returned: always
      type: dict
      contains:
        present:
          description: Whether C(npu-smi info) ran and listed at least one NPU.
          type: bool
          sample: true
        error:
          description: Why npu-smi could not be used (not found, non-zero exit with its text); null otherwise.
          type: str
          sample: npu-smi not found in PATH, /usr/local/bin, /usr/local/sbin, /usr/local/Ascend/driver/tools
        npu_smi_path:
          description: The npu-smi binary used.
          type: str
          sample: /usr/local/bin/npu-smi
        npu_smi_version:
          description: Version in the npu-smi banner.
          type: str
          sample: 24.1.0.3
        driver_version:
          description: Driver version.
          type: str
          sample: 24.1.0.3
        driver_version_source:
          description: Where the driver version came from (C(version.info), C(npu-smi banner) or null).
          type: str
          sample: version.info
        firmware_version:
          description: C(Firmware Version) of the first NPU's board; null when not gathered or unreadable.
          type: str
          sample: 7.8.0.6.201
        firmware_error:
          description: Why the firmware version could not be read; null otherwise.
          type: str
        model:
          description: Model verdict, one of C(atlas_800i_a2), C(atlas_800i_a3), C(other), C(unknown).
          type: str
          sample: atlas_800i_a2
        model_name:
          description: Human name of the verdict.
          type: str
          sample: Atlas 800I A2
        model_evidence:
          description:
            - Each piece of evidence, with C(source) (C(layout), C(chip_name), C(ddr), C(hbm),
              C(dmi_product_name)), the raw C(value), what it C(suggests) and a C(detail) sentence.
          type: list
          elements: dict
        layout:
          description: C(chip) (one row pair per NPU) or C(chip_phy) (Chip and Phy-ID columns, one row pair per die).
          type: str
          sample: chip
        npu_count:
          description: Number of NPUs (distinct NPU ids).
          type: int
          sample: 8
        device_count:
          description: Number of devices (dies); 8 on A2, 16 on A3.
          type: int
          sample: 8
        dies_per_npu:
          description: Devices per NPU (a list when NPUs differ).
          type: raw
          sample: 1
        chip_names:
          description: Distinct chip names in the Name column.
          type: list
          elements: str
          sample: [910B3]
        hbm_total_mb_per_device:
          description: Distinct HBM totals per device in MB.
          type: list
          elements: int
          sample: [65536]
        health_ok:
          description: Whether every device reports health C(OK).
          type: bool
          sample: true
        unhealthy:
          description: Devices whose health is not C(OK), with the raw word.
          type: list
          elements: dict
        devices:
          description: One entry per device (NPU on A2, die on A3) with C(npu_id), C(chip_id), C(phy_id), C(name),
            C(health), C(bus_id), C(power_w), C(temp_c), C(aicore_pct), C(hbm_used_mb), C(hbm_total_mb),
            C(ddr_used_mb), C(ddr_total_mb), C(hugepages_used), C(hugepages_total).
          type: list
          elements: dict
        npus:
          description: Devices grouped by NPU id, with the NPU's worst C(health), C(device_count) and summed HBM.
          type: list
          elements: dict
        processes:
          description: Processes listed by npu-smi (C(npu_id), C(chip_id), C(pid), C(name), C(memory_mb)).
          type: list
          elements: dict
        dmi:
          description: DMI system information (C(manufacturer), C(product_name), C(version), C(family),
            C(sku_number)), C(available), C(error) and the C(classification) of the product name.
          type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ascend.mindie.plugins.module_utils import npu_smi
from ansible_collections.ascend.mindie.plugins.module_utils import dmidecode

SEARCH_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/local/Ascend/driver/tools', '/usr/sbin', '/sbin']
C_ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
RAW_LIMIT = 2000


def _short(text):
    text = (text or '').strip()
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + ' ...[truncated]'


class NpuFacts(object):
    """Gather everything in one pass; never changes the node."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.facts = {
            'present': False, 'error': None, 'npu_smi_path': None, 'npu_smi_version': None,
            'driver_version': None, 'driver_version_source': None, 'firmware_version': None,
            'firmware_error': None, 'model': npu_smi.MODEL_UNKNOWN,
            'model_name': npu_smi.MODEL_NAMES[npu_smi.MODEL_UNKNOWN], 'model_evidence': [],
            'layout': None, 'npu_count': 0, 'device_count': 0, 'dies_per_npu': None, 'chip_names': [],
            'hbm_total_mb_per_device': [], 'health_ok': False, 'unhealthy': [], 'devices': [],
            'npus': [], 'processes': [], 'dmi': {},
        }

    def _run(self, argv):
        return self.module.run_command(argv, environ_update=C_ENV)

    def _bin(self, name, explicit):
        if explicit:
            return explicit if os.access(explicit, os.X_OK) else None
        return self.module.get_bin_path(name, required=False, opt_dirs=SEARCH_DIRS)

    def gather_dmi(self):
        dmi = {'available': False, 'error': None, 'classification': None}
        for field in dmidecode.FIELDS.values():
            dmi[field] = None
        path = self._bin('dmidecode', self.params['dmidecode_path'])
        if not path:
            dmi['error'] = 'dmidecode not found'
            return dmi
        rc, out, err = self._run([path, '-t', '1'])
        if rc != 0:
            dmi['error'] = 'dmidecode -t 1 exited %d: %s' % (rc, _short(err or out))
            return dmi
        try:
            info = dmidecode.parse_system_information(out)
        except dmidecode.DmidecodeParseError as exc:
            dmi['error'] = '%s: %s' % (exc, _short(out))
            return dmi
        dmi.update(info)
        dmi['available'] = True
        dmi['classification'] = dmidecode.classify_product(info['product_name'], self.params['dmi_product_patterns'])
        return dmi

    def gather_driver_version(self, banner_version):
        path = self.params['driver_version_file']
        if path and os.path.isfile(path):
            try:
                with open(path, 'r') as handle:
                    version = npu_smi.parse_driver_version_info(handle.read())
            except (IOError, OSError) as exc:
                version = None
                self.module.warn('cannot read %s: %s' % (path, to_native(exc)))
            if version:
                return version, 'version.info'
        if banner_version:
            return banner_version, 'npu-smi banner'
        return None, None

    def gather_firmware(self, path, npu_id):
        rc, out, err = self._run([path, 'info', '-t', 'board', '-i', str(npu_id)])
        if rc != 0:
            return None, 'npu-smi info -t board -i %s exited %d: %s' % (npu_id, rc, _short(err or out))
        try:
            blocks = npu_smi.parse_key_value_blocks(out)
        except npu_smi.NpuSmiParseError as exc:
            return None, 'cannot parse npu-smi info -t board output: %s' % exc
        version = blocks[0].get('Firmware Version')
        if not version:
            return None, 'npu-smi info -t board printed no "Firmware Version"'
        return version, None

    def run(self):
        facts = self.facts
        dmi = self.gather_dmi()
        facts['dmi'] = dmi
        path = self._bin('npu-smi', self.params['npu_smi_path'])
        if not path:
            facts['error'] = ('npu-smi not found (%s)' % (self.params['npu_smi_path'] or
                                                          'PATH, ' + ', '.join(SEARCH_DIRS[:3])))
            facts['driver_version'], facts['driver_version_source'] = self.gather_driver_version(None)
            return facts
        facts['npu_smi_path'] = path
        rc, out, err = self._run([path, 'info'])
        if rc != 0:
            # The deployer treats a failing npu-smi as "driver not installed"; keep its words.
            facts['error'] = 'npu-smi info exited %d: %s' % (rc, _short((out or '') + (err or '')))
            facts['driver_version'], facts['driver_version_source'] = self.gather_driver_version(None)
            return facts
        try:
            table = npu_smi.parse_npu_smi_info(out)
        except npu_smi.NpuSmiParseError as exc:
            self.module.fail_json(msg='cannot understand "npu-smi info" output: %s' % to_native(exc),
                                  stdout=out, stderr=err)
        summary = npu_smi.summarize(table)
        facts.update(summary)
        facts['present'] = True
        facts['layout'] = table['layout']
        facts['devices'] = table['devices']
        facts['npus'] = table['npus']
        facts['processes'] = table['processes']
        facts['npu_smi_version'] = table['npu_smi_version']
        facts['health_ok'] = not summary['unhealthy']
        facts['driver_version'], facts['driver_version_source'] = self.gather_driver_version(table['driver_version'])
        if self.params['gather_firmware']:
            facts['firmware_version'], facts['firmware_error'] = self.gather_firmware(path, table['npus'][0]['npu_id'])
        product = dmi.get('product_name') if dmi.get('available') else None
        model, evidence = npu_smi.model_verdict(table, dmi_class=dmi.get('classification'),
                                                dmi_product=product, hbm_table_mb=self.params['hbm_table_mb'])
        facts['model'] = model
        facts['model_name'] = npu_smi.MODEL_NAMES[model]
        facts['model_evidence'] = evidence
        return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            npu_smi_path=dict(type='path'),
            dmidecode_path=dict(type='path'),
            driver_version_file=dict(type='path', default='/usr/local/Ascend/driver/version.info'),
            gather_firmware=dict(type='bool', default=True),
            dmi_product_patterns=dict(type='dict'),
            hbm_table_mb=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    if module.params['dmi_product_patterns'] is None:
        module.params['dmi_product_patterns'] = dmidecode.DEFAULT_PRODUCT_PATTERNS
    errors = dmidecode.validate_patterns(module.params['dmi_product_patterns'])
    if errors:
        module.fail_json(msg='invalid dmi_product_patterns: %s' % '; '.join(errors))
    try:
        module.params['hbm_table_mb'] = npu_smi.hbm_table(module.params['hbm_table_mb'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    facts = NpuFacts(module).run()
    module.exit_json(changed=False, ansible_facts={'ascend_npu': facts})


if __name__ == '__main__':
    main()
