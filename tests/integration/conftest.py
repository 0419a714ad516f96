# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reliability and security suite: the REAL playbooks, run with ansible-playbook over real SSH against
the simulated Atlas lab (tests/lab) and its REAL Kubernetes control plane (``atlas_lab.py up --k8s``:
kube-apiserver 1.20 built from Debian's source, node agents that run the pods on the lab nodes, the
Ascend Operator stand-in that fills the rank table). The deploy stage uses the lab's least-privilege
deployer kubeconfig; the tests read the cluster with the admin one.

One lab (id ``itest``, or ITEST_LAB_ID; 2 prefill + 2 decode Atlas 800I A2) serves the whole
session and is taken down at the end, also after a failure. Its nodes get the model directory the
deployment names (the operator's weights; the Server pods mount it) and the MindIE 2.x lab image
(tests/lab/images/mindie2) is built once. State flows in this order, enforced by
fixtures: the fresh lab is first checked with --check (fixture ``fresh_check``), then converged once
at -vvv (fixture ``converged``); every later test starts from the converged cluster and clears the
lab's faults when it ends.
"""
import hashlib
import importlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_CLI = os.path.join(ROOT, "tests", "lab", "atlas_lab.py")
LAB_ID = os.environ.get("ITEST_LAB_ID", "itest")
PLAYBOOKS = os.path.join(ROOT, "playbooks")
# The stages of site.yml, in its order (validate_inventory first). Run as one ansible-playbook
# invocation of the stage playbooks so a missing summary play does not hide the stages' own results.
FLOW = ["validate_inventory.yml", "preflight.yml", "roce.yml", "entropy.yml", "pki.yml", "deploy.yml"]
NODES = ["prefill-1", "prefill-2", "decode-1", "decode-2"]
# The lab's control plane (tests/lab/k8s): Kubernetes 1.20; the deployer may deploy to this namespace.
KUBERNETES_VERSION = "1.20"
NAMESPACE = "mindie"
MINDIE2_IMAGE_BUILD = os.path.join(ROOT, "tests", "lab", "images", "mindie2", "build.py")


# tests/conftest.py put the collections root on sys.path; the playbooks must use the same tree.
COLLECTIONS = os.path.abspath(os.path.join(
    importlib.import_module("ansible_collections.ascend.mindie").__path__[0], "..", "..", ".."))


def _ansible_playbook():
    """ansible-playbook next to this python (the venv) first, then PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return here if os.path.exists(here) else shutil.which("ansible-playbook")


# --- lab -------------------------------------------------------------------------------------
def lab_cli(*args, check=True):
    proc = subprocess.run([sys.executable, LAB_CLI, "--lab-id", LAB_ID] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("atlas_lab.py %s failed (rc %d):\n%s" % (" ".join(args), proc.returncode, proc.stdout))
    return proc


class Lab(object):
    def __init__(self, inventory, image):
        self.inventory = inventory
        self.image = image  # the MindIE 2.x lab image the deployment names
        k8s = os.path.join("/var/lib/ascend-lab", LAB_ID, "k8s")
        self.admin_kubeconfig = os.path.join(k8s, "admin.kubeconfig")
        self.deployer_kubeconfig = os.path.join(k8s, "deployer.kubeconfig")
        with open(inventory) as handle:
            data = yaml.safe_load(handle)
        self.hosts = {}
        self.groups = {}

        def walk(name, group):
            for host, hvars in (group.get("hosts") or {}).items():
                self.hosts[host] = hvars
                self.groups.setdefault(name, []).append(host)
            for child_name, child in (group.get("children") or {}).items():
                walk(child_name, child or {})

        walk("all", data["all"])

    def fault(self, *args):
        return lab_cli("fault", *[str(a) for a in args])

    def clear(self):
        lab_cli("fault", "clear")

    def ssh_cmd(self, host):
        hv = self.hosts[host]
        # No ControlMaster: every snapshot is a fresh connection, independent of Ansible's.
        return ["ssh", "-i", hv["ansible_ssh_private_key_file"], "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                "-o", "LogLevel=ERROR", "root@%s" % hv["ansible_host"]]

    def ssh(self, host, command, stdin=None, timeout=120):
        return subprocess.run(self.ssh_cmd(host) + [command], input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, check=False)


# What a node snapshot covers: content hashes and modes of every regular file under these trees,
# symlink targets, the dpkg database, the running process names and the kernel's entropy knobs.
# Ansible's own remote temp dirs and the probe itself are left out.
_SNAPSHOT_SCRIPT = r'''
import hashlib, json, os, stat
roots = ["/etc", "/usr/local", "/usr/bin", "/usr/sbin", "/usr/lib/systemd", "/opt", "/root", "/data", "/tmp",
         "/var/lib/dpkg", "/home", "/srv", "/var/tmp"]
skip = ("/root/.ansible", "/root/.cache", "/tmp/ansible", "/var/tmp/ansible", "/etc/ld.so.cache")
files = {}
for root in roots:
    for d, dirs, names in os.walk(root):
        if d.startswith(skip):
            dirs[:] = []
            continue
        for n in names + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, n)
            if p.startswith(skip):
                continue
            try:
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    files[p] = "link:" + os.readlink(p)
                elif stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as f:
                        files[p] = "%o:%s" % (stat.S_IMODE(st.st_mode), hashlib.sha256(f.read()).hexdigest())
            except OSError as e:
                files[p] = "error:%s" % e.strerror
procs = set()
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open("/proc/%s/comm" % pid) as f:
                procs.add(f.read().strip())
        except OSError:
            pass
# our own probe: ssh session, shell, python
procs -= {"sshd", "sshd-session", "sh", "bash", "python3", "ps", "sleep"}
kernel = {}
for k in ("poolsize", "write_wakeup_threshold"):
    try:
        with open("/proc/sys/kernel/random/" + k) as f:
            kernel[k] = f.read().strip()
    except OSError:
        pass
print(json.dumps({"files": files, "procs": sorted(procs), "kernel": kernel}))
'''


def snapshot_nodes(lab, hosts=None):
    """Per node, everything _SNAPSHOT_SCRIPT sees (in parallel, one SSH connection per node)."""
    hosts = hosts or sorted(lab.hosts)
    out, errors = {}, {}

    def one(host):
        proc = lab.ssh(host, "python3 -", stdin=_SNAPSHOT_SCRIPT)
        if proc.returncode != 0:
            errors[host] = proc.stderr
        else:
            out[host] = json.loads(proc.stdout)

    threads = [threading.Thread(target=one, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, "cannot snapshot lab nodes: %s" % errors
    return out


def diff_nodes(before, after):
    """Human-readable list of what changed between two node snapshots (empty: nothing)."""
    lines = []
    for host in sorted(set(before) | set(after)):
        b, a = before.get(host, {}), after.get(host, {})
        bf, af = b.get("files", {}), a.get("files", {})
        for path in sorted(set(bf) | set(af)):
            if bf.get(path) != af.get(path):
                lines.append("%s: %s %s -> %s" % (host, path, bf.get(path, "(absent)"), af.get(path, "(absent)")))
        if b.get("procs") != a.get("procs"):
            lines.append("%s: processes %s -> %s" % (host, b.get("procs"), a.get("procs")))
        if b.get("kernel") != a.get("kernel"):
            lines.append("%s: kernel %s -> %s" % (host, b.get("kernel"), a.get("kernel")))
    return lines


def snapshot_dir(path):
    """Relative path -> mode and sha256 of every file (and every directory) under ``path``."""
    result = {}
    if not os.path.exists(path):
        return result
    for d, _dirs, names in os.walk(path):
        rel = os.path.relpath(d, path)
        result[rel + "/"] = "dir:%o" % stat.S_IMODE(os.stat(d).st_mode)
        for n in names:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                    result[os.path.join(rel, n)] = "%o:%s" % (stat.S_IMODE(st.st_mode), digest)
            else:
                result[os.path.join(rel, n)] = "other:%o" % st.st_mode
    return result


def diff_dicts(before, after, label):
    return ["%s: %s %s -> %s" % (label, k, before.get(k, "(absent)"), after.get(k, "(absent)"))
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


# --- the lab's Kubernetes API, read as its admin ------------------------------------------------
# What a run may change, per object of the namespace: ConfigMaps, Secrets, Deployments, Services (their
# data, spec, labels and annotations; not status, managedFields or resourceVersion, which controllers and
# status updates move). Objects the cluster makes itself are left out (kube-root-ca.crt, the default
# ServiceAccount's token Secret), and so is the data of rings-config-*: the Ascend Operator owns it and
# stamps it with the time it wrote it (the role only creates the empty ConfigMap).
SNAPSHOT_KINDS = ("configmaps", "secrets", "deployments", "services")


class Cluster(object):
    def __init__(self, lab):
        self.lab = lab

    def objects(self, plural):
        # atlas_lab.py kubectl: the lab's kubectl with its admin kubeconfig
        proc = subprocess.run([sys.executable, LAB_CLI, "--lab-id", LAB_ID, "kubectl", "get", plural, "-n", NAMESPACE,
                               "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120, check=False)
        assert proc.returncode == 0, "kubectl get %s failed: %s" % (plural, proc.stderr)
        return json.loads(proc.stdout)["items"]

    def snapshot(self):
        """plural/name -> sha256 of what a run may change (hashes: Secret data stays out of messages)."""
        out = {}
        for plural in SNAPSHOT_KINDS:
            for obj in self.objects(plural):
                meta = obj["metadata"]
                if plural == "configmaps" and meta["name"] == "kube-root-ca.crt":
                    continue
                if plural == "secrets" and obj.get("type") == "kubernetes.io/service-account-token":
                    continue
                state = {"labels": meta.get("labels"), "annotations": meta.get("annotations"),
                         "spec": obj.get("spec"), "type": obj.get("type")}
                if not meta["name"].startswith("rings-config-"):
                    state.update({"data": obj.get("data"), "binaryData": obj.get("binaryData")})
                out["%s/%s" % (plural, meta["name"])] = hashlib.sha256(
                    json.dumps(state, sort_keys=True).encode()).hexdigest()
        return out


# --- running playbooks -----------------------------------------------------------------------
_RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                    r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.M)


class Result(object):
    def __init__(self, cmd, rc, output, elapsed):
        self.cmd, self.rc, self.output, self.elapsed = cmd, rc, output, elapsed
        # The YAML callback wraps long messages and doubles quotes inside '...': match on this.
        self.flat = re.sub(r"\s+", " ", output).replace("''", "'")
        self.recap = {}
        for m in _RECAP.finditer(output):
            # one recap per invocation, even with several playbooks: the last wins
            self.recap[m.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed", "skipped",
                                               "rescued", "ignored"), (int(x) for x in m.groups()[1:])))

    @property
    def changed(self):
        return {h: r["changed"] for h, r in self.recap.items() if r["changed"]}

    @property
    def failed(self):
        return {h: r for h, r in self.recap.items() if r["failed"] or r["unreachable"]}

    def tail(self, lines=60):
        return "\n".join(self.output.splitlines()[-lines:])

    def explain(self):
        return "%s\nrc=%d after %.0fs; last lines:\n%s" % (" ".join(self.cmd), self.rc, self.elapsed, self.tail())


def default_deployment(env):
    """The demo's deployment (inventories/lab/group_vars/all/deployment.yml) with explicit dirs, sized for
    the lab's control plane."""
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "deployment.yml")) as handle:
        desc = yaml.safe_load(handle)
    desc["mindie_report_dir"] = env.report_dir
    desc["mindie_pki_dir"] = env.pki_dir
    # The lab's cluster version (applying, the API server itself validates: server-side dry run).
    desc["pd_deploy_kubernetes_version"] = KUBERNETES_VERSION
    # The lab image (its tag is the demo's unless MINDIE2_IMAGE_TAG says otherwise).
    desc["mindie_image"] = env.lab.image
    # Real pods: boot-time certificates, probes every 3 s; a bound that fails a stuck run in minutes.
    desc["pd_deploy_wait_timeout"] = 240
    desc["pd_deploy_wait_delay"] = 2
    desc["pd_deploy_ranktable_timeout"] = 240
    desc["pd_deploy_probe_period"] = 3
    desc["pd_deploy_probe_timeout"] = 3
    # The image's interpreter by absolute path (the node agent runs commands without a PATH search).
    desc["pd_deploy_python"] = "/usr/bin/python3"
    # The lab made the namespace; the least-privilege deployer may not patch namespaces.
    desc["pd_deploy_create_namespace"] = False
    # MindIE's release material (pd_deploy_mindie_release): the lab inventory finds it relative to its own
    # directory, this inventory lives elsewhere; our release-shaped fixture.
    desc["pd_deploy_mindie_release"] = os.path.join(ROOT, "tests", "fixtures", "mindie2-release")
    # Optional per docs/CONTRACTS.md, but playbooks/validate_inventory.yml fails when it is unset
    # (test_inventory_check_without_optional_ca_host); set so the other stages can be tested.
    desc["mindie_ca_host"] = "localhost"
    # The lab nodes have no package repositories (air-gapped): haveged comes from the lab's package
    # directory (entropy_package_dir in the lab inventory).
    desc["entropy_package_source"] = "local"
    return desc


def model_path():
    """The model directory of the demo's deployment (on every P/D node)."""
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "deployment.yml")) as handle:
        return yaml.safe_load(handle)["mindie_model_path"]


class Env(object):
    """Paths of one session: report dir, PKI dir, CA password file (0600), scratch space."""

    def __init__(self, base, lab):
        self.base, self.lab = base, lab
        self.cluster = Cluster(lab)
        self.report_dir = os.path.join(base, "reports")
        self.pki_dir = os.path.join(base, "pki")
        self.scratch = os.path.join(base, "scratch")
        os.makedirs(self.scratch)
        # Made up per session, never in argv: given to ansible-playbook as -e @file (mode 0600).
        self.ca_password = "Itest-%s-Aa1" % hashlib.sha256(os.urandom(16)).hexdigest()[:20]
        self.password_file = self.secret_vars_file("ca-password.yml", {"mindie_ca_password": self.ca_password})
        self.runs = 0

    def secret_vars_file(self, name, data):
        path = os.path.join(self.scratch, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(data, handle)
        return path

    def inventory_dir(self, deployment, extra_inventory=None):
        """A fresh inventory dir: the lab's inventory, group_vars/all/deployment.yml, extra files."""
        self.runs += 1
        inv = os.path.join(self.scratch, "inv-%03d" % self.runs)
        os.makedirs(os.path.join(inv, "group_vars", "all"))
        shutil.copy(self.lab.inventory, os.path.join(inv, "lab.yml"))
        with open(os.path.join(inv, "group_vars", "all", "deployment.yml"), "w") as handle:
            yaml.safe_dump(deployment, handle, default_flow_style=False)
        for name, content in (extra_inventory or {}).items():
            with open(os.path.join(inv, name), "w") as handle:
                handle.write(content)
        return inv

    def run(self, playbooks, deployment=None, extra_vars=None, args=(), password=True, verbosity=0,
            extra_inventory=None, timeout=900, watch=None, env=None):
        """ansible-playbook on the lab; returns a Result. ``watch(line, proc)`` sees every output line."""
        deployment = default_deployment(self) if deployment is None else deployment
        inv = self.inventory_dir(deployment, extra_inventory)
        cmd = [_ansible_playbook(), "-i", inv]
        if password:
            cmd += ["-e", "@" + (password if isinstance(password, str) else self.password_file)]
        if extra_vars:
            cmd += ["-e", "@" + self.secret_vars_file("extra-%03d.yml" % self.runs, extra_vars)]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        cmd += list(args)
        cmd += [os.path.join(PLAYBOOKS, p) for p in ([playbooks] if isinstance(playbooks, str) else playbooks)]
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.base, "ansible-local"),
            "ANSIBLE_LOG_PATH": os.path.join(self.base, "ansible.log"),
            "K8S_AUTH_KUBECONFIG": self.lab.deployer_kubeconfig,
            "MINDIE_REPORT_DIR": self.report_dir,
            "PYTHONUNBUFFERED": "1",
        })
        run_env.update(env or {})
        start = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, start_new_session=True)
        lines = []
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, 9))
        timer.start()
        try:
            for line in proc.stdout:
                lines.append(line)
                if watch:
                    watch(line, proc)
            rc = proc.wait()
        finally:
            timer.cancel()
        result = Result(cmd, rc, "".join(lines), time.time() - start)
        with open(os.path.join(self.base, "run-%03d.log" % self.runs), "w") as handle:
            handle.write(" ".join(cmd) + "\n" + result.output)
        return result

    def snapshot(self, nodes=True):
        """Everything a run may touch: the nodes, the PKI dir, the report dir and the cluster."""
        return {
            "nodes": snapshot_nodes(self.lab) if nodes else {},
            "pki": snapshot_dir(self.pki_dir),
            "reports": snapshot_dir(self.report_dir),
            "cluster": self.cluster.snapshot(),
        }

    @staticmethod
    def changes(before, after, reports=True):
        lines = diff_nodes(before["nodes"], after["nodes"])
        lines += diff_dicts(before["pki"], after["pki"], "control node PKI dir")
        if reports:
            lines += diff_dicts(before["reports"], after["reports"], "control node report dir")
        lines += diff_dicts(before["cluster"], after["cluster"], "cluster object")
        return lines


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.fail("the integration suite needs root (the Atlas lab uses network namespaces)")
    lab_cli("down", check=False)
    # built once, cached under /var/cache/ascend-lab; the last line is the image dir (.../mindie/<tag>)
    build = subprocess.run([sys.executable, MINDIE2_IMAGE_BUILD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=600, check=False)
    assert build.returncode == 0, "the MindIE 2.x lab image does not build:\n" + build.stdout
    image = "mindie:" + os.path.basename(build.stdout.strip().splitlines()[-1])
    lab_cli("up", "--prefill", "2", "--decode", "2", "--profile", "a2-64g", "--k8s", "--k8s-namespace", NAMESPACE)
    try:
        inventory = lab_cli("inventory").stdout.strip().splitlines()[-1]
        lab = Lab(inventory, image)
        path = model_path()
        for node in NODES:
            # the operator's model weights (the Server pods mount them read-only; hostPath type Directory)
            proc = lab.ssh(node, "mkdir -p %s && echo '{}' > %s/config.json" % (path, path))
            assert proc.returncode == 0, "cannot put the model dir on %s: %s" % (node, proc.stderr)
        yield lab
    finally:
        lab_cli("down", check=False)


@pytest.fixture(scope="session")
def env(lab):
    # Not pytest's tmp_path: other pytest sessions on this machine prune its numbered dirs.
    base = tempfile.mkdtemp(prefix="ascend-itest-")
    os.chmod(base, 0o700)
    try:
        yield Env(base, lab)
    finally:
        if os.environ.get("ITEST_KEEP"):
            sys.stderr.write("integration suite files kept in %s\n" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)


class Sampler(object):
    """Reads every process's argv while a run goes on and keeps those containing a secret."""

    def __init__(self, secrets):
        self.secrets = [s for s in secrets if s]
        self.hits = []
        self.samples = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.samples += 1
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        argv = handle.read().decode("utf-8", "replace")
                    with open("/proc/%s/environ" % pid, "rb") as handle:
                        environ = handle.read().decode("utf-8", "replace")
                except OSError:
                    continue
                for secret in self.secrets:
                    if secret in argv or secret in environ:
                        self.hits.append((pid, argv.replace("\0", " ")[:300]))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


@pytest.fixture(scope="session")
def fresh_check(lab, env):
    """--check of the whole flow on the freshly created lab, before anything converged it."""
    before = env.snapshot()
    result = env.run(FLOW, args=["--check", "--diff"])
    after = env.snapshot()
    # The preflight and RoCE reports are the check's own output (written in check mode on purpose);
    # the state is the nodes, the PKI dir and the cluster.
    return {"result": result, "changes": Env.changes(before, after, reports=False)}


@pytest.fixture(scope="session")
def converged(fresh_check, lab, env):
    """The whole flow once at -vvv (the secrets tests read its output); it must succeed."""
    with Sampler([env.ca_password]) as sampler:
        result = env.run(FLOW, verbosity=3)
    if result.rc != 0:
        pytest.fail("the flow did not converge on the lab, so the tests that need a converged cluster "
                    "cannot run:\n" + result.explain())
    return {"result": result, "argv_hits": sampler.hits, "argv_samples": sampler.samples}


@pytest.fixture
def clean_lab(converged, lab, env):
    """A test on the converged cluster: faults cleared afterwards, and sshd running everywhere."""
    yield converged
    lab.clear()  # also starts a stopped sshd again
