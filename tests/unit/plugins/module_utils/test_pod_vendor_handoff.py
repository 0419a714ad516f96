# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""--format vendor-kmc of the in-pod script: the certificate we issue is imported by MindIE 2.x's own
CertTools (here the test stand-in tests/fixtures/mindie2-certtools/, which checks how it is called), the
key password typed at its prompts through a terminal, never on a command line; MindIE then reads only
KMC files its own library wrote."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.tests.unit import pod_security

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCRIPT = os.path.join(REPO, "roles", "pki", "files", "mindie_gen_cert.py")
TOOL = pod_security.CERTTOOLS
PASSWORD = "Ca#Passw0rd-vendor"


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    return pod_security.pod_layout(tmp_path_factory.mktemp("vendor"), PASSWORD, "mindie-server")


def _install(tmp_path, tool=TOOL):
    install = tmp_path / "mindie-service"
    (install / "scripts").mkdir(parents=True)
    if tool:
        shutil.copy(tool, str(install / "scripts" / "config_mindie_server_tls_cert.py"))
    return install


def _run(pod, install, *extra, log=None):
    cmd = [pod["python"], "-I", str(pod["bin"] / "mindie_gen_cert.py"), "--security-dir", str(pod["security"]),
           "--install-dir", str(install), "--ip", "198.18.0.31", "--format", "vendor-kmc",
           "--vendor-python", pod["python"]] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
                          env={"PATH": os.environ.get("PATH", "/usr/bin"), "CERTTOOLS_STANDIN_LOG": str(log or "/dev/null")})


def _all_bytes(root):
    return b"".join(open(os.path.join(d, n), "rb").read() for d, _x, names in os.walk(str(root)) for n in names)


def test_vendor_tool_writes_the_kmc_files(pod, tmp_path):
    install = _install(tmp_path)
    log = tmp_path / "calls.log"
    proc = _run(pod, install, log=log)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    files = summary["files"]
    assert summary["format"] == "vendor-kmc" and files["vendor_tool"].endswith("config_mindie_server_tls_cert.py")
    # called exactly as the document calls it, no password among the arguments
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1 and calls[0][1] == "import_cert" and len(calls[0]) == 4
    assert os.path.dirname(calls[0][0]) == str(install)  # a private project directory inside the install dir
    # the password file is the vendor KMC's ciphertext, and it opens the key MindIE will load
    standin = pod_security.certtools_standin()
    password = standin.decrypt(files["passwd"], files["kmc_ksf_master"])
    key = pki.load_private_key(open(files["key"], "rb").read(), password)
    cert = pki.load_cert(open(files["cert"], "rb").read())
    assert pki.public_der(key) == pki.public_der(cert)
    assert open(files["passwd"]).read().startswith(standin.HEADER)  # not our KMC-style format
    assert stat.S_IMODE(os.stat(files["passwd"]).st_mode) == 0o400
    assert stat.S_IMODE(os.stat(files["kmc_ksf_master"]).st_mode) == 0o600
    # nothing left behind in plain text: no staging directory, the password in no file, no output
    assert not [n for n in os.listdir(str(install)) if n.startswith(".mindie-import-")]
    assert password.encode() not in _all_bytes(install)
    assert password not in proc.stdout + proc.stderr


def test_missing_tool_names_the_option(pod, tmp_path):
    proc = _run(pod, _install(tmp_path, tool=None))
    assert proc.returncode == 1
    assert "needs MindIE's CertTools at" in proc.stderr and "--vendor-tool" in proc.stderr


def _fake_tool(tmp_path, body):
    path = tmp_path / "fake_tool.py"
    path.write_text("import getpass, os, sys\n" + body)
    return str(path)


def test_a_tool_that_keeps_asking_is_stopped(pod, tmp_path):
    tool = _fake_tool(tmp_path, "while True:\n    getpass.getpass('Password for private key file:')\n")
    proc = _run(pod, _install(tmp_path), "--vendor-tool", tool)
    assert proc.returncode == 1 and "asked for a password more than twice" in proc.stderr
    assert PASSWORD not in proc.stderr


def test_a_refusing_tool_fails_with_its_words(pod, tmp_path):
    tool = _fake_tool(tmp_path, "getpass.getpass('Password for private key file:')\n"
                                "print('[ERROR] certificate key must be RSA with at least 3072 bits')\nsys.exit(1)\n")
    proc = _run(pod, _install(tmp_path), "--vendor-tool", tool)
    assert proc.returncode == 1
    assert "import_cert failed (exit 1)" in proc.stderr and "at least 3072 bits" in proc.stderr


def test_a_tool_that_writes_elsewhere_is_reported(pod, tmp_path):
    tool = _fake_tool(tmp_path, "getpass.getpass('Password for private key file:')\n"
                                "getpass.getpass('Retype password for private key file:')\n"
                                "open(os.path.join(sys.argv[1], 'other_pwd.txt'), 'w').write('x')\n")
    proc = _run(pod, _install(tmp_path), "--vendor-tool", tool)
    assert proc.returncode == 1
    assert "did not write one password file under security/pass/" in proc.stderr and "other_pwd.txt" in proc.stderr
