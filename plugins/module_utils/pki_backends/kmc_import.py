# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend of the kmc_import module: a component security layout from a CA."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import set_attributes

LAYOUT = pki.SECURITY_LAYOUT


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
            if kmc.read_if_exists(self.files[name]) != data:
                writes[name] = data
        current = kmc.read_if_exists(self.files["ca_key_pwd"])
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
        dest = self.p["dest"]
        dirs = set([""])  # dest itself: the component directory is 0700 too
        for rel, _mode in LAYOUT.values():
            parts = os.path.dirname(rel).split("/")
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        return set_attributes(self.module, [os.path.join(dest, rel) if rel else dest for rel in sorted(dirs)],
                              [(self.files[name], mode) for name, (_rel, mode) in LAYOUT.items() if name in self.files])
