# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pods on the lab's real Kubernetes control plane, run by the node agents (tests/lab/k8s/node_agent.py).

Each test would fail against an imitation: the scheduler binds, the agent runs real processes in their
own network namespace, the endpoints controller follows the agent's Ready condition, the Deployment
controller counts available replicas from it.
"""
import json
import os
import re
import signal
import time
import urllib.request

from conftest import atlas, lab_state, save_state

NS = "agent-test"
IMAGE = "registry.example/lab/lab-pyhttp:3"


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def ensure_ns(cluster):
    if cluster.kubectl("get", "namespace", NS, check=False).returncode != 0:
        cluster.kubectl("create", "namespace", NS)


def deployment(name, replicas=2, extra_container="", extra_spec="", probe=None):
    probe = probe or """
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 1"""
    return """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  replicas: %(replicas)d
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      terminationGracePeriodSeconds: 2
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: %(name)s}}
              topologyKey: kubernetes.io/hostname
%(extra_spec)s
      containers:
        - name: web
          image: %(image)s
          ports: [{containerPort: 8080, name: http}]
          env:
            - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
            - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
%(probe)s
%(extra_container)s
""" % {"name": name, "ns": NS, "replicas": replicas, "image": IMAGE, "probe": probe,
       "extra_container": extra_container, "extra_spec": extra_spec}


def available(cluster, name):
    st = cluster.get("deployment", "-n", NS, name)["status"]
    return st.get("availableReplicas", 0) == st.get("replicas", -1) and st


def test_nodes_are_registered_with_npus_and_lease(cluster):
    nodes = {n["metadata"]["name"]: n for n in cluster.get("nodes")["items"]}
    assert sorted(nodes) == ["decode-1", "prefill-1"]
    for name, node in nodes.items():
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == name
        assert labels["accelerator"] == "huawei-Ascend910"
        assert labels["accelerator-type"] == "module-910b-8"
        assert node["status"]["allocatable"]["huawei.com/Ascend910"] == "8"
        assert node["status"]["allocatable"]["cpu"] == "192"  # MindIE's Server asks for 16
        addrs = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addrs["InternalIP"] == cluster.nodes[name]["mgmt_ip"]
    lease = cluster.get("lease", "-n", "kube-node-lease", "prefill-1")
    assert lease["spec"]["holderIdentity"] == "prefill-1"


def test_node_follows_a_hardware_profile_change(cluster):
    def node():
        n = cluster.get("node", "decode-1")
        return n["metadata"]["labels"], n["status"]["allocatable"]
    atlas("fault", "profile", "decode-1", "non-atlas")
    try:
        labels = cluster.wait("decode-1 without NPUs", lambda: [
            n[0] for n in [node()] if "huawei.com/Ascend910" not in n[1]], timeout=30)[0]
        assert "accelerator" not in labels and "accelerator-type" not in labels
    finally:
        atlas("fault", "clear")
    labels = cluster.wait("decode-1 with 8 NPUs again", lambda: [
        n[0] for n in [node()] if n[1].get("huawei.com/Ascend910") == "8"], timeout=30)[0]
    assert labels["accelerator"] == "huawei-Ascend910"


def test_deployment_pods_run_with_own_ips_and_downward_env(cluster):
    ensure_ns(cluster)
    cluster.apply(deployment("web"))
    cluster.wait("deployment web available", lambda: available(cluster, "web"), timeout=90)
    wide = cluster.kubectl("get", "pods", "-n", NS, "-l", "app=web", "-o", "wide").stdout
    print(wide)
    pods = cluster.pods(NS, "app=web")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["decode-1", "prefill-1"]
    for p in pods:
        ip, host_ip = p["status"]["podIP"], p["status"]["hostIP"]
        assert ip != host_ip and host_ip == cluster.nodes[p["spec"]["nodeName"]]["mgmt_ip"]
        assert ip in wide
        # a real process answers on the pod IP, from the host
        env = http_json("http://%s:8080/env" % ip)
        assert env["POD_IP"] == ip and env["HOST_IP"] == host_ip
        assert env["NODE_NAME"] == p["spec"]["nodeName"] and env["POD_NAME"] == p["metadata"]["name"]
        assert http_json("http://%s:8080/id" % ip)["hostname"] == p["metadata"]["name"]


def test_nodeport_and_service_names_reach_a_ready_pod(cluster):
    ensure_ns(cluster)
    cluster.apply(deployment("web"))
    cluster.apply("""
apiVersion: v1
kind: Service
metadata: {name: web-svc, namespace: %s}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
""" % NS)
    cluster.wait("deployment web available", lambda: available(cluster, "web"), timeout=90)
    pod_names = {p["metadata"]["name"] for p in cluster.pods(NS, "app=web")}
    for node_ip in sorted(n["mgmt_ip"] for n in cluster.nodes.values()):
        url = "http://%s:30080/id" % node_ip
        answer = cluster.wait("NodePort on " + url, lambda u=url: _try(u), timeout=30)
        assert answer["hostname"] in pod_names
    svc_ip = cluster.get("service", "-n", NS, "web-svc")["spec"]["clusterIP"]
    pod = cluster.pods(NS, "app=web")[0]
    base = "http://%s:8080" % pod["status"]["podIP"]
    for name in ("web-svc", "web-svc.%s" % NS, "web-svc.%s.svc.cluster.local" % NS):
        resolved = cluster.wait("%s resolves in the pod" % name,
                                lambda: _try("%s/resolve?name=%s" % (base, name)), timeout=20)
        assert resolved["address"] == svc_ip
        fetched = _try("%s/fetch?url=http://%s/id" % (base, name))
        assert fetched and fetched["status"] == 200 and json.loads(fetched["body"])["hostname"] in pod_names
    env = http_json(base + "/env")
    # Service links as kubelet injects them (only Services that existed when the container started)
    assert "KUBERNETES_SERVICE_HOST" in env


def _try(url):
    try:
        return http_json(url, timeout=3)
    except (OSError, ValueError):
        return None


def test_probe_that_never_passes_keeps_deployment_unavailable(cluster):
    ensure_ns(cluster)
    cluster.apply(deployment("neverready", replicas=1, probe="""
          readinessProbe:
            exec: {command: [/bin/sh, -c, "test -e /tmp/never"]}
            periodSeconds: 1
            failureThreshold: 1"""))
    cluster.wait("the pod running", lambda: [p for p in cluster.pods(NS, "app=neverready")
                                             if p["status"].get("phase") == "Running"], timeout=60)
    time.sleep(5)
    st = cluster.get("deployment", "-n", NS, "neverready")["status"]
    assert st.get("availableReplicas", 0) == 0 and st.get("unavailableReplicas") == 1
    pod = cluster.pods(NS, "app=neverready")[0]
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    events = cluster.events(NS, pod["metadata"]["name"])
    unhealthy = [e for e in events if e["reason"] == "Unhealthy"]
    assert unhealthy and "Readiness probe failed" in unhealthy[0]["message"]
    eps = cluster.get("endpoints", "-n", NS, "neverready") if cluster.kubectl(
        "get", "endpoints", "-n", NS, "neverready", check=False).returncode == 0 else {}
    assert not any(s.get("addresses") for s in eps.get("subsets") or [])


def test_exiting_container_shows_exit_code_restarts_and_crashloop(cluster):
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: Pod
metadata: {name: crasher, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: %s
      command: [/bin/sh, -c, "echo about to fail; exit 3"]
""" % (NS, IMAGE))

    def crashlooping():
        st = cluster.get("pod", "-n", NS, "crasher")["status"].get("containerStatuses") or [{}]
        c = st[0]
        if c.get("restartCount", 0) >= 1 and c.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff":
            return c
        return None
    c = cluster.wait("CrashLoopBackOff", crashlooping, timeout=60)
    assert c["lastState"]["terminated"]["exitCode"] == 3
    assert c["lastState"]["terminated"]["reason"] == "Error"
    out = atlas("logs", "%s/crasher" % NS).stdout
    assert "about to fail" in out


def test_init_container_then_startup_and_liveness_probes(cluster):
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: Pod
metadata: {name: lively, namespace: %(ns)s}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: shared, emptyDir: {}}]
  initContainers:
    - name: prepare
      image: %(image)s
      command: [/bin/sh, -c, "echo prepared-by-init > /shared/marker"]
      volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
    - name: web
      image: %(image)s
      volumeMounts: [{name: shared, mountPath: /shared}]
      startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 10}
      livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}
""" % {"ns": NS, "image": IMAGE})

    def pod():
        return cluster.get("pod", "-n", NS, "lively")

    cluster.wait("lively running", lambda: (pod()["status"].get("containerStatuses") or [{}])[0].get("started"),
                 timeout=60)
    st = pod()["status"]
    assert st["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    ip = st["podIP"]
    assert http_json("http://%s:8080/file?path=/shared/marker" % ip)["content"] == "prepared-by-init\n"
    http_json("http://%s:8080/make-unhealthy" % ip)
    c = cluster.wait("a liveness restart", lambda: [
        s for s in pod()["status"]["containerStatuses"] if s["restartCount"] >= 1], timeout=30)[0]
    # python as PID 1 ignores SIGTERM: killed after the 1 s grace period
    assert c["lastState"]["terminated"]["exitCode"] == 137
    killing = [e for e in cluster.events(NS, "lively") if e["reason"] == "Killing"]
    assert killing and "failed liveness probe" in killing[0]["message"]
    # the new container starts from a fresh root filesystem: healthy again
    cluster.wait("lively ready again", lambda: pod()["status"]["containerStatuses"][0]["ready"], timeout=30)


def test_missing_image_is_reported_with_its_directory(cluster):
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: Pod
metadata: {name: noimage, namespace: %s}
spec:
  containers: [{name: main, image: "registry.example/ascend/not-built:9.9"}]
""" % NS)
    waiting = cluster.wait("image pull failure", lambda: [
        s["state"]["waiting"] for s in cluster.get("pod", "-n", NS, "noimage")["status"].get("containerStatuses") or []
        if s["state"].get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")], timeout=30)[0]
    assert "/var/cache/ascend-lab/images/not-built/9.9" in waiting["message"]
    assert cluster.get("pod", "-n", NS, "noimage")["status"]["phase"] == "Pending"


def test_secret_mode_fsgroup_and_read_only_mounts(cluster):
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: %(ns)s}
stringData: {password: s3cret, other: x}
---
apiVersion: v1
kind: Pod
metadata: {name: secured, namespace: %(ns)s}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1001}
  volumes:
    - name: creds
      secret: {secretName: creds, defaultMode: 0400, items: [{key: password, path: pw/password}]}
    - name: scratch
      emptyDir: {medium: Memory, sizeLimit: 4Mi}
    - name: node-profile
      hostPath: {path: /etc/atlas-lab, type: Directory}
  containers:
    - name: main
      image: %(image)s
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      volumeMounts:
        - {name: creds, mountPath: /mnt/creds}
        - {name: scratch, mountPath: /scratch}
        - {name: node-profile, mountPath: /node, readOnly: true}
      readinessProbe:
        # an exec probe runs with the container's ids and (no) capabilities
        exec:
          command: [/bin/sh, -c, 'test "$(id -u):$(id -g)" = 1000:1000 && grep -q "^CapBnd:.0*$" /proc/self/status']
        periodSeconds: 1
""" % {"ns": NS, "image": IMAGE})
    cluster.wait("pod secured Ready", lambda: any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in cluster.get("pod", "-n", NS, "secured")["status"].get("conditions", [])), timeout=60)
    ip = cluster.get("pod", "-n", NS, "secured")["status"]["podIP"]
    who = http_json("http://%s:8080/id" % ip)
    assert who["uid"] == 1000 and who["gid"] == 1000 and 1001 in who["groups"]
    st = http_json("http://%s:8080/stat?path=/mnt/creds/pw/password" % ip)
    assert st["mode"] == "0o440" and st["gid"] == 1001 and st["uid"] == 0 and not st["writable"]
    assert _try("http://%s:8080/stat?path=/mnt/creds/other" % ip) is None  # not in items
    assert not http_json("http://%s:8080/stat?path=/mnt/creds" % ip)["writable"]
    assert not http_json("http://%s:8080/stat?path=/srv" % ip)["writable"]  # read-only root
    assert http_json("http://%s:8080/stat?path=/scratch" % ip)["writable"]
    mounts = http_json("http://%s:8080/file?path=/proc/mounts" % ip)["content"].splitlines()
    scratch = [m for m in mounts if m.split()[1] == "/scratch"]
    assert scratch and scratch[0].split()[2] == "tmpfs" and "size=4096k" in scratch[0]
    # hostPath: the node's own file (the lab profile of the node the pod runs on), read-only
    node = cluster.get("pod", "-n", NS, "secured")["spec"]["nodeName"]
    assert json.loads(http_json("http://%s:8080/file?path=/node/profile.json" % ip)["content"])["node"] == node
    assert not http_json("http://%s:8080/stat?path=/node/profile.json" % ip)["writable"]
    status = http_json("http://%s:8080/env" % ip)
    assert "s3cret" not in json.dumps(status)
    # a changed Secret reaches the mounted volume (kubelet's periodic volume sync)
    cluster.kubectl("patch", "secret", "-n", NS, "creds", "-p", '{"stringData": {"password": "rotated"}}')
    cluster.wait("the rotated password in the pod", lambda: (_try(
        "http://%s:8080/file?path=/mnt/creds/pw/password" % ip) or {}).get("content") == "rotated", timeout=40)


def test_configmap_volume_has_kubelets_atomic_writer_layout(cluster):
    """MindIE reads .../config/..data/global_ranktable.json: ConfigMap volumes carry kubelet's layout
    (..data -> ..<time>.<n>, per-key symlinks), items/path/mode honoured, an update swaps ..data."""
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: ConfigMap
metadata: {name: ranktable, namespace: %(ns)s}
data: {global_ranktable.json: '{"status": "initializing"}', extra: 'x', unused: 'u'}
---
apiVersion: v1
kind: Pod
metadata: {name: atomic, namespace: %(ns)s}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 1001}
  volumes:
    - name: cfg
      configMap:
        name: ranktable
        defaultMode: 0640
        items: [{key: global_ranktable.json, path: global_ranktable.json}, {key: extra, path: sub/extra, mode: 0400}]
  containers:
    - name: web
      image: %(image)s
      volumeMounts:
        - {name: cfg, mountPath: /cfg}
        - {name: cfg, mountPath: /pinned.json, subPath: global_ranktable.json}
      readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
    - name: lister
      image: %(image)s
      command: [/bin/sh, -c, 'while :; do echo "L $(readlink /cfg/..data) $(readlink /cfg/global_ranktable.json)
                                $(readlink /cfg/sub) $(cat /cfg/..data/global_ranktable.json)"; sleep 1; done']
      volumeMounts: [{name: cfg, mountPath: /cfg}]
""" % {"ns": NS, "image": IMAGE})
    cluster.wait("pod atomic Ready", lambda: any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in cluster.get("pod", "-n", NS, "atomic")["status"].get("conditions", [])), timeout=60)
    ip = cluster.get("pod", "-n", NS, "atomic")["status"]["podIP"]

    def listed():
        lines = [ln.split(None, 4) for ln in atlas("logs", "%s/atomic" % NS, "-c", "lister").stdout.splitlines()
                 if ln.startswith("L ")]
        return lines[-1][1:] if lines else None
    ts, key_link, sub_link, content = cluster.wait("the lister's first line", listed, timeout=20)
    assert re.match(r"^\.\.\d{4}(_\d{2}){5}\.\d+$", ts), ts
    assert key_link == "..data/global_ranktable.json" and sub_link == "..data/sub"
    assert json.loads(content) == {"status": "initializing"}
    assert http_json("http://%s:8080/file?path=/cfg/global_ranktable.json" % ip)["content"] == content
    st = http_json("http://%s:8080/stat?path=/cfg/sub/extra" % ip)
    assert st["mode"] == "0o440" and st["gid"] == 1001  # item mode 0400, plus g+r for fsGroup
    assert http_json("http://%s:8080/stat?path=/cfg/..data/global_ranktable.json" % ip)["mode"] == "0o640"
    assert _try("http://%s:8080/file?path=/cfg/unused" % ip) is None  # not in items
    assert _try("http://%s:8080/file?path=/cfg/extra" % ip) is None  # only at its item path
    # an update: a new directory behind ..data; a subPath mount keeps what it started with
    cluster.kubectl("patch", "configmap", "-n", NS, "ranktable", "-p",
                    '{"data": {"global_ranktable.json": "{\\"status\\": \\"completed\\"}"}}')

    def updated():
        now = listed()
        return now if now and now[3] == '{"status": "completed"}' else None
    after = cluster.wait("the lister sees the new table", updated, timeout=40)
    assert after[0] != ts and re.match(r"^\.\.\d{4}(_\d{2}){5}\.\d+$", after[0])
    assert http_json("http://%s:8080/file?path=/cfg/..data/global_ranktable.json" % ip)["content"] == after[3]
    assert json.loads(http_json("http://%s:8080/file?path=/pinned.json" % ip)["content"]) == {"status": "initializing"}
    cluster.kubectl("delete", "pod", "-n", NS, "atomic", "--wait=false")


def test_deletion_sends_sigterm_then_sigkill_after_the_grace_period(cluster):
    ensure_ns(cluster)
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  terminationGracePeriodSeconds: 60
  containers:
    - name: main
      image: %(image)s
      command: [/bin/sh, -c, '%(script)s']
"""
    # sh as PID 1 only gets SIGTERM when it traps it; the other one sleeps through it
    cluster.apply(manifest % {"name": "graceful", "ns": NS, "image": IMAGE,
                              "script": 'trap "exit 0" TERM; while :; do sleep 0.2; done'})
    cluster.apply(manifest % {"name": "stubborn", "ns": NS, "image": IMAGE, "script": "while :; do sleep 0.2; done"})
    for name in ("graceful", "stubborn"):
        cluster.wait(name + " running", lambda n=name: cluster.get("pod", "-n", NS, n)["status"].get("phase")
                     == "Running", timeout=60)
    t0 = time.time()
    cluster.kubectl("delete", "pod", "-n", NS, "graceful")  # waits until the agent finalised it
    fast = time.time() - t0
    t0 = time.time()
    cluster.kubectl("delete", "pod", "-n", NS, "stubborn", "--grace-period=4")
    slow = time.time() - t0
    assert fast < 4, "a pod that exits on SIGTERM is gone at once (took %.1fs)" % fast
    assert 4 <= slow < 15, "SIGKILL after the 4 s grace period, not the pod's 60 s (took %.1fs)" % slow


def test_privileged_container_is_refused(cluster):
    ensure_ns(cluster)
    # kube-apiserver runs with --allow-privileged=false; the agent would refuse it too (unit test)
    proc = cluster.kubectl("apply", "-f", "-", check=False, input_data="""
apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: %s}
spec:
  containers:
    - name: main
      image: %s
      securityContext: {privileged: true}
""" % (NS, IMAGE))
    assert proc.returncode != 0 and "privileged" in proc.stderr


def test_dead_agent_leaves_pods_terminating(cluster):
    import agents  # pylint: disable=import-outside-toplevel
    ensure_ns(cluster)
    cluster.apply(deployment("web"))
    cluster.wait("deployment web available", lambda: available(cluster, "web"), timeout=90)
    victim = next(p for p in cluster.pods(NS, "app=web") if p["spec"]["nodeName"] == "decode-1")
    state = lab_state()
    stopped = agents.stop_agents(cluster.lab_id, state, nodes=["decode-1"], sig=signal.SIGKILL, timeout=5)
    save_state(state)
    assert stopped == ["decode-1"]
    try:
        cluster.kubectl("delete", "pod", "-n", NS, victim["metadata"]["name"], "--wait=false")
        time.sleep(8)  # well past the pod's 2 s grace period
        pod = cluster.get("pod", "-n", NS, victim["metadata"]["name"])
        assert pod["metadata"].get("deletionTimestamp")
        line = [ln for ln in cluster.kubectl("get", "pods", "-n", NS).stdout.splitlines()
                if victim["metadata"]["name"] in ln][0]
        assert "Terminating" in line
        # its container still runs: nobody on the node stopped it
        assert _try("http://%s:8080/id" % victim["status"]["podIP"])
    finally:
        state = lab_state()
        agents.start_agents(cluster.lab_id, state, nodes=["decode-1"])
        save_state(state)
    # the restarted agent finalises the deletion
    cluster.wait("the pod gone", lambda: cluster.kubectl(
        "get", "pod", "-n", NS, victim["metadata"]["name"], check=False).returncode != 0, timeout=60)
    assert os.path.isdir("/var/lib/ascend-lab/%s" % cluster.lab_id)


def test_ascend_operator_standin_fills_the_rank_table_of_running_pods(cluster):
    """`up --k8s` runs the Ascend component beside the control plane, as a real Ascend cluster does:
    it fills the existing rings-config-<Deployment> of a labelled Deployment once its pods run, from the
    lab nodes' NPU ports (one device per requested NPU, device IP = the port's fabric address)."""
    ensure_ns(cluster)
    ring = """
apiVersion: v1
kind: ConfigMap
metadata: {name: rings-config-ring, namespace: %s}
data: {hccl.json: '{"status":"initializing"}'}
""" % NS
    cluster.apply(ring)
    manifest = deployment("ring", replicas=2, extra_container="""
          resources:
            limits: {huawei.com/Ascend910: 2}
            requests: {huawei.com/Ascend910: 2}""")
    # the labels the Ascend component selects on (MindIE's yamls carry both)
    manifest = manifest.replace("metadata: {name: ring, namespace: %s}" % NS,
                                "metadata: {name: ring, namespace: %s, labels: {ring-controller.atlas: ascend-910b}}" % NS)
    manifest = manifest.replace("metadata: {labels: {app: ring}}",
                                "metadata: {labels: {app: ring, ring-controller.atlas: ascend-910b, deploy-name: ring}}")
    cluster.apply(manifest)

    def table():
        data = cluster.get("configmap", "-n", NS, "rings-config-ring").get("data") or {}
        hccl = json.loads(data.get("hccl.json") or "{}")
        return hccl if hccl.get("status") == "completed" else None

    hccl = cluster.wait("rings-config-ring completed", table, timeout=120)
    pods = {p["status"]["podIP"]: p for p in cluster.pods(NS, "app=ring")}
    assert hccl["server_count"] == "2" and sorted(s["container_ip"] for s in hccl["server_list"]) == sorted(pods)
    for server in hccl["server_list"]:
        pod = pods[server["container_ip"]]
        node = cluster.nodes[pod["spec"]["nodeName"]]
        assert server["server_id"] == node["mgmt_ip"] and len(server["device"]) == 2
        for dev in server["device"]:
            assert dev["device_ip"].startswith("198.1") and dev["device_ip"] != pod["status"]["podIP"]
    cluster.kubectl("delete", "-n", NS, "deployment/ring", "configmap/rings-config-ring", "--wait=false")


def test_init_container_writes_through_subpaths_of_a_memory_emptydir(cluster):
    """MindIE 2.x's TLS layout: an init container writes into subPaths of a memory-backed emptyDir that the
    serving container mounts at other paths; kubelet makes missing subPath directories inside the volume
    (on the tmpfs, not beside it)."""
    ensure_ns(cluster)
    cluster.apply("""
apiVersion: v1
kind: Pod
metadata: {name: subpaths, namespace: %(ns)s}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: leaf, emptyDir: {medium: Memory, sizeLimit: 1Mi}}]
  initContainers:
    - name: issue
      image: %(image)s
      command: [/bin/sh, -c, "echo cert > /opt/svc/security/cert.pem && echo store > /opt/svc/tools/pmt/ksfa"]
      volumeMounts:
        - {name: leaf, mountPath: /opt/svc/security, subPath: security}
        - {name: leaf, mountPath: /opt/svc/tools/pmt, subPath: tools-pmt}
  containers:
    - name: web
      image: %(image)s
      volumeMounts:
        - {name: leaf, mountPath: /srv/security, subPath: security, readOnly: true}
        - {name: leaf, mountPath: /srv/pmt, subPath: tools-pmt}
      readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
""" % {"ns": NS, "image": IMAGE})

    def pod():
        return cluster.get("pod", "-n", NS, "subpaths")

    cluster.wait("subpaths ready", lambda: (pod()["status"].get("containerStatuses") or [{}])[0].get("ready"),
                 timeout=60)
    st = pod()["status"]
    assert st["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0, st
    ip = st["podIP"]
    assert http_json("http://%s:8080/file?path=/srv/security/cert.pem" % ip)["content"] == "cert\n"
    assert http_json("http://%s:8080/file?path=/srv/pmt/ksfa" % ip)["content"] == "store\n"
    cluster.kubectl("delete", "-n", NS, "pod/subpaths", "--wait=false")
