# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: collection_file
author:
  - ascend.mindie contributors (@ascend-mindie)
short_description: Read a file of this collection, or its version
description:
  - Returns the text of files of the ascend.mindie collection, named relative to the collection's root
    (for example C(plugins/module_utils/motor_config.py)), wherever the collection is installed.
  - The term C(version) returns the collection's version (from C(MANIFEST.json) when installed,
    C(galaxy.yml) in a source checkout; C(unknown) when neither is there).
  - Roles use it instead of reaching out of their own directory through C(role_path).
options:
  _terms:
    description: Paths relative to the collection root, or C(version).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Ship the collection's own helper into a ConfigMap
  ansible.builtin.set_fact:
    helper: "{{ lookup('ascend.mindie.collection_file', 'plugins/module_utils/motor_config.py') }}"

- name: Label objects with the collection version
  ansible.builtin.set_fact:
    version: "{{ lookup('ascend.mindie.collection_file', 'version') }}"
"""

RETURN = r"""
_raw:
  description: The text of each file (not stripped), or the version string.
  type: list
  elements: str
"""

import json
import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collection_version(root=ROOT):
    manifest = os.path.join(root, 'MANIFEST.json')
    if os.path.isfile(manifest):
        with open(manifest, 'rb') as handle:
            return str(json.loads(to_text(handle.read()))['collection_info']['version'])
    galaxy = os.path.join(root, 'galaxy.yml')
    if os.path.isfile(galaxy):
        with open(galaxy, 'rb') as handle:
            return str(yaml.safe_load(handle)['version'])
    return 'unknown'


def collection_file(relpath, root=ROOT):
    path = os.path.normpath(os.path.join(root, relpath))
    if os.path.isabs(relpath) or not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise AnsibleLookupError('%s is not a file of the ascend.mindie collection (give a path relative to its root)'
                                 % relpath)
    with open(path, 'rb') as handle:
        return to_text(handle.read())


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [collection_version() if term == 'version' else collection_file(term) for term in terms]
