# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atlas_lab.py up: which nodes a lab gets (molecule pd_deploy runs both layouts on one lab)."""
import argparse
import importlib.util
import os

import pytest

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab")
_spec = importlib.util.spec_from_file_location("atlas_lab_plan", os.path.join(LAB, "atlas_lab.py"))
atlas_lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(atlas_lab)


def plan(single=0, prefill=0, decode=0, control=0):
    return atlas_lab.plan_nodes(argparse.Namespace(single=single, prefill=prefill, decode=decode, control=control))


def test_single_only():
    assert plan(single=2) == [("single", 1), ("single", 2)]


def test_both_layouts_side_by_side_single_nodes_last():
    assert plan(single=1, prefill=1, decode=1, control=1) == [
        ("prefill", 1), ("decode", 1), ("control", 1), ("single", 1)]


@pytest.mark.parametrize("kwargs", [dict(single=1, prefill=1), dict(single=1, control=1), dict(prefill=1)])
def test_multi_nodes_need_prefill_and_decode(kwargs):
    with pytest.raises(atlas_lab.LabError, match="needs --prefill N and --decode N"):
        plan(**kwargs)
