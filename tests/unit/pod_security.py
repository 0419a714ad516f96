# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tests of in-pod code share: the pod's python and a /mnt/security bundle as the pki role
lays it out (CA, AES-256 CA key, KMC-ciphertext CA password, ksfa/ksfb, gen_cert.json, cert_info.json)."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki

CA_SUBJECT = {"C": "CN", "O": "Huawei", "CN": "MindIE"}


def pod_python():
    """(python, cryptography's directory): the system python3 when it has cryptography (no Ansible,
    like the image's), else ours (run with -I)."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if candidate and os.path.exists(candidate):
            probe = subprocess.run([candidate, "-I", "-c", "import cryptography, os; print(os.path.dirname(cryptography.__file__))"],
                                   capture_output=True, text=True, check=False)
            if probe.returncode == 0:
                return candidate, probe.stdout.strip()
    pytest.skip("no python with cryptography to act as the pod's python3")


def make_ca(password):
    """(CA certificate, its PEM, the AES-256 encrypted key PEM), RSA-3072 to keep the tests fast."""
    key = pki.generate_rsa_key(3072)
    ca = pki.build_ca_cert(key, CA_SUBJECT, 100)
    return ca, ca.public_bytes(pki.serialization.Encoding.PEM), pki.encrypt_key_pem(key, password)


def write_bundle(dest, ca_pem, ca_key_pem, password, store, name):
    """One component's security directory; `name` is the certificate's CN and its one DNS SAN."""
    (dest / "security/ca").mkdir(parents=True)
    (dest / "security/ca/ca.pem").write_bytes(ca_pem)
    (dest / "security/ca/ca_chain.pem").write_bytes(ca_pem)  # trust bundle; the issuing CA is the root here
    (dest / "security/ca/ca.key.pem").write_bytes(ca_key_pem)
    (dest / "security/ca/ca_passwd.txt").write_text(store.encrypt(password) + "\n")
    kmc.write_pair(store, str(dest / "tools/pmt/master/ksfa"), str(dest / "tools/pmt/standby/ksfb"))
    (dest / "gen_cert.json").write_text(json.dumps(pki.GEN_CERT_DEFAULTS))
    (dest / "cert_info.json").write_text(json.dumps({
        "subject": name, "expired_time": 30, "serial_number": "random", "key_size": 3072,
        "req_distinguished_name": {"C": "CN", "O": "Huawei", "CN": name},
        "alt_names": {"IP": [], "DNS": [name]}}))


def pod_layout(root, password, name):
    """A pod as the pki role equips it: ``bin/`` with the in-pod script and its two libraries (the
    collection's own module_utils files), ``security/`` with one component's bundle. Returns a dict
    with bin, security, ca and python."""
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    bindir = root / "bin"
    bindir.mkdir()
    shutil.copy(os.path.join(repo, "roles", "pki", "files", "mindie_gen_cert.py"), str(bindir))
    for lib in ("kmc.py", "mindie_pki.py"):
        shutil.copy(os.path.join(repo, "plugins", "module_utils", lib), str(bindir))
    security = root / "security"
    ca, ca_pem, ca_key_pem = make_ca(password)
    write_bundle(security, ca_pem, ca_key_pem, password, kmc.KeyStore.new(), name)
    return {"bin": bindir, "security": security, "ca": ca, "python": pod_python()[0]}


# MindIE 2.x's CertTools as the pods run them: the test stand-in (it checks how it is called)
CERTTOOLS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "mindie2-certtools",
                                         "config_mindie_server_tls_cert.py"))
_STANDIN = []


def certtools_standin():
    """The stand-in as a module (its decrypt() is what MindIE's KMC library would do), loaded once."""
    if not _STANDIN:
        spec = importlib.util.spec_from_file_location("certtools_standin", CERTTOOLS)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _STANDIN.append(module)
    return _STANDIN[0]
