# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pd_deploy against the lab's REAL Kubernetes control plane (tests/lab/k8s): what a faked API would
get wrong and needs no running pod: RBAC of the deployer token, field-manager conflicts, the API
server dying mid-apply, the scheduler's reasons, teardown of pods that cannot terminate.

One lab (id K8S_TEST_LAB_ID, default 'k8stest'; one node) with `up --k8s` serves the session. Pods
are placed on Node objects that this fixture registers itself (capacity, labels, Ready with fresh
heartbeats) and that no node agent serves: the scheduler binds pods to them and there they stay
(Pending, or Terminating after a delete), exactly as on a node whose kubelet is gone.
"""
import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import http.client

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_CLI = os.path.join(ROOT, "tests", "lab", "atlas_lab.py")
LAB_ID = os.environ.get("K8S_TEST_LAB_ID", "k8stest")
sys.path.insert(0, os.path.join(ROOT, "tests", "lab", "k8s"))
import build  # noqa: E402
# the test modules import controlplane from here
import controlplane  # noqa: E402  # pylint: disable=unused-import

# Object names are fixed per namespace (one deployment per namespace), so every test deploys to its
# own namespace; the deployer is granted all of these, none other.
NAMESPACES = ("kt-main", "kt-few", "kt-anti", "kt-fault")
NS = NAMESPACES[0]
OTHER_NS = "kt-other"   # granted to nobody but the admin
PLAYBOOKS = os.path.join(os.path.dirname(__file__), "playbooks")


def _ansible(tool):
    here = os.path.join(os.path.dirname(sys.executable), tool)
    return here if os.path.exists(here) else shutil.which(tool)


def lab(*args, check=True, timeout=600):
    proc = subprocess.run([sys.executable, LAB_CLI, "--lab-id", LAB_ID] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("atlas_lab.py %s failed (rc %d):\n%s" % (" ".join(args), proc.returncode, proc.stdout))
    return proc


class Api(object):
    """Minimal HTTPS client on a kubeconfig (client cert or token): what the fixtures need beyond kubectl."""

    def __init__(self, kubeconfig, scratch):
        with open(kubeconfig) as fh:
            cfg = yaml.safe_load(fh)
        cluster = cfg["clusters"][0]["cluster"]
        user = cfg["users"][0]["user"]
        self.host = cluster["server"].split("//", 1)[1]
        ca = os.path.join(scratch, "api-ca.crt")
        with open(ca, "wb") as fh:
            fh.write(base64.b64decode(cluster["certificate-authority-data"]))
        self.ctx = ssl.create_default_context(cafile=ca)
        self.headers = {}
        if "token" in user:
            self.headers["Authorization"] = "Bearer " + user["token"]
        else:
            crt, key = os.path.join(scratch, "api.crt"), os.path.join(scratch, "api.key")
            for path, field in ((crt, "client-certificate-data"), (key, "client-key-data")):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(base64.b64decode(user[field]))
            self.ctx.load_cert_chain(crt, key)

    def call(self, method, path, body=None, content_type="application/json"):
        conn = http.client.HTTPSConnection(self.host, context=self.ctx, timeout=20)
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, (json.loads(text) if text.startswith("{") else text)


class FakeNodes(object):
    """Node objects with NPU capacity kept Ready by heartbeats, served by no agent."""

    def __init__(self, api):
        self.api = api
        self.names = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def add(self, name, npus, cpu="64", memory="256Gi"):
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                      "accelerator": "huawei-Ascend910"}}}
        status, out = self.api.call("POST", "/api/v1/nodes", node)
        assert status in (201, 409), out
        self.names[name] = {"huawei.com/Ascend910": str(npus), "cpu": cpu, "memory": memory, "pods": "110"}
        self._status(name)
        return name

    def _status(self, name):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cap = self.names[name]
        status = {"capacity": cap, "allocatable": cap,
                  "conditions": [{"type": "Ready", "status": "True", "reason": "FakeNodeReady",
                                  "message": "test fixture heartbeat (no agent runs pods here)",
                                  "lastHeartbeatTime": now, "lastTransitionTime": now}]}
        self.api.call("PATCH", "/api/v1/nodes/%s/status" % name, {"status": status},
                      "application/strategic-merge-patch+json")

    def _beat(self):
        while not self.stop.wait(5):
            for name in list(self.names):
                try:
                    self._status(name)
                except OSError:
                    pass

    def wait_schedulable(self, name, timeout=60):
        # the node lifecycle controller lifts the not-ready taint once Ready=True is seen
        deadline = time.time() + timeout
        while time.time() < deadline:
            node = self.api.call("GET", "/api/v1/nodes/" + name)[1]
            if not [t for t in node.get("spec", {}).get("taints", []) if t["key"].startswith("node.kubernetes.io/")]:
                return
            time.sleep(0.5)
        raise AssertionError("node %s kept its taints: %s" % (name, node["spec"].get("taints")))

    def close(self):
        self.stop.set()
        self.thread.join(10)


class Cluster(object):
    def __init__(self, state, scratch):
        self.k8s = state["k8s"]
        self.scratch = scratch
        self.admin = self.k8s["admin_kubeconfig"]
        self.deployer = self.k8s["deployer_kubeconfig"]
        self.api = Api(self.admin, scratch)
        # the lab's management /24, from the API server's address (its host side, 198.18.<n>.1)
        self.lab_cidr = self.api.host.rsplit(":", 1)[0].rsplit(".", 1)[0] + ".0/24"
        self.kubectl_bin = os.path.join(build.BIN, "kubectl")

    def kubectl(self, *args, kubeconfig=None, input_data=None, check=True):
        proc = subprocess.run([self.kubectl_bin, "--kubeconfig", kubeconfig or self.admin] + list(args),
                              input=input_data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s: %s" % (" ".join(args), proc.stdout))
        return proc

    def token_kubeconfig(self, sa_namespace, sa_name, path):
        """A kubeconfig holding the token of ServiceAccount sa_name (made by the token controller)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            secret = self.kubectl("-n", sa_namespace, "get", "sa", sa_name, "-o", "jsonpath={.secrets[0].name}",
                                  check=False).stdout.strip()
            if secret:
                tok = self.kubectl("-n", sa_namespace, "get", "secret", secret, "-o", "jsonpath={.data.token}",
                                   check=False).stdout.strip()
                if tok:
                    with open(self.deployer) as fh:
                        cfg = yaml.safe_load(fh)
                    cfg["users"][0]["user"] = {"token": base64.b64decode(tok).decode()}
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        json.dump(cfg, fh)
                    return path
            time.sleep(0.5)
        raise AssertionError("no token for %s/%s" % (sa_namespace, sa_name))


class Run(object):
    def __init__(self, cmd, proc, elapsed):
        self.cmd, self.rc, self.output, self.elapsed = cmd, proc.returncode, proc.stdout, elapsed

    def explain(self):
        tail = "\n".join(self.output.splitlines()[-60:])
        return "%s\nrc=%d after %.0fs:\n%s" % (" ".join(self.cmd), self.rc, self.elapsed, tail)


class Deployer(object):
    """Runs the role with ansible-playbook (a real subprocess) against the cluster."""

    def __init__(self, cluster, base):
        self.cluster = cluster
        self.base = base
        self.pki_dir = os.path.join(base, "pki")
        self.n = 0

    def inventory(self, hosts):
        """hosts: {group: {inventory_name: k8s node name}}."""
        groups = {g: {"hosts": {h: {"pd_deploy_k8s_node_name": n} for h, n in members.items()}}
                  for g, members in hosts.items()}
        inv = {"all": {"children": {"mindie_cluster": {"children": groups}}}}
        self.n += 1
        path = os.path.join(self.base, "inventory-%d.yml" % self.n)
        with open(path, "w") as fh:
            yaml.safe_dump(inv, fh)
        return path

    def run(self, playbook, inventory, extra, kubeconfig=None, background=False):
        self.n += 1
        vars_file = os.path.join(self.base, "vars-%d.yml" % self.n)
        data = {"mindie_pki_dir": self.pki_dir, "mindie_report_dir": os.path.join(self.base, "reports"),
                "mindie_image": "swr.example.invalid/ascend/mindie:2.3.0-800I-A2-py311",
                "mindie_model_name": "Qwen2-7B-Instruct", "pd_deploy_kubernetes_version": "1.20",
                "pd_deploy_hardware": "a2", "pd_deploy_wait_delay": 1, "pd_deploy_wait_timeout": 8,
                "pd_deploy_teardown_timeout": 10, "mindie_namespace": NS,
                "pd_deploy_kubeconfig": kubeconfig or self.cluster.deployer,
                # MindIE 2.x's deploy material (required for generation 2): our release-shaped fixture
                "pd_deploy_mindie_release": os.path.join(ROOT, "tests", "fixtures", "mindie2-release"),
                # the intermediate CA's name constraints: pods and nodes live in the lab's /24
                "mindie_pod_cidrs": [self.cluster.lab_cidr], "mindie_node_cidrs": [self.cluster.lab_cidr]}
        data.update(extra)
        fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold the CA password
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(data, fh)
        env = dict(os.environ, PYTHONUNBUFFERED="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False")
        cmd = [_ansible("ansible-playbook"), "-i", inventory, "-e", "@" + vars_file,
               os.path.join(PLAYBOOKS, playbook)]
        if background:
            return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True)
        start = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600, check=False)
        return Run(cmd, proc, time.time() - start)


@pytest.fixture(scope="session")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("tests/k8s needs root (the lab makes namespaces and bridges)")
    if build.cached() is None:
        pytest.skip("the Kubernetes binaries are not built: run 'python tests/lab/k8s/build.py' (make deps does)")
    base = tempfile.mkdtemp(prefix="k8s-tests-")
    lab("down", check=False)
    start = time.time()
    lab("up", "--single", "1", "--k8s", *[a for ns in NAMESPACES for a in ("--k8s-namespace", ns)])
    print("lab %s with control plane up in %.0fs" % (LAB_ID, time.time() - start))
    with open("/var/lib/ascend-lab/%s/state.json" % LAB_ID) as fh:
        state = json.load(fh)
    c = Cluster(state, base)
    c.kubectl("create", "namespace", OTHER_NS)
    try:
        yield c
    finally:
        lab("down", check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def nodes(cluster):
    fake = FakeNodes(cluster.api)
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def deployer(cluster):
    d = Deployer(cluster, cluster.scratch)
    inv = d.inventory({"mindie_single": {"single-1": "kt-npu-1"}})
    # made up per session; only in a 0600 vars file
    res = d.run("pki.yml", inv, {"pki_ca_key_size": 3072,
                                 "mindie_ca_password": "K8s#Tests-%s-Aa1" % os.urandom(6).hex()})
    assert res.rc == 0, res.explain()
    return d
