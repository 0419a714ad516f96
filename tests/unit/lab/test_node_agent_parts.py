# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces of the lab node agent that need neither root nor a cluster (the pod tests are tests/lab_k8s/)."""
import os
import re
import sys

import pytest

K8S = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "k8s")
sys.path.insert(0, K8S)
from agent import atomic_writer, node, pod, proxy  # noqa: E402


def test_pod_blocks_stay_between_nodes_and_service_range():
    blocks = [node.pod_block(i, 4) for i in range(4)]
    assert blocks[0] == (72, 103)
    for (a_lo, a_hi), (b_lo, _b_hi) in zip(blocks, blocks[1:]):
        assert a_hi < b_lo
    assert blocks[-1][1] < 240  # 198.18.<n>.240/28 is the Service CIDR
    assert node.pod_block(61, 62)[1] < 240
    with pytest.raises(ValueError):
        node.pod_block(0, 200)


def test_image_reference_maps_to_last_path_component_and_tag(tmp_path):
    (tmp_path / "mindie" / "2.1-a2" / "rootfs").mkdir(parents=True)
    path, err = pod.image_dir(str(tmp_path), "swr.example.com:5000/ascendhub/mindie:2.1-a2")
    assert err is None and path == str(tmp_path / "mindie" / "2.1-a2")
    path, err = pod.image_dir(str(tmp_path), "mindie")
    assert path.endswith("/mindie/latest") and str(path) in err
    err = pod.image_dir(str(tmp_path), "mindie@sha256:" + "0" * 64)[1]
    assert "digest" in err


def test_env_expansion_follows_kubernetes():
    env = {"A": "x", "B": "y"}
    assert pod.expand("$(A)-$(B)", env) == "x-y"
    assert pod.expand("$(MISSING)", env) == "$(MISSING)"
    assert pod.expand("$$(A)", env) == "$(A)"


def test_quantities():
    assert pod.parse_quantity_bytes("64Mi") == 64 * 1024 * 1024
    assert pod.parse_quantity_bytes("1G") == 10 ** 9
    with pytest.raises(pod.ConfigError):
        pod.parse_quantity_bytes("lots")


def test_endpoints_pick_the_named_port_and_only_ready_addresses():
    eps = {"subsets": [{"addresses": [{"ip": "198.18.1.72"}], "notReadyAddresses": [{"ip": "198.18.1.73"}],
                        "ports": [{"name": "http", "port": 8080}, {"name": "mgmt", "port": 9000}]}]}
    assert proxy.endpoint_targets(eps, {"name": "mgmt", "port": 80}) == [("198.18.1.72", 9000)]
    assert proxy.endpoint_targets(eps, {"name": "other", "port": 80}) == []
    assert proxy.endpoint_targets(None, {"port": 80}) == []


def test_service_env_and_hosts_of_a_namespace():
    ctx = node.NodeContext.__new__(node.NodeContext)
    ctx.lock = __import__("threading").Lock()
    ctx.set_services([
        {"metadata": {"namespace": "mindie", "name": "mindie-ms-coordinator"},
         "spec": {"clusterIP": "198.18.1.242", "ports": [{"name": "http", "port": 1025, "protocol": "TCP"}]}},
        {"metadata": {"namespace": "other", "name": "x"},
         "spec": {"clusterIP": "198.18.1.243", "ports": [{"port": 1}]}},
        {"metadata": {"namespace": "mindie", "name": "headless"},
         "spec": {"clusterIP": "None", "ports": [{"port": 2}]}},
    ])
    env = ctx.service_env("mindie")
    # the variable MindIE's Controller trips over (mindie-deploy-flow.md 3.2)
    assert env["MINDIE_MS_COORDINATOR_PORT"] == "tcp://198.18.1.242:1025"
    assert env["MINDIE_MS_COORDINATOR_SERVICE_PORT_HTTP"] == "1025"
    assert not any(k.startswith("X_") for k in env)
    hosts = ctx.hosts_text("mindie")
    assert "198.18.1.242\tmindie-ms-coordinator.mindie.svc.cluster.local" in hosts
    assert " mindie-ms-coordinator\n" in hosts
    assert "x.other" in hosts and " x\n" not in hosts
    assert "headless" not in hosts


def test_qos_class():
    assert pod.qos_class({"containers": [{}]}) == "BestEffort"
    lim = {"cpu": "1", "memory": "1Gi"}
    assert pod.qos_class({"containers": [{"resources": {"limits": lim, "requests": lim}}]}) == "Guaranteed"
    assert pod.qos_class({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}) == "Burstable"


def test_security_context_privileged_refused_and_capabilities():
    worker = pod.PodWorker.__new__(pod.PodWorker)
    worker.spec = {"securityContext": {"runAsUser": 1000, "fsGroup": 1001, "supplementalGroups": [5]}}
    with pytest.raises(pod.ConfigError) as exc:
        worker.security({"name": "c", "securityContext": {"privileged": True}})
    assert "privileged" in str(exc.value)
    caps = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    sec = worker.security({"name": "c", "securityContext": {"capabilities": caps, "allowPrivilegeEscalation": False}})
    assert sec["uid"] == 1000 and sec["gid"] == 0 and sec["groups"] == [0, 5, 1001]
    assert sec["capabilities"] == ["NET_BIND_SERVICE"] and sec["no_new_privs"]
    worker.spec = {"securityContext": {"runAsNonRoot": True}}
    with pytest.raises(pod.ConfigError):
        worker.security({"name": "c"})


def test_key_volume_layout_is_kubelets_atomic_writer(tmp_path):
    vol = tmp_path / "vol"
    (vol / "stale").mkdir(parents=True)  # an earlier plain layout is replaced
    assert atomic_writer.write(str(vol), {"global_ranktable.json": (b'{"status": "initializing"}', 0o640),
                                          "sub/other": (b"x", 0o600)})
    first = os.readlink(str(vol / "..data"))
    assert re.match(r"^\.\.\d{4}(_\d{2}){5}\.\d+$", first), first
    assert os.readlink(str(vol / "global_ranktable.json")) == "..data/global_ranktable.json"
    assert os.readlink(str(vol / "sub")) == "..data/sub"
    assert (vol / "..data" / "global_ranktable.json").read_bytes() == b'{"status": "initializing"}'
    assert (vol / "sub" / "other").stat().st_mode & 0o777 == 0o600
    assert (vol / first).stat().st_mode & 0o777 == 0o755
    assert sorted(os.listdir(str(vol))) == sorted(["..data", first, "global_ranktable.json", "sub"])
    # the same payload again: nothing changes
    assert not atomic_writer.write(str(vol), {"global_ranktable.json": (b'{"status": "initializing"}', 0o640),
                                              "sub/other": (b"x", 0o600)})
    assert os.readlink(str(vol / "..data")) == first
    # a changed payload: a new directory behind ..data, the old one and the removed key's symlink gone
    assert atomic_writer.write(str(vol), {"global_ranktable.json": (b'{"status": "completed"}', 0o640)})
    second = os.readlink(str(vol / "..data"))
    assert second != first and not (vol / first).exists() and not os.path.lexists(str(vol / "sub"))
    assert (vol / "global_ranktable.json").read_bytes() == b'{"status": "completed"}'
    assert sorted(os.listdir(str(vol))) == sorted(["..data", second, "global_ranktable.json"])
    for bad in ("../x", "/etc/x", "..x", "a/../b"):
        with pytest.raises(ValueError):
            atomic_writer.write(str(vol), {bad: (b"", 0o644)})
