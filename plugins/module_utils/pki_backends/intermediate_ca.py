# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend of the intermediate_ca module: keep, check or renew it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import set_attributes

FILES = {"cert": ("ca.pem", 0o400), "key": ("ca.key.pem", 0o400), "passwd": ("ca_passwd.txt", 0o400),
         "chain": ("ca_chain.pem", 0o400), "previous": ("previous.pem", 0o400),
         "ksf_master": ("ksfa", 0o600), "ksf_standby": ("ksfb", 0o600)}


class Intermediate(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.paths = dict((k, os.path.join(self.p["path"], name)) for k, (name, _mode) in FILES.items())

    def validate(self):
        p = self.p
        pki.validate_password(p["root_password"], what="the root CA key password (option root_password)")
        pki.subject_to_name(p["subject"])
        pki.check_key_size(p["key_size"])
        if not 1 <= p["valid_days"] <= 3650:
            raise pki.PkiError("valid_days is %d: the intermediate lives between 1 and 3650 days" % p["valid_days"])
        if p["renew_before_days"] < 0 or p["renew_before_days"] >= p["valid_days"]:
            raise pki.PkiError("renew_before_days (%d) must be below valid_days (%d), or a new intermediate would "
                               "already be due for renewal" % (p["renew_before_days"], p["valid_days"]))
        self.ips = pki.normalize_networks(p["permitted_ips"], "permitted_ips")
        if not self.ips:
            raise pki.PkiError("permitted_ips is empty: give the cluster's pod and node address ranges")
        self.dns = pki.normalize_dns_subtrees(p["permitted_dns"])
        ips, dns = [], []
        for name in p["names"]:
            try:
                ips.append(str(pki.ipaddress.ip_address(name.strip())))
            except ValueError:
                dns.append(name.strip())
        outside = pki.names_outside_constraints(self.ips, self.dns, ips, dns)
        if outside:
            raise pki.PkiError("%s outside the permitted ranges %s and DNS names %s: certificates naming them would "
                               "not verify; widen mindie_pod_cidrs / mindie_node_cidrs / mindie_service_cidrs or "
                               "pki_intermediate_permitted_dns, or drop the name"
                               % (", ".join(outside) + (" is" if len(outside) == 1 else " are"),
                                  ", ".join(str(n) for n in self.ips), ", ".join(self.dns) or "(none)"))

    def load_existing(self, root):
        """(cert, reasons): reasons is None when nothing exists yet, [] when the intermediate is kept."""
        cert_pem, key_pem, pwd = (kmc.read_if_exists(self.paths[k]) for k in ("cert", "key", "passwd"))
        if cert_pem is None and key_pem is None and pwd is None:
            return None, None
        try:
            cert = pki.load_cert(cert_pem or b"", self.paths["cert"])
            store = kmc.load_pair(self.paths["ksf_master"], self.paths["ksf_standby"]).store
            password = store.decrypt(pwd or b"").decode("utf-8")
            key = pki.load_private_key(key_pem or b"", password, self.paths["key"])
        except (pki.PkiError, kmc.KmcError, UnicodeDecodeError) as exc:
            return None, ["the existing intermediate is unusable: %s" % exc]
        return cert, pki.intermediate_problems(cert, root, key, self.p["subject"], self.ips, self.dns,
                                               self.p["renew_before_days"])

    def run(self):
        self.validate()
        check = self.module.check_mode
        result = {"changed": False, "created": [], "renewed": False, "needs_renewal": []}
        result.update(self.paths)
        root_pem = kmc.read_if_exists(self.p["root_cert"])
        if root_pem is None or (check and self.p["inputs_replaced"]):
            if not check:
                raise pki.PkiError("the root CA certificate %s does not exist: run ascend.mindie.ca first" % self.p["root_cert"])
            # check mode: the root is created or replaced by an earlier task, so is this
            result.update(changed=True, renewed=True, created=sorted(n for n, _m in FILES.values() if n != "previous.pem"))
            return result
        root = pki.load_cert(root_pem, self.p["root_cert"])
        cert, reasons = self.load_existing(root)
        issue = reasons is None or bool(reasons)
        result["needs_renewal"] = reasons or []
        if issue:
            result["renewed"] = True
            result["created"] = ["ca.key.pem", "ca_passwd.txt", "ca.pem", "ca_chain.pem"]
            if not check:
                cert = self.issue(root, cert)
        previous = self.previous(root, cert)
        chain = pki.chain_bundle([c for c in (cert, previous) if c is not None], root) if cert is not None else None
        if chain is not None and kmc.read_if_exists(self.paths["chain"]) != chain and "ca_chain.pem" not in result["created"]:
            result["created"].append("ca_chain.pem")
        if chain is not None and not check:
            if kmc.read_if_exists(self.paths["chain"]) != chain:
                kmc.atomic_write(self.paths["chain"], chain, FILES["chain"][1])
        result["changed"] = bool(result["created"])
        if os.path.isdir(self.p["path"]):
            result["changed"] |= self.fix_attributes()
        if cert is not None and not (check and issue):
            summary = pki.cert_summary(cert)
            result.update(not_after=summary["not_after"], days_left=summary["days_left"],
                          fingerprint_sha256=summary["fingerprint_sha256"])
        if self.module._diff:
            result["diff"] = {"before": "", "after": "".join("%s: written\n" % n for n in result["created"]),
                              "before_header": self.p["path"], "after_header": self.p["path"]}
        return result

    def previous(self, root, cert):
        """The previous intermediate while it still verifies with this root and has not expired."""
        pem = kmc.read_if_exists(self.paths["previous"])
        if pem is None or cert is None:
            return None
        try:
            prev = pki.load_cert(pem, self.paths["previous"])
            pki.verify_signature(prev, root)
        except pki.PkiError:
            return None
        if pki.days_left(prev) < 0 or pki.public_der(prev) == pki.public_der(cert):
            return None
        return prev

    def issue(self, root, old_cert):
        p = self.p
        root_key = pki.load_private_key(pki.read_file(p["root_key"], "root CA key"), p["root_password"],
                                        "root CA key %s (option root_password)" % p["root_key"])
        if pki.public_der(root_key) != pki.public_der(root):
            raise pki.PkiError("root CA key %s does not belong to %s" % (p["root_key"], p["root_cert"]))
        if not os.path.isdir(p["path"]):
            os.makedirs(p["path"], 0o700)
        try:
            store = kmc.load_pair(self.paths["ksf_master"], self.paths["ksf_standby"]).store
        except kmc.KmcError:
            store = kmc.KeyStore.new()
        password = pki.generate_password()
        key = pki.generate_rsa_key(p["key_size"])
        cert = pki.build_intermediate_cert(root_key, root, key, p["subject"], p["valid_days"], self.ips, self.dns)
        pki.verify_signature(cert, root)
        if old_cert is not None and old_cert.issuer == root.subject:
            # kept for the trust bundle while pods still hold certificates from it
            kmc.atomic_write(self.paths["previous"], old_cert.public_bytes(pki.serialization.Encoding.PEM),
                             FILES["previous"][1])
        kmc.write_pair(store, self.paths["ksf_master"], self.paths["ksf_standby"], mode=0o600)
        # key and password first: a crash leaves an old certificate that no longer matches the key,
        # which the next run reports and replaces
        kmc.atomic_write(self.paths["key"], pki.encrypt_key_pem(key, password), FILES["key"][1])
        kmc.atomic_write(self.paths["passwd"], (store.encrypt(password) + "\n").encode("ascii"), FILES["passwd"][1])
        kmc.atomic_write(self.paths["cert"], cert.public_bytes(pki.serialization.Encoding.PEM), FILES["cert"][1])
        return cert

    def fix_attributes(self):
        return set_attributes(self.module, [self.p["path"]],
                              [(self.paths[name], mode) for name, (_fname, mode) in FILES.items()])
