#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: motor_user_config
short_description: Check the MindIE generation options and build MindIE 3.x's user_config.json
version_added: 0.1.0
description:
  - Refuses option combinations the targeted MindIE generation cannot work with (for example
    C(mindie_secret_format=kmc) with generation 3, whose C(mindie-motor) reads key passwords as plain
    text), naming the generation and the option.
  - With O(build=true) and generation 3, builds the unified C(user_config.json) of the C(mindie-motor)
    PyMotor release from the deployment description, merges O(overrides) and refuses unknown keys
    (C(mindie-motor) silently ignores them), missing keys and wrong types, naming each key.
  - Computes only; it never changes anything.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  generation:
    description: Targeted MindIE generation, 2 (C++ MindIE-Motor, the document's) or 3 (PyMotor).
    type: int
    required: true
  secret_format:
    description: What the in-pod certificate step writes (C(kmc) or C(plaintext)).
    type: str
    required: true
  tls_enabled:
    description: TLS between the components (management plane).
    type: bool
    default: true
  infer_tls:
    description: TLS on the inference plane too (refused for mindie-motor 3.0.0b2).
    type: bool
    default: false
  build:
    description: Build and return the configuration (generation 3 only).
    type: bool
    default: false
  params:
    description:
      - Deployment values for the configuration, see the keys of C(motor_config.build_user_config)
        (C(model_name), C(model_path), C(p_instances), C(d_instances), C(npus_per_instance), C(hardware),
        C(image), C(coordinator_workers), C(engine_config), C(npu_mem_utils), C(log_level), ports).
    type: dict
    default: {}
  overrides:
    description: Keys merged (recursively) into the built configuration; checked like the rest.
    type: dict
    default: {}
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Refuse options the generation cannot use
  ascend.mindie.motor_user_config:
    generation: "{{ mindie_generation }}"
    secret_format: "{{ mindie_secret_format }}"

- name: Build user_config.json for MindIE 3.x
  ascend.mindie.motor_user_config:
    generation: 3
    secret_format: plaintext
    build: true
    params:
      model_name: Qwen2-7B-Instruct
      model_path: /data/Qwen2-7B-Instruct
      p_instances: 1
      d_instances: 1
      npus_per_instance: 8
      hardware: a2
  register: motor_cfg
'''

RETURN = r'''
config:
  description: The user_config.json content (generation 3 with O(build=true)).
  returned: success
  type: dict
content:
  description: The file's text, stable (sorted keys).
  returned: success
  type: str
tls_mount:
  description: Where the in-pod step writes the leaf material that the configuration names.
  returned: success with O(build=true)
  type: str
  sample: /mnt/motor-tls
gen_cert_args:
  description: Output arguments of the pki role's in-pod step (mindie_gen_cert.py) for that layout.
  returned: success with O(build=true)
  type: str
version:
  description: The mindie-motor release whose keys the configuration was checked against.
  returned: always
  type: str
  sample: 3.0.0b2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import motor_config


def main():
    module = AnsibleModule(
        argument_spec=dict(
            generation=dict(type='int', required=True),
            secret_format=dict(type='str', required=True, no_log=False),
            tls_enabled=dict(type='bool', default=True),
            infer_tls=dict(type='bool', default=False),
            build=dict(type='bool', default=False),
            params=dict(type='dict', default={}),
            overrides=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, version=motor_config.MOTOR_VERSION)
    problems = motor_config.check_generation_options(p['generation'], p['secret_format'], p['tls_enabled'],
                                                     p['infer_tls'])
    if problems:
        module.fail_json(msg=" ".join(problems), **result)
    if p['build']:
        if p['generation'] != 3:
            module.fail_json(msg="build=true makes MindIE 3.x's user_config.json; generation is %s" % p['generation'],
                             **result)
        params = dict(p['params'], tls_enabled=p['tls_enabled'], infer_tls=p['infer_tls'], overrides=p['overrides'])
        missing = [k for k in ('model_name', 'model_path', 'p_instances', 'd_instances', 'npus_per_instance')
                   if params.get(k) in (None, '')]
        if missing:
            module.fail_json(msg="params lacks %s" % ", ".join(missing), **result)
        try:
            config = motor_config.build_user_config(params)
        except (motor_config.MotorConfigError, ValueError, TypeError) as exc:
            module.fail_json(msg="%s (fix pd_deploy_v3_user_config_overrides or the mindie_* variable it names)" % exc,
                             **result)
        result.update(config=config, content=motor_config.dumps(config),
                      tls_mount=params.get('tls_mount') or motor_config.TLS_MOUNT,
                      gen_cert_args=" ".join("%s %s" % kv for kv in sorted(motor_config.GEN_CERT_OUT.items())))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
