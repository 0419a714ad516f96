# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job run the way AWX runs it: a private data directory for ansible-runner, laid out as AWX lays it
out, and the job started through ansible-runner.

AWX (awx/main/tasks/jobs.py) writes, per job: ``project/`` (the project checkout), ``inventory/``,
``env/extravars`` (the job's extra variables: survey answers typed by the survey (integer questions
as numbers, everything else as text), strings tagged ``!unsafe`` so no Jinja in an answer is ever
evaluated, plus ``awx_job_id`` and the other ``awx_*``/``tower_*`` job variables), ``env/passwords``
(prompt -> answer, here the vault password), ``env/envvars`` (what the credentials inject, for example
K8S_AUTH_KUBECONFIG) and ``requirements_collections/`` (installed from the project's
collections/requirements.yml at project sync) that it puts on ANSIBLE_COLLECTIONS_PATH.
"""
import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Unsafe(str):
    """A string AWX marks as unsafe in env/extravars."""


def _represent_unsafe(dumper, data):
    return dumper.represent_scalar("!unsafe", str(data))


class _AwxDumper(yaml.SafeDumper):
    pass


_AwxDumper.add_representer(Unsafe, _represent_unsafe)


def _private_file(path, text):
    # AWX writes env/* with O_CREAT and mode 0600
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def survey_answers(spec, answers):
    """Survey answers as AWX stores them: defaults filled in, integers as int, text as unsafe str."""
    out = {}
    for question in spec:
        name = question["variable"]
        value = answers.get(name, question.get("default", ""))
        if question["type"] in ("integer",):
            value = int(value)
        elif question["type"] == "float":
            value = float(value)
        else:
            value = Unsafe("" if value is None else value)
        out[name] = value
    return out


def job_variables(job_id, template_name):
    """The variables AWX adds to every job (a subset of awx/main/models/jobs.py awx_meta_vars)."""
    meta = {}
    for prefix in ("awx", "tower"):
        meta.update({"%s_job_id" % prefix: job_id, "%s_job_launch_type" % prefix: Unsafe("manual"),
                     "%s_job_template_name" % prefix: Unsafe(template_name),
                     "%s_user_name" % prefix: Unsafe("admin")})
    return meta


def write_extravars(pdd, variables):
    os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
    _private_file(os.path.join(pdd, "env", "extravars"), yaml.dump(variables, Dumper=_AwxDumper,
                                                                   default_flow_style=False))


def write_passwords(pdd, vault_password):
    """env/passwords: ansible-runner answers the vault prompt from it (AWX's vault credential)."""
    os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
    _private_file(os.path.join(pdd, "env", "passwords"),
                  yaml.safe_dump({r"Vault password:\s*?$": vault_password}))


def write_envvars(pdd, envvars):
    os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
    _private_file(os.path.join(pdd, "env", "envvars"), yaml.safe_dump(envvars))


def checkout_project(dest):
    """project/: what a git project sync checks out (tracked and new, not ignored, files)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue  # deleted in the work tree
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(src, target)
    return dest


def install_requirements_collections(pdd):
    """AWX's project sync step: ansible-galaxy collection install -r collections/requirements.yml into
    requirements_collections/, run in the project checkout. Galaxy is not reachable from our machines,
    so it runs --offline: kubernetes.core is found installed (the `ansible` package), ascend.mindie is
    installed from the checkout as the requirements file says."""
    dest = os.path.join(pdd, "requirements_collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=sysconfig.get_paths()["purelib"])
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-galaxy"), "collection", "install",
                           "--offline", "-r", "collections/requirements.yml", "-p", dest],
                          cwd=os.path.join(pdd, "project"), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise AssertionError("project sync (collections/requirements.yml) failed:\n" + proc.stdout)
    return dest, proc.stdout


def run_job(pdd, playbook, ident, envvars=None, cmdline=None, timeout=900):
    """ansible-runner on the private data dir; env/envvars gets the collections path AWX sets."""
    import ansible_runner  # pylint: disable=import-outside-toplevel
    variables = {
        # AWX: requirements_collections first, then the EE's own collections (here the `ansible` package)
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(pdd, "requirements_collections"),
                                                    sysconfig.get_paths()["purelib"]]),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        # the EE's PATH: this virtualenv's ansible-playbook
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    variables.update(envvars or {})
    write_envvars(pdd, variables)
    return ansible_runner.run(private_data_dir=pdd, playbook=playbook, ident=ident, cmdline=cmdline,
                              quiet=True, timeout=timeout)


class LabCluster(object):
    """The lab's real Kubernetes control plane (``atlas_lab.py up --k8s``, tests/lab/k8s): kube-apiserver,
    controller-manager and scheduler, with the lab nodes as Nodes whose node agents run the pods."""

    def __init__(self, lab_id):
        with open(os.path.join("/var/lib/ascend-lab", lab_id, "state.json")) as handle:
            self.k8s = json.load(handle)["k8s"]
        self.admin = self.k8s["admin_kubeconfig"]
        self.deployer = self.k8s["deployer_kubeconfig"]

    def kubectl(self, *args, check=True):
        """kubectl as the cluster's admin (what the test looks at; the jobs never get this)."""
        proc = subprocess.run([os.path.join(self.k8s["bin_dir"], "kubectl"), "--kubeconfig", self.admin,
                               "--request-timeout", "30s"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s: %s" % (" ".join(args), proc.stdout))
        return proc.stdout

    def objects(self, plural, namespace):
        return json.loads(self.kubectl("-n", namespace, "get", plural, "-o", "json"))["items"]

    def version(self):
        """The API server's MAJOR.MINOR (what pd_deploy_kubernetes_version names)."""
        server = json.loads(self.kubectl("version", "-o", "json"))["serverVersion"]
        return "%s.%s" % (server["major"], server["minor"].rstrip("+"))

    def bearer_token(self):
        with open(self.deployer) as handle:
            return yaml.safe_load(handle)["users"][0]["user"]["token"]

    def credential_env(self, pdd):
        """What AWX's "OpenShift or Kubernetes API Bearer Token" credential injects into a job
        (awx/main/models/credential/injectors.py, kubernetes_bearer_token): host, token, and the API's CA
        in a 0600 file under env/, with verify_ssl. The credential's inputs are the deployer
        ServiceAccount's (least privilege: the Role of docs/kubernetes-deployer-role.md)."""
        with open(self.deployer) as handle:
            config = yaml.safe_load(handle)
        cluster = config["clusters"][0]["cluster"]
        os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
        handle, path = tempfile.mkstemp(dir=os.path.join(pdd, "env"))
        with os.fdopen(handle, "wb") as ca_file:
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            ca_file.write(base64.b64decode(cluster["certificate-authority-data"]))
        return {"K8S_AUTH_HOST": cluster["server"], "K8S_AUTH_API_KEY": config["users"][0]["user"]["token"],
                "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": path}


def stats_artifacts(pdd, ident):
    """The set_stats data of a job as AWX stores it (artifact_data of the playbook_on_stats event)."""
    events = os.path.join(pdd, "artifacts", ident, "job_events")
    for name in sorted(os.listdir(events)):
        with open(os.path.join(events, name)) as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            return event.get("event_data", {}).get("artifact_data") or {}
    raise AssertionError("no playbook_on_stats event in %s" % events)


def find_secrets(root, secrets):
    """Every file under ``root`` holding one of ``secrets`` (as path -> which)."""
    hits = {}
    for d, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            found = [i for i, s in enumerate(secrets) if s and s.encode() in data]
            if found:
                hits[os.path.relpath(path, root)] = found
    return hits
