#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.

Plain processes on the host, bound only to the lab's management address 198.18.<n>.1, with their own
cluster CA (TLS everywhere, client certificates, no anonymous access, no insecure ports),
ServiceAccount signing keys, the Node + RBAC authorizers and the usual admission plugins including
NodeRestriction. State: /var/lib/ascend-lab/<ID>/k8s/ (pki/, *.kubeconfig, nodes/<node>.kubeconfig,
etcd/, logs/<component>.log). Binaries: tests/lab/k8s/build.py (cached).

    up(lab_state) -> dict     called by atlas_lab.py up --k8s (returns what state.json keeps as "k8s")
    down(lab_id)              called by atlas_lab.py down; also cleans up after a crash (no state)
"""
import base64
import json
import os
import shutil
import signal
import string
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build  # noqa: E402  (sibling module: the cached binaries)

STATE_ROOT = "/var/lib/ascend-lab"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# ServiceAccount whose token is deployer.kubeconfig; it gets the Role of deployer-rbac.yaml in each
# deploy namespace (the AWX credential of docs/kubernetes-deployer-role.md).
DEPLOYER_SA_NAMESPACE = "ascend-deployer"
DEPLOYER_SA = "mindie-deployer"
DEFAULT_NAMESPACES = ("mindie",)
ADMISSION = ("NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,TaintNodesByCondition,"
             "Priority,DefaultTolerationSeconds,DefaultStorageClass,StorageObjectInUseProtection,"
             "PersistentVolumeClaimResize,RuntimeClass,CertificateApproval,CertificateSigning,"
             "CertificateSubjectRestriction,DefaultIngressClass,MutatingAdmissionWebhook,"
             "ValidatingAdmissionWebhook,ResourceQuota")
PORTS = {"etcd": (2379, 2380), "kube-apiserver": (6443,), "kube-controller-manager": (10257,),
         "kube-scheduler": (10259,)}


class ControlPlaneError(Exception):
    pass


def log(msg):
    sys.stderr.write("[k8s %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def k8s_dir(lab_id):
    return os.path.join(STATE_ROOT, lab_id, "k8s")


def run(cmd, input_data=None, env=None, check=True):
    proc = subprocess.run(cmd, input=input_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise ControlPlaneError("%s failed (rc %d): %s" % (" ".join(cmd[:3]), proc.returncode, detail))
    return proc


# --------------------------------------------------------------------------- PKI (openssl)
class Pki(object):
    def __init__(self, path):
        self.path = path
        os.makedirs(path, mode=0o700, exist_ok=True)

    def p(self, name):
        return os.path.join(self.path, name)

    def ca(self):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", self.p("ca.key"), "-out", self.p("ca.crt"), "-days", "30",
             "-subj", "/CN=ascend-lab-kubernetes-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"])

    def cert(self, name, cn, org=None, ips=(), dns=(), server=False, client=True):
        """EC key + certificate signed by the cluster CA."""
        subj = "/CN=%s" % cn + ("/O=%s" % org if org else "")
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", self.p(name + ".key"), "-out", self.p(name + ".csr"), "-subj", subj])
        usages = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
        ext = ["basicConstraints=critical,CA:FALSE",
               "keyUsage=critical,digitalSignature,keyEncipherment",
               "extendedKeyUsage=" + ",".join(usages)]
        sans = ["IP:%s" % i for i in ips] + ["DNS:%s" % d for d in dns]
        if sans:
            ext.append("subjectAltName=" + ",".join(sans))
        with open(self.p(name + ".ext"), "w") as fh:
            fh.write("\n".join(ext) + "\n")
        run(["openssl", "x509", "-req", "-in", self.p(name + ".csr"), "-CA", self.p("ca.crt"),
             "-CAkey", self.p("ca.key"), "-CAcreateserial", "-out", self.p(name + ".crt"),
             "-days", "30", "-sha256", "-extfile", self.p(name + ".ext")])
        os.unlink(self.p(name + ".csr"))
        os.unlink(self.p(name + ".ext"))
        return self.p(name + ".crt"), self.p(name + ".key")

    def sa_keys(self):
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", self.p("sa.key")])
        run(["openssl", "pkey", "-in", self.p("sa.key"), "-pubout", "-out", self.p("sa.pub")])


def b64file(path):
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode()


def write_kubeconfig(path, server, ca, user, cert=None, key=None, token=None, namespace=None):
    usr = {"client-certificate-data": b64file(cert), "client-key-data": b64file(key)} if cert \
        else {"token": token}
    ctx = {"cluster": "ascend-lab", "user": user}
    if namespace:
        ctx["namespace"] = namespace
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "ascend-lab",
           "clusters": [{"name": "ascend-lab", "cluster": {"server": server,
                                                           "certificate-authority-data": b64file(ca)}}],
           "users": [{"name": user, "user": usr}],
           "contexts": [{"name": "ascend-lab", "context": ctx}]}
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=1)  # JSON is YAML: kubectl and kubernetes.core read it
    os.rename(path + ".tmp", path)


# --------------------------------------------------------------------------- processes
def start(name, argv, logs):
    logf = open(os.path.join(logs, name + ".log"), "ab")
    try:
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True)
    finally:
        logf.close()
    return proc.pid


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, IndexError):
        return False


def lab_processes(lab_id):
    """Pids of processes whose command line names this lab's k8s state dir (crash-safe discovery)."""
    mark = (k8s_dir(lab_id) + "/").encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                if mark in fh.read():
                    pids.append(int(entry))
        except IOError:
            pass
    return pids


def find_component(lab_id, name):
    """Pid of the running component (etcd, kube-apiserver, ...) of the lab, or None."""
    for pid in lab_processes(lab_id):
        argv = component_argv(pid)
        if argv and os.path.basename(argv[0]) == name:
            return pid
    return None


def component_argv(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return [a.decode() for a in fh.read().split(b"\0") if a]
    except IOError:
        return []


def start_component(lab_id, name, argv):
    """Starts a component again with the argv it had (fault tests stop one and bring it back)."""
    return start(name, argv, os.path.join(k8s_dir(lab_id), "logs"))


def kubectl(kubeconfig, *args, input_data=None, check=True):
    return run([os.path.join(build.BIN, "kubectl"), "--kubeconfig", kubeconfig, "--request-timeout",
                "20s"] + list(args), input_data=input_data, check=check)


def wait_for(what, check, timeout, logs_hint, pids=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        dead = [p for p in pids if not pid_alive(p)]
        if dead:
            raise ControlPlaneError("%s: the process exited; see %s" % (what, logs_hint))
        time.sleep(0.3)
    raise ControlPlaneError("%s: not ready after %ds; see %s" % (what, timeout, logs_hint))


# --------------------------------------------------------------------------- up / down
def up(lab_state, namespaces=DEFAULT_NAMESPACES):
    lab_id = lab_state["lab_id"]
    net = lab_state["net_index"]
    ip = "198.18.%d.1" % net
    server = "https://%s:6443" % ip
    t0 = time.time()
    bin_dir = build.BIN
    if build.cached() is None:
        raise ControlPlaneError("the Kubernetes binaries are not built: run 'python tests/lab/k8s/build.py' "
                                "(once, ~5 min; make deps does it)")
    root = k8s_dir(lab_id)
    if lab_processes(lab_id):
        raise ControlPlaneError("a control plane of lab %s is still running; run 'down' first" % lab_id)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root, mode=0o700)
    logs = os.path.join(root, "logs")
    nodes_dir = os.path.join(root, "nodes")
    os.makedirs(logs, mode=0o700)
    os.makedirs(nodes_dir, mode=0o700)
    pki = Pki(os.path.join(root, "pki"))
    pki.ca()
    pki.sa_keys()
    svc_ip = "198.18.%d.241" % net  # first address of the service CIDR: the kubernetes Service
    pki.cert("etcd-server", "etcd", ips=[ip], server=True, client=True)
    pki.cert("apiserver", "kube-apiserver", ips=[ip, svc_ip],
             dns=["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                  "kubernetes.default.svc.cluster.local"], server=True, client=False)
    pki.cert("apiserver-etcd-client", "kube-apiserver-etcd-client")
    pki.cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", org="system:masters")
    ca = pki.p("ca.crt")
    kc = {}
    for name, cn, org in (("admin", "ascend-lab-admin", "system:masters"),
                          ("controller-manager", "system:kube-controller-manager", None),
                          ("scheduler", "system:kube-scheduler", None)):
        crt, key = pki.cert(name, cn, org=org)
        kc[name] = os.path.join(root, name + ".kubeconfig")
        write_kubeconfig(kc[name], server, ca, cn, cert=crt, key=key)
    node_kcs = {}
    for node in lab_state.get("nodes", []):
        crt, key = pki.cert("node-" + node["name"], "system:node:" + node["name"], org="system:nodes")
        node_kcs[node["name"]] = os.path.join(nodes_dir, node["name"] + ".kubeconfig")
        write_kubeconfig(node_kcs[node["name"]], server, ca, "system:node:" + node["name"], cert=crt, key=key)
    p = pki.p
    pids = {}
    pids["etcd"] = start("etcd", [
        os.path.join(bin_dir, "etcd"), "--name", "lab", "--data-dir", os.path.join(root, "etcd"),
        "--listen-client-urls", "https://%s:2379" % ip, "--advertise-client-urls", "https://%s:2379" % ip,
        "--listen-peer-urls", "https://%s:2380" % ip, "--initial-advertise-peer-urls", "https://%s:2380" % ip,
        "--initial-cluster", "lab=https://%s:2380" % ip, "--initial-cluster-state", "new",
        "--cert-file", p("etcd-server.crt"), "--key-file", p("etcd-server.key"),
        "--trusted-ca-file", ca, "--client-cert-auth=true",
        "--peer-cert-file", p("etcd-server.crt"), "--peer-key-file", p("etcd-server.key"),
        "--peer-trusted-ca-file", ca, "--peer-client-cert-auth=true",
        "--logger", "zap", "--log-outputs", "stderr"], logs)
    pids["kube-apiserver"] = start("kube-apiserver", [
        os.path.join(bin_dir, "kube-apiserver"),
        "--advertise-address", ip, "--bind-address", ip, "--secure-port", "6443", "--insecure-port", "0",
        "--cert-dir", os.path.join(root, "pki", "apiserver-generated"),
        "--etcd-servers", "https://%s:2379" % ip, "--etcd-cafile", ca,
        "--etcd-certfile", p("apiserver-etcd-client.crt"), "--etcd-keyfile", p("apiserver-etcd-client.key"),
        "--client-ca-file", ca, "--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"),
        "--kubelet-certificate-authority", ca,
        "--kubelet-client-certificate", p("apiserver-kubelet-client.crt"),
        "--kubelet-client-key", p("apiserver-kubelet-client.key"),
        "--kubelet-preferred-address-types", "InternalIP",
        "--authorization-mode", "Node,RBAC", "--anonymous-auth=false",
        "--enable-admission-plugins", ADMISSION,
        "--service-cluster-ip-range", "198.18.%d.240/28" % net,
        "--service-account-key-file", p("sa.pub"), "--service-account-signing-key-file", p("sa.key"),
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--allow-privileged=false", "--profiling=false", "--v", "1"], logs)
    wait_for("etcd", lambda: run([os.path.join(bin_dir, "etcdctl"), "--endpoints", "https://%s:2379" % ip,
                                  "--cacert", ca, "--cert", p("apiserver-etcd-client.crt"),
                                  "--key", p("apiserver-etcd-client.key"), "endpoint", "health"],
                                 check=False).returncode == 0,
             60, os.path.join(logs, "etcd.log"), [pids["etcd"]])
    wait_for("kube-apiserver", lambda: kubectl(kc["admin"], "get", "--raw", "/readyz",
                                               check=False).returncode == 0,
             120, os.path.join(logs, "kube-apiserver.log"), [pids["kube-apiserver"]])
    common = ["--bind-address", ip, "--port", "0", "--leader-elect=false", "--profiling=false"]
    pids["kube-controller-manager"] = start("kube-controller-manager", [
        os.path.join(bin_dir, "kube-controller-manager"), "--kubeconfig", kc["controller-manager"],
        "--authentication-kubeconfig", kc["controller-manager"],
        "--authorization-kubeconfig", kc["controller-manager"],
        "--secure-port", "10257", "--cert-dir", os.path.join(root, "pki", "controller-manager-generated"),
        "--service-account-private-key-file", p("sa.key"), "--root-ca-file", ca,
        "--use-service-account-credentials=true",
        "--cluster-signing-cert-file", ca, "--cluster-signing-key-file", p("ca.key"),
        "--service-cluster-ip-range", "198.18.%d.240/28" % net, "--allocate-node-cidrs=false",
        "--v", "1"] + common, logs)
    pids["kube-scheduler"] = start("kube-scheduler", [
        os.path.join(bin_dir, "kube-scheduler"), "--kubeconfig", kc["scheduler"],
        "--authentication-kubeconfig", kc["scheduler"], "--authorization-kubeconfig", kc["scheduler"],
        "--secure-port", "10259", "--cert-dir", os.path.join(root, "pki", "scheduler-generated"),
        "--v", "1"] + common, logs)
    # What the agents' service proxy reads, on top of what the Node authorizer grants.
    kubectl(kc["admin"], "apply", "-f", "-", input_data=NODE_PROXY_RBAC)
    deployer = os.path.join(root, "deployer.kubeconfig")
    make_deployer(kc["admin"], server, ca, deployer, namespaces, root)
    state = {"server": server, "address": ip, "dir": root, "admin_kubeconfig": kc["admin"],
             "deployer_kubeconfig": deployer, "node_kubeconfigs": node_kcs,
             "deployer_namespaces": list(namespaces), "service_cidr": "198.18.%d.240/28" % net,
             "pids": pids, "bin_dir": bin_dir, "logs": logs,
             "up_seconds": round(time.time() - t0, 2)}
    for name in COMPONENTS:
        if not pid_alive(pids[name]):
            raise ControlPlaneError("%s exited during start; see %s" % (name, os.path.join(logs, name + ".log")))
    log("control plane of lab %s up at %s in %.1fs" % (lab_id, server, state["up_seconds"]))
    return state


NODE_PROXY_RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "ascend-lab:node-service-proxy"}
rules:
  - apiGroups: [""]
    resources: [services, endpoints]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "ascend-lab:node-service-proxy"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "ascend-lab:node-service-proxy"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:nodes"}
"""


def deployer_rbac(namespace):
    with open(os.path.join(HERE, "deployer-rbac.yaml")) as fh:
        return string.Template(fh.read()).substitute(NAMESPACE=namespace, SA_NAMESPACE=DEPLOYER_SA_NAMESPACE,
                                                     SA_NAME=DEPLOYER_SA)


def grant(admin_kubeconfig, namespace):
    """Creates the namespace (as the cluster admin would) and binds the deployer Role in it."""
    kubectl(admin_kubeconfig, "create", "namespace", namespace, check=False)
    kubectl(admin_kubeconfig, "apply", "-f", "-", input_data=deployer_rbac(namespace))


def make_deployer(admin, server, ca, path, namespaces, root):
    kubectl(admin, "create", "namespace", DEPLOYER_SA_NAMESPACE)
    kubectl(admin, "-n", DEPLOYER_SA_NAMESPACE, "create", "serviceaccount", DEPLOYER_SA)
    for ns in namespaces:
        grant(admin, ns)
    token = {}

    def have_token():
        # the controller-manager's token controller makes the ServiceAccount's token Secret
        out = kubectl(admin, "-n", DEPLOYER_SA_NAMESPACE, "get", "serviceaccount", DEPLOYER_SA,
                      "-o", "jsonpath={.secrets[0].name}", check=False).stdout.strip()
        if not out:
            return False
        data = kubectl(admin, "-n", DEPLOYER_SA_NAMESPACE, "get", "secret", out,
                       "-o", "jsonpath={.data.token}", check=False).stdout.strip()
        if data:
            token["value"] = base64.b64decode(data).decode()
        return bool(data)

    wait_for("the deployer's ServiceAccount token", have_token, 60,
             os.path.join(root, "logs", "kube-controller-manager.log"))
    write_kubeconfig(path, server, ca, DEPLOYER_SA, token=token["value"],
                     namespace=namespaces[0] if namespaces else None)


def down(lab_id):
    """Stops every control-plane process of the lab and removes its state dir. Safe to repeat."""
    # Found by command line (each names the lab's k8s dir), so a lost state.json does not matter.
    pids = set(lab_processes(lab_id))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.time() + 5.0
        while time.time() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.05)
        pids = set(p for p in pids if pid_alive(p))
        if not pids:
            break
    for pid in lab_processes(lab_id):
        try:
            os.waitpid(pid, os.WNOHANG)
        except OSError:
            pass
    left = [p for p in lab_processes(lab_id) if pid_alive(p)]
    if left:
        raise ControlPlaneError("control-plane processes of lab %s survived SIGKILL: %s" % (lab_id, left))
    shutil.rmtree(k8s_dir(lab_id), ignore_errors=True)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="grant the lab's deployer a namespace (the lab's admin runs it)")
    ap.add_argument("--lab-id", default=os.environ.get("ATLAS_LAB_ID", "lab"))
    sub = ap.add_subparsers(dest="cmd")
    g = sub.add_parser("grant", help="create NAMESPACE and bind the deployer Role in it")
    g.add_argument("namespace")
    args = ap.parse_args(argv)
    if args.cmd != "grant":
        ap.print_help()
        return 2
    try:
        grant(os.path.join(k8s_dir(args.lab_id), "admin.kubeconfig"), args.namespace)
    except ControlPlaneError as exc:
        sys.stderr.write("controlplane: %s\n" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
