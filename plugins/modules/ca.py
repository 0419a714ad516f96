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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.pki_backends.ca import CA
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module


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
