# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend of the cert module: issue or keep a fixed-address leaf certificate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import set_attributes


def _diff_text(summary):
    keys = ("subject", "serial_number", "not_after", "alt_names", "issuer")
    return "".join("%s: %s\n" % (k, summary[k]) for k in keys if k in summary)


class Issuer(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        for option in ("cert_name", "key_name", "passwd_name"):
            if "/" in self.p[option] or self.p[option] in ("", ".", ".."):
                raise pki.PkiError("%s must be a plain file name, got %r" % (option, self.p[option]))
        self.paths = dict((k, os.path.join(self.p["dest"], self.p[k + "_name"])) for k in ("cert", "key", "passwd"))

    def existing_problems(self, ca, info):
        """None when nothing is there yet, else the list of reasons to re-issue (empty = keep)."""
        data = dict((k, kmc.read_if_exists(v)) for k, v in self.paths.items())
        if all(v is None for v in data.values()):
            return None, None
        missing = [self.paths[k] for k, v in data.items() if v is None]
        if missing:
            return ["missing file(s) %s" % ", ".join(sorted(missing))], None
        try:
            cert = pki.load_cert(data["cert"], self.paths["cert"])
            password = ca.keystore.store.decrypt(data["passwd"]).decode("utf-8")
            key = pki.load_private_key(data["key"], password, self.paths["key"])
        except (pki.PkiError, kmc.KmcError, UnicodeDecodeError) as exc:
            return ["the existing material is unusable: %s" % exc], None
        return pki.leaf_problems(cert, ca.cert, info, key, self.p["renew_before_days"]), cert

    def run(self):
        if self.module.check_mode and (self.p["inputs_replaced"] or not os.path.exists(
                os.path.join(self.p["project_dir"], self.p["gen_cert_config"]))):
            # the CA material is created or replaced by an earlier task of this run
            result = {"changed": True, "issued": True, "needs_regeneration": [], "alt_names": {
                "IP": list(self.p["ips"]), "DNS": list(self.p["dns"])}}
            result.update(self.paths)
            return result
        ca = pki.IssuingCA.from_project(self.p["project_dir"], self.p["gen_cert_config"])
        for problem in ca.keystore.problems:
            self.module.warn("key store: %s (run ascend.mindie.kmc_import to repair it)" % problem)
        info = ca.cert_info(self.p["ips"], self.p["dns"])
        reasons, cert = self.existing_problems(ca, info)
        issue = self.p["force"] or reasons is None or bool(reasons)
        before = pki.cert_summary(cert) if cert is not None else {}
        result = {"changed": issue, "issued": issue, "needs_regeneration": reasons or [],
                  "cert": self.paths["cert"], "key": self.paths["key"], "passwd": self.paths["passwd"],
                  "alt_names": {"IP": info["ips"], "DNS": info["dns"]}}
        after = before
        reencrypt = not issue and kmc.ciphertext_key_id(kmc.read_if_exists(self.paths["passwd"])) != ca.keystore.store.active_key_id
        if reencrypt:
            # after a rotation: the next one retires the key this file was made with
            result["changed"] = True
            if not self.module.check_mode:
                password = ca.keystore.store.decrypt(kmc.read_if_exists(self.paths["passwd"]))
                kmc.atomic_write(self.paths["passwd"], (ca.keystore.store.encrypt(password) + "\n").encode("ascii"), 0o400)
        if issue and not self.module.check_mode:
            cert, key_pem, password = ca.issue(info)
            if not os.path.isdir(self.p["dest"]):
                os.makedirs(self.p["dest"], 0o700)
            # key and password first: a crash then leaves the old cert, which no longer matches the
            # key, so the next run re-issues instead of keeping a broken set
            kmc.atomic_write(self.paths["key"], key_pem, 0o400)
            kmc.atomic_write(self.paths["passwd"], (ca.keystore.store.encrypt(password) + "\n").encode("ascii"), 0o400)
            kmc.atomic_write(self.paths["cert"], cert.public_bytes(pki.serialization.Encoding.PEM), 0o400)
            after = pki.cert_summary(cert)
        elif issue:
            after = {"subject": info["subject"], "serial_number": "(new)" if info["serial_number"] == "random"
                     else str(info["serial_number"]), "not_after": "(now + %d days)" % info["expired_time"],
                     "alt_names": {"IP": info["ips"], "DNS": info["dns"]}}
        for k in ("serial_number", "not_after", "days_left"):
            if k in after:
                result[k] = after[k]
        result["changed"] |= self.fix_attributes()
        if self.module._diff:
            result["diff"] = {"before": _diff_text(before), "after": _diff_text(after),
                              "before_header": self.paths["cert"], "after_header": self.paths["cert"]}
        return result

    def fix_attributes(self):
        return set_attributes(self.module, [self.p["dest"]], [(path, 0o400) for path in self.paths.values()])
