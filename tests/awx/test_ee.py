# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition (docs/awx/execution-environment.yml) builds: ansible-builder
create makes a context whose galaxy and pip steps work when replayed (no container engine here)."""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest
import yaml

from ee_replay import Replay

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFINITION = os.path.join(ROOT, "docs", "awx", "execution-environment.yml")


def _bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def _galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)["version"]


def _env():
    # kubernetes.core comes from the `ansible` package (Galaxy is not reachable from our machines).
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=sysconfig.get_paths()["purelib"],
                PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def _create(definition, context):
    proc = subprocess.run([_bin("ansible-builder"), "create", "-f", definition, "-c", context],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The collection built the way `make build` does, where the definition expects it."""
    out = os.path.join(ROOT, ".build")
    proc = subprocess.run([_bin("ansible-galaxy"), "collection", "build", "--force", "--output-path", out],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    return os.path.join(out, "ascend-mindie-%s.tar.gz" % _galaxy_version())


def test_definition_is_pinned_and_names_this_version():
    with open(DEFINITION) as handle:
        text = handle.read()
    ee = yaml.safe_load(text)
    assert ee["version"] == 3
    image = ee["images"]["base_image"]["name"]
    assert re.search(r":[0-9][\w.-]*(@sha256:[0-9a-f]{64})?$", image) and not image.endswith(":latest"), image
    # a version bump must update the definition (the tarball name is spelled out in it)
    assert text.count("ascend-mindie-%s.tar.gz" % _galaxy_version()) >= 3


def test_create_and_replay_galaxy_and_pip_steps(tarball, tmp_path):
    assert os.path.isfile(tarball)
    context = str(tmp_path / "context")
    _create(DEFINITION, context)
    replay = Replay(context, str(tmp_path / "scratch"), env=_env())
    replay.galaxy()
    installed = replay.map("/usr/share/ansible/collections/ansible_collections/ascend/mindie")
    with open(os.path.join(installed, "MANIFEST.json")) as handle:
        assert '"version": "%s"' % _galaxy_version() in handle.read()
    requirements = replay.pip()
    # introspection found the collection's own requirements (meta/execution-environment.yml)
    for name in ("kubernetes", "cryptography", "kubernetes-validate"):
        assert re.search(r"^%s\b.*# from collection ascend\.mindie" % re.escape(name), requirements, re.M), requirements
    # never imported by the collection (json_query is not used), so not required
    assert "jmespath" not in requirements
    assert "Would install" in "\n".join(replay.log), replay.log[-1]
    print("skipped (system package manager of the image): %s" % replay.skipped)


def test_missing_tarball_fails_the_build(tmp_path):
    """ansible-builder only warns; the definition's own first galaxy step stops the build."""
    tree = tmp_path / "project"
    (tree / "docs" / "awx").mkdir(parents=True)
    shutil.copy(DEFINITION, str(tree / "docs" / "awx"))
    context = str(tmp_path / "context")
    out = _create(str(tree / "docs" / "awx" / "execution-environment.yml"), context)
    assert "No matches" in out
    replay = Replay(context, str(tmp_path / "scratch"), env=_env())
    with pytest.raises(AssertionError) as failed:
        replay.galaxy()
    assert "is not in the build context - run make build" in str(failed.value)
