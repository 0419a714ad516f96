#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulated Atlas lab: Atlas 800I A2/A3 look-alike nodes in Linux namespaces, reachable over SSH.

    python3 tests/lab/atlas_lab.py [--lab-id ID] up --prefill 2 --decode 2 [--control 1] [--profile a2-64g]
    python3 tests/lab/atlas_lab.py [--lab-id ID] up --single 1 --profile a3
    python3 tests/lab/atlas_lab.py [--lab-id ID] up --single 1 --prefill 1 --decode 1 --control 1   # both layouts
    python3 tests/lab/atlas_lab.py [--lab-id ID] status | inventory | down
    python3 tests/lab/atlas_lab.py [--lab-id ID] fault vlan NODE PORT VID | link-down NODE PORT | ...

Each node: its own network namespace (management veth to a host bridge, NPU ports as veths to a
per-VLAN "switch" bridge), its own mount/UTS/PID namespaces with an overlay root on a cached Debian
base, sshd as the only service, and simulated npu-smi, hccn_tool and dmidecode (tests/lab/sim/).
See tests/lab/README.md.
"""
import argparse
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import profiles  # noqa: E402  pylint: disable=wrong-import-position

STATE_ROOT = "/var/lib/ascend-lab"
# ATLAS_LAB_CACHE moves the shared Debian base and package directory (e.g. to try a build from scratch).
CACHE = os.environ.get("ATLAS_LAB_CACHE", "/var/cache/ascend-lab")
BASE = os.path.join(CACHE, "base-bookworm")
BASE_MARKER = ".ascend-lab-base"
PKG_DIR = os.path.join(CACHE, "packages", "debian-bookworm")
BASE_PACKAGES = "openssh-server,python3,iproute2,iputils-ping,sudo,openssl,procps,ca-certificates"
# Packages roles install inside nodes (air-gapped, from the local package directory).
LOCAL_PACKAGES = ["haveged", "libhavege2"]
SIM_DIR = os.path.join(HERE, "sim")
FABRIC_MTU = "9000"
SSH_ARGS = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o ControlMaster=auto -o ControlPersist=60s")
GROUPS = {"prefill": "mindie_prefill", "decode": "mindie_decode", "control": "mindie_control",
          "single": "mindie_single"}
# Bounded by fabric addresses (see profiles.fabric_address): 62 A2 nodes, 31 when any node is an A3.
MAX_NODES = profiles.max_nodes("a2")


class LabError(Exception):
    pass


# --------------------------------------------------------------------------- Kubernetes (tests/lab/k8s)
def k8s_modules():
    """controlplane (ours) and agents (the node agents; a no-op until tests/lab/k8s/agents.py exists)."""
    sys.path.insert(0, os.path.join(HERE, "k8s"))
    import controlplane  # pylint: disable=import-outside-toplevel
    try:
        import agents  # pylint: disable=import-outside-toplevel
    except ImportError:
        agents = None
    return controlplane, agents


def ascend_operator():
    """The lab's stand-in of the Ascend Operator's rank-table part (tests/lab/ascend_operator_standin.py)."""
    sys.path.insert(0, HERE)
    import ascend_operator_standin  # pylint: disable=import-outside-toplevel
    return ascend_operator_standin


def k8s_up(lab, state, namespaces=None):
    controlplane, agents = k8s_modules()
    try:
        state["k8s"] = controlplane.up(state, **({"namespaces": namespaces} if namespaces else {}))
    except controlplane.ControlPlaneError as exc:
        raise LabError(str(exc))
    lab.save(state)
    if agents is not None:
        agents.start_agents(lab.id, state)
        lab.save(state)
    else:
        log("no node agents (tests/lab/k8s/agents.py is not there): pods stay Pending")
    # the cluster's Ascend component (rank tables for MindIE 2.x), as on a real Ascend cluster
    operator = ascend_operator()
    state["ascend_operator"] = operator.start(lab.id, lab.dir)
    lab.save(state)


def k8s_down(lab, state):
    # always: processes are found by their command line, so a crashed up is cleaned too
    controlplane, agents = k8s_modules()
    if agents is not None:
        agents.stop_agents(lab.id, state)
    try:
        controlplane.down(lab.id)
    except controlplane.ControlPlaneError as exc:
        raise LabError(str(exc))


def lock_file(path):
    """Exclusive flock on path (created 0600 with its directory); returns the fd to close."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def log(msg):
    sys.stderr.write("atlas-lab: %s\n" % msg)
    sys.stderr.flush()


def sh(cmd, check=True, input_data=None, quiet=False):
    """Run a command (argv list); return (rc, stdout). Raise LabError with its stderr when check fails."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input_data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(input_data.encode() if isinstance(input_data, str) else input_data)
    if check and proc.returncode != 0:
        raise LabError("command failed (rc %d): %s\n%s" % (proc.returncode, " ".join(cmd),
                                                           err.decode(errors="replace").strip()))
    if not quiet and proc.returncode != 0 and err:
        pass
    return proc.returncode, out.decode(errors="replace")


def ip_batch(commands, netns=None):
    """Run many ip commands in one process (fast); each command is a list of words."""
    if not commands:
        return
    text = "\n".join(" ".join(c) for c in commands) + "\n"
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    sh(cmd, input_data=text)


# --------------------------------------------------------------------------- names


class Lab(object):
    """Names and paths of one lab, all derived from the lab id (so down works without state)."""

    def __init__(self, lab_id):
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", lab_id):
            raise LabError("invalid lab id %r: use letters, digits, '.', '_' and '-' (max 63)" % lab_id)
        self.id = lab_id
        self.hash = hashlib.sha1(lab_id.encode()).hexdigest()[:5]
        self.prefix = "al" + self.hash
        self.dir = os.path.join(STATE_ROOT, lab_id)
        self.state_file = os.path.join(self.dir, "state.json")
        self.inventory = os.path.join(self.dir, "inventory.yml")
        self.key = os.path.join(self.dir, "id_ed25519")
        self.mgmt_bridge = self.prefix + "mg"

    def vlan_bridge(self, vid):
        return "%sv%d" % (self.prefix, vid)

    def netns(self, node_name):
        return "%s-%s" % (self.prefix, node_name)

    def mgmt_veth(self, index):
        return "%sm%d" % (self.prefix, index)

    def port_veth(self, index, phy):
        return "%sn%dp%d" % (self.prefix, index, phy)

    def node_dir(self, node_name):
        return os.path.join(self.dir, "nodes", node_name)

    def load(self):
        try:
            with open(self.state_file) as fh:
                return json.load(fh)
        except IOError:
            return None

    def save(self, state):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
        os.rename(tmp, self.state_file)

    def lock(self):
        return lock_file(os.path.join(STATE_ROOT, ".%s.lock" % self.id))


# --------------------------------------------------------------------------- base and packages


def debian_mirror():
    """The Debian mirror configured for apt on this machine (deb822 or one-line format)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as fh:
            for stanza in fh.read().split("\n\n"):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                if "deb" in fields.get("Types", "").split() and "bookworm" in fields.get("Suites", "").split():
                    return fields["URIs"].split()[0]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            with open(path) as fh:
                for line in fh:
                    m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
                    if m:
                        return m.group(1)
    raise LabError("no Debian bookworm mirror found in /etc/apt/sources.list*; configure apt first")


def apt_install(*packages):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.check_call(["apt-get", "install", "-y", "-qq"] + list(packages), env=env)


def ensure_base():
    if os.path.exists(os.path.join(BASE, BASE_MARKER)):
        return False
    fd = lock_file(os.path.join(CACHE, ".base.lock"))
    try:
        if os.path.exists(os.path.join(BASE, BASE_MARKER)):
            return False
        if shutil.which("debootstrap") is None:
            log("installing debootstrap")
            apt_install("debootstrap")
        for stale in glob.glob(BASE + ".tmp.*"):
            shutil.rmtree(stale, ignore_errors=True)
        if os.path.exists(BASE):
            shutil.rmtree(BASE)  # no marker: a half-built base from before
        tmp = tempfile.mkdtemp(prefix="base-bookworm.tmp.", dir=CACHE)
        os.chmod(tmp, 0o755)
        mirror = debian_mirror()
        cmd = ["debootstrap", "--variant=minbase", "--include=" + BASE_PACKAGES, "bookworm", tmp, mirror]
        log("building the Debian base (once): " + " ".join(cmd))
        start = time.time()
        rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
        if rc != 0:
            # Keep the half-built tree for its log; the next build removes it (stale .tmp.* above).
            raise LabError("debootstrap failed (rc %d); see %s/debootstrap/debootstrap.log" % (rc, tmp))
        with open(os.path.join(tmp, BASE_MARKER), "w") as fh:
            fh.write(" ".join(cmd) + "\n")
        os.rename(tmp, BASE)
        log("base ready in %.0fs" % (time.time() - start))
        return True
    finally:
        os.close(fd)


def base_installed_packages():
    names = set()
    with open(os.path.join(BASE, "var/lib/dpkg/status")) as fh:
        for stanza in fh.read().split("\n\n"):
            m = re.search(r"^Package: (\S+)", stanza, re.M)
            if m and re.search(r"^Status: install ok installed", stanza, re.M):
                names.add(m.group(1))
    return names


def ensure_packages():
    """Local package directory (air-gapped installs): haveged and what the base lacks of its deps."""
    marker = os.path.join(PKG_DIR, ".complete")
    if os.path.exists(marker):
        return
    rc, out = sh(["apt-cache", "policy", "haveged"], check=False)
    if "Candidate: (none)" in out or "Candidate:" not in out:
        sh(["apt-get", "update", "-qq"])
    rc, out = sh(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                  "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends"] + LOCAL_PACKAGES)
    wanted = sorted({line.strip() for line in out.splitlines()
                     if line and not line.startswith(" ") and not line.startswith("<")}
                    - base_installed_packages() | set(LOCAL_PACKAGES))
    os.makedirs(os.path.dirname(PKG_DIR), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="debian-bookworm.tmp.", dir=os.path.dirname(PKG_DIR))
    os.chmod(tmp, 0o755)
    try:
        import pwd
        os.chown(tmp, pwd.getpwnam("_apt").pw_uid, -1)  # apt downloads as _apt when it can
    except (KeyError, OSError):
        pass
    log("downloading local packages: " + " ".join(wanted))
    proc = subprocess.run(["apt-get", "download", "-qq"] + wanted, cwd=tmp, stdout=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabError("apt-get download %s failed" % " ".join(wanted))
    if shutil.which("dpkg-scanpackages"):
        rc, index = sh(["dpkg-scanpackages", "--multiversion", "."], check=False)
        if rc == 0:
            with open(os.path.join(tmp, "Packages"), "w") as fh:
                fh.write(index)
    with open(os.path.join(tmp, ".complete"), "w") as fh:
        fh.write("\n".join(wanted) + "\n")
    if os.path.exists(PKG_DIR):
        shutil.rmtree(PKG_DIR)
    os.rename(tmp, PKG_DIR)


# --------------------------------------------------------------------------- node files


class UpperWriter(object):
    """Writes into a node's overlay upper dir before the overlay is mounted."""

    def __init__(self, upper):
        self.upper = upper

    def _mkdirs(self, rel_dir):
        parts = [p for p in rel_dir.strip("/").split("/") if p]
        cur_rel = ""
        for part in parts:
            cur_rel = cur_rel + "/" + part
            target = self.upper + cur_rel
            if not os.path.isdir(target):
                os.mkdir(target)
                # Mirror the base's mode: an upper dir's attributes hide the lower one's (sshd StrictModes).
                base = BASE + cur_rel
                os.chmod(target, os.stat(base).st_mode & 0o7777 if os.path.isdir(base) else 0o755)

    def write(self, path, data, mode=0o644):
        self._mkdirs(os.path.dirname(path))
        with open(self.upper + path, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(self.upper + path, mode)

    def symlink(self, target, path):
        self._mkdirs(os.path.dirname(path))
        if os.path.lexists(self.upper + path):
            os.unlink(self.upper + path)
        os.symlink(target, self.upper + path)

    def remove(self, path):
        # Nothing to hide at up time: the base has none of the files we manage.
        if os.path.lexists(self.upper + path):
            os.unlink(self.upper + path)


class NodeWriter(object):
    """Writes into a running node (inside its mount namespace, atomically)."""

    def __init__(self, node):
        self.node = node

    def write(self, path, data, mode=0o644):
        script = ('umask 022; mkdir -p "$(dirname "$1")" && cat > "$1.lab-tmp" && chmod %o "$1.lab-tmp" '
                  '&& mv -f "$1.lab-tmp" "$1"' % mode)
        node_exec(self.node, ["/bin/sh", "-c", script, "sh", path], input_data=data)

    def symlink(self, target, path):
        node_exec(self.node, ["/bin/sh", "-c", 'mkdir -p "$(dirname "$2")" && ln -sfn "$1" "$2"', "sh",
                              target, path])

    def remove(self, path):
        node_exec(self.node, ["rm", "-f", path])


def node_exec(node, argv, input_data=None, check=True):
    return sh(["nsenter", "-t", str(node["init_pid"]), "-m", "-u", "-n", "-p", "-r", "-w", "--"] + argv,
              check=check, input_data=input_data)


def read_sim(name):
    with open(os.path.join(SIM_DIR, name)) as fh:
        return fh.read()


def install_profile(writer, doc):
    """Profile document, hccn.conf and the simulators matching the profile."""
    writer.write("/etc/atlas-lab/profile.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
    writer.write("/usr/sbin/dmidecode", read_sim("dmidecode.py"), 0o755)
    if doc["npu"]:
        writer.write("/usr/local/bin/npu-smi", read_sim("npu_smi.py"), 0o755)
        writer.write("/usr/local/Ascend/driver/tools/hccn_tool", read_sim("hccn_tool.py"), 0o755)
        writer.symlink("/usr/local/Ascend/driver/tools/hccn_tool", "/usr/local/bin/hccn_tool")
        writer.write("/usr/local/Ascend/driver/version.info",
                     "Version=%s\nascendhal_version=7.35.23\naicpu_version=1.0\ntdt_version=1.0\n"
                     "log_version=1.0\nprof_version=2.0\ndvppkernels_version=1.1\ntsfw_version=1.0\n"
                     "Innerversion=V100R001C%s\ncompatible_version=[V100R001C15],[V100R001C18],"
                     "[V100R001C19],[V100R001C20]\n" % (doc["npu"]["smi_version"], "19SPC001B101"))
        writer.write("/etc/hccn.conf", profiles.hccn_conf_text(doc))
    else:
        # A non-Atlas server has none of the Ascend tools: callers must see command-not-found.
        for path in ("/usr/local/bin/npu-smi", "/usr/local/bin/hccn_tool",
                     "/usr/local/Ascend/driver/tools/hccn_tool", "/usr/local/Ascend/driver/version.info",
                     "/etc/hccn.conf"):
            writer.remove(path)


# --------------------------------------------------------------------------- networking


def port_commands(lab, node, doc):
    """ip commands (host side) creating the NPU port veths of a node, plugged into their VLAN bridge."""
    host, ns = [], []
    for port in doc["ports"]:
        hv = lab.port_veth(node["index"], port["phy_id"])
        ns_name = "%sN%dp%d" % (lab.prefix, node["index"], port["phy_id"])
        host += [["link", "add", hv, "mtu", FABRIC_MTU, "type", "veth", "peer", "name", ns_name,
                  "mtu", FABRIC_MTU],
                 ["link", "set", ns_name, "netns", node["netns"]],
                 ["link", "set", hv, "master", lab.vlan_bridge(port["vlan"])],
                 ["link", "set", hv, "up"]]
        ns += [["link", "set", ns_name, "name", port["iface"]],
               ["link", "set", port["iface"], "up"]]
    return host, ns


def port_address_commands(doc):
    """Device IPs from hccn.conf, each with a source-routed table so replies leave through its port."""
    cmds = []
    for port in doc["ports"]:
        prefix = sum(bin(int(x)).count("1") for x in port["netmask"].split("."))
        octets = zip(port["address"].split("."), port["netmask"].split("."))
        net = "%s/%d" % (".".join(str(int(a) & int(m)) for a, m in octets), prefix)
        table = str(100 + port["phy_id"])
        cmds += [["addr", "add", "%s/%d" % (port["address"], prefix), "dev", port["iface"]],
                 ["route", "add", net, "dev", port["iface"], "src", port["address"], "table", table],
                 ["route", "add", "unreachable", "default", "table", table],
                 ["rule", "add", "pref", str(1000 + port["phy_id"]), "from", port["address"], "lookup", table]]
    return cmds


def ensure_vlan_bridge(lab, vid, net_index):
    br = lab.vlan_bridge(vid)
    if os.path.exists("/sys/class/net/" + br):
        return br
    cmds = [["link", "add", br, "mtu", FABRIC_MTU, "type", "bridge", "stp_state", "0", "forward_delay", "0"],
            ["link", "set", br, "up"]]
    if vid == profiles.DEFAULT_VLAN:
        # The 'switch' answers the netdetect/gateway address of both planes on the default VLAN.
        cmds += [["addr", "add", profiles.fabric_detect(net_index, 0) + "/24", "dev", br],
                 ["addr", "add", profiles.fabric_detect(net_index, 1) + "/24", "dev", br]]
        # ... and of the four-plane profile's lower /25s (the upper ones use the .254 above).
        cmds += [["addr", "add", profiles.four_plane_detect(net_index, p) + "/25", "dev", br] for p in (0, 2)]
    ip_batch(cmds)
    return br


def vlan_of(lab, host_veth):
    """The VLAN a switch port is in, read from the kernel: the bridge the port is enslaved to."""
    rc, out = sh(["ip", "-j", "link", "show", "dev", host_veth])
    master = json.loads(out)[0].get("master", "")
    m = re.match(r"^%sv(\d+)$" % re.escape(lab.prefix), master)
    if not m:
        raise LabError("switch port %s is not in any VLAN bridge of this lab (master %r)" % (host_veth, master))
    return int(m.group(1))


# --------------------------------------------------------------------------- node lifecycle

NODE_SCRIPT = r"""
set -e
M="$1"; LOWER="$2"; UPPER="$3"; WORK="$4"; HOST="$5"
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$M"
mount -t proc proc "$M/proc"
mount -t sysfs sysfs "$M/sys"
mount -t tmpfs -o mode=755,size=16m tmpfs "$M/dev"
for d in null zero full random urandom tty; do : > "$M/dev/$d"; mount --bind "/dev/$d" "$M/dev/$d"; done
mkdir -p "$M/dev/pts" "$M/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
ln -s /proc/self/fd "$M/dev/fd"
ln -s /proc/self/fd/0 "$M/dev/stdin"; ln -s /proc/self/fd/1 "$M/dev/stdout"; ln -s /proc/self/fd/2 "$M/dev/stderr"
mount -t tmpfs -o mode=1777 tmpfs "$M/dev/shm"
mount -t tmpfs -o mode=755,size=64m tmpfs "$M/run"
mkdir -p "$M/run/atlas-lab" "$M/run/lock"
hostname "$HOST"
exec chroot "$M" /usr/bin/python3 /usr/local/sbin/atlas-lab-init
"""


def prepare_node_files(lab, state, node, doc, pubkey):
    ndir = lab.node_dir(node["name"])
    for sub in ("upper", "work", "merged"):
        os.makedirs(os.path.join(ndir, sub), exist_ok=True)
    w = UpperWriter(os.path.join(ndir, "upper"))
    hosts = ["127.0.0.1\tlocalhost", "127.0.1.1\t%s" % node["hostname"]]
    hosts += ["%s\t%s" % (n["mgmt_ip"], n["hostname"]) for n in state["nodes"]]
    w.write("/etc/hostname", node["hostname"] + "\n")
    w.write("/etc/hosts", "\n".join(hosts) + "\n")
    w.write("/root/.ssh/authorized_keys", pubkey, 0o600)
    os.chmod(os.path.join(ndir, "upper", "root", ".ssh"), 0o700)
    w.write("/etc/ssh/sshd_config.d/atlas-lab.conf",
            "# Written by the Atlas lab.\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
            "PidFile /run/sshd.pid\nMaxStartups 100:30:200\nMaxSessions 100\n")
    keydir = tempfile.mkdtemp(dir=ndir)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + node["hostname"],
        "-f", os.path.join(keydir, "k")])
    with open(os.path.join(keydir, "k"), "rb") as fh:
        w.write("/etc/ssh/ssh_host_ed25519_key", fh.read(), 0o600)
    with open(os.path.join(keydir, "k.pub"), "rb") as fh:
        w.write("/etc/ssh/ssh_host_ed25519_key.pub", fh.read(), 0o644)
    shutil.rmtree(keydir)
    w.write("/usr/local/sbin/atlas-lab-init", read_sim("lab_init.py"), 0o755)
    # No route off the machine: packages come from the local package directory only.
    w.write("/etc/apt/sources.list", "# Atlas lab nodes are air-gapped; use the local package directory.\n")
    install_profile(w, doc)


def start_node(lab, state, node, doc):
    ns = node["netns"]
    sh(["ip", "netns", "add", ns])
    sh(["ip", "netns", "exec", ns, "sysctl", "-q",
        "-w", "net.ipv4.conf.all.arp_ignore=1", "-w", "net.ipv4.conf.default.arp_ignore=1",
        "-w", "net.ipv4.conf.all.arp_announce=2", "-w", "net.ipv4.conf.default.arp_announce=2",
        "-w", "net.ipv4.conf.all.rp_filter=0", "-w", "net.ipv4.conf.default.rp_filter=0",
        "-w", "net.ipv6.conf.all.disable_ipv6=1", "-w", "net.ipv6.conf.default.disable_ipv6=1",
        "-w", "net.ipv4.ping_group_range=0 2147483647"])
    hv = lab.mgmt_veth(node["index"])
    tmp = "%sM%d" % (lab.prefix, node["index"])
    host = [["link", "add", hv, "type", "veth", "peer", "name", tmp],
            ["link", "set", tmp, "netns", ns],
            ["link", "set", hv, "master", lab.mgmt_bridge],
            ["link", "set", hv, "up"]]
    inner = [["link", "set", "lo", "up"], ["link", "set", tmp, "name", "eth0"],
             ["addr", "add", node["mgmt_ip"] + "/24", "dev", "eth0"], ["link", "set", "eth0", "up"]]
    ph, pn = port_commands(lab, node, doc)
    ip_batch(host + ph)
    ip_batch(inner + pn + port_address_commands(doc), netns=ns)
    ndir = lab.node_dir(node["name"])
    logf = open(os.path.join(ndir, "node.log"), "ab")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
         "--propagation", "private", "/bin/sh", "-c", NODE_SCRIPT, "node",
         os.path.join(ndir, "merged"), BASE, os.path.join(ndir, "upper"), os.path.join(ndir, "work"),
         node["hostname"]],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True)
    logf.close()
    node["unshare_pid"] = proc.pid


def find_init_pid(unshare_pid, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (unshare_pid, unshare_pid)) as fh:
                kids = fh.read().split()
        except IOError:
            raise LabError("node process %d died during start" % unshare_pid)
        for kid in kids:
            try:
                with open("/proc/%s/cmdline" % kid, "rb") as fh:
                    if b"atlas-lab-init" in fh.read():
                        return int(kid)
            except IOError:
                pass
        time.sleep(0.05)
    raise LabError("node process %d did not reach its init within %.0fs" % (unshare_pid, timeout))


def wait_ssh(addresses, timeout=30.0, want_open=True):
    deadline = time.time() + timeout
    pending = set(addresses)
    while pending and time.time() < deadline:
        for addr in list(pending):
            s = socket.socket()
            s.settimeout(0.5)
            try:
                s.connect((addr, 22))
                banner = s.recv(64)
                is_open = banner.startswith(b"SSH-")
            except (socket.error, socket.timeout):
                is_open = False
            finally:
                s.close()
            if is_open == want_open:
                pending.discard(addr)
        if pending:
            time.sleep(0.1)
    return pending


# --------------------------------------------------------------------------- inventory


def q(value):
    return json.dumps(value)


def write_inventory(lab, state):
    # Nodes and (K8S_CONTRACT.md) pods take their addresses from the lab's management /24: the
    # pki role name-constrains the intermediate CA to it (all: so the CA host sees it too).
    lab_net = "198.18.%d.0/24" % state["net_index"]
    lines = ["# Written by tests/lab/atlas_lab.py for lab %s; regenerated by every 'up'." % lab.id,
             "all:", "  vars:",
             "    mindie_pod_cidrs: [%s]" % q(lab_net),
             "    mindie_node_cidrs: [%s]" % q(lab_net),
             "  children:", "    mindie_cluster:", "      vars:",
             "        lab_id: %s" % q(lab.id),
             "        lab_package_dir: %s" % q(PKG_DIR),
             "        entropy_package_dir: %s" % q(PKG_DIR)]
    npu_nodes = [n for n in state["nodes"] if profiles.PROFILES[n["base_profile"]]["generation"]]
    if npu_nodes:
        # The fabric's address plan (roce role roce_address_plan shape): planes from the first NPU
        # node's profile, addresses as the profiles give them (faults do not move the plan).
        docs = [profiles.render_node_profile(n["base_profile"], state["lab_id"], n["name"], n["index"],
                                             state["net_index"]) for n in npu_nodes]
        lines.append("        lab_roce_address_plan: %s"
                     % q(profiles.address_plan(npu_nodes[0]["base_profile"], state["net_index"], docs)))
    lines += ["      children:"]
    for role in ("prefill", "decode", "control", "single"):
        members = [n for n in state["nodes"] if n["role"] == role]
        if not members:
            continue
        lines += ["        %s:" % GROUPS[role], "          hosts:"]
        for n in members:
            lines += ["            %s:" % n["name"],
                      "              ansible_host: %s" % q(n["mgmt_ip"]),
                      "              ansible_user: root",
                      "              ansible_ssh_private_key_file: %s" % q(lab.key),
                      "              ansible_ssh_common_args: %s" % q(SSH_ARGS),
                      "              ansible_python_interpreter: /usr/bin/python3",
                      "              lab_profile: %s" % q(n["profile"])]
    tmp = lab.inventory + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.rename(tmp, lab.inventory)


# --------------------------------------------------------------------------- commands


# The kernel's ARP table is one table for all network namespaces, sized by init_net's gc_thresh
# sysctls (default 1024 entries). Large labs need more, or pings fail with "neighbor table overflow".
NEIGH_THRESH = "/proc/sys/net/ipv4/neigh/default/gc_thresh%d"
NEIGH_SAVED = os.path.join(STATE_ROOT, "neigh-gc-thresh.json")
NEIGH_LOCK = os.path.join(STATE_ROOT, ".neigh.lock")  # host-wide: labs of every id share the table
NEIGH_DEFAULT_ROOM = 1024  # kept for the host's own neighbours


def neigh_entries(states):
    """ARP entries the labs can hold at once: every NPU port may learn every node's peer port."""
    total = 0
    for st in states:
        nodes = st.get("nodes", [])
        ports = sum(_ports(n["profile"]) for n in nodes)
        total += ports * len(nodes)
    return total


def _ports(profile_name):
    # a lab another checkout brought up may use a profile this one does not know: count the most
    try:
        return profiles.device_count(profile_name)
    except KeyError:
        return max(profiles.device_count(name) for name in profiles.PROFILES)


def neigh_thresholds(current, entries):
    """New (gc_thresh2, gc_thresh3), or None when the current table already has room."""
    if 2 * entries <= current[1]:
        return None
    gc3 = max(current[1], NEIGH_DEFAULT_ROOM + 2 * entries)
    return max(current[0], gc3 // 2), gc3


def read_neigh():
    values = []
    for n in (2, 3):
        with open(NEIGH_THRESH % n) as fh:
            values.append(int(fh.read()))
    return values


def write_neigh(values):
    for n, value in zip((2, 3), values):
        with open(NEIGH_THRESH % n, "w") as fh:
            fh.write("%d\n" % value)


def lab_states(exclude_id=None):
    states = []
    for path in glob.glob(os.path.join(STATE_ROOT, "*", "state.json")):
        try:
            with open(path) as fh:
                st = json.load(fh)
        except (IOError, ValueError):
            continue
        if st.get("lab_id") != exclude_id:
            states.append(st)
    return states


def size_neigh_table(state):
    """Grow the host's ARP table for every lab that is up; the first growth saves the old values."""
    fd = lock_file(NEIGH_LOCK)
    try:
        current = read_neigh()
        wanted = neigh_thresholds(current, neigh_entries(lab_states(state["lab_id"]) + [state]))
        if wanted is None:
            return
        if not os.path.exists(NEIGH_SAVED):
            with open(NEIGH_SAVED, "w") as fh:
                json.dump({"gc_thresh2": current[0], "gc_thresh3": current[1]}, fh)
        write_neigh(wanted)
        log("ARP table: gc_thresh2/3 %d/%d -> %d/%d (restored when the last lab is down)"
            % (current[0], current[1], wanted[0], wanted[1]))
    finally:
        os.close(fd)


def restore_neigh_table(lab_id):
    """After the last lab is down, put back the values size_neigh_table saved."""
    fd = lock_file(NEIGH_LOCK)
    try:
        if not os.path.exists(NEIGH_SAVED) or lab_states(lab_id):
            return
        with open(NEIGH_SAVED) as fh:
            saved = json.load(fh)
        write_neigh([saved["gc_thresh2"], saved["gc_thresh3"]])
        os.unlink(NEIGH_SAVED)
        log("ARP table: gc_thresh2/3 restored to %d/%d" % (saved["gc_thresh2"], saved["gc_thresh3"]))
    finally:
        os.close(fd)


def used_net_indexes(exclude_id):
    used = {}
    for st in lab_states(exclude_id):
        used[st.get("net_index")] = st.get("lab_id")
        if st.get("hash") == hashlib.sha1(exclude_id.encode()).hexdigest()[:5]:
            raise LabError("lab id %r collides with lab %r (same name hash); pick another id"
                           % (exclude_id, st.get("lab_id")))
    rc, out = sh(["ip", "-4", "-o", "addr", "show"], check=False)
    for m in re.finditer(r"inet 198\.18\.(\d+)\.", out):
        used.setdefault(int(m.group(1)), "an interface of this machine")
    for m in re.finditer(r"inet 198\.19\.(\d+)\.", out):
        used.setdefault(int(m.group(1)) // 2, "an interface of this machine")
    return used


def pick_net_index(lab):
    used = used_net_indexes(lab.id)
    start = int(lab.hash, 16) % 127 + 1
    for step in range(127):
        n = (start - 1 + step) % 127 + 1
        if n not in used:
            return n
    raise LabError("no free lab subnet left in 198.18.0.0/15 (labs up: %s)" % sorted(set(used.values())))


def plan_nodes(args):
    roles = []
    if args.single and not (args.prefill or args.decode or args.control):
        roles = [("single", i + 1) for i in range(args.single)]
    else:
        if not (args.prefill and args.decode):
            raise LabError("a multi-machine lab needs --prefill N and --decode N (N >= 1); "
                           "or use --single N")
        roles = ([("prefill", i + 1) for i in range(args.prefill)] + [("decode", i + 1) for i in range(args.decode)]
                 + [("control", i + 1) for i in range(args.control)]
                 # both layouts side by side (molecule pd_deploy): single nodes after the others
                 + [("single", i + 1) for i in range(args.single)])
    if len(roles) > MAX_NODES:
        raise LabError("at most %d nodes per lab (asked for %d)" % (MAX_NODES, len(roles)))
    return roles


def cmd_up(lab, args):
    roles = plan_nodes(args)
    overrides = {}
    for item in args.node_profile or []:
        if "=" not in item:
            raise LabError("--node-profile expects NODE=PROFILE, got %r" % item)
        name, prof = item.split("=", 1)
        overrides[name] = prof
    for prof in [args.profile] + list(overrides.values()):
        if prof not in profiles.PROFILES:
            raise LabError("unknown profile %r; known: %s" % (prof, ", ".join(sorted(profiles.PROFILES))))
    names = ["%s-%d" % r for r in roles]
    unknown = set(overrides) - set(names)
    if unknown:
        raise LabError("--node-profile names unknown nodes %s; this lab has %s"
                       % (", ".join(sorted(unknown)), ", ".join(names)))
    check_fabric_room([overrides.get(name, args.profile) for name in names])
    old = lab.load()
    if old and any(pid_alive(n.get("init_pid")) for n in old.get("nodes", [])):
        raise LabError("lab %r is already up (%s); run 'down' first" % (lab.id, lab.state_file))
    # Leftovers of a crashed run of this lab id are removed first.
    cmd_down(lab, args, quiet=True)
    t0 = time.time()
    built = ensure_base()
    ensure_packages()
    t_base = time.time()
    os.makedirs(lab.dir, mode=0o700, exist_ok=True)
    net = pick_net_index(lab)
    state = {"lab_id": lab.id, "hash": lab.hash, "net_index": net, "created": time.time(),
             "mgmt_bridge": lab.mgmt_bridge, "nodes": [], "faults": []}
    for index, (role, k) in enumerate(roles):
        name = "%s-%d" % (role, k)
        prof = overrides.get(name, args.profile)
        state["nodes"].append({"name": name, "role": role, "index": index, "hostname": "%s-%s" % (re.sub(r"[^A-Za-z0-9-]", "-", lab.id), name),
                               "netns": lab.netns(name), "mgmt_ip": "198.18.%d.%d" % (net, 10 + index),
                               "profile": prof, "base_profile": prof})
    lab.save(state)  # early, so down finds pids even if up dies half-way
    size_neigh_table(state)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "atlas-lab-" + lab.id, "-f", lab.key])
    with open(lab.key + ".pub") as fh:
        pubkey = fh.read()
    ip_batch([["link", "add", lab.mgmt_bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"],
              ["addr", "add", "198.18.%d.1/24" % net, "dev", lab.mgmt_bridge],
              ["link", "set", lab.mgmt_bridge, "up"]])
    ensure_vlan_bridge(lab, profiles.DEFAULT_VLAN, net)
    switch_mac = open("/sys/class/net/%s/address" % lab.vlan_bridge(profiles.DEFAULT_VLAN)).read().strip()
    state["switch"] = {"mac": switch_mac, "mgmt_ip": "198.18.%d.1" % net, "name": "%s-leaf-1" % lab.id}
    for node in state["nodes"]:
        doc = node_doc(state, node)
        prepare_node_files(lab, state, node, doc, pubkey)
        start_node(lab, state, node, doc)
        lab.save(state)
    for node in state["nodes"]:
        node["init_pid"] = find_init_pid(node["unshare_pid"])
    lab.save(state)
    missing = wait_ssh([n["mgmt_ip"] for n in state["nodes"]])
    if missing:
        raise LabError("sshd did not answer on %s; see %s/nodes/*/node.log and /var/log/sshd.log in the node"
                       % (", ".join(sorted(missing)), lab.dir))
    write_inventory(lab, state)
    state["up_seconds"] = {"base_and_packages": round(t_base - t0, 2), "nodes": round(time.time() - t_base, 2),
                           "base_built": built}
    lab.save(state)
    if getattr(args, "k8s", False):
        k8s_up(lab, state, args.k8s_namespace)
    log("lab %s up: %d nodes in %.1fs (base %s); inventory %s"
        % (lab.id, len(state["nodes"]), time.time() - t0, "built" if built else "cached", lab.inventory))
    print(lab.inventory)


def node_doc(state, node):
    doc = profiles.render_node_profile(node["profile"], state["lab_id"], node["name"], node["index"],
                                       state["net_index"])
    doc["switch"] = state.get("switch", {})
    for port in doc["ports"]:
        port["vlan"] = node.get("vlans", {}).get(str(port["phy_id"]), port["vlan"])
        addr = node.get("addresses", {}).get(str(port["phy_id"]))
        if addr:
            port["address"] = addr
    return doc


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def lab_links(lab):
    return sorted(os.path.basename(p) for p in glob.glob("/sys/class/net/%s*" % lab.prefix))


def lab_netns(lab):
    rc, out = sh(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(lab.prefix + "-")]


def cmd_down(lab, args, quiet=False):
    """Remove everything the lab made; derived from names, so it also cleans up after a crash."""
    state = lab.load() or {}
    k8s_down(lab, state)
    pids = set()
    for node in state.get("nodes", []):
        for key in ("init_pid", "unshare_pid"):
            if node.get(key):
                pids.add(node[key])
    namespaces = lab_netns(lab)
    for ns in namespaces:
        rc, out = sh(["ip", "netns", "pids", ns], check=False)
        pids.update(int(p) for p in out.split())
    # Only kill what still belongs to this lab (pids may have been reused since a crash).
    mine = [p for p in pids if pid_alive(p) and owned_by_lab(lab, p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.time() + (2.0 if sig == signal.SIGTERM else 5.0)
        while time.time() < deadline and any(pid_alive(p) and not zombie(p) for p in mine):
            time.sleep(0.05)
        mine = [p for p in mine if pid_alive(p) and not zombie(p)]
        if not mine:
            break
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except OSError:
            pass
    # Mounts under the lab dir (none normally: overlays live in the nodes' own mount namespaces).
    with open("/proc/self/mounts") as fh:
        mounts = [line.split()[1] for line in fh]
    for mnt in sorted((m for m in mounts if m.startswith(lab.dir + "/")), key=len, reverse=True):
        sh(["umount", "-l", mnt], check=False)
    for ns in namespaces:
        sh(["ip", "netns", "del", ns], check=False)
    for link in lab_links(lab):
        sh(["ip", "link", "del", link], check=False)
    if os.path.isdir(lab.dir):
        shutil.rmtree(lab.dir)
    # iproute2 turns /run/netns into a mount point on first use; undo it once no namespace is left.
    if is_mountpoint("/run/netns") and not os.listdir("/run/netns"):
        sh(["umount", "/run/netns"], check=False)
    left = lab_links(lab) + lab_netns(lab)
    if left:
        raise LabError("down left %s behind" % ", ".join(left))
    restore_neigh_table(lab.id)
    if not quiet:
        log("lab %s down" % lab.id)


def is_mountpoint(path):
    # os.path.ismount misses a bind mount of the same filesystem; mountinfo does not.
    with open("/proc/self/mountinfo") as fh:
        return any(line.split()[4] == path for line in fh)


def owned_by_lab(lab, pid):
    """True when pid runs in one of this lab's network namespaces (or is our ip-netns/unshare wrapper)."""
    try:
        target = os.stat("/proc/%d/ns/net" % pid).st_ino
    except OSError:
        return False
    for ns in lab_netns(lab):
        try:
            if os.stat("/run/netns/" + ns).st_ino == target:
                return True
        except OSError:
            pass
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return lab.prefix.encode() in fh.read()
    except IOError:
        return False


def zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (IOError, IndexError):
        return True


def cmd_status(lab, args):
    state = lab.load()
    if not state:
        print("lab %s: down" % lab.id)
        left = lab_links(lab) + lab_netns(lab)
        if left:
            print("  leftovers (run down): %s" % ", ".join(left))
        return 0 if not left else 1
    print("lab %s: net 198.18.%d.0/24, fabric 198.19.%d.0/23, inventory %s"
          % (lab.id, state["net_index"], 2 * state["net_index"], lab.inventory))
    closed = wait_ssh([n["mgmt_ip"] for n in state["nodes"]], timeout=1.0)
    bad = 0
    for node in state["nodes"]:
        alive = pid_alive(node.get("init_pid"))
        ssh_ok = alive and node["mgmt_ip"] not in closed
        bad += not alive
        ports = []
        for hv in sorted(glob.glob("/sys/class/net/%sn%dp*" % (lab.prefix, node["index"]))):
            name = os.path.basename(hv)
            phy = name.rsplit("p", 1)[1]
            oper = open(os.path.join(hv, "operstate")).read().strip()
            try:
                vid = vlan_of(lab, name)
            except LabError:
                vid = "-"
            ports.append((int(phy), "%s:v%s%s" % (phy, vid, "" if oper == "up" else "(down)")))
        print("  %-12s %-8s %-14s %-13s init=%s sshd=%s ports=%s" % (
            node["name"], node["role"], node["mgmt_ip"], node["profile"],
            "up" if alive else "DEAD", "up" if ssh_ok else "DOWN", " ".join(label for _phy, label in sorted(ports)) or "-"))
    if state.get("faults"):
        print("  faults: " + "; ".join(" ".join(str(x) for x in f) for f in state["faults"]))
    return 1 if bad else 0


def cmd_inventory(lab, args):
    if not os.path.exists(lab.inventory):
        raise LabError("lab %r is not up: no %s" % (lab.id, lab.inventory))
    print(lab.inventory)
    return 0


# --------------------------------------------------------------------------- faults


def get_node(state, name):
    for node in state["nodes"]:
        if name in (node["name"], node["hostname"]):
            return node
    raise LabError("no node %r in lab %s; nodes: %s" % (name, state["lab_id"],
                                                        ", ".join(n["name"] for n in state["nodes"])))


def get_port(lab, state, node, port):
    try:
        phy = int(port)
    except ValueError:
        raise LabError("PORT must be the NPU port's physical id (the N of hccn_tool -i N), got %r" % port)
    hv = lab.port_veth(node["index"], phy)
    if not os.path.exists("/sys/class/net/" + hv):
        raise LabError("node %s has no NPU port %d (profile %s)" % (node["name"], phy, node["profile"]))
    return phy, hv


def refresh_profile(lab, state, node):
    """Rewrite the node's profile.json from lab state (e.g. the VLAN its switch ports are in now)."""
    doc = node_doc(state, node)
    NodeWriter(node).write("/etc/atlas-lab/profile.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


def fault_vlan(lab, state, node, port, vid):
    phy, hv = get_port(lab, state, node, port)
    vid = int(vid)
    if not 1 <= vid <= 4094:
        raise LabError("VLAN id must be 1..4094, got %d" % vid)
    br = ensure_vlan_bridge(lab, vid, state["net_index"])
    ip_batch([["link", "set", hv, "nomaster"], ["link", "set", hv, "master", br]])
    node.setdefault("vlans", {})[str(phy)] = vlan_of(lab, hv)
    refresh_profile(lab, state, node)


def fault_link(lab, state, node, port, updown):
    phy, hv = get_port(lab, state, node, port)
    # The switch port goes down; the NPU side loses carrier, as with a pulled cable.
    sh(["ip", "link", "set", hv, updown])


def check_fabric_room(profile_names):
    """A3 die planes are one /24 each, and A2 nodes beyond 31 use the odd plane: no mixing there."""
    limit = min(profiles.max_nodes(profiles.PROFILES[p]["generation"]) for p in profile_names)
    if len(profile_names) > limit:
        raise LabError("a lab with %s nodes holds at most %d nodes (asked for %d)"
                       % ("A3" if limit < MAX_NODES else "these", limit, len(profile_names)))


def fault_profile(lab, state, node, prof):
    if prof not in profiles.PROFILES:
        raise LabError("unknown profile %r; known: %s" % (prof, ", ".join(sorted(profiles.PROFILES))))
    check_fabric_room([prof if n is node else n["profile"] for n in state["nodes"]])
    old = [os.path.basename(p) for p in glob.glob("/sys/class/net/%sn%dp*" % (lab.prefix, node["index"]))]
    ip_batch([["link", "del", hv] for hv in old])
    node["profile"] = prof
    node.pop("vlans", None)
    node.pop("addresses", None)
    doc = node_doc(state, node)
    ph, pn = port_commands(lab, node, doc)
    ip_batch(ph)
    ns_cmds = pn + port_address_commands(doc)
    # Old per-port rules/tables go with the old ports.
    for phy in range(32):
        node_exec(node, ["ip", "rule", "del", "pref", str(1000 + phy)], check=False)
        node_exec(node, ["ip", "route", "flush", "table", str(100 + phy)], check=False)
    ip_batch(ns_cmds, netns=node["netns"])
    install_profile(NodeWriter(node), doc)
    os.kill(node["init_pid"], signal.SIGHUP)  # re-create /dev/davinci* for the new device count


def fault_sshd(lab, state, node, action):
    os.kill(node["init_pid"], signal.SIGUSR2 if action == "stop" else signal.SIGUSR1)
    left = wait_ssh([node["mgmt_ip"]], timeout=10.0, want_open=(action == "start"))
    if left:
        raise LabError("sshd of %s did not %s" % (node["name"], action))


ENTROPY_FILES = ("poolsize", "entropy_avail", "write_wakeup_threshold")


def fault_entropy(lab, state, node, low):
    script_low = (
        "set -e; d=/run/atlas-lab/entropy; mkdir -p $d; echo 4096 > $d/poolsize; echo 100 > $d/entropy_avail; "
        "echo 3072 > $d/write_wakeup_threshold; for f in %s; do "
        "mountpoint -q /proc/sys/kernel/random/$f || mount --bind $d/$f /proc/sys/kernel/random/$f; done"
        % " ".join(ENTROPY_FILES))
    script_ok = ("for f in %s; do while mountpoint -q /proc/sys/kernel/random/$f; do "
                 "umount /proc/sys/kernel/random/$f; done; done; rm -rf /run/atlas-lab/entropy" % " ".join(ENTROPY_FILES))
    node_exec(node, ["/bin/sh", "-c", script_low if low else script_ok])


def fault_corrupt(lab, state, node, path):
    if not path.startswith("/"):
        raise LabError("PATH must be absolute inside the node, got %r" % path)
    rc, data = node_exec(node, ["/bin/sh", "-c", 'test -f "$1" && base64 -w0 "$1"', "sh", path], check=False)
    if rc != 0:
        raise LabError("node %s has no regular file %s" % (node["name"], path))
    import base64
    raw = base64.b64decode(data)
    backup = os.path.join(lab.dir, "backup", node["name"] + path)
    if not os.path.exists(backup):
        os.makedirs(os.path.dirname(backup), exist_ok=True)
        with open(backup, "wb") as fh:
            fh.write(raw)
    # Keep the first half, then garbage: neither the old content nor valid syntax.
    bad = raw[:len(raw) // 2] + b"\x00\xff#corrupted-by-atlas-lab\x00" + bytes(range(256))[::7]
    NodeWriter(node).write(path, bad, 0o644)


def fault_dup_ip(lab, state, node, port, address):
    phy, hv = get_port(lab, state, node, port)
    doc = node_doc(state, node)
    mask = [p for p in doc["ports"] if p["phy_id"] == phy][0]["netmask"]
    rc, out = node_exec(node, ["/usr/local/bin/hccn_tool", "-i", str(phy), "-ip", "-s", "address", address,
                               "netmask", mask], check=False)
    if rc != 0:
        raise LabError("hccn_tool -ip -s on %s port %d failed: %s" % (node["name"], phy, out))
    node.setdefault("addresses", {})[str(phy)] = address
    refresh_profile(lab, state, node)


def fault_unaddressed(lab, state, node):
    """A node as racked: NPU ports without device IP, detect IP or gateway, hccn.conf without their keys
    (the driver's other lines stay, plus an ARP entry that a configuring stage must keep)."""
    doc = node_doc(state, node)
    for port in doc["ports"]:
        phy = port["phy_id"]
        node_exec(node, ["ip", "addr", "flush", "dev", port["iface"]])
        node_exec(node, ["ip", "rule", "del", "pref", str(1000 + phy)], check=False)
        node_exec(node, ["ip", "route", "flush", "table", str(100 + phy)], check=False)
    managed = re.compile(r"^(address|netmask|netdetect|gateway)_\d+=")
    keep = [ln for ln in profiles.hccn_conf_text(doc).splitlines() if not managed.match(ln)]
    keep.append("arp_0=-i eth0 -s %s %s" % (doc["ports"][0]["netdetect"], state.get("switch", {}).get(
        "mac", "00:e0:fc:00:00:01")))
    NodeWriter(node).write("/etc/hccn.conf", "\n".join(keep) + "\n", 0o644)
    node["unaddressed"] = True


def fault_clear(lab, state):
    for node in state["nodes"]:
        if node["profile"] != node["base_profile"]:
            fault_profile(lab, state, node, node["base_profile"])
        for phy in list(node.get("vlans", {})):
            fault_vlan(lab, state, node, phy, profiles.DEFAULT_VLAN)
        node.pop("vlans", None)
        for hv in glob.glob("/sys/class/net/%sn%dp*" % (lab.prefix, node["index"])):
            sh(["ip", "link", "set", os.path.basename(hv), "up"])
        addresses = node.pop("addresses", {})
        doc = node_doc(state, node)
        if node.pop("unaddressed", False):
            NodeWriter(node).write("/etc/hccn.conf", profiles.hccn_conf_text(doc), 0o644)
            addresses = dict((str(p["phy_id"]), p["address"]) for p in doc["ports"])
        for phy in addresses:
            port = [p for p in doc["ports"] if p["phy_id"] == int(phy)][0]
            node_exec(node, ["/usr/local/bin/hccn_tool", "-i", phy, "-ip", "-s", "address", port["address"],
                             "netmask", port["netmask"]])
        refresh_profile(lab, state, node)
        fault_entropy(lab, state, node, low=False)
        if node["mgmt_ip"] in wait_ssh([node["mgmt_ip"]], timeout=0.5):
            fault_sshd(lab, state, node, "start")
        bdir = os.path.join(lab.dir, "backup", node["name"])
        for root, _dirs, files in os.walk(bdir):
            for name in files:
                src = os.path.join(root, name)
                with open(src, "rb") as fh:
                    NodeWriter(node).write(src[len(bdir):], fh.read(), 0o644)
        shutil.rmtree(bdir, ignore_errors=True)
    state["faults"] = []


FAULTS = {
    "vlan": (["NODE", "PORT", "VID"], "move an NPU port's switch port to another VLAN"),
    "link-down": (["NODE", "PORT"], "take an NPU port's link down (switch port shut)"),
    "link-up": (["NODE", "PORT"], "bring it back"),
    "profile": (["NODE", "PROFILE"], "change what the node pretends to be (%s)" % ", ".join(sorted(profiles.PROFILES))),
    "sshd-stop": (["NODE"], "stop the node's sshd"),
    "sshd-start": (["NODE"], "start it again"),
    "entropy-low": (["NODE"], "poolsize reads 4096, entropy_avail 100 (until haveged runs in the node)"),
    "entropy-ok": (["NODE"], "back to the kernel's own values"),
    "corrupt": (["NODE", "PATH"], "corrupt a regular file in the node (restored by clear)"),
    "dup-ip": (["NODE", "PORT", "IP"], "set an NPU port's device IP (hccn_tool -ip -s) e.g. to a peer's"),
    "ip": (["NODE", "PORT", "IP"], "the same for any address, e.g. one in another RoCE plane"),
    "unaddressed": (["NODE"], "NPU ports without device IP, detect IP and gateway (a node as racked)"),
    "clear": ([], "undo every fault"),
}


def cmd_fault(lab, args):
    state = lab.load()
    if not state:
        raise LabError("lab %r is not up" % lab.id)
    kind, rest = args.kind, args.args
    want = FAULTS[kind][0]
    if len(rest) != len(want):
        raise LabError("usage: fault %s %s" % (kind, " ".join(want)))
    if kind == "clear":
        fault_clear(lab, state)
        lab.save(state)
        write_inventory(lab, state)
        return 0
    node = get_node(state, rest[0])
    if not pid_alive(node.get("init_pid")):
        raise LabError("node %s is not running" % node["name"])
    if kind == "vlan":
        fault_vlan(lab, state, node, rest[1], rest[2])
    elif kind in ("link-down", "link-up"):
        fault_link(lab, state, node, rest[1], kind[5:])
    elif kind == "profile":
        fault_profile(lab, state, node, rest[1])
    elif kind in ("sshd-stop", "sshd-start"):
        fault_sshd(lab, state, node, kind[5:])
    elif kind in ("entropy-low", "entropy-ok"):
        fault_entropy(lab, state, node, kind == "entropy-low")
    elif kind == "corrupt":
        fault_corrupt(lab, state, node, rest[1])
    elif kind in ("dup-ip", "ip"):
        fault_dup_ip(lab, state, node, rest[1], rest[2])
    elif kind == "unaddressed":
        fault_unaddressed(lab, state, node)
    state["faults"].append([kind] + rest)
    lab.save(state)
    write_inventory(lab, state)  # lab_profile follows profile faults
    log("fault %s %s applied" % (kind, " ".join(rest)))
    return 0


def cmd_logs(lab, args):
    """Print a pod container's log as the node agent wrote it (nodes/<node>/pods/<ns>_<pod>_<uid>/logs/)."""
    if "/" not in args.pod:
        raise LabError("logs expects NAMESPACE/POD, got %r" % args.pod)
    ns, pod = args.pod.split("/", 1)
    pattern = os.path.join(lab.dir, "nodes", "*", "pods", "%s_%s_*" % (glob.escape(ns), glob.escape(pod)))
    dirs = sorted(glob.glob(pattern), key=os.path.getmtime)
    if not dirs:
        raise LabError("no pod %s/%s runs on a node of lab %s" % (ns, pod, lab.id))
    logs = os.path.join(dirs[-1], "logs")
    names = sorted(os.listdir(logs)) if os.path.isdir(logs) else []
    name = args.container or (names[0] if len(names) == 1 else None)
    if name is None:
        raise LabError("pod %s/%s has containers %s: choose one with -c"
                       % (ns, pod, ", ".join(names) or "(none started)"))
    if name not in names:
        raise LabError("container %r of pod %s/%s has no log (containers: %s)" % (name, ns, pod, ", ".join(names)))
    runs = sorted((int(f[:-4]) for f in os.listdir(os.path.join(logs, name)) if f.endswith(".log")))
    if args.previous and len(runs) < 2:
        raise LabError("container %r of pod %s/%s has no previous run" % (name, ns, pod))
    with open(os.path.join(logs, name, "%d.log" % runs[-2 if args.previous else -1]), "rb") as fh:
        sys.stdout.buffer.write(fh.read())
    return 0


def cmd_kubectl(lab, args):
    admin = os.path.join(lab.dir, "k8s", "admin.kubeconfig")
    if not os.path.exists(admin):
        raise LabError("lab %s has no Kubernetes control plane (%s missing): bring it up with 'up ... --k8s'"
                       % (lab.id, admin))
    controlplane = k8s_modules()[0]
    kubectl = os.path.join(controlplane.build.BIN, "kubectl")
    os.execv(kubectl, [kubectl, "--kubeconfig", admin] + args.args)
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="atlas_lab.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--lab-id", default=os.environ.get("ATLAS_LAB_ID", "lab"),
                        help="keeps several labs apart (default: $ATLAS_LAB_ID or 'lab')")
    sub = parser.add_subparsers(dest="command")
    up = sub.add_parser("up", help="create the lab nodes and write the inventory")
    up.add_argument("--prefill", type=int, default=0)
    up.add_argument("--decode", type=int, default=0)
    up.add_argument("--control", type=int, default=0)
    up.add_argument("--single", type=int, default=0)
    up.add_argument("--profile", default="a2-64g", help="profile of every node: %s" % ", ".join(sorted(profiles.PROFILES)))
    up.add_argument("--node-profile", action="append", metavar="NODE=PROFILE", help="per-node profile")
    up.add_argument("--k8s", action="store_true",
                    help="also run a Kubernetes control plane with the nodes as its Nodes (tests/lab/k8s)")
    up.add_argument("--k8s-namespace", action="append", metavar="NS",
                    help="namespace the deployer kubeconfig may deploy to (repeatable; default: mindie)")
    sub.add_parser("down", help="remove everything the lab made (safe to repeat)")
    sub.add_parser("status", help="show nodes, sshd and NPU ports")
    sub.add_parser("inventory", help="print the inventory path")
    sub.add_parser("profiles", help="list hardware profiles")
    logs = sub.add_parser("logs", help="print a pod container's log (pods run by the node agents)")
    logs.add_argument("pod", metavar="NAMESPACE/POD")
    logs.add_argument("-c", "--container")
    logs.add_argument("-p", "--previous", action="store_true", help="the log of the previous run")
    kctl = sub.add_parser("kubectl", help="run the lab's kubectl with its admin kubeconfig (up --k8s)")
    kctl.add_argument("args", nargs=argparse.REMAINDER)
    fault = sub.add_parser("fault", help="inject a fault: " + ", ".join(FAULTS),
                           epilog="\n".join("%s %s: %s" % (k, " ".join(v[0]), v[1]) for k, v in FAULTS.items()),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    fault.add_argument("kind", choices=sorted(FAULTS))
    fault.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if args.command == "profiles":
        for name in sorted(profiles.PROFILES):
            print("%-14s %s" % (name, profiles.PROFILES[name]["description"]))
        return 0
    if os.geteuid() != 0:
        sys.stderr.write("atlas_lab.py must run as root: it creates network/mount/pid namespaces, bridges and "
                         "overlay mounts. Re-run with sudo (e.g. sudo -E %s ...).\n" % sys.executable)
        return 1
    try:
        lab = Lab(args.lab_id)
        if args.command == "kubectl":
            return cmd_kubectl(lab, args)
        lock = lab.lock()
        try:
            if args.command == "up":
                cmd_up(lab, args)
                return 0
            if args.command == "down":
                cmd_down(lab, args)
                return 0
            if args.command == "status":
                return cmd_status(lab, args)
            if args.command == "inventory":
                return cmd_inventory(lab, args)
            if args.command == "logs":
                return cmd_logs(lab, args)
            return cmd_fault(lab, args)
        finally:
            os.close(lock)
    except LabError as exc:
        sys.stderr.write("atlas-lab: error: %s\n" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
