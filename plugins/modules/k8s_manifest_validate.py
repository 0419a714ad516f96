#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: k8s_manifest_validate
short_description: Validate Kubernetes objects offline against one cluster version's schemas
version_added: 0.1.0
description:
  - Validates rendered Kubernetes objects against the OpenAPI-derived JSON schemas of the Kubernetes
    minor version the inventory names, without contacting any cluster.
  - The schema set must match the requested C(MAJOR.MINOR) exactly; there is no silent fallback to an
    older or newer set.
  - In strict mode (the default) unknown fields are errors, so a misspelt key (for example
    C(readOnly) under a volume instead of a volume mount) fails here instead of being dropped by the API
    server.
  - Also refuses objects without C(apiVersion), C(kind) or C(metadata.name) and duplicate objects.
  - Runs on the control node; it never changes anything.
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - kubernetes-validate (Python package, on the host that runs the module)
options:
  definitions:
    description:
      - The objects to validate, as a list of mappings.
      - Mutually exclusive with O(src).
    type: list
    elements: raw
  src:
    description:
      - Path of a YAML file (one or more documents) on the host that runs the module.
      - Empty documents are skipped.
      - Mutually exclusive with O(definitions).
    type: path
  kubernetes_version:
    description:
      - Kubernetes version of the target cluster, C(MAJOR.MINOR) with an optional patch level and a
        leading C(v), for example C(1.30) or C(v1.30.4).
    type: str
    required: true
  strict:
    description:
      - Refuse fields the schema does not define.
    type: bool
    default: true
notes:
  - The schema sets available are those shipped by the installed C(kubernetes-validate) release; the
    error message names the range when the requested version is not covered.
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Validate the rendered PD manifests against the cluster's schemas
  ascend.mindie.k8s_manifest_validate:
    definitions: "{{ pd_deploy_objects }}"
    kubernetes_version: "{{ pd_deploy_kubernetes_version }}"

- name: Validate a manifest file, allowing unknown fields
  ascend.mindie.k8s_manifest_validate:
    src: /tmp/manifests.yaml
    kubernetes_version: v1.29.3
    strict: false
'''

RETURN = r'''
schema_version:
  description: The Kubernetes schema set used (C(MAJOR.MINOR)).
  returned: success
  type: str
  sample: "1.30"
validated:
  description: Number of objects validated.
  returned: success
  type: int
  sample: 9
objects:
  description: The objects validated, as C(Kind/namespace/name).
  returned: success
  type: list
  elements: str
  sample: ["ConfigMap/mindie/mindie-pd-config", "Deployment/mindie/mindie-server"]
errors:
  description: One entry per problem found (only on failure).
  returned: failure
  type: list
  elements: dict
  contains:
    index:
      description: Position of the object in the input.
      type: int
    object:
      description: The object as C(Kind/namespace/name).
      type: str
    path:
      description: Dotted path of the offending field.
      type: str
    message:
      description: What is wrong.
      type: str
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ascend.mindie.plugins.module_utils.k8s_schema import (
    HAS_KUBERNETES_VALIDATE,
    KUBERNETES_VALIDATE_IMPORT_ERROR,
    SchemaError,
    format_errors,
    object_ref,
    validate_objects,
)

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False


class ManifestValidator(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def _load(self):
        if self.params['definitions'] is not None:
            return list(self.params['definitions'])
        try:
            with open(self.params['src'], 'rb') as handle:
                docs = list(yaml.safe_load_all(handle))
        except (IOError, OSError) as exc:
            self.module.fail_json(msg='cannot read src %s: %s' % (self.params['src'], to_native(exc)))
        except yaml.YAMLError as exc:
            self.module.fail_json(msg='src %s is not valid YAML: %s' % (self.params['src'], to_native(exc)))
        return [doc for doc in docs if doc is not None]

    def run(self):
        objects = self._load()
        if not objects:
            self.module.fail_json(msg='nothing to validate: no objects given')
        try:
            schema_version, errors = validate_objects(
                objects, self.params['kubernetes_version'], strict=self.params['strict'])
        except SchemaError as exc:
            self.module.fail_json(msg=to_native(exc))
        if errors:
            self.module.fail_json(
                msg='%d of %d objects fail the Kubernetes %s schemas%s: %s' % (
                    len(set(e['index'] for e in errors)), len(objects), schema_version,
                    ' (strict)' if self.params['strict'] else '', format_errors(errors)),
                errors=errors, schema_version=schema_version)
        self.module.exit_json(changed=False, schema_version=schema_version, validated=len(objects),
                              objects=[object_ref(o) for o in objects])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            definitions=dict(type='list', elements='raw'),
            src=dict(type='path'),
            kubernetes_version=dict(type='str', required=True),
            strict=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('definitions', 'src')],
        required_one_of=[('definitions', 'src')],
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES_VALIDATE:
        module.fail_json(msg=missing_required_lib('kubernetes-validate'),
                         exception=to_native(KUBERNETES_VALIDATE_IMPORT_ERROR))
    if module.params['src'] and not HAS_YAML:
        module.fail_json(msg=missing_required_lib('PyYAML'))
    try:
        ManifestValidator(module).run()
    except Exception as exc:  # noqa: BLE001 - report unexpected library errors instead of a traceback
        module.fail_json(msg='validation failed unexpectedly: %s' % to_native(exc),
                         exception=traceback.format_exc())


if __name__ == '__main__':
    main()
