#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: roce_ping
short_description: Run this node's RoCE pings to NPU ports of other nodes
version_added: 0.1.0
description:
  - Runs C(hccn_tool -i N -ping -g address <ip>) for every entry of I(pings), with at most
    I(concurrency) hccn_tool processes in flight. hccn_tool is single-instance on a node and answers
    C(hccn_tool is busy, please try again) to an overlapping call; such calls are retried with bounded
    exponential backoff. Results are read from stdout (per-packet lines and the summary line); the exit
    code is not trusted on its own, as hccn_tool exits non-zero whenever a packet is lost. The run
    reports every ping and fails only when it cannot run at all.
  - Which ports ping which, and the verdict over all nodes, are control-node computation done by the filters
    C(ascend.mindie.roce_mesh_plan) and C(ascend.mindie.roce_mesh_verdict) (the
    C(ascend.mindie.roce) role chains them with this module).
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  pings:
    description:
      - Pings to run. Every entry needs C(device) (source physical device id)
        and C(address) (target device IP); other keys (for example C(id)) are returned
        unchanged with the result.
    type: list
    elements: dict
    required: true
  tool:
    description: Path of hccn_tool (it is often not on C(PATH)).
    type: path
    default: /usr/local/Ascend/driver/tools/hccn_tool
  concurrency:
    description:
      - Pings in flight at once on this node. C(1) is what is safe on real nodes, where
        hccn_tool is single-instance; higher values only make sense on tool releases that
        allow parallel calls, the busy retries absorb the rest.
    type: int
    default: 1
  timeout:
    description: Seconds one ping may take before hccn_tool is killed and the pair reported.
    type: float
    default: 10
  retries:
    description: Retries of one ping while hccn_tool answers that it is busy.
    type: int
    default: 6
  backoff:
    description: First retry delay in seconds; doubled per retry up to I(backoff_max).
    type: float
    default: 0.2
  backoff_max:
    description: Upper bound of one retry delay in seconds.
    type: float
    default: 3
  packet_size:
    description:
      - Payload bytes per packet (C(pkt) argument, 0..65507). Unset keeps the tool default
        (4096).
    type: int
  recheck:
    description:
      - Run pings that lost packets or timed out once more after the others (the
        first packet to a fresh neighbour often dies in ARP resolution). A ping clean on the
        second try is C(ok) with C(flaky) true; the evaluation lists it as a warning.
    type: bool
    default: true
  extra_args:
    description:
      - Arguments appended to every ping, for options of newer hccn_tool releases (for
        example a packet count). The releases this collection was written against send a fixed
        three packets.
    type: list
    elements: str
    default: []
notes:
  - Needs root (hccn_tool talks to the driver).
seealso:
  - module: ascend.mindie.hccn_facts
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Ping device 0 of the peer from local device 0 and 1
  ascend.mindie.roce_ping:
    pings:
      - {device: 0, address: 10.20.0.9, id: "a:dev0>b:dev0"}
      - {device: 1, address: 10.20.0.10, id: "a:dev1>b:dev1"}
  register: pings

- name: Show the failed pings
  ansible.builtin.debug:
    msg: "{{ pings.results | rejectattr('ok') | list }}"
'''

RETURN = r'''
results:
  description: One entry per ping, in the order of I(pings).
  returned: always
  type: list
  elements: dict
  contains:
    device:
      description: Source device id.
      type: int
      returned: always
    address:
      description: Target address.
      type: str
      returned: always
    state:
      description:
        - C(ok) all packets answered; C(loss) at least one lost; C(link_down) the source port
          is down; C(timeout) killed after I(timeout); C(busy) still busy after I(retries);
          C(error) no or unparseable output (see C(message)).
      type: str
      returned: always
    ok:
      description: Whether every packet was answered.
      type: bool
      returned: always
    transmitted:
      description: Packets sent, from the summary line.
      type: int
      returned: always
    received:
      description: Packets answered, from the summary line.
      type: int
      returned: always
    loss_percent:
      description: Loss from the summary line.
      type: float
      returned: always
    rtt_avg_ms:
      description: Mean round-trip time of the answered packets.
      type: float
      returned: always
    attempts:
      description: hccn_tool runs, including busy retries.
      type: int
      returned: always
    elapsed:
      description: Seconds this ping took including retries.
      type: float
      returned: always
    flaky:
      description: The ping failed first and was clean on the recheck.
      type: bool
      returned: always
    first_try:
      description: State, counts, message and stdout of the first try of a rechecked ping.
      type: dict
      returned: when the ping was rechecked
    message:
      description: Why the ping is not C(ok).
      type: str
      returned: always
    stdout:
      description: Tool stdout (clipped), only for pings that are not C(ok).
      type: str
      returned: always
    stderr:
      description: Tool stderr (clipped), only for pings that are not C(ok).
      type: str
      returned: always
  sample:
    - device: 0
      address: 10.20.0.9
      id: a:dev0>b:dev0
      state: ok
      ok: true
      transmitted: 3
      received: 3
      loss_percent: 0.0
      rtt_avg_ms: 0.093
      attempts: 1
      elapsed: 0.41
      message: ""
summary:
  description: Counts and timing of this node's run.
  returned: always
  type: dict
  sample: {total: 8, ok: 8, failed: 0, elapsed: 3.4, max_in_flight: 1, concurrency: 1, rechecked: 0}
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    DEFAULT_HCCN_TOOL,
    HccnTool,
    is_ipv4,
    run_pings,
)


def run(module):
    p = module.params
    if p['concurrency'] < 1:
        module.fail_json(msg='concurrency must be >= 1, got %d' % p['concurrency'])
    if p['timeout'] <= 0 or p['retries'] < 0 or p['backoff'] < 0 or p['backoff_max'] < 0:
        module.fail_json(msg='timeout must be > 0; retries, backoff and backoff_max >= 0')
    if p['packet_size'] is not None and not 0 <= p['packet_size'] <= 65507:
        module.fail_json(msg='packet_size must be 0..65507, got %d' % p['packet_size'])

    pings = []
    for i, entry in enumerate(p['pings']):
        try:
            device = int(entry.get('device'))
        except (TypeError, ValueError):
            module.fail_json(msg='pings[%d]: device %r is not an integer' % (i, entry.get('device')))
        address = entry.get('address')
        if device < 0 or not is_ipv4(address or ''):
            module.fail_json(msg='pings[%d]: need device >= 0 and an IPv4 address, got %r / %r'
                                 % (i, entry.get('device'), address))
        ping = dict(entry)
        ping.update(device=device, address=address)
        pings.append(ping)

    if not pings:
        module.exit_json(changed=False, results=[], summary=dict(
            total=0, ok=0, failed=0, elapsed=0.0, max_in_flight=0, concurrency=p['concurrency']))
    if not (os.path.isfile(p['tool']) and os.access(p['tool'], os.X_OK)):
        module.fail_json(msg="hccn_tool not found or not executable at '%s' (option 'tool')"
                             % p['tool'])

    tool = HccnTool(p['tool'], timeout=p['timeout'], retries=p['retries'], backoff=p['backoff'],
                    backoff_max=p['backoff_max'])
    results, stats = run_pings(tool, pings, concurrency=p['concurrency'],
                               packet_size=p['packet_size'], extra_args=p['extra_args'],
                               recheck=p['recheck'])
    n_ok = sum(1 for r in results if r['ok'])
    module.exit_json(changed=False, results=results, summary=dict(
        total=len(results), ok=n_ok, failed=len(results) - n_ok, elapsed=stats['elapsed'],
        max_in_flight=stats['max_in_flight'], concurrency=stats['concurrency'],
        rechecked=stats['rechecked']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pings=dict(type='list', elements='dict', required=True),
            tool=dict(type='path', default=DEFAULT_HCCN_TOOL),
            concurrency=dict(type='int', default=1),
            timeout=dict(type='float', default=10),
            retries=dict(type='int', default=6),
            backoff=dict(type='float', default=0.2),
            backoff_max=dict(type='float', default=3),
            packet_size=dict(type='int'),
            extra_args=dict(type='list', elements='str', default=[]),
            recheck=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == '__main__':
    main()
