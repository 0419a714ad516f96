# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend of the ca module: inspect the CA directory, list what needs regeneration, write."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import set_attributes

MODES = {pki.CA_KEY_NAME: 0o400, pki.CA_CSR_NAME: 0o600, pki.CA_CERT_NAME: 0o400}


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
                    if pki.fingerprint(pki.load_cert(kmc.read_if_exists(os.path.join(self.dir, name)))) == wanted:
                        return False  # already replaced by an earlier run
                except pki.PkiError:
                    continue
        raise pki.PkiError("replace_fingerprint %s names no CA in %s: the CA there has fingerprint %s (openssl "
                           "x509 -in %s -noout -fingerprint -sha256); nothing was changed"
                           % (self.module.params["replace_fingerprint"], self.dir, current,
                              self.paths[pki.CA_CERT_NAME]))

    def inspect(self):
        """Load what exists and collect every reason that would force a new CA."""
        key_pem = kmc.read_if_exists(self.paths[pki.CA_KEY_NAME])
        cert_pem = kmc.read_if_exists(self.paths[pki.CA_CERT_NAME])
        csr_pem = kmc.read_if_exists(self.paths[pki.CA_CSR_NAME])
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

    def fix_attributes(self):
        return set_attributes(self.module, [self.dir], [(self.paths[name], mode) for name, mode in MODES.items()])
