#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: deployment_check
short_description: Check a MindIE PD-disaggregation deployment description against the documented limits
version_added: 0.1.0
description:
  - Validates the deployment description (layout, inventory groups, model, features, sampling defaults,
    instance counts) and, with O(stage=nodes), the NPU facts of every node, against the limits of MindIE
    PD disaggregation.
  - Returns every violation found, each with a message that names the node (or the cluster), the value
    found and the fix. It does not fail on violations unless O(fail_on_violations=true), so a caller can
    write a report first.
  - Pure computation; meant to run once on the control node (C(run_once), C(delegate_to=localhost)).
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  stage:
    description:
      - C(description) checks only the description and the groups (no node facts needed).
      - C(nodes) checks the description and the node facts in O(nodes).
    type: str
    choices: [description, nodes]
    default: description
  layout:
    description: C(mindie_layout), C(single) or C(multi). Any other value is reported as a violation.
    type: str
    required: true
  model_name:
    description: C(mindie_model_name); a path or C(org/name) prefix is ignored.
    type: str
    required: true
  features:
    description: C(mindie_features), a dict of booleans.
    type: dict
    default: {}
  sampling_defaults:
    description: C(mindie_sampling_defaults); the refused keys are reported whatever their value.
    type: dict
    default: {}
  p_instances:
    description: C(mindie_p_instances).
    type: int
    default: 1
  d_instances:
    description: C(mindie_d_instances).
    type: int
    default: 1
  p_rate:
    description: C(mindie_p_rate).
    type: int
    default: 0
  d_rate:
    description: C(mindie_d_rate).
    type: int
    default: 0
  npus_per_instance:
    description: C(mindie_npus_per_instance); unset means all NPUs of the node.
    type: int
  groups:
    description:
      - Hosts of each mindie group, keyed by C(single), C(prefill), C(decode) and C(control)
        (the inventory groups C(mindie_single), C(mindie_prefill), C(mindie_decode), C(mindie_control)).
    type: dict
    required: true
  cluster_hosts:
    description:
      - Hosts of C(mindie_cluster); those in none of the role groups are reported.
    type: list
    elements: str
  host_values:
    description:
      - Per-host values of the description variables (C(mindie_layout), C(mindie_model_name), C(mindie_features),
        C(mindie_sampling_defaults), C(mindie_npus_per_instance)) as seen by every host, keyed by variable
        and then by host.
      - A host whose value differs from the one this check uses is reported, because the description must
        be one for the whole inventory.
    type: dict
  nodes:
    description:
      - Host name to its C(ansible_facts.ascend_npu), or to C({error, present=false}) when gathering failed.
      - Required with O(stage=nodes).
    type: dict
  model_allowed_patterns:
    description: Regular expressions (case-insensitive) a model name must match one of.
    type: list
    elements: str
  model_denied_patterns:
    description: Regular expressions (case-insensitive) that exclude a model name (multimodal variants).
    type: list
    elements: str
  allowed_models:
    description: Server models allowed per layout, keyed by C(single) and C(multi).
    type: dict
  hbm_table_mb:
    description:
      - HBM sizes per device (MB) to allow for a model, added to the built-in table (A2 32768 and 65536,
        A3 65536) of C(plugins/module_utils/npu_smi.py).
    type: dict
  npus_per_model:
    description: NPUs a node of each model must have; an empty dict disables the check.
    type: dict
  require_dmi_match:
    description: Also require the DMI product name to confirm the model verdict.
    type: bool
    default: false
  fail_on_violations:
    description: Fail the task, listing every message, when a violation is found.
    type: bool
    default: false
notes:
  - Supports check mode; nothing is changed.
seealso:
  - module: ascend.mindie.npu_facts
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Validate the deployment description once, before any node is contacted
  ascend.mindie.deployment_check:
    layout: "{{ mindie_layout }}"
    model_name: "{{ mindie_model_name }}"
    features: "{{ mindie_features }}"
    groups:
      single: "{{ groups['mindie_single'] | default([]) }}"
      prefill: "{{ groups['mindie_prefill'] | default([]) }}"
      decode: "{{ groups['mindie_decode'] | default([]) }}"
      control: "{{ groups['mindie_control'] | default([]) }}"
    fail_on_violations: true
  run_once: true
  delegate_to: localhost

- name: Check the node facts gathered by ascend.mindie.npu_facts
  ascend.mindie.deployment_check:
    stage: nodes
    layout: multi
    model_name: Qwen2.5-14B-Instruct
    groups:
      prefill: [p1, p2]
      decode: [d1, d2]
    nodes: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'ascend_npu'))) }}"
  run_once: true
  delegate_to: localhost
  register: preflight_check
'''

RETURN = r'''
passed:
  description: Whether no violation was found.
  returned: always
  type: bool
  sample: false
violations:
  description: Every violation found.
  returned: always
  type: list
  elements: dict
  contains:
    rule:
      description: Rule id, for example C(model_family), C(feature_forbidden), C(npu_count_equal).
      type: str
      sample: feature_forbidden
    stage:
      description: C(description) or C(node).
      type: str
      sample: description
    host:
      description: The node concerned; null for the whole cluster.
      type: str
      sample: mindie-d1
    value:
      description: The value found.
      type: raw
      sample: mindie_features.prefix_cache=true
    fix:
      description: What to change.
      type: str
      sample: set mindie_features.prefix_cache false
    message:
      description: One line naming the node, the problem, the value found and the fix.
      type: str
      sample: "cluster: multi-machine PD disaggregation cannot be combined with Prefix Cache (found: mindie_features.prefix_cache=true). Fix: ..."
messages:
  description: The C(message) of every violation.
  returned: always
  type: list
  elements: str
node_roles:
  description: Host to C(prefill), C(decode), C(single) or C(control) (hosts in one group only).
  returned: always
  type: dict
  sample: {mindie-p1: prefill, mindie-d1: decode}
npu_hosts:
  description: Hosts that need NPUs (single, prefill and decode groups), in inventory order.
  returned: always
  type: list
  elements: str
report:
  description:
    - Machine-readable report, deterministic for a given inventory and hardware (no usage, power or
      temperature values).
    - C(verdict), C(stage), C(deployment), C(groups), C(nodes) (per node C(role), C(model), C(npu_count),
      C(device_count), C(hbm_total_mb_per_device), C(health_ok), C(model_evidence), C(verdict),
      C(violations)) and C(violations).
  returned: always
  type: dict
report_markdown:
  description: Human report, a Markdown table per node (model, NPUs, HBM, health, verdict) and the violations.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules as rules
from ansible_collections.ascend.mindie.plugins.module_utils import npu_smi
from ansible_collections.ascend.mindie.plugins.module_utils.dmidecode import validate_patterns


class DeploymentCheck(object):

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def description(self):
        p = self.params
        return {
            'layout': p['layout'], 'model_name': p['model_name'], 'features': p['features'] or {},
            'sampling_defaults': p['sampling_defaults'] or {}, 'p_instances': p['p_instances'],
            'd_instances': p['d_instances'], 'p_rate': p['p_rate'], 'd_rate': p['d_rate'],
            'npus_per_instance': p['npus_per_instance'],
        }

    def groups(self):
        raw = self.params['groups'] or {}
        unknown = sorted(k for k in raw if k not in rules.GROUPS)
        if unknown:
            self.module.fail_json(msg='groups has unknown keys %s; use %s' % (unknown, ', '.join(rules.GROUPS)))
        result = {}
        for key in rules.GROUPS:
            value = raw.get(key) or []
            if not isinstance(value, list):
                self.module.fail_json(msg='groups.%s must be a list of host names, got %r' % (key, value))
            result[key] = [str(h) for h in value]
        return result

    def config(self):
        p = self.params
        errors = validate_patterns({'model_allowed_patterns': p['model_allowed_patterns'] or [],
                                    'model_denied_patterns': p['model_denied_patterns'] or []})
        if errors:
            self.module.fail_json(msg='invalid model patterns: %s' % '; '.join(errors))
        config = {
            'model_allowed_patterns': p['model_allowed_patterns'],
            'model_denied_patterns': p['model_denied_patterns'],
            'allowed_models': p['allowed_models'],
            'npus_per_model': p['npus_per_model'],
            'require_dmi_match': p['require_dmi_match'],
        }
        try:
            config['hbm_table_mb'] = npu_smi.hbm_table(p['hbm_table_mb'])
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))
        if p['npus_per_model'] is not None:
            try:
                config['npus_per_model'] = dict((k, int(v)) for k, v in p['npus_per_model'].items())
            except (TypeError, ValueError):
                self.module.fail_json(msg='npus_per_model must map a model to an NPU count')
        return config

    def run(self):
        desc = self.description()
        groups = self.groups()
        config = self.config()
        host_values = self.params['host_values']
        unknown = sorted(k for k in host_values or {} if k not in rules.CONSISTENT_VARS)
        if unknown:
            self.module.fail_json(msg='host_values has unknown variables %s; use %s'
                                  % (unknown, ', '.join(sorted(rules.CONSISTENT_VARS))))
        violations = rules.check_description(desc, groups, config, host_values, self.params['cluster_hosts'])
        nodes = self.params['nodes'] or {}
        if self.params['stage'] == 'nodes':
            if self.params['nodes'] is None:
                self.module.fail_json(msg='stage=nodes needs the nodes option')
            violations += rules.check_nodes(desc, groups, nodes, config)
        report = rules.build_report(desc, groups, nodes, violations, self.params['stage'])
        result = {
            'changed': False,
            'passed': not violations,
            'violations': violations,
            'messages': [v['message'] for v in violations],
            'node_roles': rules.node_roles(groups),
            'npu_hosts': rules.npu_hosts(groups),
            'report': report,
            'report_markdown': rules.render_markdown(report),
        }
        if violations and self.params['fail_on_violations']:
            result['msg'] = 'deployment check found %d violation(s): %s' % (
                len(violations), ' | '.join(result['messages']))
            self.module.fail_json(**result)
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stage=dict(type='str', choices=['description', 'nodes'], default='description'),
            layout=dict(type='str', required=True),
            model_name=dict(type='str', required=True),
            features=dict(type='dict', default={}),
            sampling_defaults=dict(type='dict', default={}),
            p_instances=dict(type='int', default=1),
            d_instances=dict(type='int', default=1),
            p_rate=dict(type='int', default=0),
            d_rate=dict(type='int', default=0),
            npus_per_instance=dict(type='int'),
            groups=dict(type='dict', required=True),
            nodes=dict(type='dict'),
            cluster_hosts=dict(type='list', elements='str'),
            host_values=dict(type='dict'),
            model_allowed_patterns=dict(type='list', elements='str'),
            model_denied_patterns=dict(type='list', elements='str'),
            allowed_models=dict(type='dict'),
            hbm_table_mb=dict(type='dict'),
            npus_per_model=dict(type='dict'),
            require_dmi_match=dict(type='bool', default=False),
            fail_on_violations=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**DeploymentCheck(module).run())


if __name__ == '__main__':
    main()
