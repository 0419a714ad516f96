# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.modules import ca as ca_module
from ansible_collections.ascend.mindie.plugins.modules import kmc_import
from ansible_collections.ascend.mindie.tests.unit.plugins.modules.module_runner import run_module

PASSWORD = "Ca#Passw0rd-import"
SUBJECT = {"C": "CN", "O": "Huawei", "CN": "MindIE"}


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca")
    key = pki.generate_rsa_key(3072)
    (path / "ca.key.pem").write_bytes(pki.encrypt_key_pem(key, PASSWORD))
    (path / "ca.pem").write_bytes(pki.build_ca_cert(key, SUBJECT, 100).public_bytes(pki.serialization.Encoding.PEM))
    return path


def _args(ca_dir, dest, **extra):
    args = {"cert": str(ca_dir / "ca.pem"), "key": str(ca_dir / "ca.key.pem"), "password": PASSWORD,
            "dest": str(dest)}
    args.update(extra)
    return args


def _mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def _store(dest):
    return kmc.load_pair(str(dest / "tools/pmt/master/ksfa"), str(dest / "tools/pmt/standby/ksfb"))


@pytest.fixture
def imported(ca_dir, tmp_path, monkeypatch):
    dest = tmp_path / "server"
    result = run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)
    assert not result["failed"], result
    return dest, result


def test_import_layout(imported, ca_dir):
    dest, result = imported
    assert result["changed"] and result["keystore"]["master"] == "created"
    assert sorted(result["updated"]) == ["ca_cert", "ca_key", "ca_key_pwd", "kmc_ksf_master", "kmc_ksf_standby"]
    assert (dest / "security/ca/ca.pem").read_bytes() == (ca_dir / "ca.pem").read_bytes()
    assert (dest / "security/ca/ca.key.pem").read_bytes() == (ca_dir / "ca.key.pem").read_bytes()
    for rel, mode in (("security/ca/ca.pem", 0o400), ("security/ca/ca.key.pem", 0o400),
                      ("security/ca/ca_passwd.txt", 0o400), ("tools/pmt/master/ksfa", 0o600),
                      ("tools/pmt/standby/ksfb", 0o600), ("security", 0o700), ("tools/pmt/master", 0o700)):
        assert _mode(dest / rel) == mode, rel
    text = (dest / "security/ca/ca_passwd.txt").read_text()
    assert _store(dest).store.decrypt(text) == PASSWORD.encode()
    for path in dest.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in result["_json"]


def test_second_run_changes_nothing(imported, ca_dir, monkeypatch):
    dest, dummy = imported
    snapshot = dict((str(p), p.read_bytes()) for p in dest.rglob("*") if p.is_file())
    again = run_module(kmc_import.main, _args(ca_dir, dest), diff=True, monkeypatch=monkeypatch)
    assert not again["changed"] and again["updated"] == []
    assert snapshot == dict((str(p), p.read_bytes()) for p in dest.rglob("*") if p.is_file())


def test_check_mode_writes_nothing(ca_dir, tmp_path, monkeypatch):
    result = run_module(kmc_import.main, _args(ca_dir, tmp_path / "x"), check_mode=True, diff=True,
                        monkeypatch=monkeypatch)
    assert result["changed"] and not (tmp_path / "x").exists()
    assert "security/ca/ca_passwd.txt: written" in result["diff"]["after"]


def test_damaged_master_restored_from_standby(imported, ca_dir, monkeypatch):
    dest, dummy = imported
    os.chmod(str(dest / "tools/pmt/master/ksfa"), 0o600)
    (dest / "tools/pmt/master/ksfa").write_bytes(b"\x00garbage")
    result = run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)
    assert result["changed"] and result["keystore"]["master"] == "damaged" and result["keystore"]["repaired"]
    assert any("restoring" in w for w in result["warnings"])
    loaded = _store(dest)
    assert loaded.master_state == loaded.standby_state == "ok"
    assert loaded.store.decrypt((dest / "security/ca/ca_passwd.txt").read_text()) == PASSWORD.encode()
    assert not run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)["changed"]


def test_both_damaged_fails_and_writes_nothing(imported, ca_dir, monkeypatch):
    dest, dummy = imported
    for rel in ("tools/pmt/master/ksfa", "tools/pmt/standby/ksfb"):
        (dest / rel).write_bytes(b"broken " + rel.encode())
    os.chmod(str(dest / "security/ca/ca.pem"), 0o600)
    (dest / "security/ca/ca.pem").write_bytes(b"old")
    snapshot = dict((str(p), p.read_bytes()) for p in dest.rglob("*") if p.is_file())
    result = run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)
    assert result["failed"] and "no usable key store" in result["msg"] and "nothing was changed" in result["msg"]
    assert snapshot == dict((str(p), p.read_bytes()) for p in dest.rglob("*") if p.is_file())


def test_rotation(imported, ca_dir, monkeypatch):
    dest, dummy = imported
    old_text = (dest / "security/ca/ca_passwd.txt").read_text()
    result = run_module(kmc_import.main, _args(ca_dir, dest, rotate=True), monkeypatch=monkeypatch)
    assert result["changed"] and result["keystore"]["key_ids"] == [1, 2] and result["keystore"]["active_key_id"] == 2
    new_text = (dest / "security/ca/ca_passwd.txt").read_text()
    store = _store(dest).store
    assert kmc.ciphertext_key_id(new_text) == 2 and store.decrypt(new_text) == PASSWORD.encode()
    assert store.decrypt(old_text) == PASSWORD.encode()  # old copies (e.g. in a Secret) still decrypt
    assert not run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)["changed"]


def test_tampered_password_file_is_rewritten(imported, ca_dir, monkeypatch):
    dest, dummy = imported
    path = dest / "security/ca/ca_passwd.txt"
    os.chmod(str(path), 0o600)
    text = path.read_text().strip()
    path.write_text(text[:20] + ("A" if text[20] != "A" else "B") + text[21:])
    result = run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)
    assert result["changed"] and result["updated"] == ["ca_key_pwd"]
    assert any("does not decrypt" in w for w in result["warnings"])
    assert _store(dest).store.decrypt(path.read_text()) == PASSWORD.encode()


def test_changed_password_rewrites_ciphertext(ca_dir, tmp_path, monkeypatch):
    other = tmp_path / "ca2"
    made = run_module(ca_module.main, {"path": str(other), "password": "New#Passw0rd", "subject": SUBJECT,
                                       "key_size": 3072}, monkeypatch=monkeypatch)
    assert not made["failed"]
    dest = tmp_path / "comp"
    run_module(kmc_import.main, _args(ca_dir, dest), monkeypatch=monkeypatch)
    result = run_module(kmc_import.main, {"cert": str(other / "ca.pem"), "key": str(other / "ca.key.pem"),
                                          "password": "New#Passw0rd", "dest": str(dest)}, monkeypatch=monkeypatch)
    assert sorted(result["updated"]) == ["ca_cert", "ca_key", "ca_key_pwd"]
    assert _store(dest).store.decrypt((dest / "security/ca/ca_passwd.txt").read_text()) == b"New#Passw0rd"


@pytest.mark.parametrize("password, fragment", [("Wrong#Passw0rd", "cannot be decrypted"), ("weakpassword", "at least two")])
def test_bad_password(ca_dir, tmp_path, monkeypatch, password, fragment):
    result = run_module(kmc_import.main, _args(ca_dir, tmp_path / "d", password=password), monkeypatch=monkeypatch)
    assert result["failed"] and fragment in result["msg"] and password not in result["msg"]
    assert not (tmp_path / "d").exists()


def test_refuses_small_key_and_mismatch(ca_dir, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import rsa
    small = rsa.generate_private_key(65537, 2048)
    (tmp_path / "small.key").write_bytes(pki.encrypt_key_pem(small, PASSWORD))
    (tmp_path / "small.pem").write_bytes(pki.build_ca_cert(small, SUBJECT, 10).public_bytes(pki.serialization.Encoding.PEM))
    result = run_module(kmc_import.main, {"cert": str(tmp_path / "small.pem"), "key": str(tmp_path / "small.key"),
                                          "password": PASSWORD, "dest": str(tmp_path / "d")}, monkeypatch=monkeypatch)
    assert result["failed"] and "at least 3072" in result["msg"]
    result = run_module(kmc_import.main, {"cert": str(tmp_path / "small.pem"), "key": str(ca_dir / "ca.key.pem"),
                                          "password": PASSWORD, "dest": str(tmp_path / "d")}, monkeypatch=monkeypatch)
    assert result["failed"] and "does not belong" in result["msg"]
