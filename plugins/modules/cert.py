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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.pki_backends.cert import Issuer
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module


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
