# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import functools

import pytest

from ansible_collections.ascend.mindie.tests.unit.plugins.modules.module_runner import run_module as _run_module


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args, check_mode=False, diff=False) -> the module's result dict."""
    return functools.partial(_run_module, monkeypatch=monkeypatch)
