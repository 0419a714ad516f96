# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults on the converged cluster: lab faults (sshd, VLAN, link), a missing package source, damaged
key store files, an interrupted PKI run and a deployment that fails halfway (Server pods that cannot start
on the real cluster). Each test clears its
faults (fixture ``clean_lab``) and restores what it damaged."""
import os
import re
import shutil
import signal
import socket
import time

import pytest

from conftest import FLOW, NODES, Env, default_deployment, diff_nodes, model_path, snapshot_dir, snapshot_nodes

COMPONENT = "server"


def _wait_port_closed(host, port=22, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.2)
    return False


def test_node_dropping_off_mid_run_stops_the_run_naming_it(clean_lab, lab, env):
    victim = "decode-2"
    others = [n for n in NODES if n != victim]
    before = snapshot_nodes(lab, others)
    # A task that needs no connection, two tasks before the pings connect to every node.
    trigger = "TASK [ascend.mindie.roce : Keep the node's ports for the cluster plan"
    state = {"stopped": False}

    def watch(line, proc):
        if not state["stopped"] and line.startswith(trigger):
            # Ansible is held (no new task starts) until sshd is down: on a loaded machine the
            # fault used to land after the ping task had already connected, and the run passed.
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                lab.fault("sshd-stop", victim)
                state["stopped"] = _wait_port_closed(lab.hosts[victim]["ansible_host"])
            finally:
                os.kill(proc.pid, signal.SIGCONT)

    # No SSH multiplexing: every task opens a new connection, as after a real outage. ControlPath=none
    # also keeps ssh off the master sockets earlier tests left (ControlMaster=no alone still uses them,
    # and Ansible adds a ControlPath whenever a ControlPersist option is given, even "no").
    no_mux = {"ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                         "-o ControlMaster=no -o ControlPath=none -o ConnectTimeout=5"}
    result = env.run(["preflight.yml", "roce.yml"], extra_vars=no_mux, watch=watch,
                     env={"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none"})
    assert state["stopped"], "the run never reached %r, or sshd did not stop:\n%s" % (trigger, result.explain())
    assert result.rc != 0, "the run succeeded with %s gone:\n%s" % (victim, result.explain())
    assert re.search(r"(fatal|UNREACHABLE).*\[%s\]|\[%s\].*UNREACHABLE" % (victim, victim), result.output), \
        result.explain()
    assert result.recap.get(victim, {}).get("unreachable") or result.recap.get(victim, {}).get("failed"), \
        result.explain()
    # nothing was written on the nodes that stayed up
    changes = diff_nodes(before, snapshot_nodes(lab, others))
    assert changes == [], "\n".join(changes)
    # back online: the next run passes again (its reports record the recovery)
    lab.clear()
    again = env.run(["preflight.yml", "roce.yml"])
    assert again.rc == 0, again.explain()


@pytest.mark.parametrize("fault,node,args,expected", [
    ("vlan", "decode-1", ["1", "200"], [r"decode-1", r"\b200\b"]),
    ("link-down", "prefill-2", ["3"], [r"prefill-2", r"(?i)\bdown\b"]),
], ids=["port-moved-to-another-vlan", "link-down"])
def test_network_fault_fails_roce_naming_node_and_port(clean_lab, lab, env, fault, node, args, expected):
    lab.fault(fault, node, *args)
    before = env.snapshot()
    result = env.run("roce.yml")
    after = env.snapshot()
    assert result.rc != 0, "%s on %s port %s was not noticed:\n%s" % (fault, node, args[0], result.explain())
    failure = result.flat[result.flat.find("FAILED!"):] if "FAILED!" in result.flat else result.flat
    missing = [r for r in expected if not re.search(r, failure)]
    assert missing == [], "the failure does not name %s:\n%s" % (missing, result.explain())
    assert re.search(r"%s:dev%s\b" % (node, args[0]), failure), \
        "the failure does not name port %s:\n%s" % (args[0], result.explain())
    before["reports"], after["reports"] = {}, {}  # the RoCE report records the failure
    assert Env.changes(before, after) == []


def test_missing_package_source_is_a_clear_error(clean_lab, lab, env):
    before = env.snapshot()
    result = env.run("entropy.yml", extra_vars={"entropy_package_dir": "/nonexistent/ascend-packages"})
    after = env.snapshot()
    assert result.rc != 0, result.explain()
    assert "/nonexistent/ascend-packages" in result.flat, result.explain()
    assert Env.changes(before, after) == []


def _store_paths(env, component=COMPONENT):
    base = os.path.join(env.pki_dir, "components", component, "tools", "pmt")
    return os.path.join(base, "master", "ksfa"), os.path.join(base, "standby", "ksfb")


def _corrupt(path):
    with open(path, "rb") as handle:
        data = handle.read()
    garbage = bytes((b ^ 0x5A) for b in data[:64]) + data[64:]
    with open(path, "wb") as handle:
        handle.write(garbage)
    return garbage


def _load_pair(master, standby):
    from ansible_collections.ascend.mindie.plugins.module_utils import kmc  # pylint: disable=import-error
    return kmc.load_pair(master, standby)


def test_corrupted_master_key_store_is_recovered_from_standby(clean_lab, env):
    master, standby = _store_paths(env)
    ca_before = snapshot_dir(os.path.join(env.pki_dir, "ca"))
    backup = {p: open(p, "rb").read() for p in (master, standby)}
    garbage = _corrupt(master)
    try:
        assert _load_pair(master, standby).master_state != "ok"
        result = env.run("pki.yml")
        assert result.rc == 0, result.explain()
        with open(master, "rb") as handle:
            assert handle.read() != garbage, "the corrupted master file was left as it was"
        loaded = _load_pair(master, standby)
        assert (loaded.master_state, loaded.standby_state) == ("ok", "ok"), loaded.problems
        assert snapshot_dir(os.path.join(env.pki_dir, "ca")) == ca_before, "the CA changed"
        assert oct(os.stat(master).st_mode & 0o777) == oct(0o600)
        again = env.run("pki.yml")
        assert again.rc == 0 and again.changed == {}, again.explain()
    finally:
        if _load_pair(master, standby).master_state != "ok":
            for path, data in backup.items():
                with open(path, "wb") as handle:
                    handle.write(data)


def test_both_key_store_files_corrupted_is_a_clear_error_and_nothing_is_overwritten(clean_lab, env):
    master, standby = _store_paths(env)
    backup = {p: open(p, "rb").read() for p in (master, standby)}
    try:
        damaged = {p: _corrupt(p) for p in (master, standby)}
        before = snapshot_dir(env.pki_dir)
        result = env.run("pki.yml")
        assert result.rc != 0, "both key store files damaged, yet pki succeeded:\n" + result.explain()
        assert re.search(r"no usable key store, nothing was changed: master key store \S+/components/%s/tools/pmt/"
                         r"master/ksfa is not a JSON document; standby key store \S+/tools/pmt/standby/ksfb is not"
                         % COMPONENT, result.flat), result.explain()
        for path, data in damaged.items():
            with open(path, "rb") as handle:
                assert handle.read() == data, "%s was overwritten" % path
        changes = list(Env.changes({"nodes": {}, "pki": before, "reports": {}, "cluster": {}},
                                   {"nodes": {}, "pki": snapshot_dir(env.pki_dir), "reports": {}, "cluster": {}}))
        assert changes == [], "\n".join(changes)
    finally:
        for path, data in backup.items():
            with open(path, "wb") as handle:
                handle.write(data)
    assert env.run("pki.yml").changed == {}


def test_run_interrupted_after_ca_before_certificates_converges_without_new_ca(clean_lab, env):
    pki_dir = os.path.join(env.scratch, "pki-interrupted")
    deployment = default_deployment(env)
    deployment["mindie_pki_dir"] = pki_dir
    # a node address: inside the lab's node range, which the intermediate CA's name constraints permit
    node_ip = env.lab.hosts[sorted(env.lab.hosts)[0]]["ansible_host"]
    static = {"pki_static_certs": [{"name": "coordinator-host", "component": "coordinator",
                                    "ips": [node_ip], "dns": ["mindie.example"]}]}
    trigger = "TASK [ascend.mindie.pki : Stop when the CA should be replaced"
    state = {"killed": False}

    def watch(line, proc):
        if not state["killed"] and line.startswith(trigger):
            os.killpg(proc.pid, signal.SIGKILL)  # as hard as a lost control node
            state["killed"] = True

    first = env.run("pki.yml", deployment=deployment, extra_vars=static, watch=watch)
    assert state["killed"], "the run never reached %r:\n%s" % (trigger, first.explain())
    ca_dir = os.path.join(pki_dir, "ca")
    ca = snapshot_dir(ca_dir)
    assert any(k.endswith("ca.pem") for k in ca), "the CA was not built before the interruption: %s" % ca
    assert not os.path.exists(os.path.join(pki_dir, "issued", "coordinator-host")), "certificates already issued"

    second = env.run("pki.yml", deployment=deployment, extra_vars=static)
    assert second.rc == 0, second.explain()
    assert snapshot_dir(ca_dir) == ca, "the CA was regenerated by the re-run"
    issued = snapshot_dir(os.path.join(pki_dir, "issued", "coordinator-host"))
    assert issued, "the re-run did not issue the certificate"
    third = env.run("pki.yml", deployment=deployment, extra_vars=static)
    assert third.rc == 0 and third.changed == {}, third.explain()
    shutil.rmtree(pki_dir)


def _move_model_dir(lab, away):
    """The fault: the model weights are gone from every node (as after a wrong copy). The node agent then
    cannot set up the Server pods' hostPath volume (type Directory), as kubelet cannot: they never start."""
    path = model_path()
    src, dst = (path, path + ".itest-away") if away else (path + ".itest-away", path)
    for node in NODES:
        proc = lab.ssh(node, "mv %s %s" % (src, dst))
        assert proc.returncode == 0, "%s: mv %s %s: %s" % (node, src, dst, proc.stderr)


def test_apply_failing_halfway_converges_on_rerun(clean_lab, lab, env):
    teardown = env.run("teardown.yml")
    assert teardown.rc == 0, teardown.explain()
    assert env.cluster.objects("deployments") == [], "teardown left Deployments"
    _move_model_dir(lab, away=True)
    try:
        failed = env.run(["validate_inventory.yml", "preflight.yml", "deploy.yml"],
                         extra_vars={"pd_deploy_wait_timeout": 20, "pd_deploy_ranktable_timeout": 20})
    finally:
        _move_model_dir(lab, away=False)
    assert failed.rc != 0, "the Servers never became Available, yet deploy succeeded:\n" + failed.explain()
    assert "mindie-server" in failed.flat and re.search(r"CrashLoopBackOff|not ready|not Available|FailedMount",
                                                        failed.flat), failed.explain()
    names = {d["metadata"]["name"] for d in env.cluster.objects("deployments")}
    assert {"mindie-ms-controller", "mindie-ms-coordinator"} <= names, names
    rerun = env.run(["validate_inventory.yml", "preflight.yml", "deploy.yml"])
    assert rerun.rc == 0, rerun.explain()
    again = env.run(["validate_inventory.yml", "preflight.yml", "deploy.yml"])
    assert again.rc == 0 and again.changed == {}, again.explain()


def test_flow_still_converged_after_the_faults(clean_lab, env):
    """After every fault above was cleared and repaired, the whole flow passes and changes nothing on
    the nodes, the PKI dir or the cluster (the RoCE/preflight reports are rewritten: the last run
    they recorded was a faulted one)."""
    before = env.snapshot()
    result = env.run(FLOW)
    after = env.snapshot()
    assert result.rc == 0, result.explain()
    changes = Env.changes(before, after, reports=False)
    assert changes == [], "\n".join(changes[:40])
