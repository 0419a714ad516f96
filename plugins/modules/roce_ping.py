#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: roce_ping
short_description: Plan, run and judge the RoCE ping mesh between NPU ports
version_added: 0.1.0
description:
  - C(action=run) (on a node) runs C(hccn_tool -i N -ping -g address <ip>) for every entry of
    I(pings), with at most I(concurrency) hccn_tool processes in flight. hccn_tool is
    single-instance on a node and answers C(hccn_tool is busy, please try again) to an
    overlapping call; such calls are retried with bounded exponential backoff. Results are read
    from stdout (per-packet lines and the summary line); the exit code is not trusted on its
    own, as hccn_tool exits non-zero whenever a packet is lost. The run reports every ping and
    fails only when it cannot run at all.
  - C(action=plan) (on the control node, once) turns every node's C(ascend_hccn) facts and
    group role into the pairs of ports that must talk and each node's ping list, balanced so
    the busiest node has as few pings as possible. A3 sibling dies and pairs across die planes
    are never planned; ports that are down or have no IP are reported as skipped pairs.
  - C(action=evaluate) (on the control node, once) judges facts, plan and results (links,
    health, unique device IPs, subnet plan, C(/etc/hccn.conf), TLS, the VLAN (inferred from
    LLDP PVID, subnet and reachability, never measured) and every pair). It returns the report,
    its Markdown rendering and failure lines naming ports and pairs.
  - C(plan) and C(evaluate) are pure computation and contact no node. The
    C(ascend.mindie.roce) role chains the three actions.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  action:
    description: C(run) the pings of this node, C(plan) the mesh, or C(evaluate) the results.
    type: str
    default: run
    choices: [run, plan, evaluate]
  pings:
    description:
      - Pings to run (action C(run)). Every entry needs C(device) (source physical device id)
        and C(address) (target device IP); other keys (for example C(id)) are returned
        unchanged with the result.
    type: list
    elements: dict
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
      - Action C(run). Run pings that lost packets or timed out once more after the others (the
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
  nodes:
    description:
      - Actions C(plan) and C(evaluate). List of C({host, role, ports}) where C(role) is
        C(prefill), C(decode) or C(single) and C(ports) is C(ansible_facts.ascend_hccn.ports).
    type: list
    elements: dict
  scope:
    description:
      - Action C(plan). C(pd) every prefill node with every decode node (single layout all nodes,
        within and between them); C(cluster) every node with every node.
    type: str
    default: pd
    choices: [pd, cluster]
  pairing:
    description:
      - Action C(plan). C(same_index) port i with port i of every peer; C(full_mesh) every port
        with every port of the peer (same A3 die plane only).
    type: str
    default: same_index
    choices: [same_index, full_mesh]
  generation:
    description: Action C(plan). C(auto) (16 devices per node = A3) or force C(a2) / C(a3).
    type: str
    default: auto
    choices: [auto, a2, a3]
  intra_node:
    description:
      - Action C(plan). Also pair the ports within one node (single layout or C(cluster) scope).
        Within a server the NPUs talk over HCCS, so these pings only prove the switch ports.
    type: bool
    default: false
  both_directions:
    description: Action C(plan). Ping every pair from both ends.
    type: bool
    default: false
  address_plan:
    description:
      - Action C(plan). The address plan as data. C(devices) maps a physical device id to its
        plane, C({subnet, netdetect, gateway}) (subnet required, CIDR); ports whose devices share
        a subnet share a plane (for example four planes on A2, devices i and i+4 in one). The
        optional C(addresses) maps a node to a mapping of device id to address.
      - Unset derives the plan from the ports (per device id the subnet most nodes use). Only
        ports of one plane are paired; the evaluation checks every port against the plan.
    type: dict
  plan:
    description: Action C(evaluate). The C(plan) returned by action C(plan).
    type: dict
  results:
    description: Action C(evaluate). Node name -> the C(results) its action C(run) returned.
    type: dict
    default: {}
  missing_nodes:
    description: Action C(evaluate). Nodes of the groups that gave no facts -> reason.
    type: dict
    default: {}
  accept_health:
    description: Action C(evaluate). C(-net_health) words that count as healthy.
    type: list
    elements: str
    default: [Success]
  subnets:
    description: Action C(evaluate). Planned subnets (CIDR); empty derives them from the ports.
    type: list
    elements: str
    default: []
  vlan:
    description: Action C(evaluate). Expected switch port VLAN id; unset compares the ports.
    type: int
  require_pvid:
    description: Action C(evaluate). Fail ports whose switch sends no LLDP Port VLAN ID TLV.
    type: bool
    default: false
  check_conf:
    description: Action C(evaluate). Compare C(/etc/hccn.conf) with the running addresses.
    type: bool
    default: true
  check_tls:
    description: Action C(evaluate). Require one TLS switch value on all ports.
    type: bool
    default: true
  failure_limit:
    description: Action C(evaluate). Most lines returned in C(failure_lines).
    type: int
    default: 25
notes:
  - Action C(run) needs root (hccn_tool talks to the driver).
seealso:
  - module: ascend.mindie.hccn_facts
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Plan the mesh from every node's hccn facts (control node, once)
  ascend.mindie.roce_ping:
    action: plan
    nodes:
      - {host: p1, role: prefill, ports: "{{ hostvars['p1'].ansible_facts.ascend_hccn.ports }}"}
      - {host: d1, role: decode, ports: "{{ hostvars['d1'].ansible_facts.ascend_hccn.ports }}"}
  delegate_to: localhost
  run_once: true
  register: mesh

- name: Ping device 0 of the peer from local device 0 and 1
  ascend.mindie.roce_ping:
    pings:
      - {device: 0, address: 10.20.0.9, id: "a:dev0>b:dev0"}
      - {device: 1, address: 10.20.0.10, id: "a:dev1>b:dev1"}
  register: pings

- name: Show the failed pings
  ansible.builtin.debug:
    msg: "{{ pings.results | rejectattr('ok') | list }}"

- name: Judge (control node, once)
  ascend.mindie.roce_ping:
    action: evaluate
    nodes: "{{ nodes }}"
    plan: "{{ mesh.plan }}"
    results: {p1: "{{ hostvars['p1'].pings.results }}", d1: "{{ hostvars['d1'].pings.results }}"}
  delegate_to: localhost
  run_once: true
  register: verdict
'''

RETURN = r'''
results:
  description: One entry per ping, in the order of I(pings).
  returned: when action is run
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
  returned: when action is run
  type: dict
  sample: {total: 8, ok: 8, failed: 0, elapsed: 3.4, max_in_flight: 1, concurrency: 1, rechecked: 0}
plan:
  description:
    - Pairs (C(pings) with C(src)/C(dst) port names), C(per_node) ping lists, C(load) per node,
      C(busiest) node and C(max_load), C(skipped) pairs with the reason, C(excluded) counts,
      C(address_plan) (C(source) given or derived, C(devices) with subnet, netmask, netdetect and
      gateway, C(addresses), C(planes) with their devices).
  returned: when action is plan
  type: dict
report:
  description:
    - C(ok), C(checks) (name, status, evidence, problems naming ports), C(vlan) (verdict,
      evidence, basis), C(failed_pairs) (both ends, addresses, links, VLANs, hint), C(matrix)
      (node x node successful/planned pairs) and the plan summary.
  returned: when action is evaluate
  type: dict
markdown:
  description: The report as Markdown with the node x node matrix.
  returned: when action is evaluate
  type: str
failure_lines:
  description: One line per port problem or broken pair, naming both ends.
  returned: when action is evaluate
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    DEFAULT_HCCN_TOOL,
    HccnTool,
    is_ipv4,
    run_pings,
)
from ansible_collections.ascend.mindie.plugins.module_utils.roce_plan import (
    PlanError,
    evaluate,
    failure_lines,
    markdown,
    plan,
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


def plan_mesh(module):
    p = module.params
    try:
        the_plan = plan(p['nodes'], scope=p['scope'], pairing=p['pairing'],
                        generation=p['generation'], both_directions=p['both_directions'],
                        intra_node=p['intra_node'], address_plan_data=p['address_plan'])
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, plan=the_plan)


def evaluate_mesh(module):
    p = module.params
    try:
        report = evaluate(
            p['nodes'], p['plan'], p['results'], accept_health=p['accept_health'],
            subnets=p['subnets'], vlan=p['vlan'], require_pvid=p['require_pvid'],
            check_conf=p['check_conf'], check_tls=p['check_tls'],
            missing_nodes=p['missing_nodes'])
    except (PlanError, KeyError) as exc:
        module.fail_json(msg='cannot evaluate: %s' % exc)
    module.exit_json(changed=False, report=report, markdown=markdown(report),
                     failure_lines=failure_lines(report, limit=p['failure_limit']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', default='run', choices=['run', 'plan', 'evaluate']),
            pings=dict(type='list', elements='dict'),
            tool=dict(type='path', default=DEFAULT_HCCN_TOOL),
            concurrency=dict(type='int', default=1),
            timeout=dict(type='float', default=10),
            retries=dict(type='int', default=6),
            backoff=dict(type='float', default=0.2),
            backoff_max=dict(type='float', default=3),
            packet_size=dict(type='int'),
            extra_args=dict(type='list', elements='str', default=[]),
            recheck=dict(type='bool', default=True),
            nodes=dict(type='list', elements='dict'),
            scope=dict(type='str', default='pd', choices=['pd', 'cluster']),
            pairing=dict(type='str', default='same_index', choices=['same_index', 'full_mesh']),
            generation=dict(type='str', default='auto', choices=['auto', 'a2', 'a3']),
            both_directions=dict(type='bool', default=False),
            intra_node=dict(type='bool', default=False),
            address_plan=dict(type='dict'),
            plan=dict(type='dict'),
            results=dict(type='dict', default={}),
            missing_nodes=dict(type='dict', default={}),
            accept_health=dict(type='list', elements='str', default=['Success']),
            subnets=dict(type='list', elements='str', default=[]),
            vlan=dict(type='int'),
            require_pvid=dict(type='bool', default=False),
            check_conf=dict(type='bool', default=True),
            check_tls=dict(type='bool', default=True),
            failure_limit=dict(type='int', default=25),
        ),
        required_if=[
            ('action', 'run', ['pings']),
            ('action', 'plan', ['nodes']),
            ('action', 'evaluate', ['nodes', 'plan']),
        ],
        supports_check_mode=True,
    )
    {'run': run, 'plan': plan_mesh, 'evaluate': evaluate_mesh}[module.params['action']](module)


if __name__ == '__main__':
    main()
