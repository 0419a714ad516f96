# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The intermediate CA and the component bundle built from it, checked with real OpenSSL: name
constraints hold, chains verify in a TLS handshake, and the audit's attack on one component's files no
longer yields the root CA."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import datetime
import json
import os
import shutil
import socket
import stat
import subprocess
import time

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.modules import intermediate_ca, kmc_import
from ansible_collections.ascend.mindie.tests.unit import pod_security
from ansible_collections.ascend.mindie.tests.unit.plugins.modules.module_runner import run_module

ROOT_PASSWORD = "Root#Passw0rd-inter"
ROOT_SUBJECT = {"C": "CN", "O": "Huawei", "CN": "MindIE"}
INTER_SUBJECT = {"C": "CN", "O": "Huawei", "CN": "MindIE intermediate"}
POD_NET, NODE_NET = "10.244.0.0/16", "127.0.0.0/8"  # loopback stands for the node range (s_server test)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


def _mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("root")
    key = pki.generate_rsa_key(3072)
    cert = pki.build_ca_cert(key, ROOT_SUBJECT, 400)
    (path / "ca.key.pem").write_bytes(pki.encrypt_key_pem(key, ROOT_PASSWORD))
    (path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _args(root, path, **extra):
    args = {"path": str(path), "root_cert": str(root / "ca.pem"), "root_key": str(root / "ca.key.pem"),
            "root_password": ROOT_PASSWORD, "subject": INTER_SUBJECT, "key_size": 3072,
            "permitted_ips": [POD_NET, NODE_NET], "permitted_dns": ["mindie-server"]}
    args.update(extra)
    return args


@pytest.fixture(scope="module")
def bundle(root, tmp_path_factory):
    """The intermediate and one component bundle, made by the two modules as the role runs them."""
    base = tmp_path_factory.mktemp("pki")
    mp = pytest.MonkeyPatch()
    try:
        inter = run_module(intermediate_ca.main, _args(root, base / "intermediate"), monkeypatch=mp)
        assert not inter["failed"], inter
        imp = run_module(kmc_import.main, {
            "cert": inter["cert"], "key": inter["key"], "password_file": inter["passwd"],
            "password_ksf_master": inter["ksf_master"], "password_ksf_standby": inter["ksf_standby"],
            "chain": inter["chain"], "dest": str(base / "components/server")}, monkeypatch=mp)
        assert not imp["failed"], imp
    finally:
        mp.undo()
    comp = base / "components/server"
    (comp / "gen_cert.json").write_text(json.dumps(pki.GEN_CERT_DEFAULTS))
    (comp / "cert_info.json").write_text(json.dumps({
        "subject": "mindie-server", "expired_time": 30, "serial_number": "random", "key_size": 3072,
        "req_distinguished_name": {"C": "CN", "O": "Huawei", "CN": "mindie-server"},
        "alt_names": {"IP": [], "DNS": ["mindie-server"]}}))
    return base, inter, imp


def test_intermediate_is_signed_by_the_root_constrained_and_short_lived(bundle, root):
    base, inter, imp = bundle
    cert = pki.load_cert((base / "intermediate/ca.pem").read_bytes())
    root_cert = pki.load_cert((root / "ca.pem").read_bytes())
    pki.verify_signature(cert, root_cert)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    nc = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert pki.constraints_of(cert) == (pki.normalize_networks([NODE_NET, POD_NET], "x"), ["mindie-server"])
    assert 364 <= inter["days_left"] <= 365
    chain = pki.load_certs((base / "components/server/security/ca/ca_chain.pem").read_bytes())
    assert [c.subject for c in chain] == [cert.subject, root_cert.subject]
    # mode promises: directories 0700 (the component directory itself too), key material 0400
    for rel, mode in (("intermediate", 0o700), ("intermediate/ca.key.pem", 0o400), ("components/server", 0o700),
                      ("components/server/security/ca/ca_chain.pem", 0o400),
                      ("components/server/security/ca/ca.key.pem", 0o400)):
        assert _mode(base / rel) == mode, rel


def test_second_run_changes_nothing_and_check_mode_agrees(bundle, root, monkeypatch):
    base, inter, imp = bundle
    again = run_module(intermediate_ca.main, _args(root, base / "intermediate"), check_mode=True, monkeypatch=monkeypatch)
    assert not again["changed"] and again["fingerprint_sha256"] == inter["fingerprint_sha256"]
    again = run_module(intermediate_ca.main, _args(root, base / "intermediate"), monkeypatch=monkeypatch)
    assert not again["changed"]


def test_bundle_never_holds_the_root_key_or_password(bundle, root):
    base, inter, imp = bundle
    root_key_pem = (root / "ca.key.pem").read_bytes()
    for path in (base / "components").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ROOT_PASSWORD.encode() not in data and data != root_key_pem, path


def test_renewal_margin_validity_and_names_are_checked_before_writing(root, tmp_path, monkeypatch):
    short = run_module(intermediate_ca.main, _args(root, tmp_path / "a", valid_days=30, renew_before_days=60),
                       monkeypatch=monkeypatch)
    assert short["failed"] and "renew_before_days (60) must be below valid_days (30)" in short["msg"]
    outside = run_module(intermediate_ca.main, _args(root, tmp_path / "b", names=["10.244.1.2", "192.0.2.7"]),
                         monkeypatch=monkeypatch)
    assert outside["failed"] and "192.0.2.7 is outside the permitted ranges" in outside["msg"]
    none = run_module(intermediate_ca.main, _args(root, tmp_path / "c", permitted_ips=[]), monkeypatch=monkeypatch)
    assert none["failed"] and "permitted_ips is empty" in none["msg"]
    assert not any((tmp_path / d).exists() for d in "abc")


def test_renewal_keeps_the_previous_intermediate_in_the_trust_bundle(root, tmp_path, monkeypatch):
    first = run_module(intermediate_ca.main, _args(root, tmp_path / "i"), monkeypatch=monkeypatch)
    # a margin above the days left makes the intermediate due: a new key and certificate
    renewed = run_module(intermediate_ca.main, _args(root, tmp_path / "i", valid_days=400, renew_before_days=370),
                         monkeypatch=monkeypatch)
    assert renewed["changed"] and renewed["renewed"] and "renewal margin of 370" in renewed["needs_renewal"][0]
    assert renewed["fingerprint_sha256"] != first["fingerprint_sha256"]
    chain = pki.load_certs((tmp_path / "i/ca_chain.pem").read_bytes())
    assert [pki.fingerprint(c) for c in chain[:2]] == [renewed["fingerprint_sha256"], first["fingerprint_sha256"]]


def test_check_mode_reports_would_create_for_inputs_an_earlier_task_makes(root, tmp_path, monkeypatch):
    missing = tmp_path / "not-yet"
    inter = run_module(intermediate_ca.main, dict(_args(root, tmp_path / "i"), root_cert=str(missing / "ca.pem")),
                       check_mode=True, monkeypatch=monkeypatch)
    assert inter["changed"] and inter["renewed"] and "ca.pem" in inter["created"]
    imp = run_module(kmc_import.main, {
        "cert": inter["cert"], "key": inter["key"], "password_file": inter["passwd"],
        "password_ksf_master": inter["ksf_master"], "password_ksf_standby": inter["ksf_standby"],
        "chain": inter["chain"], "dest": str(tmp_path / "components/server")}, check_mode=True, monkeypatch=monkeypatch)
    assert imp["changed"] and sorted(imp["updated"]) == ["ca_cert", "ca_chain", "ca_key", "ca_key_pwd",
                                                         "kmc_ksf_master", "kmc_ksf_standby"]
    assert not (tmp_path / "i").exists() and not (tmp_path / "components").exists()


def test_rotation_replaces_the_root_key_and_retires_old_keys(bundle, monkeypatch):
    base, inter, imp = bundle
    dest = base / "components/server"
    args = {"cert": inter["cert"], "key": inter["key"], "password_file": inter["passwd"],
            "password_ksf_master": inter["ksf_master"], "password_ksf_standby": inter["ksf_standby"],
            "chain": inter["chain"], "dest": str(dest), "rotate": True}
    ksfa = dest / "tools/pmt/master/ksfa"
    roots = [json.loads(ksfa.read_text())["root_key"]]
    for expected_ids in ([1, 2], [2, 3], [3, 4]):
        result = run_module(kmc_import.main, args, monkeypatch=monkeypatch)
        assert result["changed"] and result["keystore"]["key_ids"] == expected_ids
        roots.append(json.loads(ksfa.read_text())["root_key"])
        store = kmc.load_pair(str(ksfa), str(dest / "tools/pmt/standby/ksfb")).store
        text = (dest / "security/ca/ca_passwd.txt").read_text()
        assert kmc.ciphertext_key_id(text) == expected_ids[-1]
        pki.load_private_key((dest / "security/ca/ca.key.pem").read_bytes(), store.decrypt(text).decode())
    assert len(set(roots)) == 4  # a new root key every time
    assert result["retired_key_ids"] == [2]


# real OpenSSL ------------------------------------------------------------------------------
def _leaf(issuer_key, issuer_cert, ips, dns=(), cn="mindie-server", ca=False):
    """A certificate made without our issuing code's checks (what an attacker with the key can make)."""
    key = pki.generate_rsa_key(3072)
    now = pki.utcnow()
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
               .issuer_name(issuer_cert.subject).public_key(key.public_key()).serial_number(pki.random_serial())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=5))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False))
    names = [x509.IPAddress(pki.ipaddress.ip_address(ip)) for ip in ips] + [x509.DNSName(d) for d in dns]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                        critical=True)
    return key, builder.sign(issuer_key, hashes.SHA256())


def _verify(tmp_path, trust, cert, untrusted=None, name="leaf"):
    certs = cert if isinstance(cert, list) else [cert]
    (tmp_path / (name + ".pem")).write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    argv = [OPENSSL, "verify", "-CAfile", str(trust)]
    if untrusted:
        argv += ["-untrusted", str(untrusted)]
    return subprocess.run(argv + [str(tmp_path / (name + ".pem"))], capture_output=True, text=True, check=False)


def _issuer(bundle):
    base, inter, imp = bundle
    store = kmc.load_pair(inter["ksf_master"], inter["ksf_standby"]).store
    password = store.decrypt((base / "intermediate/ca_passwd.txt").read_bytes()).decode()
    key = pki.load_private_key((base / "intermediate/ca.key.pem").read_bytes(), password)
    return key, pki.load_cert((base / "intermediate/ca.pem").read_bytes())


@needs_openssl
def test_leaf_outside_the_name_constraints_is_rejected_by_openssl_verify(bundle, root, tmp_path):
    base, inter, imp = bundle
    key, cert = _issuer(bundle)
    chain = base / "components/server/security/ca/ca_chain.pem"
    dummy, inside = _leaf(key, cert, ["10.244.3.4"], ["mindie-server"])
    ok = _verify(tmp_path, chain, inside)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for ips, dns in ((["192.0.2.10"], []), (["10.244.3.4", "192.0.2.10"], []), (["fd00::1"], []),
                     (["10.244.3.4"], ["evil.example.com"])):
        dummy, outside = _leaf(key, cert, ips, dns)
        for trust, untrusted in ((chain, None), (root / "ca.pem", inter["cert"])):
            bad = _verify(tmp_path, trust, outside, untrusted)
            assert bad.returncode != 0 and "subtree violation" in bad.stdout + bad.stderr, (ips, dns, bad.stdout)
    # a CN that looks like a host name is checked as one too
    dummy, cn_only = _leaf(key, cert, ["10.244.3.4"], cn="evil.example.com")
    assert _verify(tmp_path, chain, cn_only).returncode != 0


def test_our_issuing_code_refuses_names_outside_the_constraints(bundle):
    base, inter, imp = bundle
    issuer = pki.IssuingCA.from_project(str(base / "components/server"))
    with pytest.raises(pki.PkiError, match="192.0.2.10 is outside the issuing CA's name constraints"):
        issuer.cert_info(["192.0.2.10"])
    info = issuer.cert_info(["10.244.0.9"])
    assert info["ips"] == ["10.244.0.9"]


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@needs_openssl
def test_pod_certificate_from_the_intermediate_verifies_in_a_real_handshake(bundle, tmp_path):
    """The pod's own script issues from the bundle; s_server serves it, s_client trusts only ca_chain.pem
    (root + intermediate), both on loopback, mutual TLS."""
    base, inter, imp = bundle
    # the pod's copy: the script beside its two libraries, run by an Ansible-free python (-I)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    utils = os.path.dirname(os.path.abspath(kmc.__file__))
    for src in (os.path.join(utils, "..", "..", "roles", "pki", "files", "mindie_gen_cert.py"),
                os.path.join(utils, "kmc.py"), os.path.join(utils, "mindie_pki.py")):
        shutil.copy(src, str(bindir))
    python = pod_security.pod_python()[0]
    certs = {}
    for name in ("srv", "cli"):
        out = tmp_path / name
        run = subprocess.run([python, "-I", str(bindir / "mindie_gen_cert.py"), "--security-dir",
                              str(base / "components/server"), "--install-dir", str(out), "--ip", "127.0.0.1",
                              "--format", "plaintext", "--allow-disk-plaintext"],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        certs[name] = out / "security"
    trust = certs["srv"] / "ca/ca.pem"  # what --ca-out got: the trust bundle
    assert trust.read_bytes() == (base / "components/server/security/ca/ca_chain.pem").read_bytes()
    port = _free_port()
    passwd = certs["srv"] / "pass/mindie_server_key_pwd.txt"
    server = subprocess.Popen([OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", str(certs["srv"] / "certs/server.pem"),
                               "-key", str(certs["srv"] / "keys/server.key.pem"), "-pass", "file:%s" % passwd,
                               "-CAfile", str(trust), "-Verify", "1", "-verify_return_error", "-quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        client = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-brief", "-CAfile", str(trust),
                                 "-verify_return_error", "-verify_ip", "127.0.0.1",
                                 "-cert", str(certs["cli"] / "certs/server.pem"), "-key", str(certs["cli"] / "keys/server.key.pem"),
                                 "-pass", "file:%s" % (certs["cli"] / "pass/mindie_server_key_pwd.txt")],
                                input="ping\n", capture_output=True, text=True, timeout=30, check=False)
    finally:
        server.kill()
        server.wait()
    assert client.returncode == 0 and "Verification: OK" in client.stderr, client.stderr


# the audit's attack ------------------------------------------------------------------------
def _hkdf(secret, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode("ascii")).derive(secret)


def _attack_decrypt(ksfa_bytes, password_file_text):
    """Decrypt a password file with only docs/kmc-format.md (no code of this collection)."""
    doc = json.loads(ksfa_bytes)
    root_key = base64.b64decode(doc["root_key"])
    kek = AESGCM(_hkdf(root_key, "ascend.mindie ksf v1 kek"))
    keys = {}
    for entry in doc["keys"]:
        wrapped = base64.b64decode(entry["wrapped"])
        aad = b"ascend.mindie ksf v1 key" + doc["domain"].to_bytes(2, "big") + entry["id"].to_bytes(4, "big")
        keys[entry["id"]] = kek.decrypt(wrapped[:12], wrapped[12:], aad)
    blob = base64.b64decode(password_file_text.strip())
    header, nonce, sealed = blob[:12], blob[12:24], blob[24:]
    domain, key_id = int.from_bytes(header[6:8], "big"), int.from_bytes(header[8:12], "big")
    data_key = _hkdf(keys[key_id], "ascend.mindie kmc v1 data %d" % domain)
    return AESGCM(data_key).decrypt(nonce, sealed, header).decode()


@needs_openssl
def test_the_audit_attack_on_one_component_secret_no_longer_reaches_the_root(bundle, root, tmp_path):
    """Before: the Secret's ca.key.pem was the root key and ca_passwd.txt decrypted to mindie_ca_password,
    so one Secret could sign anything the root vouches for. Now the same steps yield only the
    intermediate: name-constrained, pathlen 0, and no way to the root key or its password."""
    base, inter, imp = bundle
    secret = base / "components/server"
    recovered = _attack_decrypt((secret / "tools/pmt/master/ksfa").read_bytes(),
                                (secret / "security/ca/ca_passwd.txt").read_text())
    stolen_key = serialization.load_pem_private_key((secret / "security/ca/ca.key.pem").read_bytes(), recovered.encode())
    root_cert = pki.load_cert((root / "ca.pem").read_bytes())
    # 1. not the root: neither the key nor the password
    assert pki.public_der(stolen_key) != pki.public_der(root_cert)
    assert recovered != ROOT_PASSWORD
    with pytest.raises(pki.PkiError):
        pki.load_private_key((root / "ca.key.pem").read_bytes(), recovered)
    stolen_cert = pki.load_cert((secret / "security/ca/ca.pem").read_bytes())
    # 2. a certificate for an address outside the cluster's ranges does not verify against the root
    dummy, forged = _leaf(stolen_key, stolen_cert, ["192.0.2.66"])
    result = _verify(tmp_path, root / "ca.pem", forged, untrusted=secret / "security/ca/ca.pem")
    assert result.returncode != 0 and "subtree violation" in result.stdout + result.stderr
    # 3. a sub-CA to escape the constraints is refused (pathlen 0)
    sub_key, sub_ca = _leaf(stolen_key, stolen_cert, [], cn="attacker CA", ca=True)
    dummy, via_sub = _leaf(sub_key, sub_ca, ["192.0.2.66"])
    (tmp_path / "untrusted.pem").write_bytes(stolen_cert.public_bytes(serialization.Encoding.PEM)
                                             + sub_ca.public_bytes(serialization.Encoding.PEM))
    result = _verify(tmp_path, root / "ca.pem", via_sub, untrusted=tmp_path / "untrusted.pem", name="via-sub")
    assert result.returncode != 0
    # 4. posing as the root (its name, the stolen key) fails the signature check
    dummy, posing = _leaf(stolen_key, root_cert, ["192.0.2.66"])
    assert _verify(tmp_path, root / "ca.pem", posing, name="posing").returncode != 0
