# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml as an AWX job: ansible-runner on a private data directory laid out as AWX lays it out
(tests/awx/awx_job.py), on a small lab (1 P + 1 D + 1 control node, lab id aw-awx or AWX_LAB_ID).

The CA stays on the job's control node in a directory outside the job's private data dir, declared
persistent (mindie_pki_dir_persistent: true, as with a volume mounted into the execution environment):
the lab nodes have no python3-cryptography, so none can be the CA host. The CA password is in a
vault-encrypted group_vars file opened through env/passwords (AWX's vault credential). Every job's
artifacts are searched for the secrets, and the published summary is read from the artifacts as AWX
keeps it.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

import awx_job
from ansible_collections.ascend.mindie.plugins.module_utils.job_storage import ARTIFACTS_REF

LAB_ID = os.environ.get("AWX_LAB_ID", "aw-awx")
LAB_CLI = os.path.join(awx_job.ROOT, "tests", "lab", "atlas_lab.py")
# Keep the lab up after the tests (to inspect the nodes); the next run takes it down first.
KEEP = bool(os.environ.get("AWX_KEEP"))


def lab_cli(*args, check=True):
    proc = subprocess.run([sys.executable, LAB_CLI, "--lab-id", LAB_ID] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("atlas_lab.py %s failed:\n%s" % (" ".join(args), proc.stdout))
    return proc.stdout


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.fail("the AWX job tests need root (the Atlas lab uses network namespaces)")
    lab_cli("down", check=False)
    lab_cli("up", "--prefill", "1", "--decode", "1", "--control", "1", "--profile", "a2-64g")
    try:
        inventory = lab_cli("inventory").strip().splitlines()[-1]
        with open(inventory) as handle:
            yield {"inventory": inventory, "data": yaml.safe_load(handle)}
    finally:
        if not KEEP:
            lab_cli("down", check=False)


class Jobs(object):
    """The AWX side: one project sync, then one private data dir per job."""

    def __init__(self, base, lab, kubernetes):
        self.base, self.lab, self.kubernetes = base, lab, kubernetes
        self.ca_password = "Awx-%s-Aa1" % hashlib.sha256(os.urandom(16)).hexdigest()[:20]
        self.vault_password = "vault-%s" % hashlib.sha256(os.urandom(16)).hexdigest()[:24]
        # project sync: the checkout, and the collections of collections/requirements.yml
        self.synced = os.path.join(base, "sync")
        awx_job.checkout_project(os.path.join(self.synced, "project"))
        _dest, self.sync_log = awx_job.install_requirements_collections(self.synced)
        self.vault_file = self._vault_file()
        # storage that outlives the jobs (AWX: a volume mounted into the execution environment)
        self.pki_dir = os.path.join(base, "persistent", "pki")
        self.count = 0

    def _vault_file(self):
        """group_vars/all/vault.yml of the inventory, encrypted (the password goes through a 0600 file)."""
        plain = os.path.join(self.base, "vault-plain.yml")
        secret = os.path.join(self.base, "vault-pass")
        for path, text in ((plain, yaml.safe_dump({"vault_mindie_ca_password": self.ca_password})),
                           (secret, self.vault_password)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "encrypt",
                        "--vault-password-file", secret, plain], check=True, stdout=subprocess.DEVNULL)
        os.unlink(secret)
        return plain

    def deployment(self, **overrides):
        desc = {
            "mindie_ca_host": "localhost",
            "mindie_pki_dir": self.pki_dir,
            "mindie_pki_dir_persistent": True,
            "mindie_ca_password": "{{ vault_mindie_ca_password }}",
            "pd_deploy_kubernetes_version": "1.30",
            "pd_deploy_wait_timeout": 30,
            "pd_deploy_wait_delay": 1,
            # MindIE's release material: our release-shaped fixture
            "pd_deploy_mindie_release": os.path.join(awx_job.ROOT, "tests", "fixtures", "mindie2-release"),
            # the lab nodes have no package repositories: haveged from the lab's package directory
            "entropy_package_source": "local",
        }
        desc.update(overrides)
        return desc

    def run(self, answers=None, deployment=None, tags=None):
        """One job: fresh private data dir, survey answers typed as AWX types them. Returns (pdd, ident, rc)."""
        self.count += 1
        ident = "job-%d" % self.count
        pdd = os.path.join(self.base, ident)
        shutil.copytree(self.synced, pdd, symlinks=True)
        inv = os.path.join(pdd, "inventory")
        os.makedirs(os.path.join(inv, "group_vars", "all"))
        shutil.copy(self.lab["inventory"], os.path.join(inv, "hosts.yml"))
        with open(os.path.join(inv, "group_vars", "all", "deployment.yml"), "w") as handle:
            yaml.safe_dump(deployment or self.deployment(), handle)
        shutil.copy(self.vault_file, os.path.join(inv, "group_vars", "all", "vault.yml"))
        with open(os.path.join(awx_job.ROOT, "docs", "awx", "job_templates.yml")) as handle:
            survey = yaml.safe_load(handle)[0]["vars"]
        spec = survey["_layout_questions"] + survey["_deploy_questions"]
        given = {"mindie_image": "mindie:2.1.RC1-800I-A2-py311"}
        given.update(answers or {})
        variables = awx_job.survey_answers(spec, given)
        variables.update(awx_job.job_variables(1000 + self.count, "MindIE PD - site"))
        awx_job.write_extravars(pdd, variables)
        awx_job.write_passwords(pdd, self.vault_password)
        cmdline = "--ask-vault-pass" + (" --tags %s" % tags if tags else "")
        result = awx_job.run_job(pdd, "playbooks/site.yml", ident, cmdline=cmdline,
                                 envvars={"K8S_AUTH_KUBECONFIG": self.kubernetes.kubeconfig})
        return pdd, ident, result.rc

    def secrets(self):
        return [self.ca_password, self.vault_password]


@pytest.fixture(scope="module")
def jobs(lab):
    base = tempfile.mkdtemp(prefix="ascend-awx-")
    os.chmod(base, 0o700)
    kubernetes = awx_job.kubernetes_target(base)
    try:
        yield Jobs(base, lab, kubernetes)
    finally:
        kubernetes.stop()
        if os.environ.get("AWX_KEEP"):
            sys.stderr.write("AWX job files kept in %s\n" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)


def ca_fingerprint(jobs):
    proc = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                           os.path.join(jobs.pki_dir, "ca", "ca.pem")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip().split("=", 1)[1].replace(":", "").lower()


def check_artifacts(jobs, pdd, ident):
    """No secret anywhere in what the job leaves behind (stdout, events, env/ except passwords)."""
    hits = awx_job.find_secrets(os.path.join(pdd, "artifacts"), jobs.secrets())
    assert not hits, "secrets in the job's artifacts: %s" % hits
    summary = awx_job.stats_artifacts(pdd, ident).get("mindie_summary")
    assert summary, "the job published no mindie_summary"
    with open(os.path.join(pdd, "artifacts", ident, "stdout")) as handle:
        stdout = handle.read()
    # no message points to a report file inside the job's private data dir (deleted with the job)
    assert "(report: %s" % pdd not in stdout and "(report: mindie-reports" not in stdout
    return summary, stdout


@pytest.fixture(scope="module")
def first_job(jobs):
    pdd, ident, rc = jobs.run()
    return pdd, ident, rc


def test_project_sync_installs_the_collection(jobs):
    assert "ascend.mindie:0.1.0 was installed successfully" in jobs.sync_log
    assert os.path.isfile(os.path.join(jobs.synced, "requirements_collections", "ansible_collections", "ascend",
                                       "mindie", "MANIFEST.json"))


def test_job_with_survey_defaults_deploys(jobs, first_job):
    pdd, ident, rc = first_job
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc == 0, stdout[-5000:]
    assert summary["result"] == "ok" and summary["failed_stage"] == "" and summary["failed_hosts"] == []
    assert summary["reports"]["preflight"]["verdict"] == "pass", summary
    assert summary["reports"]["roce"]["ok"] is True, summary
    assert summary["reports"]["location"] == ARTIFACTS_REF
    assert "Deployment/mindie-server" in summary["deployed"], summary
    assert summary["reports"]["manifests"] == ["mindie-mindie-pd.yaml"], summary
    assert summary["ca_fingerprint"] == ca_fingerprint(jobs)
    deployments = jobs.kubernetes.objects("deployments")
    volumes = [v for d in deployments for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "model-weights"]
    assert volumes and all(v["hostPath"]["path"] == "/data/Qwen2-7B-Instruct" for v in volumes)


def test_second_job_reuses_the_ca(jobs, first_job):
    before = ca_fingerprint(jobs)
    pdd, ident, rc = jobs.run(tags="pki")
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc == 0, stdout[-5000:]
    assert ca_fingerprint(jobs) == before == summary["ca_fingerprint"]


def test_failing_job_publishes_stage_hosts_and_message(jobs, first_job):
    # 3 P instances of 8 NPUs do not fit on one P node: preflight refuses before changing anything
    pdd, ident, rc = jobs.run(answers={"mindie_p_instances": 3})
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc != 0
    assert summary["result"] == "failed" and summary["failed_stage"] == "preflight", summary
    assert summary["failed_hosts"], summary
    messages = " ".join(f["message"] for f in summary["failures"])
    assert "mindie_p_instances" in messages, summary
    assert ARTIFACTS_REF in messages or "(report:" not in messages
    assert summary["reports"]["preflight"]["verdict"] == "fail"
    print(json.dumps(summary, indent=1))


def test_awx_refuses_the_job_container_as_ca_host(jobs):
    pdd, ident, rc = jobs.run(deployment=jobs.deployment(mindie_pki_dir_persistent=False))
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc != 0
    assert summary["failed_stage"] == "validate_inventory" and summary["failed_hosts"] == ["localhost"], summary
    message = summary["failures"][0]["message"]
    assert "deletes when the job ends" in message and "mindie_pki_dir_persistent: true" in message
    # refused before any node was contacted
    assert "prefill-1" not in stdout.split("PLAY RECAP")[-1]
