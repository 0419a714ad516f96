# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml as an AWX job: ansible-runner on a private data directory laid out as AWX lays it out
(tests/awx/awx_job.py), on a small lab with its real Kubernetes control plane (1 P + 1 D + 1 control
node, `atlas_lab.py up --k8s`, lab id aw-awx or AWX_LAB_ID): the deploy stage reaches kube-apiserver
with what AWX's Kubernetes credential injects (K8S_AUTH_HOST/API_KEY/SSL_CA_CERT of the lab's
least-privilege deployer ServiceAccount), the lab's node agents run the pods, and the smoke stage's
request is answered through the Coordinator's NodePort, Prefill and Decode. MindIE 3.x (PyMotor, the
lab image of tests/lab/images/mindie-motor), sized for lab nodes as `make demo` does
(tests/scripts/demo-mindie3.yml); MindIE 2.x images do not run on the lab.

The CA stays on the job's control node in a directory outside the job's private data dir, declared
persistent (mindie_pki_dir_persistent: true, as with a volume mounted into the execution environment):
the lab nodes have no python3-cryptography, so none can be the CA host. The CA password is in a
vault-encrypted group_vars file opened through env/passwords (AWX's vault credential). Every job's
artifacts are searched for the secrets (CA and vault passwords, the Kubernetes token, the deployed
Secrets' keys and passwords), and the published summary is read from the artifacts as AWX keeps it.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

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


NAMESPACE = "mindie"  # the survey's default namespace, granted to the lab's deployer
DEMO_VARS = os.path.join(awx_job.ROOT, "tests", "scripts", "demo-mindie3.yml")
# data keys of the deployed Secrets that hold private material (certificates and cert_info are public)
SECRET_KEYS = re.compile(r"key|passw|token|ksf", re.I)
BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{24,}")
# ControlPath=none keeps ssh off the master sockets that earlier jobs left (ControlPersist)
NO_MUX = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlMaster=no -o ControlPath=none " \
         "-o ConnectTimeout=5"


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.fail("the AWX job tests need root (the Atlas lab uses network namespaces)")
    # the MindIE 3.x lab image (built once, cached under /var/cache/ascend-lab)
    build = subprocess.run([sys.executable, os.path.join(awx_job.ROOT, "tests", "lab", "images", "mindie-motor",
                                                         "build.py")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if build.returncode != 0:
        pytest.fail("the lab image mindie-motor could not be built:\n" + build.stdout[-3000:])
    image = "mindie-motor:" + os.path.basename(build.stdout.strip().splitlines()[-1])
    lab_cli("down", check=False)
    start = time.time()
    lab_cli("up", "--prefill", "1", "--decode", "1", "--control", "1", "--profile", "a2-64g",
            "--k8s", "--k8s-namespace", NAMESPACE)
    sys.stderr.write("lab %s with control plane up in %.0fs\n" % (LAB_ID, time.time() - start))
    try:
        inventory = lab_cli("inventory").strip().splitlines()[-1]
        with open(inventory) as handle:
            yield {"inventory": inventory, "data": yaml.safe_load(handle), "image": image,
                   "cluster": awx_job.LabCluster(LAB_ID)}
    finally:
        if not KEEP:
            lab_cli("down", check=False)


class Jobs(object):
    """The AWX side: one project sync, then one private data dir per job."""

    def __init__(self, base, lab):
        self.base, self.lab, self.kubernetes = base, lab, lab["cluster"]
        self.k8s_version = self.kubernetes.version()
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
        """The inventory's group_vars/all: where the CA lives, and the lab sizing of `make demo`."""
        with open(DEMO_VARS) as handle:
            desc = yaml.safe_load(handle)
        desc.pop("mindie_generation")  # a survey answer
        desc.update({
            "mindie_ca_host": "localhost",
            "mindie_pki_dir": self.pki_dir,
            "mindie_pki_dir_persistent": True,
            "mindie_ca_password": "{{ vault_mindie_ca_password }}",
            # the offline schema check against the lab API server's own version
            "pd_deploy_kubernetes_version": self.k8s_version,
            "pd_deploy_wait_delay": 1,
            # MindIE's release material: our release-shaped fixture
            "pd_deploy_mindie_release": os.path.join(awx_job.ROOT, "tests", "fixtures", "mindie2-release"),
            # the lab nodes have no package repositories: haveged from the lab's package directory
            "entropy_package_source": "local",
            # the lab's engine names the P and D instances in its answer: the smoke stage requires both (with
            # Decode gone, PyMotor's Coordinator still answers with Prefill's first token)
            "mindie_smoke_expect_trace": True,
        })
        desc.update(overrides)
        return desc

    def run(self, answers=None, deployment=None, tags=None, ssh_mux=True):
        """One job: fresh private data dir, survey answers typed as AWX types them. Returns (pdd, ident, rc).
        ssh_mux=False: every task opens its own SSH connection (no master socket of an earlier job)."""
        self.count += 1
        ident = "job-%d" % self.count
        pdd = os.path.join(self.base, ident)
        shutil.copytree(self.synced, pdd, symlinks=True)
        inv = os.path.join(pdd, "inventory")
        os.makedirs(os.path.join(inv, "group_vars", "all"))
        with open(self.lab["inventory"]) as handle:
            hosts = yaml.safe_load(handle)
        envvars = {}
        if not ssh_mux:
            for group in hosts["all"]["children"]["mindie_cluster"]["children"].values():
                for host in group["hosts"].values():
                    host["ansible_ssh_common_args"] = NO_MUX
            envvars["ANSIBLE_SSH_ARGS"] = "-o ControlMaster=no -o ControlPath=none"
        with open(os.path.join(inv, "hosts.yml"), "w") as handle:
            yaml.safe_dump(hosts, handle)
        with open(os.path.join(inv, "group_vars", "all", "deployment.yml"), "w") as handle:
            yaml.safe_dump(deployment or self.deployment(), handle)
        shutil.copy(self.vault_file, os.path.join(inv, "group_vars", "all", "vault.yml"))
        with open(os.path.join(awx_job.ROOT, "docs", "awx", "job_templates.yml")) as handle:
            survey = yaml.safe_load(handle)[0]["vars"]
        spec = survey["_layout_questions"] + survey["_deploy_questions"]
        # the image and the generation have no default that runs on the lab (2.x images do not)
        given = {"mindie_image": self.lab["image"], "mindie_generation": "3"}
        given.update(answers or {})
        variables = awx_job.survey_answers(spec, given)
        variables.update(awx_job.job_variables(1000 + self.count, "MindIE PD - site"))
        awx_job.write_extravars(pdd, variables)
        awx_job.write_passwords(pdd, self.vault_password)
        cmdline = "--ask-vault-pass" + (" --tags %s" % tags if tags else "")
        envvars.update(self.kubernetes.credential_env(pdd))
        result = awx_job.run_job(pdd, "playbooks/site.yml", ident, cmdline=cmdline, envvars=envvars)
        return pdd, ident, result.rc

    def secrets(self):
        """The job's secrets: CA and vault passwords, the Kubernetes token, and the private parts of the
        deployed Secrets (keys, key passwords, key stores, tokens), searched by their base64 runs (the job
        events escape newlines, so a PEM body is found line by line)."""
        found = [self.ca_password, self.vault_password, self.kubernetes.bearer_token()]
        for secret in self.kubernetes.objects("secrets", NAMESPACE):
            for key, value in (secret.get("data") or {}).items():
                if SECRET_KEYS.search(key):
                    found.extend(BASE64_RUN.findall(base64.b64decode(value).decode("utf-8", "replace")))
        return found


@pytest.fixture(scope="module")
def jobs(lab):
    base = tempfile.mkdtemp(prefix="ascend-awx-")
    os.chmod(base, 0o700)
    try:
        yield Jobs(base, lab)
    finally:
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
    """No secret anywhere in what the job leaves behind (stdout, events, the published artifacts)."""
    secrets = jobs.secrets()
    # artifacts/<ident>/command is ansible-runner's own record of the process (argv, cwd, environment),
    # written 0600 into the private data dir that AWX deletes; AWX keeps the environment as the job's
    # job_env with every variable named like API|TOKEN|KEY|SECRET|PASS hidden. So the only secret it may
    # hold is the credential's token, in K8S_AUTH_API_KEY.
    command = os.path.join(pdd, "artifacts", ident, "command")
    assert os.stat(command).st_mode & 0o077 == 0
    with open(command) as handle:
        record = json.load(handle)
    leaked = [k for k, v in record["env"].items() if k != "K8S_AUTH_API_KEY" and any(s and s in v for s in secrets)]
    leaked += [a for a in record["command"] if any(s and s in a for s in secrets)]
    assert not leaked, "secrets in ansible-runner's command record: %s" % leaked
    hits = awx_job.find_secrets(os.path.join(pdd, "artifacts"), secrets)
    hits.pop(os.path.join(ident, "command"), None)
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
    assert "Deployment/mindie-server-" in summary["deployed"], summary
    assert summary["reports"]["manifests"] == ["%s-mindie-pd.yaml" % NAMESPACE], summary
    assert summary["ca_fingerprint"] == ca_fingerprint(jobs)
    # the smoke stage's request went NodePort -> Coordinator -> Prefill -> Decode
    assert summary["smoke"].startswith("answered in "), summary
    assert ", prefill mindie-server-p0-" in summary["smoke"] and ", decode mindie-server-d0-" in summary["smoke"], summary
    # on the cluster: every pod Running and Ready, the P and D Servers on the P and D lab nodes
    pods = jobs.kubernetes.objects("pods", NAMESPACE)
    assert pods, "no pods in namespace %s" % NAMESPACE
    for pod in pods:
        ready = [c["status"] for c in pod["status"].get("conditions", []) if c["type"] == "Ready"]
        assert pod["status"]["phase"] == "Running" and ready == ["True"], pod["status"]
    placed = {(p["metadata"]["labels"].get("ascend.mindie/role"), p["spec"]["nodeName"]) for p in pods}
    groups = jobs.lab["data"]["all"]["children"]["mindie_cluster"]["children"]
    for role, group in (("prefill", "mindie_prefill"), ("decode", "mindie_decode"), ("controller", "mindie_control"),
                        ("coordinator", "mindie_control")):
        assert {n for r, n in placed if r == role} == set(groups[group]["hosts"]), placed
    # the empty model path answer means /data/<model name> (issue 18, item 1)
    config = jobs.kubernetes.objects("configmaps", NAMESPACE)
    assert any('"model_path": "/data/Qwen2-7B-Instruct"' in v for c in config for v in (c.get("data") or {}).values()), \
        [c["metadata"]["name"] for c in config]


def test_second_job_reuses_the_ca(jobs, first_job):
    before = ca_fingerprint(jobs)
    pdd, ident, rc = jobs.run(tags="pki")
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc == 0, stdout[-5000:]
    assert ca_fingerprint(jobs) == before == summary["ca_fingerprint"]


def test_failing_job_publishes_stage_hosts_and_message(jobs, first_job):
    # 20 P + 1 D instances of 1 NPU need 21 Server pods, the 2 nodes' 8 NPUs hold 16: preflight refuses
    # before changing anything
    pdd, ident, rc = jobs.run(answers={"mindie_p_instances": 20})
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


def test_failing_smoke_publishes_stage_and_message(jobs, first_job):
    # the Decode instance is gone (scaled to 0 behind the deployer's back): the request cannot be answered
    names = [d["metadata"]["name"] for d in jobs.kubernetes.objects("deployments", NAMESPACE)
             if d["metadata"]["labels"].get("ascend.mindie/role") == "decode"]
    assert names, "no Decode Deployment"
    for name in names:
        jobs.kubernetes.kubectl("-n", NAMESPACE, "scale", "deployment", name, "--replicas", "0")
    pdd, ident, rc = jobs.run(tags="smoke", deployment=jobs.deployment(mindie_smoke_wait=20))
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc != 0, stdout[-5000:]
    assert summary["result"] == "failed" and summary["failed_stage"] == "smoke", summary
    assert summary["failed_hosts"] == ["localhost"], summary
    message = summary["failures"][0]["message"]
    assert message.startswith("No answer from http"), summary
    assert summary["smoke"] == "not run", summary


def test_unreachable_nodes_publish_stage_and_hosts(jobs, lab):
    # every node's sshd is down: no host of the stage can be reached, and still the summary names them
    nodes = [n for g in lab["data"]["all"]["children"]["mindie_cluster"]["children"].values() for n in g["hosts"]]
    try:
        for node in nodes:
            lab_cli("fault", "sshd-stop", node)
        pdd, ident, rc = jobs.run(tags="preflight", ssh_mux=False)
    finally:
        for node in nodes:
            lab_cli("fault", "sshd-start", node)
    summary, stdout = check_artifacts(jobs, pdd, ident)
    assert rc != 0, stdout[-5000:]
    assert summary["result"] == "failed" and summary["failed_stage"] == "preflight", summary
    assert sorted(summary["failed_hosts"]) == sorted(nodes), summary
    for failure in summary["failures"]:
        assert failure["message"].startswith("%s cannot be reached in stage preflight: " % failure["host"]), summary
        assert "Connection refused" in failure["message"], summary
