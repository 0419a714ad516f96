#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hccn_facts
short_description: Read every NPU RoCE port of an Ascend node through hccn_tool
version_added: 0.1.0
description:
  - Queries, for every NPU port of the node in one module call, the device IP and netmask,
    gateway, detect IP, link state, network health, LLDP neighbour and TLS switch with
    C(hccn_tool -i N -<cmd> -g), and reads C(/etc/hccn.conf).
  - Ports are queried one after another because hccn_tool is single-instance on a node; a
    C(hccn_tool is busy, please try again) answer is retried with bounded exponential backoff.
  - Output is parsed from stdout; the exit code is not trusted on its own. Output of unknown
    shape is not guessed at; it is reported in the port's C(errors) list with the raw text.
  - There is no VLAN query in hccn_tool and no VLAN key in C(/etc/hccn.conf). The only
    host-side VLAN evidence is the switch's LLDP C(Port VLAN ID TLV), returned as C(lldp.pvid)
    when the switch sends it.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  tool:
    description: Path of hccn_tool (it is often not on C(PATH)).
    type: path
    default: /usr/local/Ascend/driver/tools/hccn_tool
  conf_path:
    description: Path of the persistent hccn configuration compared with the running values.
    type: path
    default: /etc/hccn.conf
  devices:
    description:
      - Physical device ids to query (0..7 on A2, 0..15 on A3).
      - Empty means detect them from C(/dev/davinciN), then from the C(_N) keys of I(conf_path).
    type: list
    elements: int
    default: []
  gather:
    description: Which queries to run per port.
    type: list
    elements: str
    choices: [ip, link, net_health, netdetect, gateway, lldp, tls]
    default: [ip, link, net_health, netdetect, gateway, lldp, tls]
  timeout:
    description: Seconds one hccn_tool call may take before it is killed and reported.
    type: float
    default: 15
  retries:
    description: Retries of one call while hccn_tool answers that it is busy.
    type: int
    default: 5
  backoff:
    description: First retry delay in seconds; doubled on every retry up to I(backoff_max).
    type: float
    default: 0.25
  backoff_max:
    description: Upper bound of one retry delay in seconds.
    type: float
    default: 4
attributes:
  facts:
    support: full
    description: Sets C(ansible_facts.ascend_hccn).
notes:
  - Needs root (hccn_tool talks to the driver).
seealso:
  - module: ascend.mindie.roce_ping
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Read all NPU ports
  ascend.mindie.hccn_facts:

- name: Read device IPs and link only, tool on a custom path
  ascend.mindie.hccn_facts:
    tool: /opt/ascend/driver/tools/hccn_tool
    gather: [ip, link]

- name: Show device IPs
  ansible.builtin.debug:
    msg: "{{ ansible_facts.ascend_hccn.ports | map(attribute='address') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    ascend_hccn:
      description: Every NPU port of the node.
      returned: always
      type: complex
      contains:
        tool:
          description: hccn_tool path used.
          type: str
          returned: always
        conf_path:
          description: hccn configuration path read.
          type: str
          returned: always
        conf_present:
          description: Whether I(conf_path) exists.
          type: bool
          returned: always
        conf_other:
          description:
            - Lines of I(conf_path) that are not C(<known key>_<device>=value).
            - The driver's per-device entries a device may have several of (C(arp_N), C(ip_route_N),
              C(ip_rule_N), C(IPv6neigh_N)) are in the port's C(conf) as lists, not here.
          type: list
          elements: str
          returned: always
        devices:
          description: Device ids queried.
          type: list
          elements: int
          returned: always
        devices_source:
          description: Where the device list came from (C(option), C(dev), C(hccn_conf)).
          type: str
          returned: always
        ports:
          description: One entry per device.
          type: list
          elements: dict
          returned: always
          sample:
            - device: 1
              address: 11.12.165.81
              netmask: 255.255.255.0
              prefix: 24
              network: 11.12.165.0/24
              gateway: 11.12.165.1
              gateway_iface: eth1
              netdetect: 11.12.165.1
              link: UP
              link_up: true
              net_health: Success
              lldp:
                chassis_id: 00:11:22:33:44:55
                port_id: 400GE1/1/5:2
                system_name: null
                system_description: null
                management_addresses: []
                pvid: 100
                max_frame_size: 9216
                tlvs: [Chassis ID TLV, Port ID TLV, Port VLAN ID TLV, End of LLDPDU TLV]
              tls: {enabled: false, preconfigured: true}
              conf: {address: 11.12.165.81, netmask: 255.255.255.0}
              conf_mismatch: []
              notes: []
              errors: []
'''

import glob
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    DEFAULT_HCCN_CONF,
    DEFAULT_HCCN_TOOL,
    GATHER_NAMES,
    HccnTool,
    gather_port,
    parse_hccn_conf,
)

_DAVINCI = re.compile(r'^davinci(\d+)$')


def detect_devices(conf_devices, dev_dir='/dev'):
    found = sorted(int(m.group(1)) for m in
                   (_DAVINCI.match(os.path.basename(p)) for p in glob.glob(os.path.join(dev_dir, 'davinci*')))
                   if m)
    if found:
        return found, 'dev'
    if conf_devices:
        return sorted(conf_devices), 'hccn_conf'
    return [], 'none'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tool=dict(type='path', default=DEFAULT_HCCN_TOOL),
            conf_path=dict(type='path', default=DEFAULT_HCCN_CONF),
            devices=dict(type='list', elements='int', default=[]),
            gather=dict(type='list', elements='str', choices=list(GATHER_NAMES),
                        default=list(GATHER_NAMES)),
            timeout=dict(type='float', default=15),
            retries=dict(type='int', default=5),
            backoff=dict(type='float', default=0.25),
            backoff_max=dict(type='float', default=4),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not (os.path.isfile(p['tool']) and os.access(p['tool'], os.X_OK)):
        module.fail_json(msg="hccn_tool not found or not executable at '%s' (option 'tool'); "
                             "install the Ascend driver or point 'tool' at hccn_tool" % p['tool'])
    if p['timeout'] <= 0 or p['retries'] < 0 or p['backoff'] < 0 or p['backoff_max'] < 0:
        module.fail_json(msg='timeout must be > 0; retries, backoff and backoff_max >= 0')

    conf = {'devices': {}, 'other': []}
    conf_present = os.path.isfile(p['conf_path'])
    if conf_present:
        try:
            with open(p['conf_path'], 'r') as f:
                conf = parse_hccn_conf(f.read())
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read '%s': %s" % (p['conf_path'], exc))

    if p['devices']:
        devices, source = sorted(set(p['devices'])), 'option'
    else:
        devices, source = detect_devices(conf['devices'])
    if not devices:
        module.fail_json(msg="no NPU devices found: no /dev/davinciN and no device keys in '%s'; "
                             "pass 'devices' explicitly" % p['conf_path'])
    if any(d < 0 for d in devices):
        module.fail_json(msg='devices must be >= 0, got %s' % devices)

    tool = HccnTool(p['tool'], timeout=p['timeout'], retries=p['retries'],
                    backoff=p['backoff'], backoff_max=p['backoff_max'])
    # one port after the other: hccn_tool is single-instance on a node
    ports = [gather_port(tool, d, gather=p['gather'], conf=conf['devices']) for d in devices]

    for port in ports:
        for err in port['errors']:
            module.warn('hccn_tool -i %d -%s: %s' % (port['device'], err['command'], err['message']))

    module.exit_json(changed=False, ansible_facts={'ascend_hccn': {
        'tool': p['tool'],
        'conf_path': p['conf_path'],
        'conf_present': conf_present,
        'conf_other': conf['other'],
        'devices': devices,
        'devices_source': source,
        'ports': ports,
    }})


if __name__ == '__main__':
    main()
