# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets: the converged flow was run at -vvv (fixture ``converged``); look for the CA password, the
private keys and the decrypted key passwords everywhere they must not be."""
import base64
import glob
import os
import re
import stat
import subprocess

from conftest import LAB_ID, NODES


# A PEM private key block with its body (not just the marker string, which code and docs mention).
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\n|\n)(?:Proc-Type|[A-Za-z0-9+/]{40})")


def _private_key_markers(env):
    """The CA password, and for every private key file in the PKI dir: a line of its body and a
    slice of its base64 form (what a Secret or a slurp would carry)."""
    markers = {"CA password": env.ca_password,
               "CA password (base64)": base64.b64encode(env.ca_password.encode()).decode()}
    for path in glob.glob(os.path.join(env.pki_dir, "**", "*"), recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        if not (data.startswith(b"-----BEGIN") and PEM_KEY.search(data.decode("ascii", "replace"))):
            continue
        rel = os.path.relpath(path, env.pki_dir)
        body = [l for l in data.decode().splitlines() if l and not l.startswith("-----") and ":" not in l]
        # a full 64-character base64 line from the middle of the key: unique to this key
        markers["private key %s" % rel] = body[len(body) // 2]
        markers["private key %s (base64)" % rel] = base64.b64encode(data).decode()[400:464]
    assert any(k.startswith("private key") for k in markers), \
        "the PKI dir %s holds no private key: did the pki stage run?" % env.pki_dir
    return markers


def _scan_text(text, markers):
    return sorted(name for name, marker in markers.items() if marker in text)


def test_no_secret_in_verbose_output(converged, env):
    markers = _private_key_markers(env)
    output = converged["result"].output
    assert "-vvv" in " ".join(converged["result"].cmd)
    assert "PLAY [Build the CA and the component certificates]" in output
    found = _scan_text(output, markers)
    assert found == [], "the -vvv output of the flow contains: %s" % found
    # nor any other PEM private key (e.g. a component key made during the run)
    assert not PEM_KEY.search(output), "a PEM private key appears in the -vvv output: %s" % (
        output[PEM_KEY.search(output).start():][:120],)


def test_no_secret_in_logs_or_reports(converged, env):
    markers = _private_key_markers(env)
    leaks = []
    for base in (env.report_dir, os.path.join(env.base, "ansible.log"), os.path.join(env.base, "ansible-local")):
        paths = [base] if os.path.isfile(base) else glob.glob(os.path.join(base, "**", "*"), recursive=True)
        for path in paths:
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
                leaks += ["%s: %s" % (path, n) for n in _scan_text(text, markers)]
                if PEM_KEY.search(text):
                    leaks.append("%s: a PEM private key" % path)
    assert os.path.isfile(os.path.join(env.base, "ansible.log")), "ANSIBLE_LOG_PATH log was not written"
    assert leaks == [], "secrets in logs/reports:\n" + "\n".join(leaks)


def test_no_secret_in_process_arguments(converged):
    assert converged["argv_samples"] > 20, "the argv sampler barely ran (%d samples)" % converged["argv_samples"]
    assert converged["argv_hits"] == [], "processes with the CA password in argv/environment: %s" % (
        converged["argv_hits"][:5],)


def test_secret_files_are_private(converged, env):
    """Every file on the control node that holds key material or a password is 0400/0600, and every
    directory on the way to it is not world-accessible."""
    markers = _private_key_markers(env)
    loose = []
    for path in glob.glob(os.path.join(env.pki_dir, "**", "*"), recursive=True) + \
            glob.glob(os.path.join(env.report_dir, "**", "*"), recursive=True) + \
            glob.glob(os.path.join(env.scratch, "*")):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8", "replace")
        secret = (PEM_KEY.search(text) or _scan_text(text, markers)
                  or "/tools/pmt/" in path or path.endswith(("ca_passwd.txt", "ksfa", "ksfb")))
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if secret and mode not in (0o400, 0o600):
            loose.append("%s mode %o" % (path, mode))
    # the PKI dir itself is private
    assert stat.S_IMODE(os.stat(env.pki_dir).st_mode) & 0o077 == 0, "PKI dir %s is group/world accessible" % env.pki_dir
    assert loose == [], "secret files that are not 0400/0600:\n" + "\n".join(loose)


def test_private_keys_never_reach_nodes(converged, env, lab):
    """No private key (nor the CA password) is copied to any NPU node: they only run the checks,
    haveged, and the pods (which get keys through Secrets)."""
    markers = _private_key_markers(env)
    patterns = "\n".join(markers.values()) + "\n"
    leaks = []
    for node in NODES:
        # every file outside the pseudo filesystems that holds one of the markers
        proc = lab.ssh(node, "cat > /tmp/.itest-patterns && grep -rlIF -f /tmp/.itest-patterns / --exclude-dir=proc "
                             "--exclude-dir=sys --exclude-dir=dev 2>/dev/null | grep -v '^/tmp/.itest-patterns$'; "
                             "rm -f /tmp/.itest-patterns; true", stdin=patterns, timeout=300)
        assert proc.returncode == 0, proc.stderr
        leaks += ["%s:%s" % (node, h) for h in proc.stdout.splitlines() if h]
    assert leaks == [], "key material or the CA password on NPU nodes:\n" + "\n".join(leaks)
    assert markers  # (computed above: the PKI material exists, so the search had something to find)
    # The pods run for real now. Kubelet keeps a pod's Secret volumes under /var/lib/kubelet/pods/ on the
    # node; the lab's node agent keeps each node's pods (volumes, container upper dirs, logs) under
    # /var/lib/ascend-lab/<ID>/nodes/<node>/pods/ on the host, outside the node's root that the search
    # above sees. So the claim is narrowed honestly there: key material may sit in the pods' Secret volumes
    # (that is how the pods get it), nowhere else in a pod's files (not in its logs, ConfigMaps, or what its
    # containers wrote).
    secret_volumes = set()
    for dep in env.cluster.objects("deployments"):
        secret_volumes |= {v["name"] for v in dep["spec"]["template"]["spec"].get("volumes", []) if "secret" in v}
    assert secret_volumes, "no pod mounts a Secret volume"
    in_secret_volumes, elsewhere = [], []
    for node in NODES:
        pods = os.path.join("/var/lib/ascend-lab", LAB_ID, "nodes", node, "pods")
        assert os.path.isdir(pods), "no pods dir %s: do pods run on %s?" % (pods, node)
        proc = subprocess.run(["grep", "-rlIF", "-f", "-", pods], input=patterns, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True, timeout=300, check=False)
        for path in proc.stdout.splitlines():
            parts = os.path.relpath(path, pods).split(os.sep)
            (in_secret_volumes if len(parts) > 2 and parts[1] == "volumes" and parts[2] in secret_volumes
             else elsewhere).append("%s:%s" % (node, path))
    assert in_secret_volumes, "no pod's Secret volume holds the key material: is the search blind?"
    assert elsewhere == [], "key material in pods' files outside their Secret volumes:\n" + "\n".join(elsewhere)


def test_key_material_reaches_pods_only_as_read_only_secrets(converged, env):
    markers = _private_key_markers(env)
    deployments = env.cluster.objects("deployments")
    assert deployments, "no Deployment in the cluster after the flow"
    secret_names = {s["metadata"]["name"] for s in env.cluster.objects("secrets")}
    assert secret_names, "no Secret in the cluster after the flow (TLS is on by default)"
    problems = []
    for cm in env.cluster.objects("configmaps"):
        text = str(cm.get("data", {})) + str(cm.get("binaryData", {}))
        if PEM_KEY.search(text) or _scan_text(text, markers):
            problems.append("ConfigMap %s holds key material" % cm["metadata"]["name"])
    mounted_secrets = 0
    for dep in deployments:
        spec = dep["spec"]["template"]["spec"]
        secret_volumes = {v["name"]: v for v in spec.get("volumes", []) if "secret" in v}
        for v in secret_volumes.values():
            mode = v["secret"].get("defaultMode")
            if mode is None or mode & 0o007:
                problems.append("%s: Secret volume %s defaultMode %s (want no world bits, e.g. 0400)"
                                % (dep["metadata"]["name"], v["name"], oct(mode) if mode is not None else "unset"))
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env_var in container.get("env", []):
                if _scan_text(str(env_var), markers):
                    problems.append("%s/%s env %s holds a secret" % (dep["metadata"]["name"], container["name"],
                                                                     env_var.get("name")))
            for mount in container.get("volumeMounts", []):
                if mount["name"] in secret_volumes:
                    mounted_secrets += 1
                    if not mount.get("readOnly"):
                        problems.append("%s/%s mounts Secret volume %s writable at %s" % (
                            dep["metadata"]["name"], container["name"], mount["name"], mount["mountPath"]))
        text = str(dep)
        if PEM_KEY.search(text) or _scan_text(text, markers):
            problems.append("Deployment %s embeds key material" % dep["metadata"]["name"])
    assert mounted_secrets > 0, "no container mounts a Secret volume"
    assert problems == [], "\n".join(problems)
