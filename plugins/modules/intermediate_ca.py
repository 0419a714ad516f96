#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: intermediate_ca
short_description: Per-deployment intermediate CA signed by the MindIE root CA, name-constrained and short-lived
version_added: 0.1.0
description:
  - Keeps, in O(path), the CA that issues the pods' certificates, so that the root CA's key never leaves
    the CA host. The intermediate is signed by the root CA (O(root_cert), O(root_key)), has
    C(CA:TRUE, pathlen:0), C(keyCertSign) and C(cRLSign), and critical name constraints that permit only
    O(permitted_ips) and O(permitted_dns) (with no DNS name given, only the reserved name C(invalid), so
    no real DNS name can be certified).
  - "Files: C(ca.pem) (certificate), C(ca.key.pem) (PKCS#1 PEM, AES-256, with its own random
    32-character password), C(ca_passwd.txt) (that password as KMC-style ciphertext, see
    docs/kmc-format.md) with its key store C(ksfa)/C(ksfb), C(ca_chain.pem) (trust bundle: this
    intermediate, the previous one while it is still valid, then the root) and C(previous.pem)."
  - The intermediate is replaced (new key, new certificate) when it has fewer than O(renew_before_days)
    left, no longer verifies with the root (the root was replaced), or its subject or name constraints
    differ from the options. The previous certificate stays in the trust bundle until it expires, so
    pods that still hold certificates from it keep talking to renewed ones.
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - cryptography >= 38 (Python package, on the host that runs the module)
options:
  path:
    description: Directory of the intermediate's files (created with mode C(0700)).
    type: path
    required: true
  root_cert:
    description: The root CA certificate (as M(ascend.mindie.ca) makes it).
    type: path
    required: true
  root_key:
    description: The root CA's encrypted private key.
    type: path
    required: true
  root_password:
    description: Password of O(root_key). Never logged, never written anywhere.
    type: str
    required: true
  subject:
    description: Subject of the intermediate (keys C, ST, L, O, OU, CN); must differ from the root's.
    type: dict
    required: true
  key_size:
    description: RSA size of a new intermediate key (MindIE requires at least 3072).
    type: int
    default: 4096
  valid_days:
    description: Validity of a new intermediate certificate in days (capped at the root's end).
    type: int
    default: 365
  renew_before_days:
    description: Replace the intermediate when it has fewer days left; must be below O(valid_days).
    type: int
    default: 60
  permitted_ips:
    description: Address ranges (CIDR) certificates may name; the cluster's pod and node ranges.
    type: list
    elements: str
    required: true
  permitted_dns:
    description: DNS names (and their subdomains) certificates may name.
    type: list
    elements: str
    default: []
  names:
    description:
      - IP addresses and DNS names that certificates from this intermediate will carry (the configured
        SANs); one outside O(permitted_ips)/O(permitted_dns) is refused before anything is written.
    type: list
    elements: str
    default: []
  inputs_replaced:
    description:
      - Check mode only; an earlier task of the same run replaces the root CA, so every file is reported
        as would be written. Ignored in a real run (the module then sees the new root itself).
    type: bool
    default: false
seealso:
  - module: ascend.mindie.ca
  - module: ascend.mindie.kmc_import
extends_documentation_fragment:
  - ascend.mindie.attributes.files
'''

EXAMPLES = r'''
- name: Keep the deployment's intermediate CA
  ascend.mindie.intermediate_ca:
    path: "{{ mindie_pki_dir }}/intermediate"
    root_cert: "{{ mindie_pki_dir }}/ca/ca.pem"
    root_key: "{{ mindie_pki_dir }}/ca/ca.key.pem"
    root_password: "{{ mindie_ca_password }}"
    subject: {C: CN, O: Huawei, CN: MindIE intermediate}
    permitted_ips: [10.244.0.0/16, 192.168.10.0/24]
'''

RETURN = r'''
cert:
  description: Path of the intermediate certificate.
  returned: always
  type: str
key:
  description: Path of its encrypted key.
  returned: always
  type: str
passwd:
  description: Path of the KMC-style password file of the key.
  returned: always
  type: str
ksf_master:
  description: Path of the key store master file.
  returned: always
  type: str
ksf_standby:
  description: Path of the key store standby file.
  returned: always
  type: str
chain:
  description: Path of the trust bundle (intermediate(s), then the root).
  returned: always
  type: str
created:
  description: Files written by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
renewed:
  description: Whether a new intermediate was (or would be) issued.
  returned: always
  type: bool
needs_renewal:
  description: Why the existing intermediate was replaced; empty when kept or new.
  returned: always
  type: list
  elements: str
not_after:
  description: End of validity of the intermediate now in place (UTC).
  returned: when a certificate exists or was created
  type: str
days_left:
  description: Whole days until it expires.
  returned: when a certificate exists or was created
  type: int
fingerprint_sha256:
  description: SHA-256 fingerprint (hex).
  returned: when a certificate exists or was created
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module

FILES = {"cert": ("ca.pem", 0o400), "key": ("ca.key.pem", 0o400), "passwd": ("ca_passwd.txt", 0o400),
         "chain": ("ca_chain.pem", 0o400), "previous": ("previous.pem", 0o400),
         "ksf_master": ("ksfa", 0o600), "ksf_standby": ("ksfb", 0o600)}


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


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
        cert_pem, key_pem, pwd = (_read(self.paths[k]) for k in ("cert", "key", "passwd"))
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
        root_pem = _read(self.p["root_cert"])
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
        if chain is not None and _read(self.paths["chain"]) != chain and "ca_chain.pem" not in result["created"]:
            result["created"].append("ca_chain.pem")
        if chain is not None and not check:
            if _read(self.paths["chain"]) != chain:
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
        pem = _read(self.paths["previous"])
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
        base = {"owner": self.p["owner"], "group": self.p["group"], "secontext": None, "attributes": None}
        changed = self.module.set_fs_attributes_if_different(dict(base, path=self.p["path"], mode="0700"), False)
        for name, (fname, mode) in FILES.items():
            if os.path.exists(self.paths[name]):
                changed |= self.module.set_fs_attributes_if_different(
                    dict(base, path=self.paths[name], mode="%04o" % mode), False)
        return changed


def main():
    module = AnsibleModule(
        argument_spec=pki_argument_spec(
            path=dict(type="path", required=True),
            root_cert=dict(type="path", required=True),
            root_key=dict(type="path", required=True, no_log=False),
            root_password=dict(type="str", required=True, no_log=True),
            subject=dict(type="dict", required=True),
            key_size=dict(type="int", default=4096),
            valid_days=dict(type="int", default=365),
            renew_before_days=dict(type="int", default=60),
            permitted_ips=dict(type="list", elements="str", required=True),
            permitted_dns=dict(type="list", elements="str", default=[]),
            names=dict(type="list", elements="str", default=[]),
            inputs_replaced=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_pki_module(module, Intermediate, "write the intermediate CA in %s" % module.params["path"])


if __name__ == "__main__":
    main()
