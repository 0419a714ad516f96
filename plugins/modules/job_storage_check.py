#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: job_storage_check
short_description: Check that the CA and the reports outlive the job (AWX execution environments)
version_added: 0.1.0
description:
  - Recognises an AWX (or Ansible Tower) job from its job id and refuses a CA host that is the job's
    own execution environment, which AWX deletes when the job ends (every job would make a new CA),
    unless O(pki_dir_persistent=true) says that O(pki_dir) is on storage that outlives the job.
  - Also checks that O(ca_host) and O(report_host) are inventory hosts, and returns where the reports
    can be found after the job.
  - Pure computation; meant to run once on the control node before any node is contacted.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  job_id:
    description: The AWX job id (C(awx_job_id), or C(tower_job_id)); empty when not run by AWX.
    type: str
    default: ''
  ca_host:
    description: C(mindie_ca_host), the host that builds and keeps the CA.
    type: str
    default: localhost
  ca_connection:
    description: The C(ansible_connection) of O(ca_host); C(local) means the control node.
    type: str
    default: ''
  ca_address:
    description: The C(ansible_host) of O(ca_host).
    type: str
    default: ''
  inventory_hosts:
    description: Every inventory host (C(groups['all'])).
    type: list
    elements: str
    default: []
  pki_dir:
    description: C(mindie_pki_dir) on O(ca_host).
    type: str
    default: ''
  pki_dir_persistent:
    description: C(mindie_pki_dir_persistent), the operator's statement that O(pki_dir) outlives the job.
    type: bool
    default: false
  ca_needed:
    description: Whether the job builds or reads the CA (the pki or deploy stage runs); the CA host is not checked otherwise.
    type: bool
    default: true
  report_host:
    description: C(mindie_report_host), an inventory host the reports are copied to; empty for none.
    type: str
    default: ''
  report_dir:
    description: C(mindie_report_dir) on the control node.
    type: str
    default: ''
  report_host_dir:
    description: C(mindie_report_host_dir), where the reports go on O(report_host).
    type: str
    default: ''
notes:
  - Supports check mode; nothing is changed.
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: The CA and the reports outlive the job
  ascend.mindie.job_storage_check:
    job_id: "{{ awx_job_id | default(tower_job_id) | default('') }}"
    ca_host: "{{ mindie_ca_host | default('localhost', true) }}"
    inventory_hosts: "{{ groups['all'] }}"
    pki_dir: "{{ mindie_pki_dir | default('~/.ascend-mindie/pki', true) }}"
    pki_dir_persistent: "{{ mindie_pki_dir_persistent | default(false) | bool }}"
'''

RETURN = r'''
controller_job:
  description: Whether the job runs under AWX (a job id was given).
  returned: always
  type: bool
  sample: true
violations:
  description: Every problem found, each with the variable, the value found, the fix and a one-line message.
  returned: always
  type: list
  elements: dict
messages:
  description: The C(message) of every violation.
  returned: always
  type: list
  elements: str
report_ref:
  description: Where the reports can be found after the job (a directory, or the job's artifacts).
  returned: always
  type: str
  sample: the job's artifacts, mindie_summary.reports
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ascend.mindie.plugins.module_utils.job_storage import (
    check_job_storage, report_ref)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            job_id=dict(type='str', default=''),
            ca_host=dict(type='str', default='localhost'),
            ca_connection=dict(type='str', default=''),
            ca_address=dict(type='str', default=''),
            inventory_hosts=dict(type='list', elements='str', default=[]),
            pki_dir=dict(type='str', default=''),
            pki_dir_persistent=dict(type='bool', default=False),
            ca_needed=dict(type='bool', default=True),
            report_host=dict(type='str', default=''),
            report_dir=dict(type='str', default=''),
            report_host_dir=dict(type='str', default=''),
        ),
        supports_check_mode=True,
    )
    p = module.params
    job_id = p['job_id'] or None
    violations = check_job_storage(job_id, p['ca_host'], p['inventory_hosts'], p['ca_connection'],
                                   p['ca_address'], p['pki_dir'], p['pki_dir_persistent'], p['report_host'],
                                   p['ca_needed'])
    messages = [v['message'] for v in violations]
    result = dict(changed=False, controller_job=job_id is not None, violations=violations, messages=messages,
                  report_ref=report_ref(job_id, p['report_dir'], p['report_host'], p['report_host_dir']))
    if violations:
        module.fail_json(msg=' | '.join(messages), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
