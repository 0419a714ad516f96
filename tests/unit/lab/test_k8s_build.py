# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/lab/k8s/build.py without building: the cache check and the errors a user sees."""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab", "k8s"))
import build  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(build, "BIN", str(bin_dir))
    monkeypatch.setattr(build, "MANIFEST", str(tmp_path / "manifest.json"))
    binaries = {}
    for name in build.BINARIES:
        path = bin_dir / name
        path.write_bytes(name.encode() * 10)
        path.chmod(0o755)
        binaries[name] = {"size": path.stat().st_size, "sha256": build.sha256(str(path))}
    (tmp_path / "manifest.json").write_text(json.dumps({"binaries": binaries}))
    return tmp_path


def test_complete_cache_is_found_quickly_and_verifies(cache):
    start = time.time()
    man = build.cached()
    assert man is not None and time.time() - start < 0.5
    build.verify(man)


@pytest.mark.parametrize("damage", ["missing", "size", "not-executable", "no-manifest"])
def test_incomplete_cache_is_rebuilt(cache, damage):
    path = cache / "bin" / "kube-apiserver"
    if damage == "missing":
        path.unlink()
    elif damage == "size":
        path.write_bytes(b"truncated")
    elif damage == "not-executable":
        path.chmod(0o644)
    else:
        (cache / "manifest.json").unlink()
    assert build.cached() is None


def test_changed_binary_fails_verify_naming_it(cache):
    path = cache / "bin" / "etcd"
    path.write_bytes(b"x" * path.stat().st_size)
    with pytest.raises(build.BuildError, match=r"do not match .*manifest.json: etcd; remove"):
        build.verify(build.cached())


class FakeApt(object):
    def __init__(self, sources, candidates):
        self.sources, self.candidates = sources, candidates

    def get(self, *args, **kwargs):
        return ""

    def cache_query(self, *args):
        return "".join("Package: kubernetes\nVersion: %s\n\n" % v for v in self.sources)

    def candidate(self, pkg):
        return self.candidates.get(pkg)


ALL = {"golang-1.15-go": "1.15.15-1~deb11u4", "golang-1.15-src": "1.15.15-1~deb11u4",
       "etcd-server": "3.4.23-4+b4", "etcd-client": "3.4.23-4+b4"}


def test_missing_source_package_is_a_clear_error(tmp_path):
    apt = FakeApt(["1.28.0-1"], ALL)
    with pytest.raises(build.BuildError, match=r"'kubernetes' source package with upstream 1\.20\.2 .*"
                                               r"found: 1\.28\.0-1.*ASCEND_LAB_DEBIAN_MIRROR"):
        build.fetch(apt, str(tmp_path))


def test_missing_go_is_a_clear_error(tmp_path):
    apt = FakeApt(["1.20.5+really1.20.2-1.1+deb12u1"], dict(ALL, **{"golang-1.15-go": None}))
    with pytest.raises(build.BuildError, match=r"package golang-1\.15-go is not available .*bullseye.*Go 1\.15"):
        build.fetch(apt, str(tmp_path))


def test_versions_are_recorded(tmp_path):
    (tmp_path / "kubernetes_1.20.5+really1.20.2-1.1+deb12u1.dsc").write_text("")
    versions = build.fetch(FakeApt(["1.20.5+really1.20.2-1.1+deb12u1"], ALL), str(tmp_path))
    assert versions == dict(ALL, **{"kubernetes-source": "1.20.5+really1.20.2-1.1+deb12u1"})
