"""The README's variable tables and the roles' argument specs tell the same story."""
import os
import runpy

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VARS_TABLE = runpy.run_path(os.path.join(ROOT, "tests", "scripts", "vars_table.py"))


def test_readme_variable_tables_are_generated_from_argument_specs():
    text, start, end = VARS_TABLE["readme_block"]()
    assert text[start:end].strip() == VARS_TABLE["role_tables"]().strip(), (
        "README variable tables are stale: run python tests/scripts/vars_table.py --write")


def test_every_role_default_is_in_its_argument_spec():
    for role in VARS_TABLE["ROLES"]:
        base = os.path.join(ROOT, "roles", role)
        with open(os.path.join(base, "defaults", "main.yml")) as handle:
            defaults = yaml.safe_load(handle) or {}
        with open(os.path.join(base, "meta", "argument_specs.yml")) as handle:
            options = yaml.safe_load(handle)["argument_specs"]["main"].get("options", {})
        missing = sorted(set(defaults) - set(options))
        assert not missing, "roles/%s: defaults without an argument spec: %s" % (role, missing)


def test_role_variables_carry_the_role_prefix():
    for role in VARS_TABLE["ROLES"]:
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
            defaults = yaml.safe_load(handle) or {}
        stray = [name for name in defaults if not name.startswith(role + "_")]
        assert not stray, "roles/%s/defaults/main.yml: variables without the role prefix: %s" % (role, stray)
