# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key volumes (ConfigMap, Secret, downwardAPI, projected) in kubelet's atomic-writer layout.

kubelet (pkg/volume/util/atomic_writer.go) writes the files of such a volume into a timestamped directory
``..YYYY_MM_DD_HH_MM_SS.<random>``, points the symlink ``..data`` at it, and gives each top-level path of
the payload a symlink ``<name> -> ..data/<name>``. An update writes a new directory and renames a fresh
``..data_tmp`` symlink over ``..data``, so a reader sees the old set of files or the new one, never a mix;
then the old directory and the symlinks of removed keys go. Software relies on it: MindIE reads
``.../config/..data/global_ranktable.json`` and waits for that file to change.
"""
import os
import random
import shutil
import time

DATA = "..data"
DATA_TMP = "..data_tmp"


def check_path(rel):
    """kubelet's validatePath: relative, no '..' element, not starting with '..'."""
    if not rel or rel.startswith("/") or rel.startswith("..") or ".." in rel.split("/"):
        return False
    return True


def current_payload(target):
    """The payload ``..data`` points at now ({relative path: (bytes, mode, gid)}), or None."""
    try:
        ts = os.readlink(os.path.join(target, DATA))
    except OSError:
        return None
    root = os.path.join(target, ts)
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            with open(path, "rb") as fh:
                found[os.path.relpath(path, root)] = (fh.read(), st.st_mode & 0o7777, st.st_gid)
    return found


def new_timestamp_dir(target):
    """``..<UTC time>.<random digits>``, as Go's os.MkdirTemp names kubelet's directory; mode 0755."""
    prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    while True:
        path = os.path.join(target, prefix + str(random.getrandbits(32)))
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o755)
        return path


def _replace_symlink(target, name, dest, gid):
    link = os.path.join(target, name)
    try:
        if os.readlink(link) == dest:
            return
    except OSError:
        pass
    tmp = os.path.join(target, "..%s.tmp" % name.replace("/", "_"))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(dest, tmp)
    if gid is not None:
        os.lchown(tmp, 0, gid)
    if os.path.isdir(link) and not os.path.islink(link):
        shutil.rmtree(link)  # a directory a plain-file writer left (rename cannot replace it)
    os.rename(tmp, link)


def write(target, payload, gid=None):
    """Make ``target`` hold ``payload`` ({relative path: (bytes, mode)}) in the atomic-writer layout.

    Files are owned by root and group ``gid`` (fsGroup; None = the agent's own, root), directories 0755 (02755 with a
    gid: kubelet's SetVolumeOwnership). Returns False when the payload is already there (no new directory).
    """
    for rel in payload:
        if not check_path(rel):
            raise ValueError("invalid path %r" % rel)
    group = gid if gid is not None else os.getegid()  # the agent runs as root: root's group
    want = {os.path.normpath(rel): (data if isinstance(data, bytes) else data.encode(), mode, group)
            for rel, (data, mode) in payload.items()}
    os.makedirs(target, exist_ok=True)
    changed = current_payload(target) != want
    if changed:
        ts = new_timestamp_dir(target)
        for rel, (data, mode, grp) in sorted(want.items()):
            path = os.path.join(ts, rel)
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
            if gid is not None:
                os.chown(path, 0, grp)
            os.chmod(path, mode)
        for dirpath, _dirs, _files in os.walk(ts):
            if gid is not None:
                os.chown(dirpath, 0, gid)
            os.chmod(dirpath, 0o2755 if gid is not None else 0o755)
        _replace_symlink(target, DATA_TMP, os.path.basename(ts), gid)
        os.rename(os.path.join(target, DATA_TMP), os.path.join(target, DATA))
    current = os.readlink(os.path.join(target, DATA))
    top = {rel.split("/", 1)[0] for rel in want}
    for name in sorted(top):
        _replace_symlink(target, name, DATA + "/" + name, gid)
    # what no longer belongs: older timestamped directories, symlinks of removed keys, plain files
    # of an earlier non-atomic layout
    for name in os.listdir(target):
        if name in top or name in (DATA, current):
            continue
        path = os.path.join(target, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    if gid is not None:
        os.chown(target, 0, gid)
        os.chmod(target, 0o2755)
    return changed
