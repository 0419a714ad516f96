# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node agent of a lab node: makes it a Kubernetes Node that really runs its pods.

    nsenter --net=/run/netns/<node netns> python3 tests/lab/k8s/node_agent.py --lab-id ID --node NAME

Runs in the node's network namespace (reaching the API server over the node's eth0) with the node's
kubeconfig (``/var/lib/ascend-lab/<ID>/k8s/nodes/<node>.kubeconfig``, identity ``system:node:<node>``).
It registers the Node (labels and capacity of the lab profile, NPUs as ``huawei.com/Ascend910``),
renews its Lease and status, runs the pods bound to it (agent/pod.py), finalises their deletion, and
proxies Services (agent/proxy.py). SIGTERM stops the pods' processes and exits; the API objects stay
(a stopped kubelet does not delete pods). See tests/lab/k8s/AGENT.md.
"""
import argparse
import datetime
import json
import os
import platform
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from agent.kube import ApiError, Kube  # noqa: E402  pylint: disable=wrong-import-position
from agent.node import NodeContext, cleanup_stale_pods  # noqa: E402  pylint: disable=wrong-import-position
from agent.pod import PodWorker  # noqa: E402  pylint: disable=wrong-import-position
from agent.proxy import ServiceProxy  # noqa: E402  pylint: disable=wrong-import-position

KUBE_VERSION = "v1.20.2"
LEASE_SECONDS = 40
RENEW_SECONDS = 10
STATUS_SECONDS = 30
# cpu/memory an Atlas node shows (4 x Kunpeng 920 with 48 cores, 1 TiB; the reference has no sheet of
# the hosts' CPU/memory, so these are assumptions). The lab host's own 2 CPUs would leave MindIE's
# Server requests (16 CPUs, 64 GiB) unschedulable; nothing enforces them here (no cgroups).
ATLAS_CPU, ATLAS_MEMORY = "192", "1Ti"
WATCH_SECONDS = 5  # also bounds how long SIGTERM waits for the pod watch


def log(msg):
    sys.stderr.write("%s node-agent: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def now_micro():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def host_memory_kib():
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


class Agent(object):
    def __init__(self, ctx, kube):
        self.ctx = ctx
        self.kube = kube
        self.node = ctx.node_name
        self.workers = {}
        self.sent = {}
        self.broken = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.proxy = ServiceProxy(ctx.node_ip)
        ctx.get_object = self.get_object
        ctx.post_event = self.post_event

    # ------------------------------------------------------------------ Node and Lease

    def labels(self):
        gen = self.ctx.generation()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        labels = {"kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch}
        for key in ("accelerator", "accelerator-type", "host-arch"):
            labels[key] = None  # removed by the merge patch unless the profile has NPUs
        if gen and self.ctx.device_count:
            labels["accelerator"] = "huawei-Ascend910"
            labels["accelerator-type"] = "module-a3-16" if gen == "a3" else "module-910b-8"
            labels["host-arch"] = "huawei-arm" if arch == "arm64" else "huawei-x86"
        return labels

    def capacity(self):
        # pods: the size of the node's pod IP block, so the scheduler never places more than fit
        atlas = bool(self.ctx.generation())
        cap = {"cpu": ATLAS_CPU if atlas else str(os.cpu_count() or 1),
               "memory": ATLAS_MEMORY if atlas else "%dKi" % host_memory_kib(),
               "pods": str(self.ctx.block[1] - self.ctx.block[0] + 1),
               "ephemeral-storage": "100Gi"}
        # None: the merge patch drops the resource when the node has no NPUs (any more)
        cap["huawei.com/Ascend910"] = str(self.ctx.device_count) if self.ctx.device_count else None
        return cap

    def node_status(self):
        t = now_iso()
        conds = []
        for ctype, status, reason, msg in (
                ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ("Ready", "True", "KubeletReady", "lab node agent is posting ready status")):
            conds.append({"type": ctype, "status": status, "reason": reason, "message": msg,
                          "lastHeartbeatTime": t, "lastTransitionTime": self.transition.get(ctype, t)})
            self.transition.setdefault(ctype, t)
        cap = self.capacity()
        return {"capacity": cap, "allocatable": cap, "conditions": conds,
                "addresses": [{"type": "InternalIP", "address": self.ctx.node_ip},
                              {"type": "Hostname", "address": self.node}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": self.ctx.lab_id + "-" + self.node, "systemUUID": self.node,
                             "bootID": str(int(time.time())), "kernelVersion": platform.release(),
                             "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "ascend-lab://1",
                             "kubeletVersion": KUBE_VERSION, "kubeProxyVersion": KUBE_VERSION,
                             "operatingSystem": "linux", "architecture": self.labels()["kubernetes.io/arch"]}}

    def register(self):
        self.transition = {}
        labels = {k: v for k, v in self.labels().items() if v is not None}
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node, "labels": labels}}
        try:
            self.kube.request("POST", "/api/v1/nodes", body)
            log("registered node %s" % self.node)
        except ApiError as exc:
            if exc.status != 409:
                raise
            self.kube.patch_merge("/api/v1/nodes/" + self.node, {"metadata": {"labels": self.labels()}})
        self.kube.patch_merge("/api/v1/nodes/%s/status" % self.node, {"status": self.node_status()})

    def renew_lease(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + self.node
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now_micro()}
        try:
            self.kube.patch_merge(path, {"spec": spec})
        except ApiError as exc:
            if exc.status != 404:
                raise
            node = self.kube.get("/api/v1/nodes/" + self.node)
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.node, "namespace": "kube-node-lease",
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": self.node,
                                                      "uid": node["metadata"]["uid"]}]},
                    "spec": spec}
            self.kube.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", body)

    def heartbeat_loop(self):
        last_status = 0.0
        while not self.stopping.is_set():
            try:
                self.renew_lease()
                if self.ctx.reload_profile():  # 'atlas_lab.py fault profile' changed the node's hardware
                    log("profile of %s is now %s (%d devices)"
                        % (self.node, self.ctx.node["profile"], self.ctx.device_count))
                    self.kube.patch_merge("/api/v1/nodes/" + self.node, {"metadata": {"labels": self.labels()}})
                    last_status = 0.0
                if time.time() - last_status > STATUS_SECONDS:
                    self.kube.patch_merge("/api/v1/nodes/%s/status" % self.node, {"status": self.node_status()})
                    last_status = time.time()
            except (ApiError, OSError) as exc:
                log("heartbeat failed: %s" % exc)
            self.stopping.wait(RENEW_SECONDS)

    # ------------------------------------------------------------------ objects for pods

    def get_object(self, kind, namespace, name):
        try:
            return self.kube.get_or_none("/api/v1/namespaces/%s/%s/%s" % (namespace, kind, name))
        except (ApiError, OSError) as exc:
            log("get %s %s/%s: %s" % (kind, namespace, name, exc))
            return None

    def post_event(self, meta, field_path, etype, reason, message):
        t = now_iso()
        obj = {"kind": "Pod", "apiVersion": "v1", "namespace": meta["namespace"], "name": meta["name"],
               "uid": meta.get("uid")}
        if field_path:
            obj["fieldPath"] = field_path
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "%s.%x" % (meta["name"], time.time_ns()), "namespace": meta["namespace"]},
                "involvedObject": obj, "reason": reason, "message": message[:1024], "type": etype,
                "source": {"component": "kubelet", "host": self.node}, "firstTimestamp": t, "lastTimestamp": t,
                "count": 1, "reportingComponent": "kubelet", "reportingInstance": self.node}
        try:
            self.kube.request("POST", "/api/v1/namespaces/%s/events" % meta["namespace"], body)
        except (ApiError, OSError) as exc:
            log("event %s for %s/%s: %s" % (reason, meta["namespace"], meta["name"], exc))

    # ------------------------------------------------------------------ services

    def services_loop(self):
        while not self.stopping.is_set():
            try:
                services = self.kube.get("/api/v1/services").get("items", [])
                eps = self.kube.get("/api/v1/endpoints").get("items", [])
                self.ctx.set_services(services)
                self.proxy.update(services, {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in eps})
            except (ApiError, OSError) as exc:
                log("services: %s" % exc)
            self.stopping.wait(2)

    # ------------------------------------------------------------------ pods

    def pod_path(self, pod):
        return "/api/v1/namespaces/%s/pods/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])

    def report(self, worker):
        st = worker.status()
        key = json.dumps(st, sort_keys=True)
        with self.lock:
            if self.sent.get(worker.uid) == key:
                return
        try:
            self.kube.patch_merge(self.pod_path(worker.pod) + "/status", {"status": st})
            with self.lock:
                self.sent[worker.uid] = key
        except (ApiError, OSError) as exc:
            if getattr(exc, "status", None) != 404:
                log("status of %s: %s" % (worker.tag, exc))

    def finished(self, worker, ok):
        with self.lock:
            self.workers.pop(worker.uid, None)
            self.sent.pop(worker.uid, None)
        self.ctx.release_ip(worker.pod_ip)
        if not ok:
            self.broken.add(worker.uid)  # reported with reason AgentError; not retried in a loop
        if self.stopping.is_set() or worker.delete_requested is None:
            return
        try:
            self.kube.request("DELETE", self.pod_path(worker.pod),
                              {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                               "preconditions": {"uid": worker.uid}})
            log("pod %s/%s deleted" % (worker.meta["namespace"], worker.meta["name"]))
        except (ApiError, OSError) as exc:
            if getattr(exc, "status", None) not in (404, 409):
                log("delete of %s: %s" % (worker.tag, exc))

    def pods_loop(self):
        """List the node's pods, then follow a watch; a new list every WATCH_SECONDS (resync)."""
        selector = "spec.nodeName=" + self.node
        while not self.stopping.is_set():
            try:
                doc = self.kube.get("/api/v1/pods", fieldSelector=selector)
                pods = {p["metadata"]["uid"]: p for p in doc.get("items", [])}
                self.sync_pods(list(pods.values()))
                for event in self.kube.watch("/api/v1/pods", fieldSelector=selector, timeoutSeconds=WATCH_SECONDS,
                                             resourceVersion=doc["metadata"]["resourceVersion"]):
                    if event.get("type") == "ERROR" or self.stopping.is_set():
                        break
                    obj = event["object"]
                    if event["type"] == "DELETED":
                        pods.pop(obj["metadata"]["uid"], None)
                    else:
                        pods[obj["metadata"]["uid"]] = obj
                    self.sync_pods(list(pods.values()))
            except (ApiError, OSError, ValueError) as exc:
                log("pod sync: %s" % exc)
                self.stopping.wait(1)

    def sync_pods(self, pods):
        seen = set()
        for pod in pods:
            meta = pod["metadata"]
            uid = meta["uid"]
            seen.add(uid)
            with self.lock:
                worker = self.workers.get(uid)
            if meta.get("deletionTimestamp"):
                grace = meta.get("deletionGracePeriodSeconds", 0)
                if worker:
                    worker.request_delete(grace)
                else:
                    self.finished_unknown(pod)
                continue
            if worker or uid in self.broken or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            ip = self.ctx.allocate_ip(pod.get("status", {}).get("podIP"))
            if ip is None:
                log("no free pod IP for %s/%s" % (meta["namespace"], meta["name"]))
                continue
            worker = PodWorker(self.ctx, pod, ip, self.report, self.finished)
            with self.lock:
                self.workers[uid] = worker
            log("starting pod %s/%s with IP %s" % (meta["namespace"], meta["name"], ip))
            worker.start()
        with self.lock:
            gone = [w for uid, w in self.workers.items() if uid not in seen]
        for worker in gone:
            worker.abort()

    def finished_unknown(self, pod):
        try:
            self.kube.request("DELETE", self.pod_path(pod),
                              {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                               "preconditions": {"uid": pod["metadata"]["uid"]}})
        except (ApiError, OSError):
            pass

    def run(self):
        self.ctx.prepare_network()
        cleanup_stale_pods(self.ctx)
        while not self.stopping.is_set():
            try:
                self.register()
                break
            except (ApiError, OSError) as exc:
                log("registering node %s: %s (retrying)" % (self.node, exc))
                self.stopping.wait(2)
        threading.Thread(target=self.heartbeat_loop, daemon=True, name="heartbeat").start()
        threading.Thread(target=self.services_loop, daemon=True, name="services").start()
        self.pods_loop()
        self.shutdown()

    def shutdown(self):
        with self.lock:
            workers = list(self.workers.values())
        for w in workers:
            w.abort()
        for w in workers:
            w.join(15)
        self.proxy.close()
        cleanup_stale_pods(self.ctx)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--lab-id", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--kubeconfig", help="default: /var/lib/ascend-lab/<ID>/k8s/nodes/<node>.kubeconfig")
    args = parser.parse_args(argv)
    ctx = NodeContext(args.lab_id, args.node)
    kubeconfig = args.kubeconfig or os.path.join(ctx.lab_dir, "k8s", "nodes", args.node + ".kubeconfig")
    agent = Agent(ctx, Kube(kubeconfig))

    def stop(signum, frame):  # pylint: disable=unused-argument
        agent.stopping.set()
        agent.kube.stop_watch()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("node %s (%s) starting, pod block .%d-.%d, API %s:%s"
        % (args.node, ctx.node_ip, ctx.block[0], ctx.block[1], agent.kube.host, agent.kube.port))
    agent.run()
    log("node %s stopped" % args.node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
