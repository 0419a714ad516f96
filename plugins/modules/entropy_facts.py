#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entropy_facts
short_description: Read the kernel entropy pool and the haveged daemon's state in one call
version_added: 0.1.0
description:
  - Reads C(/proc/sys/kernel/random/poolsize), C(entropy_avail) and C(write_wakeup_threshold), whether
    the haveged packages are installed (dpkg or rpm database), which haveged processes run and with
    which C(-w) write threshold, whether systemd is the init system and whether an init script exists.
  - Works out what C(entropy_avail) must reach for the requested target on this kernel. On a kernel
    whose pool is a fixed 256 bits (the 2022 RNG rewrite, Linux 5.18 and later and several stable
    backports) a target above the pool is impossible, so the pool must read full instead. On a
    classic 4096-bit pool haveged caps its threshold at poolsize - 32, so the target is C(min(target,
    poolsize - 32)), 4064 for C(-w 4096).
  - With O(wait_timeout) it polls C(entropy_avail) until that value is reached or the time is up, and
    reports whether it was reached with a message naming the values read and the fix. It never fails
    because the pool is low; the caller decides.
  - Fails on /proc or package-database output it does not understand, naming the file and content.
  - Never changes anything.
author:
  - ascend.mindie contributors (@ascend-mindie)
options:
  packages:
    description:
      - Package names that together make up haveged on this OS family; all of them must be installed
        for RV(ansible_facts.ascend_entropy.haveged.installed) to be true.
    type: list
    elements: str
    default: [haveged]
  target_bits:
    description:
      - The write threshold haveged is meant to run with (C(-w)); MindIE asks for 4096.
    type: int
    default: 4096
  wait_timeout:
    description:
      - Seconds to keep polling C(entropy_avail) until it reaches the required value. C(0) reads once.
    type: int
    default: 0
  poll_interval:
    description:
      - Seconds between two reads while waiting.
    type: float
    default: 1.0
attributes:
  facts:
    description: Sets C(ansible_facts.ascend_entropy).
    support: full
notes:
  - The threshold check assumes the kernel accepts haveged's entropy; inside a container haveged cannot
    set the watermark, which shows up here as a pool that never fills.
seealso:
  - name: haveged(8)
    description: The haveged manual page (C(-w), C(--write)).
    link: https://manpages.debian.org/bookworm/haveged/haveged.8.en.html
extends_documentation_fragment:
  - ascend.mindie.attributes.read_only
'''

EXAMPLES = r'''
- name: Read the entropy state once
  ascend.mindie.entropy_facts:

- name: Wait up to 30 seconds for the pool to reach what haveged -w 4096 gives on this kernel
  ascend.mindie.entropy_facts:
    packages: [haveged]
    target_bits: 4096
    wait_timeout: 30
  register: entropy_check

- name: Fail with the module's explanation when the pool stayed low
  ansible.builtin.assert:
    that: ansible_facts.ascend_entropy.reached
    fail_msg: "{{ inventory_hostname }}: {{ ansible_facts.ascend_entropy.message }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts under C(ascend_entropy).
  returned: always
  type: complex
  contains:
    ascend_entropy:
      description: Entropy pool and haveged state.
      returned: always
      type: complex
      contains:
        poolsize:
          description: Kernel pool size in bits (C(/proc/sys/kernel/random/poolsize)).
          type: int
          returned: always
          sample: 256
        entropy_avail:
          description: The last C(entropy_avail) read, in bits.
          type: int
          returned: always
          sample: 256
        write_wakeup_threshold:
          description: C(/proc/sys/kernel/random/write_wakeup_threshold), null when the file is absent.
          type: int
          returned: always
          sample: 224
        mode:
          description:
            - C(full_pool) when the pool is a fixed 256 bits or less (the pool must read full),
              C(watermark) when haveged's threshold applies.
          type: str
          returned: always
          sample: full_pool
        target_bits:
          description: O(target_bits) as requested.
          type: int
          returned: always
          sample: 4096
        required_bits:
          description: What C(entropy_avail) must reach on this kernel.
          type: int
          returned: always
          sample: 256
        reached:
          description: Whether C(entropy_avail) reached RV(ansible_facts.ascend_entropy.required_bits).
          type: bool
          returned: always
          sample: true
        check:
          description: The polling record.
          type: dict
          returned: always
          sample: {reached: true, last: 256, min_seen: 256, max_seen: 256, samples: 1, waited: 0.0}
        message:
          description: Why the pool did not reach the required value, with the values and the fix; null when it did.
          type: str
          returned: always
          sample: null
        note:
          description: Set when the target cannot apply on this kernel (fixed 256-bit pool).
          type: str
          returned: always
          sample: the kernel pool is a fixed 256 bits, so a 4096-bit target is impossible; checking for a full pool instead
        init_system:
          description: C(systemd) when systemd is the running init (C(/run/systemd/system) exists), else C(other).
          type: str
          returned: always
          sample: other
        haveged:
          description: haveged packages and processes.
          type: complex
          returned: always
          contains:
            installed:
              description: All of O(packages) are installed.
              type: bool
              returned: always
              sample: true
            packages:
              description: Installed version per package name, null when not installed.
              type: dict
              returned: always
              sample: {haveged: 1.9.14-1+deb12u1}
            running:
              description: At least one haveged process runs.
              type: bool
              returned: always
              sample: true
            processes:
              description: The haveged processes, each with C(pid) and C(argv).
              type: list
              elements: dict
              returned: always
              sample: [{pid: 812, argv: [/usr/sbin/haveged, -w, "4096"]}]
            write_bits:
              description: The C(-w) value all running haveged processes share; null when unset, none runs or they differ.
              type: int
              returned: always
              sample: 4096
            init_script:
              description: Path of the executable C(/etc/init.d/haveged), null when absent.
              type: str
              returned: always
              sample: /etc/init.d/haveged
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ascend.mindie.plugins.module_utils.entropy import EntropyError, gather


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=['haveged']),
            target_bits=dict(type='int', default=4096),
            wait_timeout=dict(type='int', default=0),
            poll_interval=dict(type='float', default=1.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['target_bits'] <= 0:
        module.fail_json(msg='target_bits must be a positive number of bits, got %d' % params['target_bits'])
    if params['wait_timeout'] < 0:
        module.fail_json(msg='wait_timeout must be 0 or more seconds, got %d' % params['wait_timeout'])
    if params['poll_interval'] <= 0:
        module.fail_json(msg='poll_interval must be more than 0 seconds, got %s' % params['poll_interval'])

    def run(argv):
        # LC_ALL=C: the parsers match the untranslated "package X is not installed".
        return module.run_command(argv, environ_update={'LC_ALL': 'C', 'LANG': 'C'})

    try:
        facts = gather(run, module.get_bin_path, params['packages'],
                       params['target_bits'], params['wait_timeout'], params['poll_interval'])
    except EntropyError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, ansible_facts={'ascend_entropy': facts})


if __name__ == '__main__':
    main()
