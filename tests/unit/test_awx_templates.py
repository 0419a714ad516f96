# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/awx/job_templates.yml and collections/requirements.yml: what AWX gets from the project."""
import importlib
import os

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _play():
    with open(os.path.join(ROOT, "docs", "awx", "job_templates.yml")) as handle:
        return yaml.safe_load(handle)[0]


def _module_options(fqcn):
    """The options awx.awx documents for a module (the `ansible` package ships awx.awx)."""
    namespace, name, module = fqcn.split(".")
    mod = importlib.import_module("ansible_collections.%s.%s.plugins.modules.%s" % (namespace, name, module))
    return set(yaml.safe_load(mod.DOCUMENTATION)["options"])


def _tasks():
    out = {}
    for task in _play()["tasks"]:
        fqcn = [k for k in task if k.startswith("awx.awx.")][0]
        out[task["name"]] = (fqcn, task[fqcn])
    return out


def test_every_task_option_is_an_awx_module_option():
    for name, (fqcn, args) in _tasks().items():
        unknown = set(args) - _module_options(fqcn)
        assert not unknown, "%s: %s has no option(s) %s" % (name, fqcn, sorted(unknown))


def test_templates_name_the_ee_and_their_credentials():
    variables = _play()["vars"]
    tasks = {args.get("name"): args for _fqcn, args in _tasks().values()}
    ee = "{{ awx_execution_environment }}"
    expected = {
        "MindIE PD - site": ["awx_machine_credential", "awx_kubernetes_credential", "awx_vault_credential"],
        "MindIE PD - checks": ["awx_machine_credential"],
        "MindIE PD - teardown": ["awx_kubernetes_credential"],
    }
    for template, credentials in expected.items():
        assert tasks[template]["execution_environment"] == ee, template
        assert tasks[template]["credentials"] == ["{{ %s }}" % c for c in credentials], template
        for credential in credentials:
            assert variables[credential], credential


def test_checks_survey_does_not_ask_for_the_image():
    variables = _play()["vars"]
    checks = [q["variable"] for q in variables["_layout_questions"]]
    assert "mindie_image" not in checks
    assert [q["variable"] for q in variables["_deploy_questions"]].count("mindie_image") == 1


def test_project_sync_requirements():
    with open(os.path.join(ROOT, "collections", "requirements.yml")) as handle:
        names = [c["name"] for c in yaml.safe_load(handle)["collections"]]
    assert names == ["ascend.mindie", "kubernetes.core"]
