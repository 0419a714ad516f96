#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cert
short_description: Issue a MindIE component certificate signed by the CA, key password in the KMC-style store
version_added: 0.1.0
description:
  - The equivalent of C(config_mindie_server_tls_cert.py ./ gen_cert ./gen_cert.json --ip=...) for a
    component (Server, Controller, Coordinator) whose addresses are known in advance. Pods whose IP is
    only known at start use the same code through the in-pod script of the C(ascend.mindie.pki) role.
  - Reads C(gen_cert.json) in O(project_dir) (paths relative to O(project_dir)); the CA key password is
    decrypted from the KMC-style password file with the key store it names.
  - Writes into O(dest) the certificate, a new RSA key encrypted (PKCS#1, AES-256) with its own random
    password, and that password as ciphertext under the same key store (all mode C(0400)).
  - Subject, validity, serial number, key size and alternative names come from C(cert_info.json);
    O(ips) and O(dns) are added to its C(alt_names).
  - Idempotent; an existing certificate is kept while it is signed by the current CA, matches
    C(cert_info.json) and the extra names, belongs to its key, and has more than O(renew_before_days)
    left. Otherwise it is re-issued (the renewal path) and the reasons are returned. A kept
    certificate's password file is re-encrypted with the key store's active key after a rotation.
  - Names outside the issuing CA's name constraints are refused before anything is written.
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - cryptography >= 38 (Python package, on the host that runs the module)
options:
  project_dir:
    description: Directory holding C(gen_cert.json) and the layout it points to (as made by M(ascend.mindie.kmc_import)).
    type: path
    required: true
  gen_cert_config:
    description: Name of the C(gen_cert.json) file inside O(project_dir).
    type: str
    default: gen_cert.json
  dest:
    description: Directory for the issued files. Created with mode C(0700).
    type: path
    required: true
  ips:
    description: IP addresses added to C(alt_names.IP).
    type: list
    elements: str
    default: []
  dns:
    description: DNS names added to C(alt_names.DNS).
    type: list
    elements: str
    default: []
  cert_name:
    description: File name of the certificate in O(dest).
    type: str
    default: cert.pem
  key_name:
    description: File name of the encrypted private key in O(dest).
    type: str
    default: cert.key.pem
  passwd_name:
    description: File name of the KMC-style password file in O(dest).
    type: str
    default: cert_passwd.txt
  renew_before_days:
    description: Re-issue when the certificate has fewer days left than this.
    type: int
    default: 30
  force:
    description: Re-issue even if the existing certificate is good.
    type: bool
    default: false
  inputs_replaced:
    description:
      - Check mode only; an earlier task of the same run replaces the issuing CA or its key store, so the
        certificate is reported as would be issued. Ignored in a real run. Missing inputs in check mode
        are treated the same way (an earlier task would create them).
    type: bool
    default: false
    version_added: 0.1.0
seealso:
  - module: ascend.mindie.ca
  - module: ascend.mindie.kmc_import
extends_documentation_fragment:
  - ascend.mindie.attributes.files
'''

EXAMPLES = r'''
- name: Issue the Coordinator certificate for its service address
  ascend.mindie.cert:
    project_dir: "{{ mindie_pki_dir }}/components/coordinator"
    dest: "{{ mindie_pki_dir }}/issued/coordinator"
    ips: ["198.18.0.10"]
    dns: [mindie-ms-coordinator-infer.mindie.svc]
  register: pki_cert_result

- name: Show how long it is valid
  ansible.builtin.debug:
    msg: "{{ pki_cert_result.days_left }} days left"
'''

RETURN = r'''
cert:
  description: Path of the issued certificate.
  returned: always
  type: str
key:
  description: Path of the encrypted private key.
  returned: always
  type: str
passwd:
  description: Path of the KMC-style password file of the key.
  returned: always
  type: str
issued:
  description: Whether a certificate was (or, in check mode, would be) issued.
  returned: always
  type: bool
needs_regeneration:
  description: Why the existing certificate was re-issued; empty when it was kept or did not exist.
  returned: always
  type: list
  elements: str
serial_number:
  description: Serial number (decimal string).
  returned: unless a new certificate would be issued in check mode
  type: str
not_after:
  description: End of validity (UTC, ISO 8601).
  returned: unless a new certificate would be issued in check mode
  type: str
days_left:
  description: Whole days until the certificate expires.
  returned: unless a new certificate would be issued in check mode
  type: int
alt_names:
  description: Alternative names requested (C(IP) and C(DNS) lists).
  returned: always
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


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
        data = dict((k, _read(v)) for k, v in self.paths.items())
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
        reencrypt = not issue and kmc.ciphertext_key_id(_read(self.paths["passwd"])) != ca.keystore.store.active_key_id
        if reencrypt:
            # after a rotation: the next one retires the key this file was made with
            result["changed"] = True
            if not self.module.check_mode:
                password = ca.keystore.store.decrypt(_read(self.paths["passwd"]))
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
        base = {"owner": self.p["owner"], "group": self.p["group"], "secontext": None, "attributes": None}
        changed = False
        if os.path.isdir(self.p["dest"]):
            changed |= self.module.set_fs_attributes_if_different(dict(base, path=self.p["dest"], mode="0700"), False)
        for path in self.paths.values():
            if os.path.exists(path):
                changed |= self.module.set_fs_attributes_if_different(dict(base, path=path, mode="0400"), False)
        return changed


def main():
    module = AnsibleModule(
        argument_spec=pki_argument_spec(
            project_dir=dict(type="path", required=True),
            gen_cert_config=dict(type="str", default="gen_cert.json"),
            dest=dict(type="path", required=True),
            ips=dict(type="list", elements="str", default=[]),
            dns=dict(type="list", elements="str", default=[]),
            cert_name=dict(type="str", default="cert.pem"),
            key_name=dict(type="str", default="cert.key.pem", no_log=False),
            passwd_name=dict(type="str", default="cert_passwd.txt", no_log=False),
            renew_before_days=dict(type="int", default=30),
            force=dict(type="bool", default=False),
            inputs_replaced=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_pki_module(module, Issuer, "issue the certificate into %s" % module.params["dest"])


if __name__ == "__main__":
    main()
