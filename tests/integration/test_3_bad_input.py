# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input (docs/bad-input.md): each case runs the real playbooks up to the stage that must refuse
it, on the converged cluster, and asserts the operator's message AND that nothing changed: every
node (files under /etc, /usr, /root, /tmp..., dpkg database, processes), the control node's PKI dir,
the cluster's objects, and the report dir (except the refusing stage's own report)."""
import os
import re
import shutil

import pytest

from conftest import LAB_ID, Env, default_deployment, snapshot_dir

VALIDATE = ["validate_inventory.yml"]
PREFLIGHT = ["validate_inventory.yml", "preflight.yml"]
PKI = ["pki.yml"]
DEPLOY_ONLY = ["deploy.yml"]
TO_DEPLOY = ["validate_inventory.yml", "preflight.yml", "deploy.yml"]
PREFLIGHT_REPORTS = ("preflight.json", "preflight.md")
# pd_deploy writes the rendered objects (Secret data redacted) before it applies them
DEPLOY_REPORTS = ("pd_deploy/",)
FRESH_PKI = "<a new PKI dir>"


def _drop(key):
    def change(d):
        d.pop(key, None)
    return change


def _set(**values):
    def change(d):
        d.update(values)
    return change


DUP_ROLE_INVENTORY = """all:
  children:
    mindie_cluster:
      children:
        mindie_prefill:
          hosts:
            decode-1: {}
"""

# id, playbooks, change to the deployment, extra vars, password ('weak'/'wrong'/None = the good one,
# False = none), extra inventory files, regexes the output must match, reports the stage may write
CASES = [
    ("layout-missing", VALIDATE, _drop("mindie_layout"), None, None, None,
     [r"mindie_layout is '+\. ", r"Set mindie_layout to 'single'"], ()),
    ("layout-mistyped", VALIDATE, _set(mindie_layout="mutli"), None, None, None,
     [r"mindie_layout is 'mutli'", r"'multi'"], ()),
    ("node-in-two-roles", VALIDATE, None, None, None, {"dup.yml": DUP_ROLE_INVENTORY},
     [r"decode-1 (are|is) in more than one of", r"remove it from all groups but one"], ()),
    ("model-name-missing", PREFLIGHT, _drop("mindie_model_name"), None, None, None,
     [r"mindie_model_name"], PREFLIGHT_REPORTS),
    ("model-unsupported", PREFLIGHT, _set(mindie_model_name="GPT-4o-mini"), None, None, None,
     [r"GPT-4o-mini", r"(?i)(LLaMA3|Qwen2)"], PREFLIGHT_REPORTS),
    ("instances-mistyped", PREFLIGHT, _set(mindie_p_instances="two"), None, None, None,
     [r"mindie_p_instances", r"two"], PREFLIGHT_REPORTS),
    ("feature-unsupported", PREFLIGHT, _set(mindie_features={"multi_lora": True}), None, None, None,
     [r"multi_lora"], PREFLIGHT_REPORTS),
    ("feature-mistyped-key", PREFLIGHT, _set(mindie_features={"prefix_cahce": True}), None, None, None,
     [r"prefix_cahce"], PREFLIGHT_REPORTS),
    ("sampling-refused", PREFLIGHT, _set(mindie_sampling_defaults={"best_of": 2}), None, None, None,
     [r"best_of"], PREFLIGHT_REPORTS),
    ("npus-per-instance-too-many", PREFLIGHT, _set(mindie_npus_per_instance=16), None, None, None,
     [r"mindie_npus_per_instance=16 is more than the node has", r"at most 8"], PREFLIGHT_REPORTS),
    # Refused by the preflight stage, before entropy or PKI touch anything.
    ("pd-counts-do-not-fit", PREFLIGHT, _set(mindie_p_instances=3), None, None, None,
     [r"3 P \+ 2 D instances x 8 NPUs need 5 Server pods, but the 4 P/D node\(s\) hold only 4"], PREFLIGHT_REPORTS),
    ("ca-password-missing", PKI, None, None, False, None,
     [r"mindie_ca_password is not set"], ()),
    # on a new PKI dir: the weak password is refused before the CA is made (an existing CA would
    # refuse any other password as "cannot be decrypted", see ca-password-wrong)
    ("ca-password-weak", PKI, _set(mindie_pki_dir=FRESH_PKI), None, "weak", None,
     [r"the CA key password \(option password\) breaks the MindIE password rules: it uses lower case letter; "
      r"at least two of lower case letter, upper case letter, digit, special character"], ()),
    ("ca-password-common", PKI, _set(mindie_pki_dir=FRESH_PKI), None, "common", None,
     [r"the CA key password \(option password\) breaks the MindIE password rules"], ()),
    ("ca-password-wrong", PKI, None, None, "wrong", None,
     [r"the CA in \S+/pki/ca is kept but should be replaced: ca\.key\.pem cannot be decrypted with the given "
      r"password", r"Fix mindie_ca_password"], ()),
    ("san-ip-invalid-static-cert", PKI, None,
     {"pki_static_certs": [{"name": "coordinator-host", "component": "coordinator", "ips": ["300.1.2.3"]}]},
     None, None, [r"pki_static_certs coordinator-host ips has \"300\.1\.2\.3\", which is not an IP address"], ()),
    ("san-ip-invalid-component-cert", PKI, None,
     {"pki_component_certs": {
         "server": {"subject": {"CN": "mindie-server"}, "expired_time": 3650, "serial_number": "random",
                    "key_size": 4096, "ips": ["10.0.0.256"], "dns": []},
         "controller": {"subject": {"CN": "mindie-ms-controller"}, "ips": [], "dns": []},
         "coordinator": {"subject": {"CN": "mindie-ms-coordinator"}, "ips": [], "dns": []}}},
     None, None, [r"pki_component_certs\.server\.ips has \"10\.0\.0\.256\", which is not an IP address: write IPv4 "
                  r"or IPv6 addresses"], ()),
    ("image-missing", DEPLOY_ONLY, _drop("mindie_image"), {"pd_deploy_hardware": "a2"}, None, None,
     [r"mindie_image \(found '+\)"], ()),
    ("namespace-invalid-name", DEPLOY_ONLY, _set(mindie_namespace="Mindie_NS"), {"pd_deploy_hardware": "a2"},
     None, None, [r"Mindie_NS"], ()),
    ("namespace-does-not-exist", DEPLOY_ONLY, _set(mindie_namespace="no-such-ns"),
     # its own NodePort: the converged instance holds the default one (mindie2's NodePort clash check);
     # the cluster's server-side dry run (apply) meets the missing namespace first. As the cluster's admin:
     # the least-privilege deployer is refused in any other namespace before the API server looks whether it
     # exists (tests/k8s checks that refusal).
     {"pd_deploy_hardware": "a2", "pd_deploy_create_namespace": False, "pd_deploy_node_port": 31016,
      "pd_deploy_kubeconfig": os.path.join("/var/lib/ascend-lab", LAB_ID, "k8s", "admin.kubeconfig")}, None, None,
     [r"Failed to (?:create|apply) object: .*namespaces \\?\"no-such-ns\\?\" not found"], DEPLOY_REPORTS),
    ("mindie-release-missing", DEPLOY_ONLY, None,
     {"pd_deploy_hardware": "a2", "pd_deploy_mindie_release": "/nonexistent/deploy_scripts"}, None, None,
     [r"pd_deploy_mindie_release /nonexistent/deploy_scripts does not exist"], ()),
]

# Confirmed broken promises (see the report): the suite stays green while they stay visible.
XFAIL = {
    # Promises confirmed broken are listed here with the reason (strict: they fail once fixed).
}


def _password_file(env, kind):
    if kind is None:
        return True
    if kind is False:
        return False
    value = {"weak": "abcdefgh", "common": "password1", "wrong": "Wrong-Passw0rd-%s" % env.ca_password[-6:]}[kind]
    return env.secret_vars_file("ca-password-%s.yml" % kind, {"mindie_ca_password": value}), value


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=[pytest.mark.xfail(strict=True, reason=XFAIL[c[0]])]
                                               if c[0] in XFAIL else []) for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(case, request, lab, env):
    name, playbooks, change, extra_vars, password, extra_inventory, expected, reports = case
    # The inventory and preflight cases refuse before any node is changed: they need no converged
    # cluster (so they also run alone, fast). PKI and deploy cases refuse against existing material.
    if playbooks not in (VALIDATE, PREFLIGHT):
        request.getfixturevalue("converged")
    deployment = default_deployment(env)
    if change:
        change(deployment)
    fresh_pki = None
    if deployment.get("mindie_pki_dir") == FRESH_PKI:
        fresh_pki = deployment["mindie_pki_dir"] = os.path.join(env.scratch, "pki-" + name)
    secret = None
    pw = _password_file(env, password)
    if isinstance(pw, tuple):
        pw, secret = pw
    before = env.snapshot()
    result = env.run(playbooks, deployment=deployment, extra_vars=extra_vars, password=pw,
                     extra_inventory=extra_inventory)
    after = env.snapshot()
    if before["pki"] != after["pki"]:
        env.run("pki.yml")  # put the converged material back for the tests that follow
    assert result.rc != 0, "%s was accepted:\n%s" % (name, result.explain())
    missing = [r for r in expected if not re.search(r, result.flat)]
    assert missing == [], "%s: the output lacks %s:\n%s" % (name, missing, result.explain())
    # The refusing stage's own report may be (re)written; nothing else may change.
    for snap in (before, after):
        for key in list(snap["reports"]):
            rel = key[2:] if key.startswith("./") else key
            if rel in ("", "/") or (reports and rel.startswith(tuple(reports))):
                del snap["reports"][key]
    changes = Env.changes(before, after)
    if fresh_pki and os.path.exists(fresh_pki):
        changes.append("%s created %s: %s" % (name, fresh_pki, sorted(snapshot_dir(fresh_pki))))
        shutil.rmtree(fresh_pki)
    assert changes == [], "%s changed things:\n%s" % (name, "\n".join(changes[:40]))
    for leaked in (secret, env.ca_password):
        assert not leaked or leaked not in result.output, "%s: a CA password appears in the output" % name
