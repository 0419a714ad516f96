# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Password rules, CA shape (against a CA made with the document's openssl commands), leaf rules."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import os
import re
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki

SUBJECT = {"C": "CN", "ST": "Sichuan", "L": "Chengdu", "O": "Huawei", "OU": "Ascend", "CN": "MindIE"}
PASSWORD = "Ca#Passw0rd"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed: cannot compare with a hand-made CA")


@pytest.fixture(scope="module")
def ca_key():
    return pki.generate_rsa_key(3072)


@pytest.fixture(scope="module")
def ca_cert(ca_key):
    return pki.build_ca_cert(ca_key, SUBJECT, 7300)


@pytest.fixture(scope="module")
def leaf_key():
    return pki.generate_rsa_key(3072)


# passwords --------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["Xkcdwqzt", "abcdefg1", "abc!efgh", "ABCDEFG1", "12345678!", "a" * 7 + "B",
                                      "aB" * 64, "Ab cdefg", "~!@#$%^a"])
def test_good_passwords(password):
    assert pki.password_problems(password) == []


@pytest.mark.parametrize("password, fragment", [
    ("Ab1!", "has 4 characters, at least 8"),
    ("", "has 0 characters"),
    ("abcdefgh", "uses lower case letter; at least two"),
    ("ABCDEFGHIJ", "uses upper case letter; at least two"),
    ("1234567890", "uses digit; at least two"),
    ("!!!!!!!!!!", "uses special character; at least two"),
    ("aB" * 64 + "c", "129 characters, MindIE accepts at most 128"),
    ("Abcdefg1\n", "position(s) 9"),
    (u"Abcdefg1\u00e9", "position(s) 9"),
])
def test_bad_passwords_name_the_rule(password, fragment):
    problems = pki.password_problems(password)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("password", ["password1", "Password123!", "!Huawei@2026", "Admin12345", "11111111!!"])
def test_common_passwords_refused(password):
    assert any("common password" in p for p in pki.password_problems(password)), password


def test_password_message_never_echoes_the_password():
    with pytest.raises(pki.PkiError) as err:
        pki.validate_password("zzzzqqqqwwww", what="mindie_ca_password")
    assert "zzzzqqqqwwww" not in str(err.value) and "mindie_ca_password" in str(err.value)


def test_password_equal_to_account_refused():
    assert any("account name" in p for p in pki.password_problems("Mindie123", ["mindie123"]))
    assert any("account name" in p for p in pki.password_problems("321Eidnim", ["mindie123"]))


def test_generated_passwords_pass_rules():
    seen = set()
    for dummy in range(200):
        password = pki.generate_password()
        assert len(password) == pki.GENERATED_PASSWORD_LEN
        assert pki.password_problems(password) == []
        seen.add(password)
    assert len(seen) == 200


# keys ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [1024, 2048, 3071, 32769, "4096", None])
def test_small_or_bad_key_sizes_refused(bits):
    with pytest.raises(pki.PkiError, match="at least 3072"):
        pki.check_key_size(bits)


def test_encrypted_key_is_pkcs1_aes256(ca_key):
    pem = pki.encrypt_key_pem(ca_key, PASSWORD)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,")
    assert pki.describe_key_pem(pem) == {"pkcs1": True, "encrypted": True, "cipher": "AES-256-CBC"}
    assert pki.public_der(pki.load_private_key(pem, PASSWORD)) == pki.public_der(ca_key)
    with pytest.raises(pki.PkiError, match="cannot be decrypted"):
        pki.load_private_key(pem, "Wrong#Pass1")


# CA -----------------------------------------------------------------------------------------
def test_ca_matches_document(ca_key, ca_cert):
    assert ca_cert.version == x509.Version.v3
    assert ca_cert.signature_hash_algorithm.name == "sha256"
    assert ca_cert.subject == ca_cert.issuer
    assert pki.name_to_dict(ca_cert.subject) == SUBJECT
    assert (pki.not_after(ca_cert) - pki.not_before(ca_cert)).days == 7300
    bc = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    ku = ca_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert bc.critical and bc.value.ca
    assert ku.critical and ku.value.digital_signature and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.key_encipherment
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = ca_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest and aki.authority_cert_issuer is None
    assert [e.oid for e in ca_cert.extensions] == [x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER,
                                                   x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
                                                   x509.oid.ExtensionOID.BASIC_CONSTRAINTS,
                                                   x509.oid.ExtensionOID.KEY_USAGE]
    assert 0 < ca_cert.serial_number < 2 ** 159
    assert pki.ca_problems(ca_cert, ca_key, SUBJECT, 365) == []


def _text_without_values(path, kind="x509"):
    out = subprocess.run([OPENSSL, kind, "-in", path, "-noout", "-text"], check=True, capture_output=True,
                         text=True).stdout
    # drop hex dumps, serials and dates: they differ between any two CAs
    return [line for line in out.splitlines()
            if not re.match(r"^\s+([0-9a-fA-F]{2}:)+[0-9a-fA-F]{0,2}$", line) and "Not " not in line]


@needs_openssl
def test_same_openssl_text_as_hand_made_ca(tmp_path, ca_key):
    """Make a CA with the document's exact commands and compare `openssl x509 -text` output."""
    conf = tmp_path / "ca.conf"
    conf.write_text("[ req ]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n"
                    "[ req_distinguished_name ]\n" + "".join("%s = %s\n" % kv for kv in SUBJECT.items()) +
                    "\n[ v3_ca ]\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always,issuer\n"
                    "basicConstraints = critical, CA:true\nkeyUsage = critical, digitalSignature, cRLSign, keyCertSign\n")
    env = dict(os.environ, PKI_TEST_PW=PASSWORD)
    run = dict(cwd=str(tmp_path), env=env, capture_output=True)
    # OpenSSL 1.1 (the document's era) writes PKCS#1 from genrsa; 3.x needs -traditional for that.
    version = subprocess.run([OPENSSL, "version"], capture_output=True, text=True, check=True).stdout
    legacy = ["-traditional"] if "OpenSSL 3" in version else []
    subprocess.run([OPENSSL, "genrsa"] + legacy + ["-aes256", "-passout", "env:PKI_TEST_PW", "-out", "hand.key",
                                                   "3072"], check=True, **run)
    subprocess.run([OPENSSL, "req", "-out", "hand.csr", "-key", "hand.key", "-passin", "env:PKI_TEST_PW", "-new",
                    "-config", "ca.conf", "-batch"], check=True, **run)
    subprocess.run([OPENSSL, "x509", "-req", "-in", "hand.csr", "-out", "hand.pem", "-sha256", "-days", "7300",
                    "-extfile", "ca.conf", "-extensions", "v3_ca", "-signkey", "hand.key",
                    "-passin", "env:PKI_TEST_PW"], check=True, **run)
    ours = pki.build_ca_cert(ca_key, SUBJECT, 7300)
    (tmp_path / "ours.pem").write_bytes(ours.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ours.csr").write_bytes(pki.build_csr(ca_key, SUBJECT).public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ours.key").write_bytes(pki.encrypt_key_pem(ca_key, PASSWORD))
    assert _text_without_values(str(tmp_path / "hand.pem")) == _text_without_values(str(tmp_path / "ours.pem"))
    assert _text_without_values(str(tmp_path / "hand.csr"), "req") == \
        _text_without_values(str(tmp_path / "ours.csr"), "req")
    # `openssl rsa` reads our key with the password from the environment, and the same headers appear
    subprocess.run([OPENSSL, "rsa", "-in", "ours.key", "-passin", "env:PKI_TEST_PW", "-check", "-noout"], check=True, **run)
    hand_head = (tmp_path / "hand.key").read_text().splitlines()[:3]
    ours_head = (tmp_path / "ours.key").read_text().splitlines()[:3]
    assert [h.split(",")[0] for h in hand_head] == [h.split(",")[0] for h in ours_head]
    # and our checker accepts the hand-made CA as a valid CA
    hand = pki.load_cert((tmp_path / "hand.pem").read_bytes())
    hand_key = pki.load_private_key((tmp_path / "hand.key").read_bytes(), PASSWORD)
    assert pki.ca_problems(hand, hand_key, SUBJECT, 365) == []


def test_ca_problems_report_reasons(ca_key, ca_cert, leaf_key):
    other_subject = dict(SUBJECT, CN="Other")
    problems = pki.ca_problems(ca_cert, leaf_key, other_subject, 365)
    assert any("does not belong to the private key" in p for p in problems)
    assert any("the subject is" in p and "CN=Other" in p for p in problems)
    assert any("renewal margin of 9000" in p for p in pki.ca_problems(ca_cert, renew_before_days=9000))
    later = pki.utcnow() + datetime.timedelta(days=7400)
    assert any("expired" in p for p in pki.ca_problems(ca_cert, now=later))


def test_ca_problems_detect_wrong_extensions(ca_key):
    name = pki.subject_to_name(SUBJECT)
    now = pki.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
            .serial_number(5).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
            .sign(ca_key, pki.hashes.SHA256()))
    problems = pki.ca_problems(cert, ca_key, SUBJECT)
    assert any("BasicConstraints differs" in p for p in problems)
    assert any("KeyUsage is missing" in p for p in problems)
    assert any("SubjectKeyIdentifier is missing" in p for p in problems)


@pytest.mark.parametrize("subject, fragment", [
    ({"C": "China", "CN": "x"}, "two-letter"),
    ({"C": "CN"}, "needs a CN"),
    ({"CN": "x", "E": "a@b"}, "unknown subject field"),
    ({"CN": "x" * 65}, "64"),
    ("CN=x", "mapping"),
])
def test_subject_rules(subject, fragment):
    with pytest.raises(pki.PkiError, match=fragment):
        pki.subject_to_name(subject)


# cert_info.json -----------------------------------------------------------------------------
DOC_CERT_INFO = {"subject": "subject_name", "expired_time": 3650, "serial_number": 123, "key_size": 3072,
                 "req_distinguished_name": {"C": "CN", "ST": "Sichuan", "L": "Chengdu", "O": "Huawei",
                                            "OU": "Ascend", "CN": "mindie-server"},
                 "alt_names": {"IP": [], "DNS": []}}


def test_cert_info_document_sample_and_merge():
    info = pki.normalize_cert_info(DOC_CERT_INFO, extra_ips=["10.0.0.5", "10.0.0.5", "fe80::1"],
                                   extra_dns=["Server.Local"])
    assert info["ips"] == ["10.0.0.5", "fe80::1"] and info["dns"] == ["server.local"]
    assert info["serial_number"] == 123 and info["expired_time"] == 3650
    assert pki.normalize_cert_info(dict((k, v) for k, v in DOC_CERT_INFO.items() if k != "key_size"))["key_size"] == 4096


@pytest.mark.parametrize("change, fragment", [
    ({"expired_time": 0}, "expired_time"),
    ({"expired_time": "3650"}, "expired_time"),
    ({"serial_number": -1}, "serial_number"),
    ({"serial_number": 2 ** 159}, "serial_number"),
    ({"alt_names": {"IP": ["300.1.1.1"], "DNS": []}}, "not an IP"),
    ({"alt_names": {"IP": [], "DNS": ["bad name"]}}, "not a DNS"),
    ({"alt_names": {"URI": []}}, "alt_names"),
    ({"key_size": 2048}, "at least 3072"),
    ({"color": "red"}, "unknown field"),
])
def test_cert_info_rules(change, fragment):
    with pytest.raises(pki.PkiError, match=fragment):
        pki.normalize_cert_info(dict(DOC_CERT_INFO, **change))


def test_gen_cert_paths_resolve_against_project():
    paths = pki.resolve_gen_cert({"ca_cert": "./security/ca/ca.pem"}, "/mnt/security")
    assert paths["ca_cert"] == "/mnt/security/security/ca/ca.pem"
    assert paths["kmc_ksf_standby"] == "/mnt/security/tools/pmt/standby/ksfb"
    with pytest.raises(pki.PkiError):
        pki.resolve_gen_cert({"ca_key": 5}, "/x")


# leaf certificates --------------------------------------------------------------------------
def test_leaf_certificate(ca_key, ca_cert, leaf_key):
    info = pki.normalize_cert_info(DOC_CERT_INFO, extra_ips=["198.18.0.10"], extra_dns=["mindie-server"])
    cert = pki.build_leaf_cert(ca_key, ca_cert, leaf_key, info)
    pki.verify_signature(cert, ca_cert)
    summary = pki.cert_summary(cert)
    assert summary["alt_names"] == {"IP": ["198.18.0.10"], "DNS": ["mindie-server"]}
    assert summary["serial_number"] == "123" and summary["issuer"] == SUBJECT
    assert 3649 <= summary["days_left"] <= 3650
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert pki.leaf_problems(cert, ca_cert, info, leaf_key, 30) == []
    # different SANs, serial, another CA and the renewal window are all reasons
    moved = pki.normalize_cert_info(DOC_CERT_INFO, extra_ips=["198.18.0.11"])
    assert any("alt names" in p for p in pki.leaf_problems(cert, ca_cert, moved))
    assert any("serial number" in p for p in pki.leaf_problems(cert, ca_cert, dict(info, serial_number=7)))
    other_ca = pki.build_ca_cert(leaf_key, dict(SUBJECT, CN="Other CA"), 100)
    assert any("is not the CA" in p for p in pki.leaf_problems(cert, other_ca, info))
    assert any("renewal margin" in p for p in pki.leaf_problems(cert, ca_cert, info, renew_before_days=4000))


def test_leaf_validity_capped_by_ca(ca_key, leaf_key):
    short_ca = pki.build_ca_cert(ca_key, SUBJECT, 10)
    cert = pki.build_leaf_cert(ca_key, short_ca, leaf_key, pki.normalize_cert_info(DOC_CERT_INFO))
    assert pki.not_after(cert) <= pki.not_after(short_ca)


def test_random_serials_differ(ca_key, ca_cert, leaf_key):
    info = pki.normalize_cert_info(dict(DOC_CERT_INFO, serial_number="random"))
    one = pki.build_leaf_cert(ca_key, ca_cert, leaf_key, info)
    two = pki.build_leaf_cert(ca_key, ca_cert, leaf_key, info)
    assert one.serial_number != two.serial_number


def _project(tmp_path, ca_key, ca_cert, password=PASSWORD):
    root = tmp_path / "project"
    (root / "security/ca").mkdir(parents=True)
    (root / "security/ca/ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (root / "security/ca/ca.key.pem").write_bytes(pki.encrypt_key_pem(ca_key, password))
    store = kmc.KeyStore.new()
    (root / "security/ca/ca_passwd.txt").write_text(store.encrypt(password))
    kmc.write_pair(store, str(root / "tools/pmt/master/ksfa"), str(root / "tools/pmt/standby/ksfb"))
    (root / "gen_cert.json").write_text(pki.json.dumps(pki.GEN_CERT_DEFAULTS))
    (root / "cert_info.json").write_text(pki.json.dumps(dict(DOC_CERT_INFO, key_size=3072)))
    return root, store


def test_issuing_ca_from_project(tmp_path, ca_key, ca_cert):
    root, store = _project(tmp_path, ca_key, ca_cert)
    issuer = pki.IssuingCA.from_project(str(root))
    info = issuer.cert_info(extra_ips=["198.18.0.20"])
    cert, key_pem, password = issuer.issue(info)
    assert pki.password_problems(password) == []
    assert pki.public_der(pki.load_private_key(key_pem, password)) == pki.public_der(cert)
    assert pki.cert_summary(cert)["alt_names"]["IP"] == ["198.18.0.20"]


def test_issuing_ca_refuses_mismatched_key(tmp_path, ca_key, ca_cert, leaf_key):
    root, dummy = _project(tmp_path, ca_key, ca_cert)
    (root / "security/ca/ca.key.pem").write_bytes(pki.encrypt_key_pem(leaf_key, PASSWORD))
    with pytest.raises(pki.PkiError, match="does not belong"):
        pki.IssuingCA.from_project(str(root))


def test_issuing_ca_tampered_password_file(tmp_path, ca_key, ca_cert):
    root, dummy = _project(tmp_path, ca_key, ca_cert)
    text = (root / "security/ca/ca_passwd.txt").read_text()
    (root / "security/ca/ca_passwd.txt").write_text(text[:-6] + ("AAAA==" if not text.endswith("AAAA==") else "BBBB=="))
    with pytest.raises(pki.PkiError, match="cannot decrypt the CA key password file"):
        pki.IssuingCA.from_project(str(root))
