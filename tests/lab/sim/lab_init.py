#!/usr/bin/python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PID 1 of a lab node (runs chrooted in the node's pid/mount/uts/net namespaces).

Keeps sshd running and reaps orphans. Signals from the lab on the host: SIGUSR1 starts sshd,
SIGUSR2 stops it (fault sshd-stop/sshd-start), SIGHUP re-reads the profile
(device nodes), SIGTERM stops everything and exits, which ends the
node's pid namespace and with it every process and mount of the node.
"""
import json
import os
import signal
import stat
import subprocess
import sys
import time

SSHD = ["/usr/sbin/sshd", "-D", "-e"]
PROFILE = "/etc/atlas-lab/profile.json"
state = {"sshd": None, "stop": False}


def start_sshd():
    if state["sshd"] is not None and state["sshd"].poll() is None:
        return
    if not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", 0o755)
    log = open("/var/log/sshd.log", "ab")
    state["sshd"] = subprocess.Popen(SSHD, stdout=log, stderr=log, close_fds=True)
    log.close()
    with open("/run/atlas-lab/sshd.pid", "w") as fh:
        fh.write("%d\n" % state["sshd"].pid)


def stop_sshd():
    proc = state["sshd"]
    if proc is not None and proc.poll() is None:
        proc.terminate()
    state["sshd"] = None
    try:
        os.unlink("/run/atlas-lab/sshd.pid")
    except OSError:
        pass


def sync_devices():
    """Character devices an Atlas node shows (/dev/davinciN per device); no driver answers them."""
    try:
        with open(PROFILE) as fh:
            doc = json.load(fh)
    except (IOError, ValueError):
        return
    npu = doc.get("npu") or {}
    wanted = set()
    if npu:
        wanted = {"davinci%d" % d["phy_id"] for d in npu["devices"]}
        wanted |= {"davinci_manager", "devmm_svm", "hisi_hdc"}
    for name in os.listdir("/dev"):
        if (name.startswith("davinci") or name in ("devmm_svm", "hisi_hdc")) and name not in wanted:
            os.unlink("/dev/" + name)
    minor = {"davinci_manager": 255, "devmm_svm": 254, "hisi_hdc": 253}
    for name in wanted:
        path = "/dev/" + name
        if not os.path.exists(path):
            num = minor.get(name) if name in minor else int(name[len("davinci"):])
            os.mknod(path, 0o660 | stat.S_IFCHR, os.makedev(236, num))


ENTROPY_DIR = "/run/atlas-lab/entropy"


def sync_entropy():
    """Under fault entropy-low the node's pool reads 4096 and entropy_avail is low until haveged runs."""
    avail = os.path.join(ENTROPY_DIR, "entropy_avail")
    if not os.path.exists(avail):
        return
    running = False
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/comm" % pid) as fh:
                    running = running or fh.read().strip() == "haveged"
            except IOError:
                pass
    value = "4096" if running else "100"
    with open(avail) as fh:
        if fh.read().strip() == value:
            return
    # Rewrite in place: the file is bind-mounted over /proc/sys/kernel/random/entropy_avail.
    with open(avail, "w") as fh:
        fh.write(value + "\n")


def on_signal(signum, frame):
    if signum == signal.SIGUSR1:
        state["want"] = "start"
    elif signum == signal.SIGUSR2:
        state["want"] = "stop"
    elif signum == signal.SIGHUP:
        state["sync"] = True
    else:
        state["stop"] = True


def main():
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if not os.path.isdir("/run/atlas-lab"):
        os.makedirs("/run/atlas-lab")
    sync_devices()
    start_sshd()
    with open("/run/atlas-lab/ready", "w") as fh:
        fh.write("%d\n" % os.getpid())
    while not state["stop"]:
        want = state.pop("want", None)
        if state.pop("sync", False):
            sync_devices()
        sync_entropy()
        if want == "start":
            start_sshd()
        elif want == "stop":
            stop_sshd()
        # Reap every child, ours or orphans reparented to PID 1.
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if state["sshd"] is not None and pid == state["sshd"].pid:
                state["sshd"].returncode = -1
        time.sleep(0.2)
    stop_sshd()
    # Leaving PID 1 makes the kernel kill the rest of the node's pid namespace.
    return 0


if __name__ == "__main__":
    sys.exit(main())
