# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Idempotence and check mode of the whole flow (every stage of site.yml) on the lab."""
import os

from conftest import FLOW, NODES, PLAYBOOKS, Env, default_deployment


def test_check_on_fresh_cluster_changes_nothing(fresh_check):
    changes = fresh_check["changes"]
    assert changes == [], "--check on a fresh cluster changed things:\n" + "\n".join(changes[:50])


def test_check_on_fresh_cluster_completes(fresh_check):
    result = fresh_check["result"]
    assert result.rc == 0, "--check on a fresh cluster failed:\n" + result.explain()
    assert set(NODES) <= set(result.recap), result.explain()


def test_flow_converges(converged):
    result = converged["result"]
    assert result.rc == 0 and not result.failed, result.explain()
    # every stage really ran: each play's banner is in the output
    for play in ("Validate the inventory", "Check nodes and the requested deployment",
                 "Check the NPU RoCE network", "Raise entropy with haveged",
                 "Build the CA and the component certificates", "Deploy MindIE PD on Kubernetes"):
        assert "PLAY [%s]" % play in result.output, "play %r did not run" % play


def test_flow_second_run_changes_nothing(converged, env):
    before = env.snapshot()
    result = env.run(FLOW)
    after = env.snapshot()
    assert result.rc == 0, result.explain()
    assert result.changed == {}, "second run reported changes %s:\n%s" % (result.changed, result.explain())
    changes = Env.changes(before, after, reports=False)
    assert changes == [], "second run changed:\n" + "\n".join(changes[:50])


def test_check_on_converged_cluster_reports_no_change(converged, env):
    before = env.snapshot()
    result = env.run(FLOW, args=["--check", "--diff"])
    after = env.snapshot()
    assert result.rc == 0, result.explain()
    assert result.changed == {}, "--check reported changes %s:\n%s" % (result.changed, result.explain())
    changes = Env.changes(before, after, reports=False)
    assert changes == [], "--check changed:\n" + "\n".join(changes[:50])


def test_site_yml_imports_only_existing_playbooks():
    """site.yml (the README's main job) can be loaded: every playbook it imports exists."""
    import yaml
    with open(os.path.join(PLAYBOOKS, "site.yml")) as handle:
        plays = yaml.safe_load(handle)
    missing = [p["ansible.builtin.import_playbook"] for p in plays
               if not os.path.exists(os.path.join(PLAYBOOKS, p["ansible.builtin.import_playbook"]))]
    assert missing == [], "site.yml imports playbooks that do not exist: %s" % missing


def test_inventory_check_without_optional_ca_host(lab, env):
    """mindie_ca_host is optional (docs/CONTRACTS.md); leaving it unset must pass the inventory check."""
    deployment = default_deployment(env)
    deployment.pop("mindie_ca_host", None)
    result = env.run("validate_inventory.yml", deployment=deployment, password=False)
    assert result.rc == 0, result.explain()
