# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key store: round trip, rotation, standby recovery, both damaged, tampering."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import json
import os
import stat

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import kmc


@pytest.fixture
def paths(tmp_path):
    return str(tmp_path / "tools/pmt/master/ksfa"), str(tmp_path / "tools/pmt/standby/ksfb")


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_round_trip_and_files(paths):
    store = kmc.KeyStore.new()
    text = store.encrypt("Secret#Pass1")
    assert "Secret" not in text
    kmc.write_pair(store, *paths)
    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert b"Secret#Pass1" not in _read(path)
    assert stat.S_IMODE(os.stat(os.path.dirname(paths[0])).st_mode) == 0o700
    loaded = kmc.load_pair(*paths)
    assert loaded.master_state == loaded.standby_state == "ok" and not loaded.needs_repair
    assert loaded.store.decrypt(text) == b"Secret#Pass1"
    # trailing newline (an editor or `echo` added one) is tolerated
    assert loaded.store.decrypt(text + "\n") == b"Secret#Pass1"


def test_ciphertext_is_randomised_and_headed():
    store = kmc.KeyStore.new()
    one, two = store.encrypt(b"x"), store.encrypt(b"x")
    assert one != two
    blob = base64.b64decode(one)
    assert blob[:4] == b"AMKC" and blob[4] == 1 and blob[5] == 1
    assert kmc.ciphertext_key_id(one) == 1


def test_rotation_keeps_old_ciphertext(paths):
    store = kmc.KeyStore.new()
    old = store.encrypt("OldPass#1")
    generation = store.generation
    assert store.rotate() == 2
    assert store.generation == generation + 1 and store.active_key_id == 2
    new = store.encrypt("NewPass#2")
    assert kmc.ciphertext_key_id(new) == 2 and kmc.ciphertext_key_id(old) == 1
    kmc.write_pair(store, *paths)
    loaded = kmc.load_pair(*paths).store
    assert loaded.key_ids == [1, 2] and loaded.active_key_id == 2
    assert loaded.decrypt(old) == b"OldPass#1"
    assert loaded.decrypt(new) == b"NewPass#2"


def test_unknown_key_id_is_reported(paths):
    store = kmc.KeyStore.new()
    older = kmc.KeyStore.from_bytes(store.to_bytes())
    store.rotate()
    with pytest.raises(kmc.UnknownKeyId, match="key id 2"):
        older.decrypt(store.encrypt("Pass#word1"))


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip", "empty"])
def test_master_damaged_standby_restores(paths, damage):
    store = kmc.KeyStore.new()
    text = store.encrypt("Secret#Pass1")
    kmc.write_pair(store, *paths)
    good = _read(paths[0])
    bad = {"garbage": b"\x00\xffnot json", "truncate": good[:len(good) // 2], "empty": b"",
           "flip": good.replace(b'"generation": 1', b'"generation": 9')}[damage]
    _write(paths[0], bad)
    loaded = kmc.load_pair(*paths)
    assert loaded.master_state == "damaged" and loaded.standby_state == "ok" and loaded.needs_repair
    assert loaded.problems and paths[0] in loaded.problems[0]
    # load_pair itself never writes
    assert _read(paths[0]) == bad
    assert loaded.store.decrypt(text) == b"Secret#Pass1"
    kmc.write_pair(loaded.store, *paths)
    again = kmc.load_pair(*paths)
    assert again.master_state == again.standby_state == "ok"
    assert again.store.decrypt(text) == b"Secret#Pass1"


def test_standby_damaged_or_missing(paths):
    store = kmc.KeyStore.new()
    kmc.write_pair(store, *paths)
    os.unlink(paths[1])
    loaded = kmc.load_pair(*paths)
    assert (loaded.master_state, loaded.standby_state) == ("ok", "missing") and loaded.needs_repair
    _write(paths[1], b"{}")
    assert kmc.load_pair(*paths).standby_state == "damaged"


def test_both_damaged_is_clear_error_and_writes_nothing(paths):
    store = kmc.KeyStore.new()
    kmc.write_pair(store, *paths)
    _write(paths[0], b"junk-a")
    _write(paths[1], b"junk-b")
    with pytest.raises(kmc.KeyStoreUnavailable) as err:
        kmc.load_pair(*paths)
    message = str(err.value)
    assert "no usable key store" in message and paths[0] in message and paths[1] in message
    assert _read(paths[0]) == b"junk-a" and _read(paths[1]) == b"junk-b"


def test_one_damaged_other_missing_is_unavailable(paths):
    store = kmc.KeyStore.new()
    kmc.write_pair(store, *paths)
    os.unlink(paths[1])
    _write(paths[0], b"junk")
    with pytest.raises(kmc.KeyStoreUnavailable, match="missing"):
        kmc.load_pair(*paths)


def test_both_missing(paths):
    with pytest.raises(kmc.KeyStoreMissing):
        kmc.load_pair(*paths)


def test_mac_detects_consistent_edit(paths):
    """Editing a field and keeping valid JSON still fails the integrity check."""
    store = kmc.KeyStore.new()
    doc = json.loads(store.to_bytes())
    doc["active_key_id"] = 1
    doc["domain"] = 2
    with pytest.raises(kmc.KeyStoreDamaged, match="integrity"):
        kmc.KeyStore.from_bytes(json.dumps(doc).encode())


def test_stale_master_uses_newer_standby(paths):
    store = kmc.KeyStore.new()
    kmc.write_pair(store, *paths)
    old_master = _read(paths[0])
    store.rotate()
    text = store.encrypt("Rotated#1")
    kmc.write_pair(store, *paths)
    _write(paths[0], old_master)  # e.g. restored from an old backup
    loaded = kmc.load_pair(*paths)
    assert loaded.master_state == "stale" and loaded.store.generation == store.generation
    assert loaded.store.decrypt(text) == b"Rotated#1"


def test_foreign_standby_is_flagged(paths):
    kmc.write_pair(kmc.KeyStore.new(), *paths)
    _write(paths[1], kmc.KeyStore.new().to_bytes())
    loaded = kmc.load_pair(*paths)
    assert loaded.standby_state == "damaged" and "another key store" in loaded.problems[0]


@pytest.mark.parametrize("position", [0, 5, 8, 12, 20, -1])
def test_tampered_ciphertext_fails_authentication(position):
    store = kmc.KeyStore.new()
    store.rotate()  # key id 2 exists, so a flipped key id may still name a real key
    blob = bytearray(base64.b64decode(store.encrypt("Secret#Pass1")))
    blob[position] ^= 0x01
    with pytest.raises(kmc.KmcError) as err:
        store.decrypt(base64.b64encode(bytes(blob)).decode())
    # every tampering is an error; the header ones are format/key-id errors, the rest authentication
    assert isinstance(err.value, (kmc.DecryptionError, kmc.CiphertextError, kmc.UnknownKeyId))
    if position in (20, -1):
        assert isinstance(err.value, kmc.DecryptionError)


def test_header_swapped_to_existing_key_id_fails_authentication():
    """The header is authenticated data: pointing it at another real key is not accepted."""
    store = kmc.KeyStore.new()
    store.rotate()
    blob = bytearray(base64.b64decode(store.encrypt("Secret#Pass1")))
    assert blob[11] == 2
    blob[11] = 1
    with pytest.raises(kmc.DecryptionError, match="authentication failed"):
        store.decrypt(base64.b64encode(bytes(blob)).decode())


def test_other_store_cannot_decrypt():
    text = kmc.KeyStore.new().encrypt("Secret#Pass1")
    with pytest.raises(kmc.DecryptionError, match="authentication failed"):
        kmc.KeyStore.new().decrypt(text)


@pytest.mark.parametrize("text", ["Secret#Pass1", "", "!!!", base64.b64encode(b"AMKC").decode(),
                                  base64.b64encode(b"XXXX" + b"\x01" * 40).decode()])
def test_not_our_ciphertext(text):
    with pytest.raises(kmc.CiphertextError):
        kmc.KeyStore.new().decrypt(text)


def test_wrong_version_refused():
    doc = json.loads(kmc.KeyStore.new().to_bytes())
    doc["version"] = 2
    with pytest.raises(kmc.KeyStoreDamaged, match="unsupported version 2"):
        kmc.KeyStore.from_bytes(json.dumps(doc).encode())


def test_atomic_write_mode_and_replace(tmp_path):
    target = str(tmp_path / "f")
    kmc.atomic_write(target, b"one", 0o400)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o400
    kmc.atomic_write(target, b"two", 0o400)  # replacing a read-only file works (rename)
    assert _read(target) == b"two"
    assert os.listdir(str(tmp_path)) == ["f"]


def test_rotation_replaces_the_root_key_and_retire_keeps_the_newest_two(paths):
    store = kmc.KeyStore.new()
    first = store.encrypt("First#Pass1")
    roots = {store.root_key_fingerprint()}
    store.rotate()
    second = store.encrypt("Second#Pass2")
    roots.add(store.root_key_fingerprint())
    assert store.retire(keep=2) == [] and store.key_ids == [1, 2]
    store.rotate()
    roots.add(store.root_key_fingerprint())
    generation = store.generation
    assert store.retire(keep=2) == [1] and store.key_ids == [2, 3] and store.generation == generation + 1
    assert len(roots) == 3
    kmc.write_pair(store, *paths)
    loaded = kmc.load_pair(*paths).store
    assert loaded.decrypt(second) == b"Second#Pass2"
    with pytest.raises(kmc.UnknownKeyId, match="key id 1"):
        loaded.decrypt(first)
