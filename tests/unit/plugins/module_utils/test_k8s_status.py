# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deployment availability and pod diagnosis (module_utils/k8s_status.py), as the waits use them."""
from ansible_collections.ascend.mindie.plugins.filter import k8s as k8s_filters
from ansible_collections.ascend.mindie.plugins.module_utils import k8s_status


def deployment(name, replicas=2, available=2, updated=2, generation=3, observed=3, cond="True"):
    return {"metadata": {"name": name, "generation": generation}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "availableReplicas": available,
                       "conditions": [{"type": "Available", "status": cond}]}}


def test_expected_deployments_follow_the_components():
    objects = [{"kind": "Deployment", "metadata": {"name": "c", "labels": {k8s_status.COMPONENT_LABEL: "controller"}}},
               {"kind": "Service", "metadata": {"name": "s", "labels": {k8s_status.COMPONENT_LABEL: "controller"}}},
               {"kind": "Deployment", "metadata": {"name": "srv", "labels": {k8s_status.COMPONENT_LABEL: "server"}}}]
    assert k8s_filters.pd_expected_deployments(objects, ["controller"]) == ["c"]
    assert k8s_filters.pd_expected_deployments(objects, ["server", "controller"]) == ["c", "srv"]


def test_available_needs_every_replica_and_the_newest_spec():
    assert k8s_status.deployment_available(deployment("a"))
    assert not k8s_status.deployment_available(deployment("a", available=1))
    assert not k8s_status.deployment_available(deployment("a", updated=1))
    assert not k8s_status.deployment_available(deployment("a", observed=2))  # controller has not seen the change
    assert not k8s_status.deployment_available(deployment("a", cond="False"))
    got = [deployment("a"), deployment("b", available=0)]
    assert k8s_filters.pd_not_available(got, ["a", "b", "missing"]) == ["b", "missing"]


def test_pod_lines_name_scheduler_reasons_states_and_exits():
    pending = {"metadata": {"name": "server-0"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/4 nodes are available: 4 Insufficient huawei.com/Ascend910."}]}}
    crashing = {"metadata": {"name": "server-1"}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}], "containerStatuses": [
        {"name": "mindie", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
         "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}}
    ready = {"metadata": {"name": "ok"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    lines = k8s_filters.pd_pods_not_ready([pending, crashing, ready])
    assert lines == [
        "server-0 on no node (Pending, PodScheduled=False Unschedulable: 0/4 nodes are available: "
        "4 Insufficient huawei.com/Ascend910.)",
        "server-1 on no node (Running, Ready=False ContainersNotReady, mindie waiting CrashLoopBackOff: back-off 40s, "
        "mindie last exit 3 Error)"]


def test_pod_lines_add_nodes_restarts_init_containers_and_probe_events():
    """The smoke stage's diagnosis is the same function, with the namespace's events."""
    pods = [
        {"metadata": {"name": "mindie-motor-coordinator-x"}, "spec": {"nodeName": "control-1"},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                    "containerStatuses": [{"name": "coordinator", "state": {"running": {}}, "restartCount": 0}]}},
        {"metadata": {"name": "mindie-server-d0-y"}, "spec": {"nodeName": "decode-1"},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                    "initContainerStatuses": [{"name": "certs", "state": {"terminated": {"reason": "Completed",
                                                                                         "exitCode": 0}}}],
                    "containerStatuses": [{"name": "server", "restartCount": 3,
                                           "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                                           "lastState": {"terminated": {"exitCode": 1}}}]}},
        {"metadata": {"name": "init-fails"}, "spec": {"nodeName": "decode-2"},
         "status": {"phase": "Pending", "initContainerStatuses": [
             {"name": "certs", "state": {"terminated": {"reason": "Error", "exitCode": 2, "message": "x" * 300}}}]}},
        {"metadata": {"name": "ok"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    ]
    events = [{"involvedObject": {"name": "mindie-motor-coordinator-x"}, "reason": "Unhealthy",
               "message": 'Readiness probe failed: motor_pod: coordinator not ready: {"ready":false}'},
              {"involvedObject": {"name": "mindie-server-d0-y"}, "reason": "Scheduled", "message": "ignored"}]
    assert k8s_filters.pd_pods_not_ready(pods, events) == [
        "mindie-motor-coordinator-x on control-1 (Running, Ready=False ContainersNotReady, "
        'probe: Readiness probe failed: motor_pod: coordinator not ready: {"ready":false})',
        "mindie-server-d0-y on decode-1 (Running, Ready=False, server waiting CrashLoopBackOff: back-off 40s, "
        "server last exit 1, server restarts 3)",
        "init-fails on decode-2 (Pending, certs terminated Error: " + "x" * 200 + "...)",
    ]


def test_teardown_names_stuck_pods_with_their_nodes():
    unknown = {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}
    results = [{"item": "d1", "resources": [{"status": {"conditions": [unknown]}}]},
               {"item": "d2", "resources": []},
               {"item": "d3", "resources": [{"status": {}}]}]
    states = k8s_filters.pd_node_states(results)
    assert states == {"d1": "Ready=Unknown (NodeStatusUnknown)", "d2": "not found",
                      "d3": "no Ready condition (no kubelet ever reported)"}
    pods = [{"metadata": {"name": "a", "deletionTimestamp": "now"}, "spec": {"nodeName": "d1"}},
            {"metadata": {"name": "b"}, "spec": {}, "status": {"phase": "Pending"}}]
    assert k8s_filters.pd_stuck_pods(pods, states) == [
        "pod a Terminating on node d1 [Ready=Unknown (NodeStatusUnknown)]", "pod b (Pending) (not scheduled)"]
    refs = k8s_filters.pd_object_refs([{"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"},
                                        "metadata": {"name": "c", "namespace": "n", "uid": "1"}}])
    assert refs == [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "n", "name": "c"}]


def test_secret_keys_and_items_restore_the_paths():
    slurped = [{"item": ["server", "security/ca/ca.pem"], "content": "Q0E="},
               {"item": ["server", "gen_cert.json"], "content": "e30="},
               {"item": ["controller", "tools/pmt/master/ksfa"], "content": "a3M="}]
    data = k8s_filters.pd_secret_data(slurped)
    assert data == {"server": {"security__ca__ca.pem": "Q0E=", "gen_cert.json": "e30="},
                    "controller": {"tools__pmt__master__ksfa": "a3M="}}
    assert k8s_filters.pd_secret_items(data)["server"] == [
        {"key": "gen_cert.json", "path": "gen_cert.json"}, {"key": "security__ca__ca.pem", "path": "security/ca/ca.pem"}]
