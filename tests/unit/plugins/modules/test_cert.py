# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.modules import cert as cert_module
from ansible_collections.ascend.mindie.plugins.modules import kmc_import
from ansible_collections.ascend.mindie.tests.unit.plugins.modules.module_runner import run_module

PASSWORD = "Ca#Passw0rd-cert"
SUBJECT = {"C": "CN", "O": "Huawei", "CN": "MindIE"}
CERT_INFO = {"subject": "mindie-coordinator", "expired_time": 365, "serial_number": "random", "key_size": 3072,
             "req_distinguished_name": {"C": "CN", "O": "Huawei", "OU": "Ascend", "CN": "mindie-coordinator"},
             "alt_names": {"IP": ["198.18.0.10"], "DNS": ["mindie-ms-coordinator-infer"]}}


def _make_ca(path, cn="MindIE"):
    path.mkdir()
    key = pki.generate_rsa_key(3072)
    (path / "ca.key.pem").write_bytes(pki.encrypt_key_pem(key, PASSWORD))
    (path / "ca.pem").write_bytes(pki.build_ca_cert(key, dict(SUBJECT, CN=cn), 400)
                                  .public_bytes(pki.serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory):
    return _make_ca(tmp_path_factory.mktemp("c") / "ca")


@pytest.fixture
def project(ca_dir, tmp_path, monkeypatch):
    dest = tmp_path / "coordinator"
    result = run_module(kmc_import.main, {"cert": str(ca_dir / "ca.pem"), "key": str(ca_dir / "ca.key.pem"),
                                          "password": PASSWORD, "dest": str(dest)}, monkeypatch=monkeypatch)
    assert not result["failed"], result
    (dest / "gen_cert.json").write_text(json.dumps(pki.GEN_CERT_DEFAULTS))
    (dest / "cert_info.json").write_text(json.dumps(CERT_INFO))
    return dest


def _args(project, dest, **extra):
    args = {"project_dir": str(project), "dest": str(dest)}
    args.update(extra)
    return args


def test_issue_and_idempotence(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result = run_module(cert_module.main, _args(project, out, ips=["198.18.0.11"]), monkeypatch=monkeypatch)
    assert not result["failed"], result
    assert result["changed"] and result["issued"] and result["needs_regeneration"] == []
    assert result["alt_names"] == {"IP": ["198.18.0.10", "198.18.0.11"], "DNS": ["mindie-ms-coordinator-infer"]}
    assert 363 <= result["days_left"] <= 365
    for name in ("cert.pem", "cert.key.pem", "cert_passwd.txt"):
        assert stat.S_IMODE(os.stat(str(out / name)).st_mode) == 0o400
    store = kmc.load_pair(str(project / "tools/pmt/master/ksfa"), str(project / "tools/pmt/standby/ksfb")).store
    password = store.decrypt((out / "cert_passwd.txt").read_text()).decode()
    assert pki.password_problems(password) == [] and password not in result["_json"]
    key = pki.load_private_key((out / "cert.key.pem").read_bytes(), password)
    cert = pki.load_cert((out / "cert.pem").read_bytes())
    assert pki.public_der(key) == pki.public_der(cert)
    assert pki.describe_key_pem((out / "cert.key.pem").read_bytes())["cipher"] == "AES-256-CBC"
    again = run_module(cert_module.main, _args(project, out, ips=["198.18.0.11"]), monkeypatch=monkeypatch)
    assert not again["changed"] and again["serial_number"] == result["serial_number"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_verify_passes(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(project / "security/ca/ca.pem"),
                           "-verify_ip", "198.18.0.10", "-purpose", "sslserver", str(out / "cert.pem")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and ": OK" in proc.stdout, proc.stderr
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(project / "security/ca/ca.pem"),
                           "-verify_ip", "198.18.0.99", str(out / "cert.pem")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "IP address mismatch" in proc.stdout + proc.stderr


def test_changes_reissue_with_reasons(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    moved = run_module(cert_module.main, _args(project, out, dns=["extra.example"]), monkeypatch=monkeypatch)
    assert moved["changed"] and any("alt names" in r for r in moved["needs_regeneration"])
    assert moved["serial_number"] != first["serial_number"]
    renew = run_module(cert_module.main, _args(project, out, dns=["extra.example"], renew_before_days=400),
                       monkeypatch=monkeypatch)
    assert renew["changed"] and any("renewal margin of 400" in r for r in renew["needs_regeneration"])
    forced = run_module(cert_module.main, _args(project, out, dns=["extra.example"], force=True), monkeypatch=monkeypatch)
    assert forced["changed"] and forced["needs_regeneration"] == []


def test_new_ca_forces_reissue(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    new_ca = _make_ca(tmp_path / "newca", cn="MindIE-2")
    run_module(kmc_import.main, {"cert": str(new_ca / "ca.pem"), "key": str(new_ca / "ca.key.pem"),
                                 "password": PASSWORD, "dest": str(project)}, monkeypatch=monkeypatch)
    result = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    assert result["changed"] and any("is not the CA" in r for r in result["needs_regeneration"])
    pki.verify_signature(pki.load_cert((out / "cert.pem").read_bytes()),
                         pki.load_cert((new_ca / "ca.pem").read_bytes()))


def test_check_mode(project, tmp_path, monkeypatch):
    result = run_module(cert_module.main, _args(project, tmp_path / "out"), check_mode=True, diff=True,
                        monkeypatch=monkeypatch)
    assert result["changed"] and not (tmp_path / "out").exists() and "198.18.0.10" in result["diff"]["after"]


def test_damaged_output_is_reissued(project, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    os.unlink(str(out / "cert_passwd.txt"))
    result = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    assert result["changed"] and "missing file" in result["needs_regeneration"][0]


@pytest.mark.parametrize("info, fragment", [({"alt_names": {"IP": ["1.2.3"]}}, "not an IP"),
                                            ({"key_size": 2048}, "at least 3072")])
def test_bad_cert_info(project, tmp_path, monkeypatch, info, fragment):
    (project / "cert_info.json").write_text(json.dumps(dict(CERT_INFO, **info)))
    result = run_module(cert_module.main, _args(project, tmp_path / "out"), monkeypatch=monkeypatch)
    assert result["failed"] and fragment in result["msg"]


def test_missing_project(tmp_path, monkeypatch):
    result = run_module(cert_module.main, _args(tmp_path / "none", tmp_path / "out"), monkeypatch=monkeypatch)
    assert result["failed"] and "gen_cert.json" in result["msg"]


def test_kept_certificate_password_follows_the_key_store_rotation(project, ca_dir, tmp_path, monkeypatch):
    """After a rotation the kept certificate's password file is re-encrypted with the active key, so the
    next rotation (which retires the older keys) cannot strand it."""
    out = tmp_path / "out"
    first = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    run_module(kmc_import.main, {"cert": str(ca_dir / "ca.pem"), "key": str(ca_dir / "ca.key.pem"),
                                 "password": PASSWORD, "dest": str(project), "rotate": True}, monkeypatch=monkeypatch)
    checked = run_module(cert_module.main, _args(project, out), check_mode=True, monkeypatch=monkeypatch)
    assert checked["changed"] and kmc.ciphertext_key_id((out / "cert_passwd.txt").read_text()) == 1
    again = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    assert again["changed"] and not again["issued"] and again["serial_number"] == first["serial_number"]
    assert kmc.ciphertext_key_id((out / "cert_passwd.txt").read_text()) == 2
    run_module(kmc_import.main, {"cert": str(ca_dir / "ca.pem"), "key": str(ca_dir / "ca.key.pem"),
                                 "password": PASSWORD, "dest": str(project), "rotate": True}, monkeypatch=monkeypatch)
    kept = run_module(cert_module.main, _args(project, out), monkeypatch=monkeypatch)
    assert not kept["issued"] and kept["serial_number"] == first["serial_number"]  # key 1 retired, still readable


def test_check_mode_with_material_an_earlier_task_creates(tmp_path, monkeypatch):
    result = run_module(cert_module.main, _args(tmp_path / "not-yet", tmp_path / "out", ips=["198.18.0.12"]),
                        check_mode=True, monkeypatch=monkeypatch)
    assert not result["failed"] and result["changed"] and result["issued"]
    assert result["alt_names"]["IP"] == ["198.18.0.12"] and not (tmp_path / "out").exists()
