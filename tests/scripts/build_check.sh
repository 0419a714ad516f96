#!/usr/bin/env bash
# The collection builds into a tarball that installs, and every playbook of the installed copy passes
# ansible-playbook --syntax-check when called by its FQCN (ascend.mindie.site, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/buildcheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"
ansible-galaxy collection build --force --output-path "$work" >/dev/null
tarball=$(ls "$work"/ascend-mindie-*.tar.gz)
ansible-galaxy collection install --force --offline --no-deps -p "$work/install" "$tarball" 2>&1 | grep -v '^\[WARNING\]'
# kubernetes.core comes from the `ansible` package in the virtualenv; keep it on the path.
site_packages=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cd "$work"
for playbook in "$root"/playbooks/*.yml; do
  name=$(basename "$playbook" .yml)
  ANSIBLE_COLLECTIONS_PATH="$work/install:$site_packages" ansible-playbook -i "$root/inventories/multi_machine" \
    "ascend.mindie.$name" --syntax-check >/dev/null
  echo "ascend.mindie.$name: syntax ok"
done
# The release notes come from the changelog fragments (antsibull-changelog), never by hand.
bash "$root/tests/scripts/changelog_check.sh"
