# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared outer shell of the PKI modules (ca, intermediate_ca, kmc_import, cert) and their backends.

Kept apart from mindie_pki and kmc because those two also run inside pods without Ansible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ascend.mindie.plugins.module_utils import kmc
from ansible_collections.ascend.mindie.plugins.module_utils import mindie_pki as pki


def pki_argument_spec(**options):
    """The module's own options plus owner and group (doc fragment ascend.mindie.attributes.files)."""
    spec = dict(options)
    spec.update(owner=dict(type="str"), group=dict(type="str"))
    return spec


def run_pki_module(module, runner_class, io_failure):
    """Run ``runner_class(module).run()`` and turn the PKI errors into clean failures.

    ``io_failure`` completes the sentence "cannot ..." for file system errors, e.g.
    "write the CA in /etc/pki".
    """
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))
    try:
        module.exit_json(**runner_class(module).run())
    except (pki.PkiError, kmc.KmcError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot %s: %s" % (io_failure, exc), exception=traceback.format_exc())


def set_attributes(module, directories, files):
    """Owner/group from the module's options; directories 0700, ``files`` as (path, mode int) pairs.
    Only what exists is touched; honours check mode (reports the change without making it)."""
    base = {"owner": module.params.get("owner"), "group": module.params.get("group"), "secontext": None,
            "attributes": None}
    changed = False
    for path in directories:
        if os.path.isdir(path):
            changed |= module.set_fs_attributes_if_different(dict(base, path=path, mode="0700"), False)
    for path, mode in files:
        if os.path.exists(path):
            changed |= module.set_fs_attributes_if_different(dict(base, path=path, mode="%04o" % mode), False)
    return changed
