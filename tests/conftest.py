"""Make `ansible_collections.ascend.mindie` importable for every suite under tests/ (unit, integration).

The Makefile links this checkout into .build/collections/ansible_collections/ascend/mindie;
ANSIBLE_COLLECTIONS_PATH (set by the Makefile) names that root.
"""
import os
import sys

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def _collections_root():
    for candidate in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if candidate and os.path.isdir(os.path.join(candidate, "ansible_collections", "ascend", "mindie")):
            return candidate
    # Running from an installed collection: <root>/ansible_collections/ascend/mindie
    parts = _ROOT.split(os.sep)
    if len(parts) > 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    link = os.path.join(_ROOT, ".build", "collections")
    target = os.path.join(link, "ansible_collections", "ascend", "mindie")
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(_ROOT, target)
    return link


_root = _collections_root()
if _root not in sys.path:
    sys.path.insert(0, _root)
