#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: ca
short_description: Self-signed MindIE CA (encrypted PKCS#1 key, CSR, certificate), idempotently
version_added: 0.1.0
description:
  - "Produces what the MindIE document's hand-typed C(openssl) commands produce in C(配置自动生成证书):
    C(ca.key.pem), an RSA private key in PKCS#1 PEM encrypted with AES-256 (C(-----BEGIN RSA PRIVATE KEY-----),
    as C(openssl genrsa -aes256) writes it; mode C(0400)); C(ca.csr) (mode C(0600)); and C(ca.pem), a
    self-signed SHA-256 X.509 v3 certificate with the document's C(v3_ca) extensions (mode C(0400))."
  - The key password must satisfy MindIE's rules (8 to 128 characters, at least two of lower case, upper
    case, digit, special character); a weak one is refused with a message naming the rule.
  - An existing CA is kept when its key decrypts with O(password), matches the certificate, and the
    certificate has the requested subject, the document's extensions and more than O(renew_before_days)
    left. Otherwise the reasons are returned in RV(needs_regeneration) and nothing is replaced unless
    O(force=true).
  - A missing certificate or CSR is recreated from an existing good key (that does not replace the CA key).
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - cryptography >= 38 (Python package, on the host that runs the module)
options:
  path:
    description:
      - Directory of the CA files C(ca.key.pem), C(ca.csr), C(ca.pem). Created with mode C(0700).
    type: path
    required: true
  password:
    description:
      - Password of the CA private key. Never logged, never written anywhere.
    type: str
    required: true
  subject:
    description:
      - Subject of the CA, keys C(C), C(ST), C(L), C(O), C(OU), C(CN) (C(CN) required).
    type: dict
    required: true
  key_size:
    description:
      - RSA key size in bits for a new key. MindIE requires at least 3072.
    type: int
    default: 4096
  valid_days:
    description:
      - Validity of a new CA certificate in days (the document uses 7300).
    type: int
    default: 7300
  renew_before_days:
    description:
      - An existing CA certificate with fewer days left than this is reported in RV(needs_regeneration).
    type: int
    default: 90
  force:
    description:
      - Replace the CA (new key, CSR and certificate) even if the existing one is good, or when
        RV(needs_regeneration) is not empty. Certificates issued by the old CA stop verifying.
    type: bool
    default: false
  replace_fingerprint:
    description:
      - Replace the CA whose SHA-256 fingerprint this is (as C(openssl x509 -noout -fingerprint -sha256)
        prints it, colons optional). Acts once; once replaced, the fingerprint names a backup
        (C(ca.pem.*~)) and nothing happens, so leaving it set is harmless. A fingerprint of no CA here, or
        a value that is not a fingerprint, is an error that names the current fingerprint.
    type: str
    version_added: 0.1.0
  backup:
    description:
      - Keep a timestamped copy of each file that O(force=true) or O(replace_fingerprint) replaces.
    type: bool
    default: true
notes:
  - The certificate serial number is random (159 bits), like C(openssl x509 -req) in OpenSSL 3.
seealso:
  - module: ascend.mindie.kmc_import
  - module: ascend.mindie.cert
extends_documentation_fragment:
  - ascend.mindie.attributes.files
'''

EXAMPLES = r'''
- name: Build the MindIE CA on the CA host
  ascend.mindie.ca:
    path: "{{ mindie_pki_dir }}/ca"
    password: "{{ mindie_ca_password }}"
    subject:
      C: CN
      ST: Sichuan
      L: Chengdu
      O: Huawei
      OU: Ascend
      CN: MindIE
  register: pki_ca_result
  no_log: false  # the password option is already no_log

- name: Replace the CA explicitly
  ascend.mindie.ca:
    path: "{{ mindie_pki_dir }}/ca"
    password: "{{ mindie_ca_password }}"
    subject: "{{ pki_ca_subject }}"
    force: true
'''

RETURN = r'''
ca_cert:
  description: Path of the CA certificate.
  returned: always
  type: str
  sample: /root/.ascend-mindie/pki/ca/ca.pem
ca_key:
  description: Path of the encrypted CA private key.
  returned: always
  type: str
ca_csr:
  description: Path of the CA CSR.
  returned: always
  type: str
created:
  description: Files written by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [ca.key.pem, ca.csr, ca.pem]
regenerated:
  description: Whether an existing CA was replaced (only with O(force=true)).
  returned: always
  type: bool
needs_regeneration:
  description: Why the existing CA cannot be kept as it is; empty when it is good.
  returned: always
  type: list
  elements: str
  sample: ["the certificate expires in 20 day(s), less than the renewal margin of 90"]
subject:
  description: Subject of the CA certificate now in place.
  returned: when a certificate exists or was created
  type: dict
serial_number:
  description: Serial number (decimal string).
  returned: when a certificate exists or was created
  type: str
not_after:
  description: End of validity (UTC, ISO 8601).
  returned: when a certificate exists or was created
  type: str
days_left:
  description: Whole days until the certificate expires.
  returned: when a certificate exists or was created
  type: int
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate (hex).
  returned: when a certificate exists or was created
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module

MODES = {pki.CA_KEY_NAME: 0o400, pki.CA_CSR_NAME: 0o600, pki.CA_CERT_NAME: 0o400}


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


def _summary(cert):
    if cert is None:
        return {}
    data = pki.cert_summary(cert)
    return dict((k, data[k]) for k in ("subject", "serial_number", "not_after", "days_left", "fingerprint_sha256"))


def _diff_text(summary):
    return "".join("%s: %s\n" % (k, summary[k]) for k in sorted(summary))


class CA(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.dir = p["path"]
        self.paths = dict((name, os.path.join(self.dir, name)) for name in MODES)
        self.password = p["password"]
        self.subject = p["subject"]
        self.reasons = []
        self.key = None
        self.cert = None
        self.csr = None

    def validate(self):
        p = self.module.params
        pki.validate_password(self.password, what="the CA key password (option password)")
        pki.subject_to_name(self.subject)
        pki.check_key_size(p["key_size"])
        if p["valid_days"] < 1 or p["valid_days"] > 36500:
            raise pki.PkiError("valid_days is %d, it must be between 1 and 36500" % p["valid_days"])
        if p["valid_days"] <= p["renew_before_days"]:
            raise pki.PkiError("valid_days (%d) must exceed renew_before_days (%d): a new CA would be due for "
                               "replacement at once and stop every later run" % (p["valid_days"], p["renew_before_days"]))
        if p["replace_fingerprint"] is not None and pki.normalize_fingerprint(p["replace_fingerprint"]) is None:
            raise pki.PkiError("replace_fingerprint is not a SHA-256 fingerprint: give the fingerprint of the CA to replace "
                               "(openssl x509 -in %s -noout -fingerprint -sha256)" % self.paths[pki.CA_CERT_NAME])

    def replace_requested(self):
        """Whether replace_fingerprint names the CA in place (True), an earlier CA (False)."""
        wanted = pki.normalize_fingerprint(self.module.params["replace_fingerprint"] or "")
        if wanted is None:
            return False
        current = pki.fingerprint(self.cert) if self.cert is not None else None
        if wanted == current:
            return True
        if self.cert is None and not self.key_exists:
            self.module.warn("replace_fingerprint is set but there is no CA in %s yet: a new one is made" % self.dir)
            return False
        for name in os.listdir(self.dir):
            if name.startswith(pki.CA_CERT_NAME + ".") and name.endswith("~"):
                try:
                    if pki.fingerprint(pki.load_cert(_read(os.path.join(self.dir, name)))) == wanted:
                        return False  # already replaced by an earlier run
                except pki.PkiError:
                    continue
        raise pki.PkiError("replace_fingerprint %s names no CA in %s: the CA there has fingerprint %s (openssl "
                           "x509 -in %s -noout -fingerprint -sha256); nothing was changed"
                           % (self.module.params["replace_fingerprint"], self.dir, current,
                              self.paths[pki.CA_CERT_NAME]))

    def inspect(self):
        """Load what exists and collect every reason that would force a new CA."""
        key_pem = _read(self.paths[pki.CA_KEY_NAME])
        cert_pem = _read(self.paths[pki.CA_CERT_NAME])
        csr_pem = _read(self.paths[pki.CA_CSR_NAME])
        self.key_exists, self.cert_exists = key_pem is not None, cert_pem is not None
        if key_pem is not None:
            info = pki.describe_key_pem(key_pem)
            if not (info["pkcs1"] and info["encrypted"] and info["cipher"] == "AES-256-CBC"):
                self.reasons.append("ca.key.pem is not a PKCS#1 key encrypted with AES-256 (found %s)" % info)
            try:
                self.key = pki.load_private_key(key_pem, self.password, "ca.key.pem")
                if self.key.key_size < pki.MIN_RSA_BITS:
                    self.reasons.append("ca.key.pem has %d bits, MindIE requires at least %d"
                                        % (self.key.key_size, pki.MIN_RSA_BITS))
            except pki.PkiError as exc:
                self.reasons.append(str(exc) + " (option password)")
        if cert_pem is not None:
            try:
                self.cert = pki.load_cert(cert_pem, "ca.pem")
            except pki.PkiError as exc:
                self.reasons.append(str(exc))
            if self.cert is not None:
                self.reasons.extend(pki.ca_problems(self.cert, self.key, self.subject,
                                                    self.module.params["renew_before_days"]))
            if key_pem is None:
                self.reasons.append("ca.pem exists but ca.key.pem is missing")
        if csr_pem is not None:
            try:
                self.csr = pki.x509.load_pem_x509_csr(csr_pem)
            except ValueError:
                self.csr = None

    def csr_ok(self):
        return (self.csr is not None and self.key is not None and self.csr.is_signature_valid
                and pki.public_der(self.csr) == pki.public_der(self.key)
                and self.csr.subject == pki.subject_to_name(self.subject))

    def run(self):
        p = self.module.params
        self.validate()
        self.inspect()
        fresh = not self.key_exists and not self.cert_exists
        force = p["force"] or self.replace_requested()
        result = {"changed": False, "created": [], "regenerated": False, "needs_regeneration": list(self.reasons),
                  "ca_cert": self.paths[pki.CA_CERT_NAME], "ca_key": self.paths[pki.CA_KEY_NAME],
                  "ca_csr": self.paths[pki.CA_CSR_NAME]}
        before = _summary(self.cert)
        if fresh or force:
            plan = [pki.CA_KEY_NAME, pki.CA_CSR_NAME, pki.CA_CERT_NAME]
            result["regenerated"] = not fresh
        elif self.reasons:
            plan = []
            self.module.warn("The CA in %s is kept although it should be replaced: %s. Set replace_fingerprint to "
                             "its fingerprint (or force=true) to replace it (certificates issued by it stop verifying)."
                             % (self.dir, "; ".join(self.reasons)))
        else:
            plan = []
            if self.cert is None:
                plan.append(pki.CA_CERT_NAME)
            if not self.csr_ok():
                plan.append(pki.CA_CSR_NAME)
        result["created"] = plan
        if plan:
            result["changed"] = True
        if plan and not self.module.check_mode:
            self.write(plan, force)
        if os.path.isdir(self.dir):
            # honours check mode: reports a mode/owner fix without making it
            result["changed"] |= self.fix_attributes()
        if pki.CA_CERT_NAME not in plan:
            after = before
        elif self.module.check_mode:
            after = {"subject": pki.name_to_dict(pki.subject_to_name(self.subject)),
                     "serial_number": "(new, random)", "not_after": "(now + %d days)" % p["valid_days"],
                     "days_left": p["valid_days"], "fingerprint_sha256": "(new)"}
        else:
            after = _summary(self.cert)
        result.update(after)
        if self.module._diff:
            result["diff"] = {"before": _diff_text(before), "after": _diff_text(after),
                              "before_header": self.paths[pki.CA_CERT_NAME],
                              "after_header": self.paths[pki.CA_CERT_NAME]}
        return result

    def write(self, plan, force=False):
        p = self.module.params
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, 0o700)
        if force and p["backup"]:
            for name in plan:
                if os.path.exists(self.paths[name]):
                    self.module.backup_local(self.paths[name])
        if pki.CA_KEY_NAME in plan:
            self.key = pki.generate_rsa_key(p["key_size"])
        if pki.CA_CERT_NAME in plan:
            self.cert = pki.build_ca_cert(self.key, self.subject, p["valid_days"])
        serialization = pki.serialization
        # Each file is replaced atomically; a crash between them leaves a key and certificate that do
        # not match, which the next run reports in needs_regeneration instead of keeping silently.
        if pki.CA_CERT_NAME in plan:
            kmc.atomic_write(self.paths[pki.CA_CERT_NAME], self.cert.public_bytes(serialization.Encoding.PEM),
                             MODES[pki.CA_CERT_NAME])
        if pki.CA_CSR_NAME in plan:
            csr = pki.build_csr(self.key, self.subject)
            kmc.atomic_write(self.paths[pki.CA_CSR_NAME], csr.public_bytes(serialization.Encoding.PEM),
                             MODES[pki.CA_CSR_NAME])
        if pki.CA_KEY_NAME in plan:
            kmc.atomic_write(self.paths[pki.CA_KEY_NAME], pki.encrypt_key_pem(self.key, self.password),
                             MODES[pki.CA_KEY_NAME])

    def _file_args(self, name):
        return {"path": self.paths[name], "mode": "%04o" % MODES[name], "owner": self.module.params["owner"],
                "group": self.module.params["group"], "secontext": None, "attributes": None}

    def fix_attributes(self):
        changed = False
        dir_args = dict(self._file_args(pki.CA_CERT_NAME), path=self.dir, mode="0700")
        changed |= self.module.set_fs_attributes_if_different(dir_args, False)
        for name in MODES:
            if os.path.exists(self.paths[name]):
                changed |= self.module.set_fs_attributes_if_different(self._file_args(name), False)
        return changed


def main():
    module = AnsibleModule(
        argument_spec=pki_argument_spec(
            path=dict(type="path", required=True),
            password=dict(type="str", required=True, no_log=True),
            subject=dict(type="dict", required=True),
            key_size=dict(type="int", default=4096),
            valid_days=dict(type="int", default=7300),
            renew_before_days=dict(type="int", default=90),
            force=dict(type="bool", default=False),
            replace_fingerprint=dict(type="str"),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    run_pki_module(module, CA, "write the CA in %s" % module.params["path"])


if __name__ == "__main__":
    main()
