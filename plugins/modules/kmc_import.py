#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: kmc_import
short_description: Import a CA certificate and encrypted key into the MindIE layout, password in a KMC-style key store
version_added: 0.1.0
description:
  - The equivalent of C(config_mindie_server_tls_cert.py ./security/ca import_cert <cert> <key>) without the
    interactive prompts. Under O(dest) it places C(security/ca/ca.pem), C(security/ca/ca.key.pem) and
    C(security/ca/ca_passwd.txt), and keeps the key password only as ciphertext under a key store made of a
    master file C(tools/pmt/master/ksfa) and a standby file C(tools/pmt/standby/ksfb).
  - "The key store and ciphertext are this collection's own format (MindIE's KMC is a closed vendor library):
    AES-256-GCM with key ids, so keys can be rotated while older ciphertext still decrypts; see
    docs/kmc-format.md."
  - If the master file is damaged the standby restores it (and the other way round). If both are damaged
    the module fails with both reasons and writes nothing.
  - Checks what the vendor import checks; X.509 v3, not expired, RSA of at least 3072 bits, the key belongs
    to the certificate and decrypts with O(password); the password satisfies MindIE's rules. A signature
    hash other than SHA-256/512, or a certificate without the CA flag or cRLSign, is a warning.
  - Idempotent; the password file is rewritten only when it does not decrypt to O(password) with the
    active key (ciphertext is randomised, so it is compared decrypted).
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - cryptography >= 38 (Python package, on the host that runs the module)
options:
  cert:
    description: Path of the CA certificate (PEM) to import.
    type: path
    required: true
  key:
    description: Path of the encrypted CA private key (PEM) to import.
    type: path
    required: true
  password:
    description:
      - Password of O(key). Stored only as ciphertext; never logged. One of O(password) and O(password_file).
    type: str
  password_file:
    description:
      - KMC-style password file holding the password of O(key) (as M(ascend.mindie.intermediate_ca)
        writes it), decrypted with the key store O(password_ksf_master)/O(password_ksf_standby).
    type: path
    version_added: 0.1.0
  password_ksf_master:
    description: Master key store file that decrypts O(password_file).
    type: path
    version_added: 0.1.0
  password_ksf_standby:
    description: Standby key store file that decrypts O(password_file).
    type: path
    version_added: 0.1.0
  chain:
    description:
      - Trust bundle (the issuing CA, then up to its root) placed at C(security/ca/ca_chain.pem); verifiers
        load it as their CA file. Omitted = no trust bundle (O(cert) is then a self-signed root).
    type: path
    version_added: 0.1.0
  inputs_replaced:
    description:
      - Check mode only; an earlier task of the same run replaces O(cert)/O(key), so the imported material
        is reported as would be written. Ignored in a real run. Missing inputs in check mode are treated
        the same way (an earlier task would create them).
    type: bool
    default: false
    version_added: 0.1.0
  dest:
    description:
      - Project directory that receives the MindIE layout (the directory later mounted at C(/mnt/security)).
    type: path
    required: true
  rotate:
    description:
      - Replace the key store's root key, add a new domain key, make it active and re-encrypt the password
        with it. Keys older than the newest two are then retired, so ciphertext made two rotations ago
        no longer decrypts (re-encrypt other files made with the store, e.g. with M(ascend.mindie.cert),
        before the next rotation).
    type: bool
    default: false
notes:
  - Modes are fixed; C(0400) for the certificate, key and password file, C(0600) for the key store files
    (they are rewritten on rotation and repair), C(0700) for directories.
seealso:
  - module: ascend.mindie.ca
  - module: ascend.mindie.cert
extends_documentation_fragment:
  - ascend.mindie.attributes.files
'''

EXAMPLES = r'''
- name: Import the CA for the Server component
  ascend.mindie.kmc_import:
    cert: "{{ mindie_pki_dir }}/ca/ca.pem"
    key: "{{ mindie_pki_dir }}/ca/ca.key.pem"
    password: "{{ mindie_ca_password }}"
    dest: "{{ mindie_pki_dir }}/components/server"

- name: Rotate the key store key
  ascend.mindie.kmc_import:
    cert: "{{ mindie_pki_dir }}/ca/ca.pem"
    key: "{{ mindie_pki_dir }}/ca/ca.key.pem"
    password: "{{ mindie_ca_password }}"
    dest: "{{ mindie_pki_dir }}/components/server"
    rotate: true
'''

RETURN = r'''
files:
  description: Paths written or checked, by role.
  returned: always
  type: dict
  sample:
    ca_cert: /root/.ascend-mindie/pki/components/server/security/ca/ca.pem
    ca_key: /root/.ascend-mindie/pki/components/server/security/ca/ca.key.pem
    ca_key_pwd: /root/.ascend-mindie/pki/components/server/security/ca/ca_passwd.txt
    kmc_ksf_master: /root/.ascend-mindie/pki/components/server/tools/pmt/master/ksfa
    kmc_ksf_standby: /root/.ascend-mindie/pki/components/server/tools/pmt/standby/ksfb
ca_replaced:
  description: Whether the CA certificate or key was (or would be) written.
  returned: always
  type: bool
  version_added: 0.1.0
retired_key_ids:
  description: Domain key ids dropped from the store by this rotation.
  returned: always
  type: list
  elements: int
  version_added: 0.1.0
updated:
  description: Which of RV(files) were (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
keystore:
  description: State of the key store as found, and what was done about it.
  returned: always
  type: dict
  contains:
    master:
      description: C(ok), C(missing), C(stale) (older generation), C(damaged) or C(created).
      type: str
    standby:
      description: Same values as RV(keystore.master).
      type: str
    problems:
      description: Why a file was not usable.
      type: list
      elements: str
    repaired:
      description: Whether a damaged, stale or missing file was rewritten from the good one.
      type: bool
    key_ids:
      description: Key ids in the store.
      type: list
      elements: int
    active_key_id:
      description: Key id new ciphertext is made with.
      type: int
    generation:
      description: Write counter of the store.
      type: int
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module

LAYOUT = {
    "ca_cert": ("security/ca/ca.pem", 0o400),
    "ca_key": ("security/ca/ca.key.pem", 0o400),
    "ca_key_pwd": ("security/ca/ca_passwd.txt", 0o400),
    "ca_chain": ("security/ca/ca_chain.pem", 0o400),
    "kmc_ksf_master": ("tools/pmt/master/ksfa", 0o600),
    "kmc_ksf_standby": ("tools/pmt/standby/ksfb", 0o600),
}


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


class Importer(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.files = dict((k, os.path.join(self.p["dest"], rel)) for k, (rel, _mode) in LAYOUT.items())
        if not self.p["chain"]:
            del self.files["ca_chain"]
        self.password = None

    def source_password(self):
        if self.p["password"] is not None:
            return self.p["password"]
        try:
            store = kmc.load_pair(self.p["password_ksf_master"], self.p["password_ksf_standby"]).store
            return store.decrypt(pki.read_file(self.p["password_file"], "password file")).decode("utf-8")
        except (kmc.KmcError, UnicodeDecodeError) as exc:
            raise pki.PkiError("cannot decrypt password_file %s: %s" % (self.p["password_file"], exc))

    def inputs_pending(self):
        """Check mode: the inputs do not exist yet or an earlier task replaces them."""
        if not self.module.check_mode:
            return False
        sources = [self.p["cert"], self.p["key"]] + [self.p[k] for k in ("password_file", "chain") if self.p[k]]
        return self.p["inputs_replaced"] or not all(os.path.exists(path) for path in sources)

    def check_material(self):
        """The vendor import_cert checks: hard failures raise, soft ones warn."""
        self.password = self.source_password()
        pki.validate_password(self.password, what="the CA key password (option password)")
        cert_pem = pki.read_file(self.p["cert"], "certificate")
        key_pem = pki.read_file(self.p["key"], "private key")
        cert = pki.load_cert(cert_pem, "certificate %s" % self.p["cert"])
        if cert.version != pki.x509.Version.v3:
            raise pki.PkiError("certificate %s is not X.509 v3; MindIE requires v3" % self.p["cert"])
        if pki.days_left(cert) < 0:
            raise pki.PkiError("certificate %s expired on %s" % (self.p["cert"], pki.not_after(cert).isoformat()))
        key = pki.load_private_key(key_pem, self.password, "private key %s" % self.p["key"])
        if key.key_size < pki.MIN_RSA_BITS:
            raise pki.PkiError("private key %s has %d bits; MindIE requires at least %d"
                               % (self.p["key"], key.key_size, pki.MIN_RSA_BITS))
        if pki.public_der(key) != pki.public_der(cert):
            raise pki.PkiError("private key %s does not belong to certificate %s" % (self.p["key"], self.p["cert"]))
        if not pki.describe_key_pem(key_pem)["encrypted"]:
            raise pki.PkiError("private key %s is not encrypted; import an encrypted key" % self.p["key"])
        algorithm = getattr(cert.signature_hash_algorithm, "name", None)
        if algorithm not in ("sha256", "sha512"):
            self.module.warn("certificate %s is signed with %s; MindIE expects sha256 or sha512" % (self.p["cert"], algorithm))
        try:
            bc = cert.extensions.get_extension_for_class(pki.x509.BasicConstraints).value
            ku = cert.extensions.get_extension_for_class(pki.x509.KeyUsage).value
            if not (bc.ca and ku.key_cert_sign and ku.crl_sign):
                raise pki.x509.ExtensionNotFound("flags", None)
        except pki.x509.ExtensionNotFound:
            self.module.warn("certificate %s lacks the CA flag, keyCertSign or cRLSign" % self.p["cert"])
        chain_pem = None
        if self.p["chain"]:
            chain_pem = pki.read_file(self.p["chain"], "trust bundle")
            first = pki.load_certs(chain_pem, "trust bundle %s" % self.p["chain"])[0]
            if pki.public_der(first) != pki.public_der(cert):
                raise pki.PkiError("trust bundle %s does not start with certificate %s" % (self.p["chain"], self.p["cert"]))
        return cert_pem, key_pem, chain_pem

    def load_store(self):
        master, standby = self.files["kmc_ksf_master"], self.files["kmc_ksf_standby"]
        try:
            loaded = kmc.load_pair(master, standby)
        except kmc.KeyStoreMissing:
            store = kmc.KeyStore.new()
            return store, {"master": "created", "standby": "created", "problems": [], "repaired": False}, True
        # KeyStoreUnavailable propagates: both damaged -> fail, nothing written.
        state = {"master": loaded.master_state, "standby": loaded.standby_state,
                 "problems": loaded.problems, "repaired": loaded.needs_repair}
        for problem in loaded.problems:
            self.module.warn("key store: %s; %s" % (problem, "restoring it from the good copy" if not
                                                    self.module.check_mode else "would restore it"))
        return loaded.store, state, loaded.needs_repair

    def pending_result(self):
        """Check mode with inputs an earlier task creates or replaces: everything would be written."""
        updated = sorted(k for k in self.files if k.startswith("ca_"))
        try:
            loaded = kmc.load_pair(self.files["kmc_ksf_master"], self.files["kmc_ksf_standby"])
            state = {"master": loaded.master_state, "standby": loaded.standby_state, "problems": loaded.problems,
                     "repaired": loaded.needs_repair}
            if loaded.needs_repair or self.p["rotate"]:
                updated += ["kmc_ksf_master", "kmc_ksf_standby"]
        except kmc.KeyStoreMissing:
            state = {"master": "created", "standby": "created", "problems": [], "repaired": False}
            updated += ["kmc_ksf_master", "kmc_ksf_standby"]
        state.update({"key_ids": [], "active_key_id": 0, "generation": 0})
        result = {"changed": True, "files": self.files, "updated": sorted(updated), "keystore": state,
                  "ca_replaced": True, "retired_key_ids": []}
        if self.module._diff:
            result["diff"] = {"before": self._describe(None), "after": self._describe(updated),
                              "before_header": self.p["dest"], "after_header": self.p["dest"]}
        return result

    def run(self):
        if self.inputs_pending():
            return self.pending_result()
        cert_pem, key_pem, chain_pem = self.check_material()
        store, state, store_dirty = self.load_store()
        updated = []
        retired = []
        if self.p["rotate"]:
            store.rotate()
            store_dirty = True
        writes = {}
        sources = [("ca_cert", cert_pem), ("ca_key", key_pem)] + ([("ca_chain", chain_pem)] if chain_pem else [])
        for name, data in sources:
            if _read(self.files[name]) != data:
                writes[name] = data
        current = _read(self.files["ca_key_pwd"])
        pwd_ok = False
        if current is not None and not self.p["rotate"]:
            try:
                pwd_ok = (store.decrypt(current) == self.password.encode("utf-8")
                          and kmc.ciphertext_key_id(current) == store.active_key_id)
            except kmc.KmcError as exc:
                self.module.warn("%s does not decrypt with the key store (%s); writing a new one"
                                 % (self.files["ca_key_pwd"], exc))
        if not pwd_ok:
            writes["ca_key_pwd"] = (store.encrypt(self.password) + "\n").encode("ascii")
        # the password is re-encrypted with the newest key above, so the oldest keys can go
        retired = store.retire(keep=2)
        if retired:
            store_dirty = True
        if store_dirty:
            updated += ["kmc_ksf_master", "kmc_ksf_standby"]
        updated += sorted(writes)
        changed = bool(updated)
        if not self.module.check_mode:
            if store_dirty:
                kmc.write_pair(store, self.files["kmc_ksf_master"], self.files["kmc_ksf_standby"], mode=0o600)
            for name, data in writes.items():
                path = self.files[name]
                if not os.path.isdir(os.path.dirname(path)):
                    os.makedirs(os.path.dirname(path), 0o700)
                kmc.atomic_write(path, data, LAYOUT[name][1])
        changed |= self.fix_attributes()
        state.update({"key_ids": store.key_ids, "active_key_id": store.active_key_id,
                      "generation": store.generation})
        result = {"changed": changed, "files": self.files, "updated": updated, "keystore": state,
                  "ca_replaced": "ca_cert" in writes or "ca_key" in writes, "retired_key_ids": retired}
        if self.module._diff:
            result["diff"] = {"before": self._describe(None), "after": self._describe(updated),
                              "before_header": self.p["dest"], "after_header": self.p["dest"]}
        return result

    def _describe(self, updated):
        lines = []
        for name in sorted(self.files):
            exists = os.path.exists(self.files[name])
            if updated is None:
                state = "present" if exists else "absent"
            else:
                state = ("written" if name in updated else ("present" if exists else "absent"))
            # never content: the password file is ciphertext, but the diff is shown in logs
            lines.append("%s: %s\n" % (LAYOUT[name][0], state))
        return "".join(lines)

    def fix_attributes(self):
        changed = False
        dest = self.p["dest"]
        base = {"owner": self.p["owner"], "group": self.p["group"], "secontext": None, "attributes": None}
        dirs = set([""])  # dest itself: the component directory is 0700 too
        for rel, _mode in LAYOUT.values():
            parts = os.path.dirname(rel).split("/")
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for rel in sorted(dirs):
            path = os.path.join(dest, rel) if rel else dest
            if os.path.isdir(path):
                changed |= self.module.set_fs_attributes_if_different(dict(base, path=path, mode="0700"), False)
        for name, (rel, mode) in LAYOUT.items():
            if name in self.files and os.path.exists(self.files[name]):
                changed |= self.module.set_fs_attributes_if_different(
                    dict(base, path=self.files[name], mode="%04o" % mode), False)
        return changed


def main():
    module = AnsibleModule(
        argument_spec=pki_argument_spec(
            cert=dict(type="path", required=True),
            key=dict(type="path", required=True, no_log=False),
            password=dict(type="str", no_log=True),
            password_file=dict(type="path", no_log=False),
            password_ksf_master=dict(type="path", no_log=False),
            password_ksf_standby=dict(type="path", no_log=False),
            chain=dict(type="path"),
            dest=dict(type="path", required=True),
            rotate=dict(type="bool", default=False),
            inputs_replaced=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("password", "password_file")],
        required_one_of=[("password", "password_file")],
        required_together=[("password_file", "password_ksf_master", "password_ksf_standby")],
        supports_check_mode=True,
    )
    run_pki_module(module, Importer, "import into %s" % module.params["dest"])


if __name__ == "__main__":
    main()
