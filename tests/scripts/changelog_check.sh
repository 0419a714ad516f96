#!/usr/bin/env bash
# The release notes are generated, never hand-written: every fragment must lint, changelog.yaml must
# be valid, and a preview release (in a scratch copy, so no fragment is consumed) must render every
# fragment into CHANGELOG.rst.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/changelog.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - | tar -xf - -C "$work"
(cd "$work" && antsibull-changelog release --version "$version" --date 1970-01-01 >/dev/null 2>&1) || {
  echo "antsibull-changelog release (preview of $version) failed"; exit 1; }
fragments=$(find changelogs/fragments -name "*.yml" | wc -l)
left=$(find "$work/changelogs/fragments" -name "*.yml" 2>/dev/null | wc -l)
[ "$left" -eq 0 ] || { echo "preview release left $left of $fragments fragments unreleased"; exit 1; }
grep -q "^v$version" "$work/CHANGELOG.rst" || { echo "preview CHANGELOG.rst has no v$version section"; exit 1; }
echo "changelog: $fragments fragments lint clean and render into the v$version preview"
