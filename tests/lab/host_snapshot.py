#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot what a lab can leave behind on the host (netns, links, mounts, lab processes) and compare.

    host_snapshot.py save FILE            # before 'up'
    host_snapshot.py compare FILE         # after 'down': rc 1 and a list when anything is left over

Items of *other* labs that are up at the same time (other lab ids in /var/lib/ascend-lab) are ignored,
so the check works while other engineers' scenarios run.
"""
import glob
import json
import os
import re
import subprocess
import sys


def other_lab_prefixes():
    prefixes = []
    for path in glob.glob("/var/lib/ascend-lab/*/state.json"):
        try:
            with open(path) as fh:
                prefixes.append("al" + json.load(fh)["hash"])
        except (IOError, ValueError, KeyError):
            pass
    return prefixes


def lab_process(pid):
    """A process the lab could have made: in a non-host net namespace, or a lab wrapper/daemon."""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        net = os.readlink("/proc/%s/ns/net" % pid)
    except OSError:
        return None
    if not cmd:
        return None
    if net != os.readlink("/proc/self/ns/net") or "atlas-lab-init" in cmd or cmd.startswith(("unshare", "sshd")):
        return cmd
    # the lab's Kubernetes control plane (host netns; every one names its state dir)
    if re.search(r"/var/lib/ascend-lab/[^/ ]+/k8s/", cmd):
        return cmd
    return None


def snapshot():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    with open("/proc/self/mountinfo") as fh:
        mounts = sorted("%s %s" % (line.split()[4], line.split(" - ")[1].split()[0]) for line in fh)
    netns_by_inode = {}
    for path in glob.glob("/run/netns/*"):
        try:
            netns_by_inode[os.stat(path).st_ino] = os.path.basename(path)
        except OSError:
            pass
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            cmd = lab_process(pid)
            if cmd:
                try:
                    ns = netns_by_inode.get(os.stat("/proc/%s/ns/net" % pid).st_ino, "")
                except OSError:
                    continue
                procs[pid] = "[netns %s] %s" % (ns or "-", cmd.split("\n")[0][:200])
    # TCP listeners on lab addresses (198.18.0.0/15): the control plane's ports
    ss = subprocess.run(["ss", "-Hltn"], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    listening = sorted(set(line.split()[3] for line in ss.splitlines()
                           if len(line.split()) > 3 and line.split()[3].startswith(("198.18.", "198.19."))))
    return {
        "listening": listening,
        "netns": sorted(line.split()[0] for line in out.splitlines() if line.strip()),
        "links": sorted(os.listdir("/sys/class/net")),
        "mounts": mounts,
        "processes": procs,
    }


def _lab_item(name, prefixes):
    base = name.split()[0].rstrip("/").split("/")[-1]
    return bool(prefixes) and base.startswith(prefixes)


def _other_lab_address(addr):
    """True when addr is the host address of another lab that is up (its control plane)."""
    host = addr.rsplit(":", 1)[0]
    for path in glob.glob("/var/lib/ascend-lab/*/state.json"):
        try:
            with open(path) as fh:
                if "198.18.%d.1" % json.load(fh)["net_index"] == host:
                    return True
        except (IOError, ValueError, KeyError):
            pass
    return False


def compare(before, after):
    others = tuple(other_lab_prefixes())
    problems = []
    for key in ("netns", "links", "mounts"):
        problems += ["new %s: %s" % (key, n) for n in sorted(set(after[key]) - set(before[key]))
                     if not _lab_item(n, others)]
        # Another lab going down meanwhile removes its own items; anything else missing is our damage.
        problems += ["missing %s: %s" % (key, n) for n in sorted(set(before[key]) - set(after[key]))
                     if not re.match(r"^al[0-9a-f]{5}", n.split()[0].rstrip("/").split("/")[-1])]
    new_sockets = sorted(set(after.get("listening", [])) - set(before.get("listening", [])))
    problems += ["new listening socket: %s" % a for a in new_sockets if not _other_lab_address(a)]
    other_dirs = tuple(os.path.dirname(p) + "/" for p in glob.glob("/var/lib/ascend-lab/*/state.json"))
    for pid, cmd in sorted(after["processes"].items()):
        if other_dirs and any(d in cmd for d in other_dirs):
            continue
        if pid not in before["processes"] and not _lab_item(cmd.split("]")[0].split()[-1], others):
            problems.append("new process %s: %s" % (pid, cmd))
    return problems


def main(argv):
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        sys.stderr.write(__doc__)
        return 2
    if argv[0] == "save":
        with open(argv[1], "w") as fh:
            json.dump(snapshot(), fh, indent=1)
        return 0
    with open(argv[1]) as fh:
        before = json.load(fh)
    problems = compare(before, snapshot())
    for p in problems:
        print(p)
    print("host state %s" % ("differs" if problems else "as before"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
