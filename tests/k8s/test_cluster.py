# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What only a real control plane shows (see conftest.py). Every test asserts what kube-apiserver,
its authorizers, the scheduler or the garbage collector did, not what our code believes."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import NS, OTHER_NS, LAB_ID, controlplane

SINGLE = {"mindie_layout": "single", "mindie_p_rate": 2, "mindie_d_rate": 6}


def objects(cluster, instance, kinds="deployments,services,configmaps,secrets,pods", ns=NS):
    out = cluster.kubectl("-n", ns, "get", kinds, "-l", "app.kubernetes.io/instance=" + instance,
                          "-o", "name").stdout
    return sorted(out.split())


def teardown(deployer, inv, instance, ns=NS, **extra):
    return deployer.run("teardown.yml", inv, dict({"pd_deploy_instance": instance, "mindie_namespace": ns}, **extra))


def test_deployer_token_is_confined_to_its_namespace(cluster):
    allowed = [("create", "deployments.apps", NS), ("patch", "secrets", NS), ("delete", "services", NS),
               ("get", "namespaces/" + NS, None), ("list", "nodes", None)]
    denied = [("create", "deployments.apps", OTHER_NS), ("get", "secrets", "kube-system"),
              ("list", "configmaps", "default"), ("create", "namespaces", None), ("get", "namespaces/" + OTHER_NS, None),
              ("delete", "nodes", None), ("create", "rolebindings.rbac.authorization.k8s.io", NS),
              ("create", "pods/exec", NS)]
    for verb, res, ns in allowed + denied:
        args = ["auth", "can-i", verb, res] + (["-n", ns] if ns else [])
        got = cluster.kubectl(*args, kubeconfig=cluster.deployer, check=False).stdout.strip().splitlines()[-1]
        want = "yes" if (verb, res, ns) in allowed else "no"
        assert got == want, "deployer: can-i %s %s in %s = %s, want %s" % (verb, res, ns, got, want)
    # and the API server really refuses (not only the review)
    proc = cluster.kubectl("-n", OTHER_NS, "create", "configmap", "intruder", "--from-literal=a=b",
                           kubeconfig=cluster.deployer, check=False)
    assert proc.returncode != 0
    assert 'configmaps is forbidden: User "system:serviceaccount:ascend-deployer:mindie-deployer" cannot create ' \
           'resource "configmaps" in API group "" in the namespace "%s"' % OTHER_NS in proc.stdout


def test_too_few_npus_leaves_pods_pending_and_the_wait_names_the_scheduler_reason(cluster, nodes, deployer):
    node = nodes.add("kt-npu-small", npus=4)
    nodes.wait_schedulable(node)
    inv = deployer.inventory({"mindie_single": {"single-1": node}})
    res = deployer.run("deploy.yml", inv, dict(SINGLE, pd_deploy_instance="kt-few", mindie_namespace="kt-few"))
    assert res.rc != 0, res.explain()
    assert re.search(r"server not Available after 8s \(pd_deploy_wait_timeout\) in namespace kt-few", res.output), \
        res.explain()
    assert re.search(r"PodScheduled=False Unschedulable: 0/\d+ nodes are available: .*"
                     r"1 Insufficient huawei.com/Ascend910", res.output), res.explain()
    pods = cluster.kubectl("-n", "kt-few", "get", "pods", "-l", "app.kubernetes.io/instance=kt-few",
                           "-o", "jsonpath={.items[*].status.phase}/{.items[*].spec.nodeName}").stdout
    assert pods == "Pending/", pods  # not bound anywhere
    # Pending, unbound pods go at once: the teardown finishes within its bound
    down = teardown(deployer, inv, "kt-few", ns="kt-few")
    assert down.rc == 0, down.explain()
    assert objects(cluster, "kt-few", ns="kt-few") == []


def test_unmet_anti_affinity_leaves_the_second_server_pending(cluster, nodes, deployer):
    node = nodes.add("kt-npu-one", npus=16)  # room for two pods' NPUs: only the anti-affinity stops one
    nodes.wait_schedulable(node)
    # two single-machine instances that inventory maps onto the same Kubernetes node
    inv = deployer.inventory({"mindie_single": {"single-1": node, "single-2": node}})
    res = deployer.run("deploy.yml", inv, dict(SINGLE, pd_deploy_instance="kt-anti", mindie_namespace="kt-anti"))
    assert res.rc != 0, res.explain()
    assert "didn't match pod anti-affinity rules" in res.output, res.explain()
    placed = cluster.kubectl("-n", "kt-anti", "get", "pods", "-l", "app.kubernetes.io/instance=kt-anti",
                             "-o", "jsonpath={range .items[*]}{.spec.nodeName},{end}").stdout
    assert sorted(placed.split(",")[:-1]) == ["", node], placed  # one bound by the scheduler, one not
    down = teardown(deployer, inv, "kt-anti", ns="kt-anti", pd_deploy_teardown_force=True)
    assert down.rc == 0, down.explain()


@pytest.fixture(scope="module")
def deployed(cluster, nodes, deployer):
    """One instance applied (its pods bound to an agentless node, so the wait times out)."""
    node = nodes.add("kt-npu-main", npus=8)
    nodes.wait_schedulable(node)
    inv = deployer.inventory({"mindie_single": {"single-1": node}})
    res = deployer.run("deploy.yml", inv, dict(SINGLE, pd_deploy_instance="kt-main"))
    assert "server not Available after 8s" in res.output, res.explain()
    assert "deployment.apps/mindie-server" in objects(cluster, "kt-main")
    return inv


def test_field_owned_by_another_manager_is_a_conflict(cluster, deployer, deployed):
    # an operator scales by server-side apply under their own field manager
    patch = ('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"mindie-server","namespace":"%s"},'
             '"spec":{"replicas":3}}' % NS)
    cluster.kubectl("apply", "--server-side", "--field-manager", "ops-team", "--force-conflicts",
                    "--validate=false", "-f", "-", input_data=patch)
    res = deployer.run("deploy.yml", deployed, dict(SINGLE, pd_deploy_instance="kt-main"))
    assert res.rc != 0, res.explain()
    assert re.search(r'Apply failed with 1 conflict: conflict with \\*"ops-team\\*"', res.output) \
        and ".spec.replicas" in res.output, res.explain()
    # the conflict stops the run before anything is applied: the dry run reports it
    assert "Validate the objects against the cluster (server-side dry run)" in \
        res.output[:res.output.index("Apply failed")].rsplit("TASK [", 1)[1], res.explain()
    replicas = cluster.kubectl("-n", NS, "get", "deployment", "mindie-server", "-o",
                               "jsonpath={.spec.replicas}").stdout
    assert replicas == "3"  # never silently forced back
    cluster.kubectl("apply", "--server-side", "--field-manager", "ops-team", "--validate=false", "-f", "-", input_data=(
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"mindie-server","namespace":"%s"}}' % NS))


def test_teardown_with_a_token_that_cannot_delete_fails_clearly(cluster, deployer, deployed):
    cluster.kubectl("-n", NS, "create", "serviceaccount", "kt-reader")
    cluster.kubectl("-n", NS, "create", "role", "kt-reader", "--verb=get,list",
                    "--resource=deployments.apps,services,configmaps,secrets,pods,replicasets.apps")
    cluster.kubectl("-n", NS, "create", "rolebinding", "kt-reader", "--role=kt-reader",
                    "--serviceaccount=%s:kt-reader" % NS)
    kc = cluster.token_kubeconfig(NS, "kt-reader", os.path.join(cluster.scratch, "reader.kubeconfig"))
    before = objects(cluster, "kt-main")
    res = teardown(deployer, deployed, "kt-main", pd_deploy_kubeconfig=kc)
    assert res.rc != 0, res.explain()
    assert re.search(r'is forbidden: User \\*"system:serviceaccount:%s:kt-reader\\*" cannot delete resource' % NS,
                     res.output), res.explain()
    assert objects(cluster, "kt-main") == before


def _stop(pid):
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and controlplane.pid_alive(pid):
        time.sleep(0.1)


def test_api_server_stopped_mid_apply_is_a_clear_error_and_a_rerun_converges(cluster, nodes, deployer):
    node = nodes.add("kt-npu-fault", npus=8)
    nodes.wait_schedulable(node)
    inv = deployer.inventory({"mindie_single": {"single-1": node}})
    # NodePorts are cluster-wide: kt-main's Service holds the default one
    extra = dict(SINGLE, pd_deploy_instance="kt-fault", mindie_namespace="kt-fault", pd_deploy_node_port=31016)
    proc = deployer.run("deploy.yml", inv, extra, background=True)
    out = []
    apiserver = controlplane.find_component(LAB_ID, "kube-apiserver")
    argv = controlplane.component_argv(apiserver)
    stopped = False
    for line in proc.stdout:
        out.append(line)
        if line.startswith("TASK [ascend.mindie.pd_deploy : Apply the Secrets"):
            _stop(apiserver)
            stopped = True
            break
    out.append(proc.stdout.read())
    proc.wait()
    output = "".join(out)
    try:
        assert stopped, "the run never reached 'Apply the Secrets':\n" + output[-4000:]
        assert proc.returncode != 0, output
        assert re.search(r"(Connection refused|Failed to establish a new connection|Max retries exceeded).*"
                         r"198\.18\.\d+\.1.*6443|198\.18\.\d+\.1.*6443.*(Connection refused|Max retries)",
                         output), output[-4000:]
    finally:
        controlplane.start_component(LAB_ID, "kube-apiserver", argv)
    deadline = time.time() + 120
    while cluster.kubectl("get", "--raw", "/readyz", check=False).returncode != 0:
        assert time.time() < deadline, "kube-apiserver not ready again after 120s"
        time.sleep(1)
    res = deployer.run("deploy.yml", inv, extra)
    assert "server not Available after 8s" in res.output, res.explain()  # applied in full, then waited
    got = objects(cluster, "kt-fault", "deployments,services,configmaps,secrets", ns="kt-fault")
    assert "deployment.apps/mindie-server" in got and any(o.startswith("secret/") for o in got), got
    again = deployer.run("deploy.yml", inv, extra)
    assert re.search(r"localhost\s*: ok=\d+\s+changed=0 ", again.output), again.explain()  # converged
    down = teardown(deployer, inv, "kt-fault", ns="kt-fault", pd_deploy_teardown_force=True)
    assert down.rc == 0, down.explain()


def test_teardown_names_pods_stuck_terminating_and_force_removes_them(cluster, deployer, deployed):
    # the pods are bound to kt-npu-main, which no agent serves: nobody confirms they stopped
    start = time.time()
    res = teardown(deployer, deployed, "kt-main")
    took = time.time() - start
    assert res.rc != 0, res.explain()
    assert re.search(r"did not finish within 10s \(pd_deploy_teardown_timeout\)\. Still there: "
                     r"Deployment/mindie-server; pod mindie-server-[a-z0-9-]+ Terminating on node kt-npu-main "
                     r"\[Ready=True \(FakeNodeReady\)\]", res.output), res.explain()
    assert "pd_deploy_teardown_force=true" in res.output
    assert took < 120, "one total bound, not one per object (%.0fs)" % took
    forced = teardown(deployer, deployed, "kt-main", pd_deploy_teardown_force=True)
    assert forced.rc == 0, forced.explain()
    assert objects(cluster, "kt-main") == []


def test_lab_kubectl_uses_the_admin_kubeconfig(cluster):
    proc = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "lab", "atlas_lab.py"),
                           "--lab-id", LAB_ID, "kubectl", "get", "nodes", "-o", "name"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0 and "node/kt-npu-main" in proc.stdout, proc.stdout
