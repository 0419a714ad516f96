# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.ascend.mindie.plugins.modules import k8s_manifest_validate

CM = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c', 'namespace': 'mindie'},
      'data': {'k': 'v'}}


@pytest.fixture
def run(run_module):
    return lambda args, check_mode=False: run_module(k8s_manifest_validate.main, args, check_mode=check_mode)


def test_valid_definitions(run):
    res = run(dict(definitions=[CM], kubernetes_version='v1.31.1'), check_mode=True)
    assert not res['failed']
    assert res['changed'] is False
    assert res['schema_version'] == '1.31'
    assert res['validated'] == 1
    assert res['objects'] == ['ConfigMap/mindie/c']


def test_invalid_definitions_fail_with_errors(run):
    bad = dict(CM, spec={})
    res = run(dict(definitions=[CM, bad], kubernetes_version='1.30'))
    assert res['failed']
    assert res['msg'].startswith('1 of 2 objects fail the Kubernetes 1.30 schemas (strict)')
    assert res['errors'][0]['index'] == 1


def test_src_file_multi_document(run, tmp_path):
    src = tmp_path / 'm.yaml'
    src.write_text('---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n'
                   'apiVersion: v1\nkind: Secret\nmetadata: {name: b}\ntype: Opaque\n')
    res = run(dict(src=str(src), kubernetes_version='1.30'))
    assert not res['failed'] and res['validated'] == 2


def test_src_not_yaml(run, tmp_path):
    src = tmp_path / 'm.yaml'
    src.write_text('a: [\n')
    res = run(dict(src=str(src), kubernetes_version='1.30'))
    assert res['failed'] and 'is not valid YAML' in res['msg']


def test_unsupported_version_message(run):
    res = run(dict(definitions=[CM], kubernetes_version='1.21'))
    assert res['failed'] and 'no Kubernetes 1.21 schemas' in res['msg']


def test_empty_input_refused(run):
    res = run(dict(definitions=[], kubernetes_version='1.30'))
    assert res['failed'] and 'nothing to validate' in res['msg']
