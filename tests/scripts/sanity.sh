#!/usr/bin/env bash
# ansible-test must run from inside ansible_collections/<ns>/<name> of a real directory (it resolves
# symlinks), so sanity runs on a fresh copy of the tracked and untracked-but-not-ignored files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# A private copy per run, so that runs side by side do not pull the tree from under each other.
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/ascend/mindie"
mkdir -p "$dest"
cd "$root"
if git rev-parse --git-dir >/dev/null 2>&1; then
  { git ls-files; git ls-files --others --exclude-standard; } | sort -u | while read -r f; do
    [ -e "$f" ] && printf '%s\n' "$f"
  done > "$work/files.txt"
  rsync -a --files-from="$work/files.txt" ./ "$dest/"
else
  rsync -a --exclude .venv --exclude .build ./ "$dest/"
fi
# ansible-test bootstraps pip in its per-test virtualenvs with a script it downloads from a host we
# cannot reach; it documents saving that script into its cache by hand, which we do with a stand-in.
pip_version=$(python - <<'PY'
import os, re, ansible_test
path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
print(re.search(r"pip='([0-9.]+)'", open(path).read()).group(1))
PY
)
mkdir -p ~/.ansible/test/cache
cp "$root/tests/scripts/ansible_test_get_pip.py" ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
cd "$dest"
# ansible-test wants a git tree to list files; give the copy one.
git init -q . && git add -A >/dev/null 2>&1 && git -c user.email=ci@example.invalid -c user.name=ci commit -qm sanity >/dev/null
# Local sanity, no containers; tests that need tools we do not ship are skipped by name with a reason.
ansible-test sanity --local --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
