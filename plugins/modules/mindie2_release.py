#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mindie2_release
short_description: Read a MindIE 2.x release's deploy material and build its complete configuration files
version_added: 0.2.0
description:
  - Reads MindIE's own C(boot.sh) and the Python helpers its pods run from the operator's MindIE release
    (an extracted C(deploy_scripts) directory, a C(.run) package extracted with its own C(--extract), or a
    wheel), for the ConfigMaps MindIE's C(deploy.sh) would create.
  - Builds C(config.json), C(ms_controller.json), C(ms_coordinator.json) and C(http_client_ctl.json) as the
    release's own file, then the values the caller computed, then the user's overrides (recursive merge),
    and checks them against the keys and JSON types MindIE's parsers require.
  - Fails before anything is applied, naming the missing file or the file and key that is wrong.
  - Runs on the control node; it changes nothing (a C(.run) or wheel is unpacked into a temporary directory
    that is removed again).
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  path:
    description:
      - The MindIE release on the host that runs the module - a directory (the C(deploy_scripts)
        directory or a tree holding exactly one), a C(.run) package or a C(.whl).
    type: path
    required: true
  layout:
    description:
      - C(multi) (one pod per component) or C(single) (one pod runs everything); decides which helpers
        are needed.
    type: str
    required: true
    choices: [single, multi]
  config_dir:
    description:
      - Directory with the configuration bases, searched after C(deploy_scripts/conf).
    type: path
  computed:
    description:
      - Values the role computed, per file name; merged over the release's files.
    type: dict
    default: {}
  overrides:
    description:
      - The user's values, per file name; merged last.
    type: dict
    default: {}
  kmc:
    description:
      - The release reads KMC-encrypted passwords (MindIE up to 2.3.0), so enabled TLS blocks need the
        KMC keystore keys.
    type: bool
    default: true
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Read the release and build its configuration files
  ascend.mindie.mindie2_release:
    path: /srv/mindie/2.1.RC1/deploy_scripts
    layout: multi
    computed:
      ms_controller.json: {deploy_mode: pd_separate}
  delegate_to: localhost
'''

RETURN = r'''
scripts:
  description: ConfigMap name to its data (file name to text) for MindIE's boot script and helpers.
  returned: success
  type: dict
configs:
  description: File name to the complete, checked configuration.
  returned: success
  type: dict
sources:
  description: File name to the path it was read from.
  returned: success
  type: dict
deploy_scripts:
  description: The deploy_scripts directory used (inside the temporary tree for a package).
  returned: success
  type: str
errors:
  description: Every problem found in the configuration files, as C(file - key - problem).
  returned: failure
  type: list
  elements: str
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ascend.mindie.plugins.module_utils import mindie2_config, mindie2_release


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            layout=dict(type='str', required=True, choices=['single', 'multi']),
            config_dir=dict(type='path'),
            computed=dict(type='dict', default={}),
            overrides=dict(type='dict', default={}),
            kmc=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    work = tempfile.mkdtemp(prefix='mindie2-release-')
    try:
        try:
            root = mindie2_release.extract(p['path'], work, run_command=module.run_command)
            material = mindie2_release.read_release(root, p['layout'], p['config_dir'])
        except mindie2_release.ReleaseError as exc:
            module.fail_json(msg=str(exc))
        configs, errors = mindie2_config.build_and_check(material['configs'], p['computed'], p['overrides'],
                                                         p['kmc'], p['layout'])
        if errors:
            module.fail_json(msg='The MindIE configuration files would not load: %s. Fix the release\'s files or '
                                 'pd_deploy_*_config_overrides.' % '; '.join(errors), errors=errors,
                             sources=material['sources'])
        module.exit_json(changed=False, scripts=material['scripts'], configs=configs, sources=material['sources'],
                         deploy_scripts=material['deploy_scripts'] if os.path.isdir(p['path']) else p['path'])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
