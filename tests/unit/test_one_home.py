# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each business rule and constant has one definition (issue 20): a copy in a task, template or second
module would drift. These greps fail when a rule is written out again outside its home."""
import glob
import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _code_files():
    """Python of the collection and the roles' YAML/Jinja (not README prose or argument-spec descriptions)."""
    patterns = ["plugins/**/*.py", "roles/*/files/**/*.py", "roles/*/tasks/*.yml", "roles/*/handlers/*.yml",
                "roles/*/defaults/*.yml", "roles/*/vars/*.yml", "roles/*/templates/**/*.j2", "playbooks/**/*.yml"]
    files = set()
    for pattern in patterns:
        files.update(glob.glob(os.path.join(ROOT, pattern), recursive=True))
    return sorted(files)


def _homes(regex):
    """{relative path: number of matches} of every code file that matches."""
    found = {}
    for path in _code_files():
        with open(path, encoding="utf-8") as handle:
            hits = len(re.findall(regex, handle.read()))
        if hits:
            found[os.path.relpath(path, ROOT)] = hits
    return found


RULES = [
    # (what, regex, {file: matches})
    ("DNS-1123 label regex", re.escape("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
     {"plugins/module_utils/deployment_rules.py": 1}),
    ("DNS-1035 label regex", re.escape("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"),
     {"plugins/module_utils/deployment_rules.py": 1}),
    ("HBM table", r"32768\s*,\s*65536", {"plugins/module_utils/npu_smi.py": 1}),
    ("features refused in both layouts", r"FEATURES_NEVER\s*=", {"plugins/module_utils/deployment_rules.py": 1}),
    ("features refused in both layouts, as a list", r"""['"]sparse_quantization['"]\s*,\s*['"]kv_cache_int8['"]""",
     {"plugins/module_utils/deployment_rules.py": 2}),  # the FEATURES tuple and FEATURES_NEVER
    ("features refused in the multi-machine layout", r"""['"]parallel_decoding['"]\s*,\s*['"]splitfuse['"]""",
     {"plugins/module_utils/deployment_rules.py": 2}),  # the FEATURES tuple and FEATURES_NOT_MULTI
    ("refused sampling keys", r"""['"]use_beam_search['"]""", {"plugins/module_utils/deployment_rules.py": 1}),
    ("security file layout (path and mode)", r"""security/ca/ca_passwd\.txt['"]\s*,\s*0o[0-7]+""",
     {"plugins/module_utils/mindie_pki.py": 1}),
    ("files of a component's security directory", r"""['"]security/ca/ca\.key\.pem['"]""",
     {"plugins/module_utils/mindie_pki.py": 1}),
    ("A3 devices per node", r"""['"]a3['"]\s*:\s*16\b|16 if pd_deploy__hw""", {"plugins/module_utils/pd_derive.py": 1}),
    ("a node in one mindie group only", r"def host_groups\(", {"plugins/module_utils/deployment_rules.py": 1}),
]


@pytest.mark.parametrize("what, regex, expected", RULES, ids=[r[0] for r in RULES])
def test_rule_has_one_home(what, regex, expected):
    assert _homes(regex) == expected, "%s is defined outside its home" % what


def test_group_rule_is_asked_not_rewritten():
    """Every task file that reports nodes in several groups asks the filter (deployment_rules.host_groups)."""
    for path in _code_files():
        if not path.endswith(".yml"):
            continue
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if re.search(r"in several|more than one (NPU )?group|more than one of", text):
            assert "mindie_hosts_in_several_groups" in text, os.path.relpath(path, ROOT)


def test_no_jinja_statements_in_tasks_or_playbooks():
    """Tasks wire; loops and sets belong in filters (plugins/filter) over module_utils."""
    files = glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + \
        glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml"))
    offenders = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            count = handle.read().count("{%")
        if count:
            offenders[os.path.relpath(path, ROOT)] = count
    assert offenders == {}


def test_roles_stay_inside_their_directory():
    """Roles read collection files through ascend.mindie.collection_file, not role_path/../.."""
    for path in _code_files():
        with open(path, encoding="utf-8") as handle:
            assert not re.search(r"role_path\s*(~\s*)?['\"]?/\.\.", handle.read()), os.path.relpath(path, ROOT)


def test_role_vars_hold_static_data_only():
    """vars/ outranks inventory variables and is evaluated lazily: expressions there hide the role's flow."""
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "vars", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert "{{" not in text and "{%" not in text, os.path.relpath(path, ROOT)
