# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KMC-style key store of ascend.mindie (our own, documented format: docs/kmc-format.md).

Huawei's KMC is a closed vendor library whose formats are not public, so this is not KMC: it only
keeps its shape (a master key store file ``ksfa``, a standby copy ``ksfb``, base64 ciphertext
password files) so that passwords never sit on disk in plain text.

This file deliberately imports nothing from Ansible: the in-pod script
(roles/pki/files/mindie_gen_cert.py) imports it from the directory it is mounted in, so the
collection and the pods share one copy of the code. Only the standard library and ``cryptography``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import binascii
import datetime
import errno
import hashlib
import hmac
import json
import os
import struct
import tempfile

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the callers
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = _exc

KSF_FORMAT = "ascend.mindie/ksf"
KSF_VERSION = 1
CIPHER_MAGIC = b"AMKC"
CIPHER_VERSION = 1
ALG_AES_256_GCM = 1
DEFAULT_DOMAIN = 1  # MindIE's KMC wrapper uses domain id 1; kept for recognisability
NONCE_LEN = 12
TAG_LEN = 16
KEY_LEN = 32
# magic(4) version(1) alg(1) domain(2) key id(4) nonce(12)
_HEADER = struct.Struct(">4sBBHI")
_KSF_FIELDS = ("format", "version", "domain", "generation", "created", "updated", "root_key",
               "active_key_id", "keys", "mac")
MAX_KEYS = 64


class KmcError(Exception):
    """Base class of every key store error."""


class KeyStoreMissing(KmcError):
    """Neither the master nor the standby file exists."""


class KeyStoreDamaged(KmcError):
    """One key store file cannot be used (parse error, bad MAC, bad wrapped key)."""


class KeyStoreUnavailable(KmcError):
    """No usable key store file: both damaged, or one damaged and the other missing."""


class CiphertextError(KmcError):
    """The ciphertext is not in our format (bad base64, magic, version, length)."""


class UnknownKeyId(KmcError):
    """The ciphertext names a key id the key store does not hold (e.g. a newer store)."""


class DecryptionError(KmcError):
    """Authentication failed: the ciphertext or its header was modified, or another store."""


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise KmcError("the python 'cryptography' package is required: %s" % CRYPTOGRAPHY_IMPORT_ERROR)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _ts(now=None):
    return (now or _utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64e(data):
    return base64.b64encode(data).decode("ascii")


def _b64d(text, what, exc=KeyStoreDamaged):
    if not isinstance(text, str):
        raise exc("%s is not a base64 string" % what)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise exc("%s is not valid base64" % what)


def _hkdf(secret, info):
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=None,
                info=info.encode("ascii")).derive(secret)


def _canonical(doc):
    body = dict((k, v) for k, v in doc.items() if k != "mac")
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _wrap_aad(domain, key_id):
    return b"ascend.mindie ksf v1 key" + struct.pack(">HI", domain, key_id)


class KeyStore(object):
    """One decoded key store: a root key, and the domain keys it wraps, addressed by key id."""

    def __init__(self, domain, root_key, keys, active_key_id, generation, created, updated):
        self.domain = domain
        self._root_key = root_key
        self._keys = dict(keys)  # key id -> (material, created)
        self.active_key_id = active_key_id
        self.generation = generation
        self.created = created
        self.updated = updated

    # construction -------------------------------------------------------------------------
    @classmethod
    def new(cls, domain=DEFAULT_DOMAIN, now=None):
        _require_cryptography()
        stamp = _ts(now)
        return cls(domain, os.urandom(KEY_LEN), {1: (os.urandom(KEY_LEN), stamp)}, 1, 1, stamp, stamp)

    @classmethod
    def from_bytes(cls, data, name="key store"):
        """Parse and verify one key store file; raise KeyStoreDamaged saying what is wrong."""
        _require_cryptography()
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise KeyStoreDamaged("%s is not a JSON document" % name)
        if not isinstance(doc, dict):
            raise KeyStoreDamaged("%s is not a JSON object" % name)
        if doc.get("format") != KSF_FORMAT:
            raise KeyStoreDamaged("%s: format is %r, expected %r" % (name, doc.get("format"), KSF_FORMAT))
        if doc.get("version") != KSF_VERSION:
            raise KeyStoreDamaged("%s: unsupported version %r (this code reads version %d)"
                                  % (name, doc.get("version"), KSF_VERSION))
        missing = [f for f in _KSF_FIELDS if f not in doc]
        if missing:
            raise KeyStoreDamaged("%s: missing fields %s" % (name, ", ".join(missing)))
        unknown = sorted(set(doc) - set(_KSF_FIELDS))
        if unknown:
            raise KeyStoreDamaged("%s: unknown fields %s" % (name, ", ".join(unknown)))
        root_key = _b64d(doc["root_key"], "%s: root_key" % name)
        if len(root_key) != KEY_LEN:
            raise KeyStoreDamaged("%s: root_key has %d bytes, expected %d" % (name, len(root_key), KEY_LEN))
        mac = _b64d(doc["mac"], "%s: mac" % name)
        expected = hmac.new(_hkdf(root_key, "ascend.mindie ksf v1 mac"), _canonical(doc), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise KeyStoreDamaged("%s: integrity check failed (MAC mismatch): the file was modified or damaged" % name)
        # The MAC passed, so the fields below were written by this code; still check their types.
        domain, generation, active = doc["domain"], doc["generation"], doc["active_key_id"]
        for field, value in (("domain", domain), ("generation", generation), ("active_key_id", active)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise KeyStoreDamaged("%s: %s must be a positive integer" % (name, field))
        if not isinstance(doc["keys"], list) or not doc["keys"]:
            raise KeyStoreDamaged("%s: keys must be a non-empty list" % name)
        kek = AESGCM(_hkdf(root_key, "ascend.mindie ksf v1 kek"))
        keys = {}
        for entry in doc["keys"]:
            if not isinstance(entry, dict) or set(entry) != {"id", "created", "wrapped"}:
                raise KeyStoreDamaged("%s: malformed key entry" % name)
            key_id = entry["id"]
            if not isinstance(key_id, int) or key_id < 1 or key_id in keys:
                raise KeyStoreDamaged("%s: bad or duplicate key id %r" % (name, key_id))
            wrapped = _b64d(entry["wrapped"], "%s: key %d" % (name, key_id))
            try:
                material = kek.decrypt(wrapped[:NONCE_LEN], wrapped[NONCE_LEN:], _wrap_aad(domain, key_id))
            except (InvalidTag, ValueError):
                raise KeyStoreDamaged("%s: key %d cannot be unwrapped with the root key" % (name, key_id))
            keys[key_id] = (material, entry["created"])
        if active not in keys:
            raise KeyStoreDamaged("%s: active key id %d is not in the store" % (name, active))
        return cls(domain, root_key, keys, active, generation, doc["created"], doc["updated"])

    def to_bytes(self):
        kek = AESGCM(_hkdf(self._root_key, "ascend.mindie ksf v1 kek"))
        entries = []
        for key_id in sorted(self._keys):
            material, created = self._keys[key_id]
            nonce = os.urandom(NONCE_LEN)
            wrapped = nonce + kek.encrypt(nonce, material, _wrap_aad(self.domain, key_id))
            entries.append({"id": key_id, "created": created, "wrapped": _b64e(wrapped)})
        doc = {
            "format": KSF_FORMAT, "version": KSF_VERSION, "domain": self.domain,
            "generation": self.generation, "created": self.created, "updated": self.updated,
            "root_key": _b64e(self._root_key), "active_key_id": self.active_key_id, "keys": entries,
        }
        doc["mac"] = _b64e(hmac.new(_hkdf(self._root_key, "ascend.mindie ksf v1 mac"), _canonical(doc),
                                    hashlib.sha256).digest())
        return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode("utf-8")

    def root_key_fingerprint(self):
        """Short public identifier of the store (tells two different stores apart)."""
        return hashlib.sha256(b"ascend.mindie ksf id" + self._root_key).hexdigest()[:16]

    def same_lineage(self, other):
        """Whether ``other`` is an older or newer state of this store: rotation replaces the root key
        but keeps the newest two domain keys, so consecutive states share at least one key."""
        return any(k in other._keys and hmac.compare_digest(other._keys[k][0], m[0]) for k, m in self._keys.items())

    # keys ---------------------------------------------------------------------------------
    @property
    def key_ids(self):
        return sorted(self._keys)

    def rotate(self, now=None, new_root_key=True):
        """Add a new domain key and make it active, under a new root key (the old root key then
        unwraps nothing in the new files). Older domain keys stay until ``retire`` so old ciphertext
        still decrypts."""
        if len(self._keys) >= MAX_KEYS:
            raise KmcError("the key store already holds %d keys (limit %d)" % (len(self._keys), MAX_KEYS))
        new_id = max(self._keys) + 1
        stamp = _ts(now)
        self._keys[new_id] = (os.urandom(KEY_LEN), stamp)
        self.active_key_id = new_id
        if new_root_key:
            self._root_key = os.urandom(KEY_LEN)
        self.touch(now)
        return new_id

    def retire(self, keep=2):
        """Drop every domain key but the newest ``keep`` (the active one is always kept); returns the
        retired key ids. Re-encrypt ciphertext made with them first: it no longer decrypts."""
        keep_ids = set(sorted(self._keys)[-max(1, keep):]) | {self.active_key_id}
        retired = [k for k in sorted(self._keys) if k not in keep_ids]
        for key_id in retired:
            del self._keys[key_id]
        if retired:
            self.touch()
        return retired

    def touch(self, now=None):
        """Mark the store as changed (a newer generation wins when master and standby differ)."""
        self.generation += 1
        self.updated = _ts(now)

    def _data_key(self, key_id):
        material = self._keys[key_id][0]
        return AESGCM(_hkdf(material, "ascend.mindie kmc v1 data %d" % self.domain))

    # data ---------------------------------------------------------------------------------
    def encrypt(self, plaintext):
        """Encrypt bytes with the active key; return the base64 text of a password file."""
        if not isinstance(plaintext, bytes):
            plaintext = plaintext.encode("utf-8")
        header = _HEADER.pack(CIPHER_MAGIC, CIPHER_VERSION, ALG_AES_256_GCM, self.domain, self.active_key_id)
        nonce = os.urandom(NONCE_LEN)
        sealed = self._data_key(self.active_key_id).encrypt(nonce, plaintext, header)
        return _b64e(header + nonce + sealed)

    def decrypt(self, text):
        """Decrypt a password file's text; tampering raises DecryptionError, never returns garbage."""
        key_id = ciphertext_key_id(text)
        blob = _decode_blob(text)
        if key_id not in self._keys:
            raise UnknownKeyId("the ciphertext was made with key id %d, the key store holds key ids %s"
                               % (key_id, ", ".join(str(k) for k in self.key_ids)))
        header, nonce, sealed = blob[:_HEADER.size], blob[_HEADER.size:_HEADER.size + NONCE_LEN], \
            blob[_HEADER.size + NONCE_LEN:]
        if _HEADER.unpack(header)[3] != self.domain:
            raise DecryptionError("the ciphertext belongs to domain %d, the key store to domain %d"
                                  % (_HEADER.unpack(header)[3], self.domain))
        try:
            return self._data_key(key_id).decrypt(nonce, sealed, header)
        except InvalidTag:
            raise DecryptionError("authentication failed: the ciphertext was modified or was not made "
                                  "with this key store")


def _decode_blob(text):
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise CiphertextError("the ciphertext is not ASCII base64 text")
    blob = _b64d(text.strip(), "the ciphertext", exc=CiphertextError)
    if len(blob) < _HEADER.size + NONCE_LEN + TAG_LEN:
        raise CiphertextError("the ciphertext is too short (%d bytes)" % len(blob))
    magic, version, alg, _domain, _key_id = _HEADER.unpack(blob[:_HEADER.size])
    if magic != CIPHER_MAGIC:
        raise CiphertextError("the ciphertext does not start with the %r magic: not an ascend.mindie "
                              "KMC-style ciphertext (a vendor KMC file or a plain password?)" % CIPHER_MAGIC.decode())
    if version != CIPHER_VERSION or alg != ALG_AES_256_GCM:
        raise CiphertextError("unsupported ciphertext version %d / algorithm %d" % (version, alg))
    return blob


def ciphertext_key_id(text):
    """Key id a ciphertext was made with (raises CiphertextError for anything else)."""
    return _HEADER.unpack(_decode_blob(text)[:_HEADER.size])[4]


# files ------------------------------------------------------------------------------------
def atomic_write(path, data, mode=0o600):
    """Write ``data`` to ``path`` via a temp file in the same directory, created with ``mode``.

    Readers never see a half-written file, and the content never exists with wider permissions.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def read_if_exists(path):
    """The file's bytes, or None when it does not exist (other errors raise)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IOError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


class LoadResult(object):
    """A loaded key store and what was found in each file.

    ``master_state``/``standby_state`` are ``ok``, ``missing``, ``stale`` (valid, older generation)
    or ``damaged``; ``problems`` holds the reasons. ``needs_repair`` says a rewrite would fix a file.
    """

    def __init__(self, store, master_state, standby_state, problems):
        self.store = store
        self.master_state = master_state
        self.standby_state = standby_state
        self.problems = problems

    @property
    def needs_repair(self):
        return self.master_state != "ok" or self.standby_state != "ok"

    def as_dict(self):
        return {"master": self.master_state, "standby": self.standby_state, "problems": list(self.problems),
                "generation": self.store.generation, "key_ids": self.store.key_ids,
                "active_key_id": self.store.active_key_id}


def load_pair(master_path, standby_path):
    """Load the key store from its master file, falling back to the standby.

    Nothing is written here: the caller decides whether to repair (``write_pair``). Raises
    KeyStoreMissing when neither file exists and KeyStoreUnavailable when no file is usable.
    """
    _require_cryptography()
    found = {}
    states = {}
    problems = []
    for role, path in (("master", master_path), ("standby", standby_path)):
        data = read_if_exists(path)
        if data is None:
            states[role] = "missing"
            continue
        try:
            found[role] = KeyStore.from_bytes(data, name="%s key store %s" % (role, path))
            states[role] = "ok"
        except KeyStoreDamaged as exc:
            states[role] = "damaged"
            problems.append(str(exc))
    if not found:
        if states["master"] == "missing" and states["standby"] == "missing":
            raise KeyStoreMissing("no key store: neither %s nor %s exists" % (master_path, standby_path))
        raise KeyStoreUnavailable("no usable key store, nothing was changed: %s" % "; ".join(
            problems + ["%s key store %s is missing" % (r, p) for r, p in
                        (("master", master_path), ("standby", standby_path)) if states[r] == "missing"]))
    if len(found) == 2:
        master, standby = found["master"], found["standby"]
        if not master.same_lineage(standby):
            # Two different stores: trust the master, the standby is a stray file.
            states["standby"] = "damaged"
            problems.append("standby key store %s belongs to another key store (no domain key in common)" % standby_path)
            return LoadResult(master, states["master"], states["standby"], problems)
        if standby.generation > master.generation:
            states["master"] = "stale"
            problems.append("master key store %s is older (generation %d) than the standby (generation %d)"
                            % (master_path, master.generation, standby.generation))
            return LoadResult(standby, states["master"], states["standby"], problems)
        if master.generation > standby.generation:
            states["standby"] = "stale"
            problems.append("standby key store %s is older (generation %d) than the master (generation %d)"
                            % (standby_path, standby.generation, master.generation))
        return LoadResult(master, states["master"], states["standby"], problems)
    role = "master" if "master" in found else "standby"
    return LoadResult(found[role], states["master"], states["standby"], problems)


def write_pair(store, master_path, standby_path, mode=0o600):
    """Write the store to the master, then the standby (each atomically).

    A crash between the two leaves a valid older standby: load_pair picks the newer generation.
    """
    data = store.to_bytes()
    for path in (master_path, standby_path):
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        atomic_write(path, data, mode)
