# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our PKI material, issued by the in-pod step (roles/pki/files/mindie_gen_cert.py --format plaintext)
into the layout our user_config.json names, passes MindIE 3.x's own checks
(motor/common/utils/cert_util.py, password_decryptor.py from the mindie-motor wheel)."""
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import motor_config as mc
from ansible_collections.ascend.mindie.tests.unit import pod_security

sys.path.insert(0, os.path.dirname(__file__))
import motor_env  # noqa: E402  pylint: disable=wrong-import-position

CHECK = r"""
import json, ssl, sys
from motor.config.tls_config import TLSConfig
from motor.common.utils.cert_util import CertUtil, CertValidationUtil, _check_invalid_ssl_path
from motor.common.utils.password_decryptor import PasswordDecryptor
cfg = json.load(open(sys.argv[1]))
out = {}
for name, section in cfg["motor_deploy_config"]["tls_config"].items():
    if not section["enable_tls"]:
        continue
    tls = TLSConfig.from_dict(section)
    password = PasswordDecryptor.decrypt(tls.passwd_file)
    r = {"password_read": bool(password)}
    r["ca_ok"] = CertValidationUtil.validate_ca_certs(tls.ca_file)
    r["chain_ok"] = CertUtil.validate_certificate_chain(tls.ca_file, tls.cert_file, tls.key_file, None, password)
    try:
        _check_invalid_ssl_path({"ca_cert": tls.ca_file, "tls_cert": tls.cert_file, "tls_key": tls.key_file})
        r["dirs_ok"] = True
    except RuntimeError as exc:
        r["dirs_ok"] = str(exc)
    ctx = CertUtil.construct_cert_context({"ca_cert": tls.ca_file, "tls_cert": tls.cert_file,
                                           "tls_key": tls.key_file, "tls_passwd": password})
    r["context_ok"] = ctx is not None
    r["server_ctx_ok"] = CertUtil.create_ssl_context(tls, ssl.Purpose.CLIENT_AUTH) is not None
    out[name] = r
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def site():
    return motor_env.motor_site()


def issue(tmp_path, ip="198.18.7.31", key_size=3072):
    """The init container's step: the component's security bundle in, leaf material out."""
    password = "Ca-Passw0rd-for-tests!"
    store = kmc.KeyStore.new()
    ca_pem, ca_key_pem = pod_security.make_ca(password)[1:]
    sec = tmp_path / "security"
    pod_security.write_bundle(sec, ca_pem, ca_key_pem, password, store, "mindie-motor-controller-service")
    out = tmp_path / "motor-tls"
    py = pod_security.pod_python()[0]
    args = [py, "-I", motor_env.GEN_CERT, "--security-dir", str(sec), "--install-dir", str(out), "--ip", ip,
            "--format", "plaintext", "--allow-disk-plaintext"]
    for flag, rel in mc.GEN_CERT_OUT.items():
        args += [flag, rel]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    cfg = mc.build_user_config({"model_name": "m", "model_path": "/data/m", "p_instances": 1, "d_instances": 1,
                                "npus_per_instance": 1, "tls_enabled": True, "tls_mount": str(out)})
    path = tmp_path / "user_config.json"
    path.write_text(mc.dumps(cfg))
    return out, path


def test_in_pod_layout_modes(tmp_path):
    out = issue(tmp_path)[0]
    for rel in mc.TLS_FILES.values():
        path = out / rel
        assert stat.S_IMODE(path.stat().st_mode) == 0o400, rel
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, os.path.dirname(rel)
    # only leaf material: no CA key, no key store, no CA password
    names = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert names == sorted(os.path.basename(r) for r in mc.TLS_FILES.values())
    assert "ENCRYPTED" in (out / mc.TLS_FILES["key_file"]).read_text() or "DEK-Info" in (out / mc.TLS_FILES["key_file"]).read_text()


def test_motor_accepts_our_material(site, tmp_path):
    path = issue(tmp_path)[1]
    got = motor_env.run_motor(site, CHECK, path)
    assert list(got) == ["mgmt_tls_config"]  # inference TLS stays off for 3.0.0b2
    assert got["mgmt_tls_config"] == {"password_read": True, "ca_ok": True, "chain_ok": True, "dirs_ok": True,
                                      "context_ok": True, "server_ctx_ok": True}


def test_motor_rejects_what_it_should(site, tmp_path):
    """The same checks fail on a loosened directory and on a wrong password (so the test can fail)."""
    out, path = issue(tmp_path)
    os.chmod(out / "cert", 0o755)
    pw = out / mc.TLS_FILES["passwd_file"]
    os.chmod(pw, 0o600)
    pw.write_text("not-the-password")
    got = motor_env.run_motor(site, CHECK, path)["mgmt_tls_config"]
    assert "700" in got["dirs_ok"]
    assert got["chain_ok"] is False and got["context_ok"] is False
