# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import copy

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import k8s_schema

DEPLOYMENT = {
    'apiVersion': 'apps/v1',
    'kind': 'Deployment',
    'metadata': {'name': 'mindie-server', 'namespace': 'mindie'},
    'spec': {
        'replicas': 2,
        'selector': {'matchLabels': {'app': 'mindie-server'}},
        'template': {
            'metadata': {'labels': {'app': 'mindie-server'}},
            'spec': {
                'containers': [{
                    'name': 'server', 'image': 'mindie:2.3.0',
                    'resources': {'requests': {'huawei.com/Ascend910': 8}, 'limits': {'huawei.com/Ascend910': 8}},
                    'volumeMounts': [{'name': 'sec', 'mountPath': '/mnt/security', 'readOnly': True}],
                }],
                'volumes': [{'name': 'sec', 'secret': {'secretName': 's', 'defaultMode': 0o400}}],
            },
        },
    },
}


@pytest.mark.parametrize('text, expected', [
    ('1.30', (1, 30)), ('v1.30.4', (1, 30)), ('1.29.0-eks-123', (1, 29)), (' 1.31 ', (1, 31)),
])
def test_parse_version(text, expected):
    assert k8s_schema.parse_version(text) == expected


@pytest.mark.parametrize('text', ['', 'latest', '1', 'one.two', '1.x'])
def test_parse_version_refuses(text):
    with pytest.raises(k8s_schema.SchemaError, match='not a Kubernetes version'):
        k8s_schema.parse_version(text)


def test_supported_versions_are_numeric_and_sorted():
    versions = k8s_schema.supported_versions()
    assert versions == sorted(set(versions))
    assert (1, 30) in versions


def test_resolve_version_exact_no_fallback():
    assert k8s_schema.resolve_version('v1.30.2') == '1.30'
    # kubernetes-validate on its own would quietly use 1.25 schemas for 1.24: we refuse instead.
    with pytest.raises(k8s_schema.SchemaError) as err:
        k8s_schema.resolve_version('1.24')
    assert '1.24' in str(err.value) and '1.25..' in str(err.value)
    with pytest.raises(k8s_schema.SchemaError, match='99.0'):
        k8s_schema.resolve_version('99.0')


def test_valid_deployment_passes():
    version, errors = k8s_schema.validate_objects([DEPLOYMENT], '1.30')
    assert version == '1.30' and errors == []


def test_strict_rejects_unknown_field_and_lax_accepts():
    bad = copy.deepcopy(DEPLOYMENT)
    bad['spec']['template']['spec']['volumes'][0]['readOnly'] = True  # belongs on the mount
    _schema_version, errors = k8s_schema.validate_objects([bad], '1.30', strict=True)
    assert len(errors) == 1
    assert errors[0]['object'] == 'Deployment/mindie/mindie-server'
    assert errors[0]['path'] == 'spec.template.spec.volumes.0'
    assert 'readOnly' in errors[0]['message']
    _schema_version, errors = k8s_schema.validate_objects([bad], '1.30', strict=False)
    assert errors == []


def test_type_error_reported_with_path():
    bad = copy.deepcopy(DEPLOYMENT)
    bad['spec']['replicas'] = 'two'
    _schema_version, errors = k8s_schema.validate_objects([bad], '1.30')
    assert [e['path'] for e in errors] == ['spec.replicas']


def test_missing_identity_duplicates_and_unknown_kind_all_reported():
    objs = [
        {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {}},
        DEPLOYMENT,
        copy.deepcopy(DEPLOYMENT),
        {'apiVersion': 'mindxdl.gitee.com/v1', 'kind': 'AscendJob', 'metadata': {'name': 'j'}},
        'not a mapping',
    ]
    _schema_version, errors = k8s_schema.validate_objects(objs, '1.30')
    by_index = {e['index']: e for e in errors}
    assert sorted(by_index) == [0, 2, 3, 4]
    assert 'metadata.name' in by_index[0]['message']
    assert 'duplicate of object #1' in by_index[2]['message']
    assert 'no schema for mindxdl.gitee.com/v1 AscendJob' in by_index[3]['message']
    assert 'expected a mapping' in by_index[4]['message']


def test_version_specific_schema():
    # sidecar-style restartPolicy on an init container exists in 1.28+, not in 1.27
    dep = copy.deepcopy(DEPLOYMENT)
    dep['spec']['template']['spec']['initContainers'] = [
        {'name': 'side', 'image': 'x', 'restartPolicy': 'Always'}]
    assert k8s_schema.validate_objects([dep], '1.29')[1] == []
    errors = k8s_schema.validate_objects([dep], '1.27')[1]
    assert errors and 'restartPolicy' in errors[0]['message']


def test_format_errors_caps_output():
    errors = [dict(object='ConfigMap/x/%d' % i, path='data', message='m') for i in range(25)]
    text = k8s_schema.format_errors(errors, limit=3)
    assert text.count('ConfigMap/x/') == 3 and text.endswith('... and 22 more')
