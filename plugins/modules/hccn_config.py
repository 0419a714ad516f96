#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hccn_config
short_description: Set the NPU RoCE port addresses of an Ascend node from an address plan
version_added: 0.1.0
description:
  - Reads every listed port with C(hccn_tool -i N -ip -g), C(-netdetect -g) and C(-gateway -g) and
    sets what the plan says and the port lacks with C(hccn_tool -i N -ip -s address A netmask M),
    C(-netdetect -s address A) and C(-gateway -s gateway G), one port after another
    (hccn_tool is single-instance on a node; "busy" answers are retried).
  - Writes I(conf_path) to match, with the driver's key names (C(address_N), C(netmask_N),
    C(netdetect_N), C(gateway_N)) and order; every other line, ARP and route entries included,
    stays as it is.
  - Every changed port is read back; a port that did not take its values fails the task, named,
    after the other ports are done. A port whose address the plan does not give and which has
    none in its planned subnet fails too, before anything changes on it.
  - Check mode reports the changes per port (with C(--diff) the running and planned values and
    the file) without calling any C(-s) command.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  plan:
    description:
      - The address plan, as the filter C(ascend.mindie.roce_mesh_plan) returns it in
        C(plan.address_plan), or as the role variable C(roce_address_plan) is written
        (C(devices) maps a device id to C(subnet), C(netdetect), C(gateway); C(addresses) maps a
        node to its device addresses).
    type: dict
    required: true
  node:
    description: This node's name in the plan's C(addresses) (normally C(inventory_hostname)).
    type: str
    required: true
  devices:
    description: Physical device ids to configure (0..7 on A2, 0..15 on A3).
    type: list
    elements: int
    required: true
  tool:
    description: Path of hccn_tool (it is often not on C(PATH)).
    type: path
    default: /usr/local/Ascend/driver/tools/hccn_tool
  conf_path:
    description: The persistent hccn configuration the driver re-applies at boot.
    type: path
    default: /etc/hccn.conf
  timeout:
    description: Seconds one hccn_tool call may take.
    type: float
    default: 15
  retries:
    description: Retries of one call while hccn_tool answers that it is busy.
    type: int
    default: 5
attributes:
  check_mode:
    description: Reads the ports and reports what would be set and written; calls no C(-s) command.
    support: full
  diff_mode:
    description: Per changed port the running and the planned values, and I(conf_path) before and after.
    support: full
notes:
  - Needs root (hccn_tool talks to the driver).
seealso:
  - module: ascend.mindie.hccn_facts
  - module: ascend.mindie.roce_ping
'''

EXAMPLES = r'''
- name: Give the NPU ports of this node their planned addresses
  ascend.mindie.hccn_config:
    node: "{{ inventory_hostname }}"
    devices: [0, 1, 2, 3, 4, 5, 6, 7]
    plan:
      devices:
        0: {subnet: 10.20.0.0/16, netdetect: 10.20.0.1, gateway: 10.20.0.1}
        4: {subnet: 10.20.0.0/16, netdetect: 10.20.0.1, gateway: 10.20.0.1}
      addresses:
        node-1: {0: 10.20.1.1, 4: 10.20.1.5}
'''

RETURN = r'''
ports:
  description: Per device the running values before, the planned ones, the hccn_tool commands and the state.
  returned: always
  type: list
  elements: dict
  sample:
    - device: 0
      port: node-1:dev0
      before: {address: null, netmask: null, netdetect: null, gateway: null}
      wanted: {address: 10.20.1.1, netmask: 255.255.0.0, netdetect: 10.20.0.1, gateway: 10.20.0.1}
      commands: [[-ip, -s, address, 10.20.1.1, netmask, 255.255.0.0], [-netdetect, -s, address, 10.20.0.1]]
      state: changed
      message: ""
failed_ports:
  description: One line per port that could not be brought to the plan, naming it and why.
  returned: always
  type: list
  elements: str
unplanned:
  description: Devices of the node the plan has no plane for (left alone).
  returned: always
  type: list
  elements: int
conf_changed:
  description: Whether I(conf_path) was (or in check mode would be) rewritten.
  returned: always
  type: bool
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    DEFAULT_HCCN_CONF,
    DEFAULT_HCCN_TOOL,
    HccnTool,
)
from ansible_collections.ascend.mindie.plugins.module_utils.hccn_config import (
    configure_node,
    diffs,
    plan_from_any,
)
from ansible_collections.ascend.mindie.plugins.module_utils.roce_plan import PlanError


def write_file(path, text):
    """Atomic replace keeping the file's mode (0644 for a new file: pods mount it read-only)."""
    mode = 0o644
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix='.hccn.conf.', dir=os.path.dirname(path) or '.')
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            plan=dict(type='dict', required=True),
            node=dict(type='str', required=True),
            devices=dict(type='list', elements='int', required=True),
            tool=dict(type='path', default=DEFAULT_HCCN_TOOL),
            conf_path=dict(type='path', default=DEFAULT_HCCN_CONF),
            timeout=dict(type='float', default=15),
            retries=dict(type='int', default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        ap = plan_from_any(p['plan'])
    except PlanError as exc:
        module.fail_json(msg='invalid address plan: %s' % exc)
    if ap is None:
        module.fail_json(msg='the address plan (option plan, role variable roce_address_plan) '
                             'is empty; give devices with their subnets')
    if not (os.path.isfile(p['tool']) and os.access(p['tool'], os.X_OK)):
        module.fail_json(msg="hccn_tool not found or not executable at '%s' (option 'tool')"
                             % p['tool'])
    if not p['devices'] or any(d < 0 for d in p['devices']):
        module.fail_json(msg='devices must list the physical device ids (>= 0), got %s'
                             % p['devices'])
    conf_text = ''
    if os.path.isfile(p['conf_path']):
        try:
            with open(p['conf_path']) as handle:
                conf_text = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read '%s': %s" % (p['conf_path'], exc))

    tool = HccnTool(p['tool'], timeout=p['timeout'], retries=p['retries'])
    result = configure_node(tool, ap, p['node'], p['devices'], conf_text,
                            check_mode=module.check_mode,
                            write_conf=lambda text: write_file(p['conf_path'], text))
    out = dict(changed=result['changed'], ports=result['ports'], failed_ports=result['failed'],
               unplanned=result['unplanned'], conf_changed=result['conf_changed'])
    if module._diff:
        out['diff'] = diffs(result)
    for device in result['unplanned']:
        module.warn('dev%d of %s has no plane in the address plan; left as it is'
                    % (device, p['node']))
    if result['failed']:
        module.fail_json(msg='%d NPU ports not configured: %s' % (
            len(result['failed']), ' | '.join(result['failed'])), **out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
