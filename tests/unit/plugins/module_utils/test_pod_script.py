# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-pod script (roles/pki/files/mindie_gen_cert.py) runs kmc.py and mindie_pki.py standalone.

It is run the way a pod runs it: the three files alone in one directory, with a Python that has
no Ansible (the system python3 when it has cryptography, as on Debian with python3-cryptography).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.tests.unit import pod_security

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCRIPT = os.path.join(REPO, "roles", "pki", "files", "mindie_gen_cert.py")
PASSWORD = "Ca#Passw0rd-pod"


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    """The mounted script directory and the /mnt/security layout (as the pki role builds it)."""
    return pod_security.pod_layout(tmp_path_factory.mktemp("pod"), PASSWORD, "mindie-server")


def _run(pod, security, install, *extra):
    cmd = [pod["python"], "-I", str(pod["bin"] / "mindie_gen_cert.py"), "--security-dir", str(security),
           "--install-dir", str(install)] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "/usr/bin")}, check=False)


def _copy_security(pod, tmp_path):
    dest = tmp_path / "mnt-security"
    shutil.copytree(str(pod["security"]), str(dest))
    return dest


def _snapshot(path):
    return dict((str(p), p.read_bytes()) for p in path.rglob("*") if p.is_file())


def test_script_does_not_need_ansible(pod):
    probe = subprocess.run([pod["python"], "-I", "-c", "import ansible"], capture_output=True, check=False)
    if pod["python"] == "/usr/bin/python3":
        assert probe.returncode != 0, "the pod stand-in python must not have Ansible"
    else:
        print("no Ansible-free python with cryptography here; ran with %s -I" % pod["python"])


def test_kmc_format(pod, tmp_path):
    security = _copy_security(pod, tmp_path)
    before = _snapshot(security)
    install = tmp_path / "mindie-service"
    proc = _run(pod, security, install, "--ip", "198.18.0.21,198.18.0.1", "--ip", "198.18.0.21", "--format", "kmc")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["alt_names"] == {"IP": ["198.18.0.21", "198.18.0.1"], "DNS": ["mindie-server"]}
    assert summary["format"] == "kmc" and 29 <= summary["days_left"] <= 30
    assert _snapshot(security) == before  # the mounted input is only read
    files = summary["files"]
    assert files["cert"] == str(install / "security/certs/server.pem")
    assert files["passwd"] == str(install / "security/pass/mindie_server_key_pwd.txt")
    for name in ("cert", "key", "passwd", "ca_cert"):
        assert stat.S_IMODE(os.stat(files[name]).st_mode) == 0o400, name
    for name in ("kmc_ksf_master", "kmc_ksf_standby"):
        assert stat.S_IMODE(os.stat(files[name]).st_mode) == 0o600, name
    store = kmc.load_pair(files["kmc_ksf_master"], files["kmc_ksf_standby"]).store
    password = store.decrypt(open(files["passwd"]).read()).decode()
    assert pki.password_problems(password) == [] and password not in proc.stdout + proc.stderr
    cert = pki.load_cert(open(files["cert"], "rb").read())
    key = pki.load_private_key(open(files["key"], "rb").read(), password)
    assert pki.public_der(cert) == pki.public_der(key)
    pki.verify_signature(cert, pod["ca"])
    assert not os.path.exists(str(install / "security/ca/ca.key.pem"))  # the CA key stays in the mount
    # a restarted container issues again over its read-only files
    again = _run(pod, security, install, "--ip", "198.18.0.22", "--format", "kmc")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["serial_number"] != summary["serial_number"]


def test_plaintext_format_on_tmpfs(pod, tmp_path):
    if not os.path.isdir("/dev/shm") or pod_fs("/dev/shm") not in ("tmpfs", "ramfs"):
        pytest.skip("/dev/shm is not a tmpfs here: cannot stand in for the memory-backed volume")
    security = _copy_security(pod, tmp_path)
    pass_dir = "/dev/shm/pki-unit-%d" % os.getpid()
    try:
        proc = _run(pod, security, tmp_path / "svc", "--ip", "198.18.0.30", "--format", "plaintext",
                    "--pass-out", pass_dir + "/key_pwd.txt")
        assert proc.returncode == 0, proc.stderr
        files = json.loads(proc.stdout)["files"]
        assert "kmc_ksf_master" not in files
        password = open(files["passwd"]).read()
        assert stat.S_IMODE(os.stat(files["passwd"]).st_mode) == 0o400 and not password.endswith("\n")
        pki.load_private_key(open(files["key"], "rb").read(), password)
    finally:
        shutil.rmtree(pass_dir, ignore_errors=True)


def pod_fs(path):
    sys.path.insert(0, os.path.dirname(SCRIPT))
    try:
        import importlib
        script = importlib.import_module("mindie_gen_cert")
        return script.filesystem_type(path)
    finally:
        sys.path.pop(0)


def test_plaintext_refused_on_disk(pod, tmp_path):
    if pod_fs(str(tmp_path)) in ("tmpfs", "ramfs"):
        pytest.skip("the test directory is itself on tmpfs: cannot show the refusal")
    security = _copy_security(pod, tmp_path)
    proc = _run(pod, security, tmp_path / "svc", "--ip", "198.18.0.30", "--format", "plaintext")
    assert proc.returncode == 1 and "refusing to write a plain password" in proc.stderr
    assert not (tmp_path / "svc/security/pass/mindie_server_key_pwd.txt").exists()
    assert not (tmp_path / "svc/security/keys").exists()


def test_damaged_master_uses_standby(pod, tmp_path):
    security = _copy_security(pod, tmp_path)
    (security / "tools/pmt/master/ksfa").write_text("{}")
    proc = _run(pod, security, tmp_path / "svc", "--ip", "198.18.0.40")
    assert proc.returncode == 0, proc.stderr
    assert "warning: key store" in proc.stderr and "using the good copy" in proc.stderr


def test_both_damaged_is_a_clear_error(pod, tmp_path):
    security = _copy_security(pod, tmp_path)
    (security / "tools/pmt/master/ksfa").write_text("x")
    (security / "tools/pmt/standby/ksfb").write_text("y")
    proc = _run(pod, security, tmp_path / "svc", "--ip", "198.18.0.40")
    assert proc.returncode == 1 and "no usable key store" in proc.stderr
    assert not (tmp_path / "svc").exists()


def test_tampered_ca_password_is_an_error(pod, tmp_path):
    security = _copy_security(pod, tmp_path)
    path = security / "security/ca/ca_passwd.txt"
    text = path.read_text().strip()
    path.write_text(text[:30] + ("A" if text[30] != "A" else "B") + text[31:])
    proc = _run(pod, security, tmp_path / "svc", "--ip", "198.18.0.40")
    assert proc.returncode == 1 and "authentication failed" in proc.stderr


@pytest.mark.parametrize("argv, fragment", [([], "no IP given"), (["--ip", "not-an-ip"], "not an IP"),
                                            (["--ip", "1.2.3.4", "--format", "vault"], "invalid choice")])
def test_bad_arguments(pod, tmp_path, argv, fragment):
    proc = _run(pod, _copy_security(pod, tmp_path), tmp_path / "svc", *argv)
    assert proc.returncode in (1, 2) and fragment in proc.stderr


def test_script_copies_are_in_sync_with_module_utils(pod):
    """The pod gets the module_utils files as they are; nothing is vendored into the script."""
    with open(SCRIPT) as handle:
        text = handle.read()
    assert "class KeyStore" not in text and "def build_leaf_cert" not in text
    for name in ("kmc.py", "mindie_pki.py"):
        with open(os.path.join(REPO, "plugins", "module_utils", name), "rb") as handle:
            source = handle.read()
        assert b"from ansible." not in source and b"import ansible\n" not in source, name
