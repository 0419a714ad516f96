#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: kmc_import
short_description: Import a CA certificate and encrypted key into the MindIE layout, password in a KMC-style key store
version_added: 0.1.0
description:
  - The equivalent of C(config_mindie_server_tls_cert.py ./security/ca import_cert <cert> <key>) without the
    interactive prompts. Under O(dest) it places C(security/ca/ca.pem), C(security/ca/ca.key.pem) and
    C(security/ca/ca_passwd.txt), and keeps the key password only as ciphertext under a key store made of a
    master file C(tools/pmt/master/ksfa) and a standby file C(tools/pmt/standby/ksfb).
  - "The key store and ciphertext are this collection's own format (MindIE's KMC is a closed vendor library):
    AES-256-GCM with key ids, so keys can be rotated while older ciphertext still decrypts; see
    docs/kmc-format.md."
  - If the master file is damaged the standby restores it (and the other way round). If both are damaged
    the module fails with both reasons and writes nothing.
  - Checks what the vendor import checks; X.509 v3, not expired, RSA of at least 3072 bits, the key belongs
    to the certificate and decrypts with O(password); the password satisfies MindIE's rules. A signature
    hash other than SHA-256/512, or a certificate without the CA flag or cRLSign, is a warning.
  - Idempotent; the password file is rewritten only when it does not decrypt to O(password) with the
    active key (ciphertext is randomised, so it is compared decrypted).
author:
  - ascend.mindie contributors (@ascend-mindie)
requirements:
  - cryptography >= 38 (Python package, on the host that runs the module)
options:
  cert:
    description: Path of the CA certificate (PEM) to import.
    type: path
    required: true
  key:
    description: Path of the encrypted CA private key (PEM) to import.
    type: path
    required: true
  password:
    description:
      - Password of O(key). Stored only as ciphertext; never logged. One of O(password) and O(password_file).
    type: str
  password_file:
    description:
      - KMC-style password file holding the password of O(key) (as M(ascend.mindie.intermediate_ca)
        writes it), decrypted with the key store O(password_ksf_master)/O(password_ksf_standby).
    type: path
    version_added: 0.1.0
  password_ksf_master:
    description: Master key store file that decrypts O(password_file).
    type: path
    version_added: 0.1.0
  password_ksf_standby:
    description: Standby key store file that decrypts O(password_file).
    type: path
    version_added: 0.1.0
  chain:
    description:
      - Trust bundle (the issuing CA, then up to its root) placed at C(security/ca/ca_chain.pem); verifiers
        load it as their CA file. Omitted = no trust bundle (O(cert) is then a self-signed root).
    type: path
    version_added: 0.1.0
  inputs_replaced:
    description:
      - Check mode only; an earlier task of the same run replaces O(cert)/O(key), so the imported material
        is reported as would be written. Ignored in a real run. Missing inputs in check mode are treated
        the same way (an earlier task would create them).
    type: bool
    default: false
    version_added: 0.1.0
  dest:
    description:
      - Project directory that receives the MindIE layout (the directory later mounted at C(/mnt/security)).
    type: path
    required: true
  rotate:
    description:
      - Replace the key store's root key, add a new domain key, make it active and re-encrypt the password
        with it. Keys older than the newest two are then retired, so ciphertext made two rotations ago
        no longer decrypts (re-encrypt other files made with the store, e.g. with M(ascend.mindie.cert),
        before the next rotation).
    type: bool
    default: false
notes:
  - Modes are fixed; C(0400) for the certificate, key and password file, C(0600) for the key store files
    (they are rewritten on rotation and repair), C(0700) for directories.
seealso:
  - module: ascend.mindie.ca
  - module: ascend.mindie.cert
extends_documentation_fragment:
  - ascend.mindie.attributes.files
'''

EXAMPLES = r'''
- name: Import the CA for the Server component
  ascend.mindie.kmc_import:
    cert: "{{ mindie_pki_dir }}/ca/ca.pem"
    key: "{{ mindie_pki_dir }}/ca/ca.key.pem"
    password: "{{ mindie_ca_password }}"
    dest: "{{ mindie_pki_dir }}/components/server"

- name: Rotate the key store key
  ascend.mindie.kmc_import:
    cert: "{{ mindie_pki_dir }}/ca/ca.pem"
    key: "{{ mindie_pki_dir }}/ca/ca.key.pem"
    password: "{{ mindie_ca_password }}"
    dest: "{{ mindie_pki_dir }}/components/server"
    rotate: true
'''

RETURN = r'''
files:
  description: Paths written or checked, by role.
  returned: always
  type: dict
  sample:
    ca_cert: /root/.ascend-mindie/pki/components/server/security/ca/ca.pem
    ca_key: /root/.ascend-mindie/pki/components/server/security/ca/ca.key.pem
    ca_key_pwd: /root/.ascend-mindie/pki/components/server/security/ca/ca_passwd.txt
    kmc_ksf_master: /root/.ascend-mindie/pki/components/server/tools/pmt/master/ksfa
    kmc_ksf_standby: /root/.ascend-mindie/pki/components/server/tools/pmt/standby/ksfb
ca_replaced:
  description: Whether the CA certificate or key was (or would be) written.
  returned: always
  type: bool
  version_added: 0.1.0
retired_key_ids:
  description: Domain key ids dropped from the store by this rotation.
  returned: always
  type: list
  elements: int
  version_added: 0.1.0
updated:
  description: Which of RV(files) were (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
keystore:
  description: State of the key store as found, and what was done about it.
  returned: always
  type: dict
  contains:
    master:
      description: C(ok), C(missing), C(stale) (older generation), C(damaged) or C(created).
      type: str
    standby:
      description: Same values as RV(keystore.master).
      type: str
    problems:
      description: Why a file was not usable.
      type: list
      elements: str
    repaired:
      description: Whether a damaged, stale or missing file was rewritten from the good one.
      type: bool
    key_ids:
      description: Key ids in the store.
      type: list
      elements: int
    active_key_id:
      description: Key id new ciphertext is made with.
      type: int
    generation:
      description: Write counter of the store.
      type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ascend.mindie.plugins.module_utils.pki_backends.kmc_import import Importer
from ansible_collections.ascend.mindie.plugins.module_utils.pki_module import pki_argument_spec, run_pki_module


def main():
    module = AnsibleModule(
        argument_spec=pki_argument_spec(
            cert=dict(type="path", required=True),
            key=dict(type="path", required=True, no_log=False),
            password=dict(type="str", no_log=True),
            password_file=dict(type="path", no_log=False),
            password_ksf_master=dict(type="path", no_log=False),
            password_ksf_standby=dict(type="path", no_log=False),
            chain=dict(type="path"),
            dest=dict(type="path", required=True),
            rotate=dict(type="bool", default=False),
            inputs_replaced=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("password", "password_file")],
        required_one_of=[("password", "password_file")],
        required_together=[("password_file", "password_ksf_master", "password_ksf_standby")],
        supports_check_mode=True,
    )
    run_pki_module(module, Importer, "import into %s" % module.params["dest"])


if __name__ == "__main__":
    main()
