# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The summary play (playbooks/summary.yml) as the last play of an AWX job: when the account itself
cannot be made, the job's artifacts still say that it failed and where. No lab: the play runs on the
job's control node only."""
import os
import shutil

import awx_job


def test_a_summary_that_cannot_be_made_is_published_as_failed(tmp_path):
    pdd = str(tmp_path / "job")
    shutil.copytree(os.path.join(awx_job.ROOT, "playbooks"), os.path.join(pdd, "project", "playbooks"))
    os.makedirs(os.path.join(pdd, "inventory"))
    # what project sync installs (collections/requirements.yml): this checkout as ascend.mindie
    coll = os.path.join(pdd, "requirements_collections", "ansible_collections", "ascend")
    os.makedirs(coll)
    os.symlink(awx_job.ROOT, os.path.join(coll, "mindie"))
    with open(os.path.join(pdd, "inventory", "hosts.yml"), "w") as handle:
        handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    # a preflight report that does not parse (a disk that filled up while it was written)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "preflight.json").write_text('{"verdict": "pass", "violations": [')
    awx_job.write_extravars(pdd, dict(awx_job.job_variables(7, "MindIE PD - site"),
                                      mindie_report_dir=awx_job.Unsafe(str(reports))))
    run = awx_job.run_job(pdd, "playbooks/summary.yml", "summary",
                          envvars={"ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    stdout = run.stdout.read()
    assert run.rc != 0, stdout[-4000:]
    summary = awx_job.stats_artifacts(pdd, "summary").get("mindie_summary")
    assert summary, stdout[-4000:]
    assert summary["result"] == "failed" and summary["failed_stage"] == "summary", summary
    assert summary["failed_hosts"] == ["localhost"], summary
    assert summary["failures"][0]["task"] == "Publish the summary as job artifacts", summary
    assert "from_json" in summary["failures"][0]["message"], summary
