# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end without a cluster: MindIE 3.x's real Controller, Coordinator and two NodeManagers (P, D)
with OUR user_config.json and OUR TLS material (management TLS on, issued per process by the in-pod
step), the lab's fake engines, answering through the Coordinator -> D -> metaserver -> P path."""
import json
import os
import sys

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import inference_smoke as smoke
from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.tests.unit import pod_security

sys.path.insert(0, os.path.dirname(__file__))
import motor_env  # noqa: E402  pylint: disable=wrong-import-position
import motor_processes  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not motor_env.have_root_tools():
        pytest.skip("needs root with unshare and mount (per-process tmpfs for the TLS material, as in the pod)")
    site = motor_env.motor_site()
    work = tmp_path_factory.mktemp("motor")
    password = "Ca-Passw0rd-for-tests!"
    ca_pem, ca_key_pem = pod_security.make_ca(password)[1:]
    sec = work / "security"
    pod_security.write_bundle(sec, ca_pem, ca_key_pem, password, kmc.KeyStore.new(), "mindie-motor")
    mc = motor_processes.MotorCluster(site, work, sec, tls=True, workers=1)
    mc.start_all()
    try:
        mc.ready_seconds = mc.wait_ready()
        # The Coordinator reports ready once an instance registered; until Decode has registered too it
        # answers from Prefill alone. The cluster is formed when one request goes through P and D. The
        # bound is generous: on a loaded 2-core machine Decode's NodeManager took over 90 s to register.
        result, problems = smoke.attempt(mc.infer_url(), "/v1/completions", "Qwen2-7B-Instruct", "warm up", 2, False,
                                         None, 30, True, 300, delay=1.0)[:2]
        assert not problems, (result, problems, mc.log("coordinator"), mc.log("decode"))
        yield mc
    finally:
        mc.stop_all()


def test_ready_with_mgmt_tls(cluster):
    status, body = cluster.readiness()
    assert status == 200 and json.loads(body)["ready"] is True
    print("Coordinator ready %.1f s after start" % cluster.ready_seconds)
    # management plane really is TLS: plain HTTP to it does not answer
    plain_status = smoke.readiness("http://%s:1026/readiness" % motor_processes.IPS["coordinator"])[0]
    assert plain_status != 200


@pytest.mark.parametrize("path,stream", [("/v1/completions", False), ("/v1/completions", True),
                                         ("/v1/chat/completions", False), ("/v1/chat/completions", True)])
def test_answer_through_prefill_and_decode(cluster, path, stream):
    result = smoke.request(cluster.infer_url(), path=path, model="Qwen2-7B-Instruct", prompt="What is MindIE?",
                           max_tokens=6, stream=stream)
    assert smoke.check(result, expect_trace=True) == [], (result, cluster.log("coordinator"), cluster.log("decode"))
    assert "@%s:" % motor_processes.IPS["prefill"] in result["prefill"] and "prefill" in result["prefill"]
    assert "@%s:" % motor_processes.IPS["decode"] in result["decode"] and "decode" in result["decode"]
    if stream:
        assert result["chunks"] >= 2
    print("%s stream=%s: ttfb %.1f ms, total %.1f ms: %s" % (path, stream, result["ttfb_ms"], result["total_ms"], result["text"]))


def _ansible(*args):
    import shutil
    import subprocess
    exe = os.path.join(os.path.dirname(sys.executable), "ansible")
    exe = exe if os.path.exists(exe) else shutil.which("ansible")
    root = [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "ascend", "mindie"))][0]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=root, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run([exe, "localhost", "-c", "local"] + list(args), capture_output=True, text=True,
                          env=env, check=False, timeout=300)


def test_smoke_module_answers(cluster):
    """The smoke stage's module, run by Ansible, gets an answer naming P and D."""
    proc = _ansible("-m", "ascend.mindie.inference_smoke", "-a", json.dumps({
        "url": cluster.infer_url(), "model": "Qwen2-7B-Instruct", "expect_trace": True, "wait": 30}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "prefill=mindie-motor-prefill-0" in proc.stdout and '"ttfb_ms"' in proc.stdout


def test_smoke_module_failure_carries_readiness_body(cluster):
    """Nothing listens on the port asked: the failure names the attempts and the Coordinator's readiness body."""
    proc = _ansible("-m", "ascend.mindie.inference_smoke", "-a", json.dumps({
        "url": "http://%s:1" % motor_processes.IPS["coordinator"], "wait": 2,
        "readiness_url": cluster.mgmt_url("/readiness"), "ca_file": cluster.ca}))
    assert proc.returncode != 0
    assert "No answer from" in proc.stdout and '\\"ready\\":true' in proc.stdout.replace(" ", "")


def test_pod_probe_helper(cluster):
    """roles/pd_deploy/files/motor_pod.py, as the exec probes run it inside the pod (here: inside the
    component's mount namespace, where its TLS material is), over management TLS."""
    import subprocess
    pod_py = os.path.join(motor_env.ROOT, "roles", "pd_deploy", "files", "motor_pod.py")
    for name, component in (("coordinator", "coordinator"), ("controller", "controller"), ("decode", "nodemanager")):
        pid = cluster.procs[name].pid
        env = motor_env.motor_env(cluster.site, USER_CONFIG_PATH=cluster.config_path, POD_IP=motor_processes.IPS[name])
        for kind in ("startup", "readiness", "liveness"):
            proc = subprocess.run(["nsenter", "-t", str(pid), "-m", motor_env.python311(), pod_py, "probe", component, kind],
                                  capture_output=True, text=True, env=env, check=False, timeout=60)
            assert proc.returncode == 0, (name, kind, proc.stdout, proc.stderr)
    # and it does fail: a wrong address
    env = motor_env.motor_env(cluster.site, USER_CONFIG_PATH=cluster.config_path, POD_IP="127.0.0.99")
    proc = subprocess.run(["nsenter", "-t", str(cluster.procs["coordinator"].pid), "-m", motor_env.python311(), pod_py,
                           "probe", "coordinator", "readiness"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1 and "coordinator readiness" in proc.stderr
