# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke helper's rules that need no server: entrance scheme, readiness body (its pod diagnosis is
k8s_status.pods_not_ready, tested in tests/unit/plugins/module_utils/test_k8s_status.py)."""
import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import inference_smoke as smoke


def test_entrance_scheme():
    assert smoke.entrance_scheme(2, True) == "https"
    assert smoke.entrance_scheme(3, True) == "http"  # 3.0.0b2: inference TLS off
    assert smoke.entrance_scheme(3, True, True) == "https"
    assert smoke.entrance_scheme(2, False) == "http"


def test_readiness_body_decides():
    assert smoke.is_ready(200, '{"status": "ok", "message": "x", "ready": false}') is False
    assert smoke.is_ready(200, '{"status": "ok", "ready": true}') is True
    assert smoke.is_ready(503, '{"ready": true}') is False
    assert smoke.is_ready(200, "OK") is True


def test_check_answers():
    ok = {"status": 200, "text": "[prefill=a decode=b] hi", "prefill": "a", "decode": "b", "raw": ""}
    assert smoke.check(ok, expect_trace=True) == []
    assert smoke.check(dict(ok, prefill=None), expect_trace=True)
    assert smoke.check(dict(ok, text=" "))[0] == "empty answer"
    assert smoke.check(dict(ok, status=503, raw="busy"))[0].startswith("HTTP 503")


def test_check_names_prefill_alone():
    """The lab engine's trace without a Decode: MindIE 3.x fell back to Prefill alone."""
    alone = {"status": 200, "text": "the", "prefill": "mindie-server-p0-x/prefill-0@198.18.3.80:1025", "decode": None,
             "raw": ""}
    problems = smoke.check(alone, expect_trace=True)
    assert problems and problems[0].startswith("answered by Prefill alone (mindie-server-p0-x/prefill-0")
    assert smoke.check(alone) == []  # without the trace demand the answer alone passes: hence pd_roles_missing


def _pod(name, role, ready, deleting=False):
    meta = {"name": name, "labels": {"ascend.mindie/role": role}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T15:00:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_pd_roles_missing():
    both = [_pod("mindie-motor-coordinator-a", "coordinator", True), _pod("mindie-server-p0-a", "prefill", True),
            _pod("mindie-server-d0-a", "decode", True)]
    assert smoke.pd_roles_missing(both) == []
    # Decode scaled to 0: the Coordinator answers from Prefill alone, and the message says so
    no_d = smoke.pd_roles_missing(both[:2])
    assert len(no_d) == 1 and no_d[0].startswith("no Decode pod is Ready (none exists): MindIE 3.x's Coordinator then"
                                                 " answers from Prefill alone (mindie-server-p0-a)")
    # a Decode pod that is going away or not Ready does not count
    assert "mindie-server-d0-b not Ready" in smoke.pd_roles_missing(both[:2] + [_pod("mindie-server-d0-b", "decode", False)])[0]
    assert "none exists" in smoke.pd_roles_missing(both[:2] + [_pod("mindie-server-d0-a", "decode", True, deleting=True)])[0]
    assert smoke.pd_roles_missing([]) == ["no Prefill pod is Ready (none exists)", "no Decode pod is Ready (none exists)"]


def test_pod_listing_uses_the_k8s_auth_environment_without_a_kubeconfig(tmp_path):
    """What an AWX Kubernetes credential injects is enough to list the pods."""
    pytest.importorskip("kubernetes")
    from ansible_collections.ascend.mindie.plugins.modules import inference_smoke as module
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    api = module.core_api({"kubeconfig": None, "context": None},
                          {"K8S_AUTH_HOST": "https://198.18.0.1:6443", "K8S_AUTH_API_KEY": "tok",
                           "K8S_AUTH_SSL_CA_CERT": str(ca), "K8S_AUTH_VERIFY_SSL": "true"})
    cfg = api.api_client.configuration
    assert cfg.host == "https://198.18.0.1:6443" and cfg.api_key == {"authorization": "Bearer tok"}
    assert cfg.verify_ssl is True and cfg.ssl_ca_cert == str(ca)
