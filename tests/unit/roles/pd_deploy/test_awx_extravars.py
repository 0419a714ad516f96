# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pd_deploy renders with the survey's defaults as AWX sends them: env/extravars written the way AWX
writes it (text answers as !unsafe strings, empty optional answers as ""), run through ansible-runner."""
import os

import pytest
import yaml

from ansible_collections.ascend.mindie.tests.awx import awx_job
from ansible_collections.ascend.mindie.tests.unit.roles.pd_deploy.conftest import PLAYBOOK, POD_FILES, make_pki

pytest.importorskip("ansible_runner", reason="ansible-runner is in requirements-test.txt")

REPO = awx_job.ROOT


def _survey():
    with open(os.path.join(REPO, "docs", "awx", "job_templates.yml")) as handle:
        play = yaml.safe_load(handle)[0]
    variables = play["vars"]
    return variables["_layout_questions"] + variables["_deploy_questions"]


def test_survey_defaults_render_like_unset_variables(tmp_path):
    pdd = str(tmp_path / "job")
    os.makedirs(os.path.join(pdd, "project"))
    os.makedirs(os.path.join(pdd, "inventory"))
    with open(os.path.join(pdd, "project", "render.yml"), "w") as handle:
        handle.write(PLAYBOOK)
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": {
        "mindie_prefill": {"hosts": {"p1": {}}}, "mindie_decode": {"hosts": {"d1": {}}}}}}
    with open(os.path.join(pdd, "inventory", "hosts.yml"), "w") as handle:
        yaml.safe_dump(inventory, handle)
    # the collection, where project sync would have put it
    coll = os.path.join(pdd, "requirements_collections", "ansible_collections", "ascend")
    os.makedirs(coll)
    os.symlink(REPO, os.path.join(coll, "mindie"))
    make_pki(str(tmp_path / "pki"))
    os.makedirs(str(tmp_path / "pki" / "pod"))
    for name in POD_FILES:
        (tmp_path / "pki" / "pod" / name).write_text("# test fixture: %s\n" % name)

    answers = awx_job.survey_answers(_survey(), {"mindie_image": "swr.example/mindie:2.3.0-800I-A2",
                                                 "mindie_namespace": ""})
    assert answers["mindie_model_path"] == "" and answers["mindie_p_instances"] == 1
    variables = dict(answers, **awx_job.job_variables(42, "MindIE PD - site"))
    variables.update({"pd_deploy_apply": False, "pd_deploy_hardware": "a2", "pd_deploy_kubernetes_version": "1.30",
                      "pd_deploy_mindie_release": os.path.join(REPO, "tests", "fixtures", "mindie2-release"),
                      "mindie_pki_dir": str(tmp_path / "pki"), "mindie_report_dir": str(tmp_path / "reports")})
    awx_job.write_extravars(pdd, variables)
    with open(os.path.join(pdd, "env", "extravars")) as handle:
        written = handle.read()
    assert "mindie_model_path: !unsafe ''" in written and "mindie_tls_enabled: !unsafe 'true'" in written

    run = awx_job.run_job(pdd, "render.yml", "render", envvars={"ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    stdout = run.stdout.read()
    assert run.rc == 0, stdout[-4000:]

    objects = []
    for path in (tmp_path / "reports" / "pd_deploy").iterdir():
        objects.extend(o for o in yaml.safe_load_all(path.read_text()) if o)
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    assert deployments
    for dep in deployments:
        # "" means unset: the default namespace, and the weights under /data/<model name>
        assert dep["metadata"]["namespace"] == "mindie"
        spec = dep["spec"]["template"]["spec"]
        weights = [v for v in spec["volumes"] if v["name"] == "model-weights"]
        if weights:
            assert weights[0]["hostPath"]["path"] == "/data/Qwen2-7B-Instruct"
            mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] == "model-weights"]
            assert mounts and all(m["mountPath"] not in ("", "None") for m in mounts), mounts
