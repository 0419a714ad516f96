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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.pki_backends.intermediate_ca import Intermediate
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module


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
