# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process and return its result dict (shared by every module test).

The result is what Ansible would receive, plus "failed", the collected "warnings" and "_json"
(the serialized result, which the secret tests search for passwords).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(SystemExit):
    """Raised by the patched exit_json/fail_json; leaves through SystemExit like the real ones."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result)
        self.result = result
        self.failed = failed


def run_module(main, args, check_mode=False, diff=False, monkeypatch=None):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: warnings.append(w))
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as exc:
            main()
    result = exc.value.result
    result["failed"] = exc.value.failed
    result["warnings"] = warnings
    result["_json"] = json.dumps(result, default=str)
    return result
