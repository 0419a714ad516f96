# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.ascend.mindie.plugins.modules import k8s_manifest_validate

CM = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c', 'namespace': 'mindie'},
      'data': {'k': 'v'}}


class _Exit(SystemExit):
    """Like the real exit_json/fail_json, leaves through SystemExit."""

    def __init__(self, kwargs, failed):
        super().__init__(kwargs)
        self.result = kwargs
        self.failed = failed


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kwargs):
        raise _Exit(kwargs, False)

    def fail_json(self, **kwargs):
        raise _Exit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def _run(args, check_mode=False):
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
        # ansible-core >= 2.19 also needs a serialization profile (what patch_module_args sets)
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
        with pytest.raises(_Exit) as exc:
            k8s_manifest_validate.main()
        return exc.value
    return _run


def test_valid_definitions(run):
    res = run(dict(definitions=[CM], kubernetes_version='v1.31.1'), check_mode=True)
    assert not res.failed
    assert res.result['changed'] is False
    assert res.result['schema_version'] == '1.31'
    assert res.result['validated'] == 1
    assert res.result['objects'] == ['ConfigMap/mindie/c']


def test_invalid_definitions_fail_with_errors(run):
    bad = dict(CM, spec={})
    res = run(dict(definitions=[CM, bad], kubernetes_version='1.30'))
    assert res.failed
    assert res.result['msg'].startswith('1 of 2 objects fail the Kubernetes 1.30 schemas (strict)')
    assert res.result['errors'][0]['index'] == 1


def test_src_file_multi_document(run, tmp_path):
    src = tmp_path / 'm.yaml'
    src.write_text('---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n'
                   'apiVersion: v1\nkind: Secret\nmetadata: {name: b}\ntype: Opaque\n')
    res = run(dict(src=str(src), kubernetes_version='1.30'))
    assert not res.failed and res.result['validated'] == 2


def test_src_not_yaml(run, tmp_path):
    src = tmp_path / 'm.yaml'
    src.write_text('a: [\n')
    res = run(dict(src=str(src), kubernetes_version='1.30'))
    assert res.failed and 'is not valid YAML' in res.result['msg']


def test_unsupported_version_message(run):
    res = run(dict(definitions=[CM], kubernetes_version='1.21'))
    assert res.failed and 'no Kubernetes 1.21 schemas' in res.result['msg']


def test_empty_input_refused(run):
    res = run(dict(definitions=[], kubernetes_version='1.30'))
    assert res.failed and 'nothing to validate' in res.result['msg']
