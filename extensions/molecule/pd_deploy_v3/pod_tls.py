# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a MindIE 3.x pod's TLS material from OUTSIDE the pod (the lab has no kubectl exec): find the
container's main process on the host by its POD_IP and `motor_pod.py start <role>`, then look through
/proc/<pid>/root (its mount namespace) at the directory user_config.json names, and dial its
management port over TLS with our CA (the certificate must name the pod IP) and over plain HTTP
(must not answer). Prints one JSON object. Test code of the molecule scenario pd_deploy_v3.

  pod_tls.py --pod-ip IP --role coordinator --mount /mnt/motor-tls --ca ROOT.pem --chain CHAIN.pem \
             --port 1026 --path /readiness
"""
import argparse
import hashlib
import json
import os
import ssl
import stat
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pod_proc import pod_process  # noqa: E402  pylint: disable=wrong-import-position


def find_process(pod_ip, role):
    """The pod's `motor_pod.py start <role>` process."""
    return pod_process(pod_ip, ["start", role], first_suffix="motor_pod.py")


def layout(root):
    files, dirs = {}, {}
    for base, subdirs, names in os.walk(root):
        for d in subdirs:
            path = os.path.join(base, d)
            dirs[os.path.relpath(path, root)] = "%04o" % stat.S_IMODE(os.lstat(path).st_mode)
        for n in names:
            path = os.path.join(base, n)
            files[os.path.relpath(path, root)] = "%04o" % stat.S_IMODE(os.lstat(path).st_mode)
    return files, dirs


def fs_type(pid, mount):
    with open("/proc/%d/mounts" % pid) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 2 and parts[1] == mount:
                return parts[2]
    return None


def dial(url, ca=None):
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as resp:
            return {"status": resp.status, "body": resp.read().decode("utf-8", "replace")[:300]}
    except Exception as exc:  # the outcome is the point, whatever the error
        return {"status": None, "error": "%s: %s" % (type(exc).__name__, exc)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pod-ip", required=True)
    parser.add_argument("--role", required=True)
    parser.add_argument("--mount", required=True)
    parser.add_argument("--ca", required=True, help="CA to verify the pod's server certificate with (our root)")
    parser.add_argument("--chain", required=True, help="what the pod's ca/ca.pem must be (the component's trust bundle)")
    parser.add_argument("--port", type=int, default=1026)
    parser.add_argument("--path", default="/readiness")
    args = parser.parse_args()
    out = {"pid": find_process(args.pod_ip, args.role)}
    if out["pid"]:
        root = "/proc/%d/root%s" % (out["pid"], args.mount)
        out["files"], out["dirs"] = layout(root)
        out["fs"] = fs_type(out["pid"], args.mount)
        with open(os.path.join(root, "ca", "ca.pem"), "rb") as fh:
            pod_ca = fh.read()
        with open(args.chain, "rb") as fh:
            out["ca_same_as_pki"] = hashlib.sha256(fh.read()).digest() == hashlib.sha256(pod_ca).digest()
    out["https"] = dial("https://%s:%d%s" % (args.pod_ip, args.port, args.path), args.ca)
    out["http"] = dial("http://%s:%d%s" % (args.pod_ip, args.port, args.path))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
