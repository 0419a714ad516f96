# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the node agents of a lab (one ``node_agent.py`` per node, in the node's netns).

Called by atlas_lab.py after the control plane is up (``start_agents``) and at ``down``
(``stop_agents``). Pids go to ``state["k8s_agents"]``; logs to ``nodes/<node>/agent.log``.
"""
import os
import signal
import subprocess
import sys
import time

from controlplane import pid_alive as _alive  # one liveness check for the lab's processes

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "node_agent.py")
STATE_ROOT = "/var/lib/ascend-lab"


def _is_agent(pid, lab_id):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = fh.read().split(b"\0")
    except IOError:
        return False
    return AGENT.encode() in argv and lab_id.encode() in argv


def _find_agents(lab_id):
    """{node: pid} of the lab's agents found by command line (state.json may be lost after a crash)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _is_agent(int(entry), lab_id):
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                argv = fh.read().decode(errors="replace").split("\0")
            if "--node" in argv and argv.index("--node") + 1 < len(argv) and argv[argv.index("--lab-id") + 1] == lab_id:
                found[argv[argv.index("--node") + 1]] = int(entry)
    return found


def start_agents(lab_id, state, nodes=None):
    """Start one agent per lab node (or the named ones); returns {node: pid}.

    Updates state["k8s_agents"]; the caller saves the state.
    """
    pids = state.setdefault("k8s_agents", {})
    lab_dir = os.path.join(STATE_ROOT, lab_id)
    for node in state["nodes"]:
        name = node["name"]
        if nodes is not None and name not in nodes:
            continue
        if pids.get(name) and _alive(pids[name]) and _is_agent(pids[name], lab_id):
            continue
        kubeconfig = os.path.join(lab_dir, "k8s", "nodes", name + ".kubeconfig")
        if not os.path.exists(kubeconfig):
            raise RuntimeError("node kubeconfig %s is missing: bring the control plane up first" % kubeconfig)
        logf = open(os.path.join(lab_dir, "nodes", name, "agent.log"), "ab")
        proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + node["netns"], "--", sys.executable, AGENT,
             "--lab-id", lab_id, "--node", name, "--kubeconfig", kubeconfig],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True)
        logf.close()
        pids[name] = proc.pid
    return pids


def stop_agents(lab_id, state, nodes=None, sig=signal.SIGTERM, timeout=20.0):
    """Stop the agents (SIGTERM: they stop their pods' processes first; SIGKILL after timeout).

    Also finds agents by command line, so it works with state=None after a crash. Returns the nodes.
    """
    state = state if state is not None else {}
    pids = state.get("k8s_agents") or {}
    found = dict(pids)
    found.update(_find_agents(lab_id))
    targets = {n: p for n, p in found.items() if (nodes is None or n in nodes) and _alive(p) and _is_agent(p, lab_id)}
    for pid in targets.values():
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline and any(_alive(p) for p in targets.values()):
        time.sleep(0.1)
    for pid in targets.values():
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for pid in targets.values():
        try:
            os.waitpid(pid, os.WNOHANG)
        except OSError:
            pass
    for name in targets:
        pids.pop(name, None)
    return sorted(targets)
