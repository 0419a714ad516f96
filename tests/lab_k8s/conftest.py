# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab with the real control plane and the node agents, shared by the pod tests of this directory.

Lab id: $K8S_AGENT_LAB_ID (default ``k8s-agent``); two nodes (prefill-1, decode-1, profile a2-64g).
Needs root (namespaces, overlay mounts); skipped with the reason printed otherwise.
"""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "tests", "lab")
ATLAS = os.path.join(LAB, "atlas_lab.py")
K8S = os.path.join(LAB, "k8s")
LAB_ID = os.environ.get("K8S_AGENT_LAB_ID", "k8s-agent")
sys.path.insert(0, K8S)


def atlas(*args, check=True):
    proc = subprocess.run([sys.executable, ATLAS, "--lab-id", LAB_ID] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("atlas_lab.py %s failed: %s%s" % (" ".join(args), proc.stdout, proc.stderr))
    return proc


def lab_state():
    with open("/var/lib/ascend-lab/%s/state.json" % LAB_ID) as fh:
        return json.load(fh)


def save_state(state):
    path = "/var/lib/ascend-lab/%s/state.json" % LAB_ID
    with open(path + ".tmp", "w") as fh:
        json.dump(state, fh, indent=2, sort_keys=True)
    os.rename(path + ".tmp", path)


class Cluster(object):
    def __init__(self, state):
        self.state = state
        self.lab_id = LAB_ID
        self.kubeconfig = state["k8s"]["admin_kubeconfig"]
        self.bin = state["k8s"].get("bin_dir")
        self.nodes = {n["name"]: n for n in state["nodes"]}

    def kubectl(self, *args, input_data=None, check=True):
        proc = subprocess.run([os.path.join(self.bin, "kubectl"), "--kubeconfig", self.kubeconfig] + list(args),
                              input=input_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s: %s" % (" ".join(args), proc.stderr))
        return proc

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def apply(self, manifest):
        return self.kubectl("apply", "-f", "-", input_data=manifest)

    def wait(self, what, check, timeout=90, interval=1.0):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = check()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))

    def pods(self, namespace, selector):
        return self.get("pods", "-n", namespace, "-l", selector)["items"]

    def events(self, namespace, name):
        return [e for e in self.get("events", "-n", namespace)["items"] if e["involvedObject"]["name"] == name]


def ready_nodes(c):
    return [n["metadata"]["name"] for n in c.get("nodes")["items"]
            if any(x["type"] == "Ready" and x["status"] == "True" for x in n["status"].get("conditions", []))
            and not any(t["key"] == "node.kubernetes.io/not-ready" for t in n["spec"].get("taints") or [])]


def _k8s_flag_supported():
    with open(ATLAS) as fh:
        return "--k8s" in fh.read()


@pytest.fixture(scope="session")
def cluster():
    if os.geteuid() != 0:
        msg = "the lab's Kubernetes tests need root (network/mount namespaces, overlayfs)"
        print("SKIPPED tests/lab_k8s: " + msg)
        pytest.skip(msg)
    subprocess.run([sys.executable, os.path.join(LAB, "images", "lab-pyhttp", "build.py")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, os.path.join(K8S, "build.py")], check=True, stdout=subprocess.DEVNULL)
    import agents  # noqa: E402  pylint: disable=import-outside-toplevel
    import controlplane  # noqa: E402  pylint: disable=import-outside-toplevel
    wired = _k8s_flag_supported()
    atlas("down", check=False)
    snapshot = os.path.join("/tmp", "k8s-agent-snapshot-%s.json" % LAB_ID)
    subprocess.run([sys.executable, os.path.join(LAB, "host_snapshot.py"), "save", snapshot], check=True)
    try:
        if wired:
            atlas("up", "--prefill", "1", "--decode", "1", "--k8s")
            state = lab_state()
        else:
            atlas("up", "--prefill", "1", "--decode", "1")
            state = lab_state()
            state["k8s"] = controlplane.up(state)
            save_state(state)
            agents.start_agents(LAB_ID, state)
            save_state(state)
        c = Cluster(state)
        c.wait("both nodes Ready and untainted", lambda: len(ready_nodes(c)) == 2, timeout=60)
        yield c
    finally:
        if not wired:
            try:
                state = lab_state()
                agents.stop_agents(LAB_ID, state)
            except (IOError, ValueError):
                pass
            controlplane.down(LAB_ID)
        atlas("down")
        # down leaves no process, netns, link or mount of the agents and their pods behind
        left = subprocess.run([sys.executable, os.path.join(LAB, "host_snapshot.py"), "compare", snapshot],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        os.unlink(snapshot)
        assert left.returncode == 0, "down left things behind:\n" + left.stdout
