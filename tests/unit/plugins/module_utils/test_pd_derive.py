# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pd_deploy derives before rendering (module_utils/pd_derive.py, the deployment_rules it checks with,
and the filters, test and lookup the role reaches them through)."""
import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError, AnsibleLookupError

from ansible_collections.ascend.mindie.plugins.filter import pd_derive as filters
from ansible_collections.ascend.mindie.plugins.lookup import collection_file
from ansible_collections.ascend.mindie.plugins.module_utils import deployment_rules, pd_derive
from ansible_collections.ascend.mindie.plugins.test import k8s_names

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_fact_models_strip_the_prefix_keep_order_and_skip_ungathered_hosts():
    hostvars = {
        "p1": {"ansible_facts": {"ascend_npu": {"model": "atlas_800i_a3"}}},
        "p2": {"ansible_facts": {"ascend_npu": {"model": "atlas_800i_a3"}}},
        "d1": {"ansible_facts": {"ascend_npu": {"model": "other"}}},
        "d2": {"ansible_facts": {}},
        "d3": {},
    }
    assert pd_derive.fact_models(["p1", "p2", "d1", "d2", "d3"], hostvars) == ["a3", "other"]
    assert pd_derive.fact_models(["d2", "d3"], hostvars) == []


def test_k8s_node_names_use_the_host_var_else_the_inventory_name():
    hostvars = {"a": {"pd_deploy_k8s_node_name": "node-a"}, "b": {}}
    assert filters.pd_k8s_node_names(["a", "b"], hostvars) == ["node-a", "b"]
    assert filters.pd_k8s_node_names([], hostvars) == []


def test_devices_per_node_follow_the_dies():
    assert filters.pd_devices_per_node("a2") == 8
    assert filters.pd_devices_per_node("a3") == 16
    with pytest.raises(AnsibleFilterError, match="use a2 or a3"):
        filters.pd_devices_per_node("")


@pytest.mark.parametrize("body, requests, coordinator", [
    (1, 10000, {"requests": "12Gi", "limits": "16Gi"}),   # MindIE's example: 10000 x 1 MB x 1.2
    (1, 100, {"requests": "4Gi", "limits": "6Gi"}),       # never below MindIE's 4Gi
    (20, 1000, {"requests": "24Gi", "limits": "32Gi"}),
    (3, 1001, {"requests": "4Gi", "limits": "6Gi"}),      # 3.6036 rounds up to 4
])
def test_coordinator_memory(body, requests, coordinator):
    server = {"requests": {"memory": "64Gi"}, "limits": {"memory": "128Gi"}}
    controller = {"requests": {"memory": "2Gi"}, "limits": {"memory": "8Gi"}}
    memory = filters.pd_pod_memory(server, controller, body, requests)
    assert memory["coordinator"] == coordinator
    assert memory["single"] == {
        "requests": "%dGi" % (66 + int(coordinator["requests"][:-2])),
        "limits": "%dGi" % (136 + int(coordinator["limits"][:-2])),
    }


def test_refused_sampling_in_the_users_order():
    assert filters.pd_refused_sampling({"temperature": 0.5, "stop": ["x"], "best_of": 2}) == ["stop", "best_of"]
    assert filters.pd_refused_sampling({}) == []
    assert filters.pd_refused_sampling(None) == []


def test_refused_features_depend_on_the_layout():
    features = {"prefix_cache": True, "kv_cache_int8": True, "splitfuse": False, "multi_lora": True}
    assert filters.pd_refused_features(features, "single") == ["kv_cache_int8"]
    assert filters.pd_refused_features(features, "multi") == ["prefix_cache", "kv_cache_int8", "multi_lora"]
    assert set(deployment_rules.FEATURES_NEVER + deployment_rules.FEATURES_NOT_MULTI) == set(deployment_rules.FEATURES)


@pytest.mark.parametrize("name, label, label_1035", [
    ("mindie", True, True),
    ("mindie-pd-1", True, True),
    ("1mindie", True, False),
    ("a" * 63, True, True),
    ("a" * 64, False, False),
    ("Mindie", False, False),
    ("mindie-", False, False),
    ("-mindie", False, False),
    ("mindie.pd", False, False),
    ("", False, False),
    (7, False, False),
])
def test_dns_labels(name, label, label_1035):
    assert k8s_names.dns_label(name) is label
    assert k8s_names.dns_1035_label(name) is label_1035


def test_yaml_documents_keep_the_header_and_the_key_order():
    text = filters.pd_yaml_documents([{"kind": "A", "apiVersion": "v1"}, {"kind": "B"}], ["first line,", "second"])
    assert text.startswith("# first line,\n# second\n---\nkind: A\napiVersion: v1\n---\nkind: B\n")
    assert [d["kind"] for d in yaml.safe_load_all(text)] == ["A", "B"]


def test_collection_file_reads_the_collections_files_only():
    with open(os.path.join(ROOT, "plugins", "module_utils", "pd_derive.py")) as handle:
        assert collection_file.collection_file("plugins/module_utils/pd_derive.py", root=ROOT) == handle.read()
    for bad in ("../etc/passwd", "/etc/passwd", "plugins/module_utils/nope.py", "plugins"):
        with pytest.raises(AnsibleLookupError, match="not a file of the ascend.mindie collection"):
            collection_file.collection_file(bad, root=ROOT)


def test_collection_version_from_galaxy_yml_or_manifest(tmp_path):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        assert collection_file.collection_version(ROOT) == str(yaml.safe_load(handle)["version"])
    (tmp_path / "MANIFEST.json").write_text('{"collection_info": {"version": "9.8.7"}}')
    (tmp_path / "galaxy.yml").write_text("version: 1.0.0\n")
    assert collection_file.collection_version(str(tmp_path)) == "9.8.7"
    assert collection_file.collection_version(str(tmp_path / "missing")) == "unknown"


@pytest.mark.parametrize("image, label", [
    ("swr.example/ascend/mindie:2.1.RC1-800I-A2-py311", "2.1.RC1-800I-A2-py311"),
    ("registry:5000/mindie", "latest"),  # the port is not a tag
    ("mindie@sha256:" + "a" * 64, "sha256_" + "a" * 56),
    ("mindie:" + "x" * 64, "x" * 63),  # Jinja's truncate left 64..68 characters alone
    ("mindie:" + "y" * 62 + "-z", "y" * 62),  # cut at 63, then no trailing '-'
    ("mindie:_tag+1", "tag_1"),
    ("mindie:___", "unknown"),
])
def test_image_version_label_is_a_valid_label_value(image, label):
    value = pd_derive.image_version_label(image)
    assert value == label
    assert len(value) <= 63 and re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$", value)
