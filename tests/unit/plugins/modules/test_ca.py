# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os
import stat

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.modules import ca as ca_module

from ansible_collections.ascend.mindie.tests.unit.plugins.modules.module_runner import run_module

PASSWORD = "Ca#Passw0rd-unit"
SUBJECT = {"C": "CN", "ST": "Sichuan", "L": "Chengdu", "O": "Huawei", "OU": "Ascend", "CN": "MindIE"}


def _args(path, **extra):
    args = {"path": str(path), "password": PASSWORD, "subject": SUBJECT, "key_size": 3072}
    args.update(extra)
    return args


def _mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def made(tmp_path, monkeypatch):
    result = run_module(ca_module.main, _args(tmp_path / "ca"), monkeypatch=monkeypatch)
    assert not result["failed"], result
    return tmp_path / "ca", result


def test_creates_ca_with_modes(made):
    path, result = made
    assert result["changed"] and result["created"] == ["ca.key.pem", "ca.csr", "ca.pem"]
    assert result["needs_regeneration"] == [] and not result["regenerated"]
    assert (_mode(path / "ca.key.pem"), _mode(path / "ca.csr"), _mode(path / "ca.pem"), _mode(path)) == \
        (0o400, 0o600, 0o400, 0o700)
    key_pem = (path / "ca.key.pem").read_bytes()
    assert pki.describe_key_pem(key_pem) == {"pkcs1": True, "encrypted": True, "cipher": "AES-256-CBC"}
    cert = pki.load_cert((path / "ca.pem").read_bytes())
    assert pki.ca_problems(cert, pki.load_private_key(key_pem, PASSWORD), SUBJECT, 90) == []
    assert result["days_left"] in (7299, 7300) and result["subject"] == SUBJECT
    assert PASSWORD not in result["_json"]


def test_second_run_changes_nothing(made, monkeypatch):
    path, first = made
    before = dict((p.name, p.read_bytes()) for p in path.iterdir())
    again = run_module(ca_module.main, _args(path), monkeypatch=monkeypatch)
    assert not again["changed"] and again["needs_regeneration"] == [] and again["created"] == []
    assert again["fingerprint_sha256"] == first["fingerprint_sha256"]
    assert before == dict((p.name, p.read_bytes()) for p in path.iterdir())


def test_check_mode_and_diff_write_nothing(tmp_path, monkeypatch):
    result = run_module(ca_module.main, _args(tmp_path / "ca"), check_mode=True, diff=True, monkeypatch=monkeypatch)
    assert result["changed"] and result["created"] == ["ca.key.pem", "ca.csr", "ca.pem"]
    assert not (tmp_path / "ca").exists()
    assert "CN" in result["diff"]["after"] and result["diff"]["before"] == ""
    assert PASSWORD not in result["_json"]


@pytest.mark.parametrize("password, fragment", [("short1A", "at least 8"), ("alllowercase", "at least two of"),
                                                ("x" * 129 + "A", "at most 128")])
def test_weak_password_refused(tmp_path, monkeypatch, password, fragment):
    result = run_module(ca_module.main, _args(tmp_path / "ca", password=password), monkeypatch=monkeypatch)
    assert result["failed"] and fragment in result["msg"] and "option password" in result["msg"]
    assert password not in result["msg"]
    assert not (tmp_path / "ca").exists()


def test_small_key_refused(tmp_path, monkeypatch):
    result = run_module(ca_module.main, _args(tmp_path / "ca", key_size=2048), monkeypatch=monkeypatch)
    assert result["failed"] and "at least 3072" in result["msg"]


def test_wrong_password_is_reported_not_replaced(made, monkeypatch):
    path, dummy = made
    before = (path / "ca.key.pem").read_bytes()
    result = run_module(ca_module.main, _args(path, password="Other#Passw0rd"), monkeypatch=monkeypatch)
    assert not result["failed"] and not result["changed"]
    assert any("cannot be decrypted" in r for r in result["needs_regeneration"])
    assert any("force=true" in w for w in result["warnings"])
    assert (path / "ca.key.pem").read_bytes() == before


def test_subject_change_needs_force_then_replaces_with_backup(made, monkeypatch):
    path, first = made
    other = dict(SUBJECT, CN="MindIE-2")
    kept = run_module(ca_module.main, _args(path, subject=other), monkeypatch=monkeypatch)
    assert not kept["changed"] and any("CN=MindIE-2" in r for r in kept["needs_regeneration"])
    assert kept["fingerprint_sha256"] == first["fingerprint_sha256"]
    forced = run_module(ca_module.main, _args(path, subject=other, force=True), monkeypatch=monkeypatch)
    assert forced["changed"] and forced["regenerated"]
    assert forced["fingerprint_sha256"] != first["fingerprint_sha256"] and forced["subject"]["CN"] == "MindIE-2"
    assert len(glob.glob(str(path / "ca.key.pem.*~"))) == 1 and len(glob.glob(str(path / "ca.pem.*~"))) == 1
    assert not run_module(ca_module.main, _args(path, subject=other), monkeypatch=monkeypatch)["changed"]


def test_expiry_margin_is_reported(made, monkeypatch):
    path, dummy = made
    # valid_days (for a new CA) must exceed the margin; the existing CA's 7300 days are below it
    result = run_module(ca_module.main, _args(path, renew_before_days=8000, valid_days=9000), monkeypatch=monkeypatch)
    assert any("renewal margin of 8000" in r for r in result["needs_regeneration"]) and not result["changed"]


def test_validity_below_the_margin_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    result = run_module(ca_module.main, _args(tmp_path / "ca", valid_days=60, renew_before_days=90),
                        monkeypatch=monkeypatch)
    assert result["failed"] and "valid_days (60) must exceed renew_before_days (90)" in result["msg"]
    assert not (tmp_path / "ca").exists()


def test_replace_fingerprint_acts_once(made, monkeypatch):
    path, first = made
    fp = first["fingerprint_sha256"]
    colons = ":".join(fp[i:i + 2] for i in range(0, 64, 2)).upper()  # as openssl prints it
    replaced = run_module(ca_module.main, _args(path, replace_fingerprint=colons), monkeypatch=monkeypatch)
    assert replaced["changed"] and replaced["regenerated"] and replaced["fingerprint_sha256"] != fp
    # left set in the inventory: names the backup now, so nothing happens
    again = run_module(ca_module.main, _args(path, replace_fingerprint=colons), monkeypatch=monkeypatch)
    assert not again["failed"] and not again["changed"]
    assert again["fingerprint_sha256"] == replaced["fingerprint_sha256"]


@pytest.mark.parametrize("value, message", [("true", "is not a SHA-256 fingerprint"),
                                            ("ab" * 32, "names no CA in")])
def test_replace_fingerprint_refuses_other_values(made, monkeypatch, value, message):
    path, first = made
    before = (path / "ca.pem").read_bytes()
    result = run_module(ca_module.main, _args(path, replace_fingerprint=value), monkeypatch=monkeypatch)
    assert result["failed"] and message in result["msg"]
    if message == "names no CA in":
        assert first["fingerprint_sha256"] in result["msg"]  # says which one to name
    assert (path / "ca.pem").read_bytes() == before


def test_missing_cert_rebuilt_from_existing_key(made, monkeypatch):
    path, first = made
    key_before = (path / "ca.key.pem").read_bytes()
    os.unlink(str(path / "ca.pem"))
    result = run_module(ca_module.main, _args(path), monkeypatch=monkeypatch)
    assert result["changed"] and result["created"] == ["ca.pem"]
    assert (path / "ca.key.pem").read_bytes() == key_before
    cert = pki.load_cert((path / "ca.pem").read_bytes())
    assert pki.public_der(cert) == pki.public_der(pki.load_private_key(key_before, PASSWORD))


def test_mismatched_cert_is_reported(made, tmp_path, monkeypatch):
    path, dummy = made
    other = tmp_path / "other"
    run_module(ca_module.main, _args(other), monkeypatch=monkeypatch)
    os.chmod(str(path / "ca.pem"), 0o600)
    (path / "ca.pem").write_bytes((other / "ca.pem").read_bytes())
    result = run_module(ca_module.main, _args(path), monkeypatch=monkeypatch)
    assert any("does not belong to the private key" in r for r in result["needs_regeneration"])


def test_mode_drift_is_fixed(made, monkeypatch):
    path, dummy = made
    os.chmod(str(path / "ca.key.pem"), 0o644)
    result = run_module(ca_module.main, _args(path), check_mode=True, monkeypatch=monkeypatch)
    assert result["changed"] and _mode(path / "ca.key.pem") == 0o644
    result = run_module(ca_module.main, _args(path), monkeypatch=monkeypatch)
    assert result["changed"] and _mode(path / "ca.key.pem") == 0o400


def test_stale_csr_is_rewritten(made, monkeypatch):
    path, dummy = made
    os.chmod(str(path / "ca.csr"), 0o600)
    (path / "ca.csr").write_text("garbage")
    result = run_module(ca_module.main, _args(path), monkeypatch=monkeypatch)
    assert result["changed"] and result["created"] == ["ca.csr"]
    assert b"BEGIN CERTIFICATE REQUEST" in (path / "ca.csr").read_bytes()
