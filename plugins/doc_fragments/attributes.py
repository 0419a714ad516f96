# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by the modules: what check and diff mode do, and file ownership options.

A module's own attribute text wins over these (Ansible merges fragments under the module's keys).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    # Modules that only read the node or their input.
    READ_ONLY = r'''
options: {}
attributes:
  check_mode:
    description: Only reads, so check mode runs it fully and returns the same result.
    support: full
  diff_mode:
    description: Changes nothing, so there is nothing to diff.
    support: none
'''

    # The PKI modules: files with fixed modes, written atomically, passwords never shown.
    FILES = r'''
options:
  owner:
    description:
      - Owner of the files and directories the module writes (name or uid).
      - Default is the user running the module.
    type: str
  group:
    description:
      - Group of the files and directories the module writes (name or gid).
    type: str
attributes:
  check_mode:
    description: Reports what would be written (and why) without writing anything.
    support: full
  diff_mode:
    description: Shows a summary of the files or certificate before and after; never key or password content.
    support: full
'''
