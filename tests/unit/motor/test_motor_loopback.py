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
    _ca, ca_pem, ca_key_pem = pod_security.make_ca(password)
    sec = work / "security"
    pod_security.write_bundle(sec, ca_pem, ca_key_pem, password, kmc.KeyStore.new(), "mindie-motor")
    mc = motor_processes.MotorCluster(site, work, sec, tls=True, workers=1)
    mc.start_all()
    try:
        mc.ready_seconds = mc.wait_ready()
        yield mc
    finally:
        mc.stop_all()


def test_ready_with_mgmt_tls(cluster):
    status, body = cluster.readiness()
    assert status == 200 and json.loads(body)["ready"] is True
    print("Coordinator ready %.1f s after start" % cluster.ready_seconds)
    # management plane really is TLS: plain HTTP to it does not answer
    plain_status, _ = smoke.readiness("http://%s:1026/readiness" % motor_processes.IPS["coordinator"])
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
