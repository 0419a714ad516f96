# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a pod needs from its lab node: names, addresses, pod IP block, NPU devices, services.

Pod IPs: each node owns a block of the lab's management /24 (see ``pod_block``), so the host and the
other nodes reach pods on the same link: the node answers ARP for its pods' addresses on eth0
(proxy ARP) and forwards to the pod's veth.
"""
import json
import os
import subprocess
import threading

STATE_ROOT = "/var/lib/ascend-lab"
CACHE = os.environ.get("ATLAS_LAB_CACHE", "/var/cache/ascend-lab")
POD_RANGE = (72, 239)  # .10-.71 are nodes (at most 62), .240/28 is the Service range


def pod_block(node_index, node_count):
    """First and last host number of a node's pod block in the management /24."""
    size = (POD_RANGE[1] - POD_RANGE[0] + 1) // max(node_count, 1)
    size = min(size, 32)
    if size < 2:
        raise ValueError("%d nodes leave no room for pod addresses in the management /24" % node_count)
    first = POD_RANGE[0] + node_index * size
    return first, first + size - 1


def service_env_name(name):
    return name.upper().replace("-", "_").replace(".", "_")


class NodeContext(object):
    def __init__(self, lab_id, node_name, state=None):
        if state is None:
            with open(os.path.join(STATE_ROOT, lab_id, "state.json")) as fh:
                state = json.load(fh)
        self.state = state
        self.lab_id = lab_id
        node = next((n for n in state["nodes"] if n["name"] == node_name), None)
        if node is None:
            raise ValueError("lab %s has no node %s" % (lab_id, node_name))
        self.node = node
        self.node_name = node_name
        self.node_ip = node["mgmt_ip"]
        self.net_prefix = self.node_ip.rsplit(".", 1)[0]
        self.prefix = "al" + state["hash"]
        # The node's filesystem: through its init's root for file operations from the host, and the
        # node's overlay mount point inside the node's mount namespace, where containers are built
        # (a bind mount cannot cross mount namespaces).
        self.node_root = "/proc/%d/root" % node["init_pid"]
        self.node_mnt_ns = "/proc/%d/ns/mnt" % node["init_pid"]
        self.lab_dir = os.path.join(STATE_ROOT, lab_id)
        self.node_merged = os.path.join(self.lab_dir, "nodes", node_name, "merged")
        self.pods_dir = os.path.join(self.lab_dir, "nodes", node_name, "pods")
        self.base = os.path.join(CACHE, "base-bookworm")
        self.images_dir = os.path.join(CACHE, "images")
        self.block = pod_block(node["index"], len(state["nodes"]))
        self.lock = threading.Lock()
        self.used_ips = set()
        self.devices = {}
        self.device_count = self.profile_devices()
        self.get_object = lambda kind, ns, name: None
        self.services = []   # (namespace, name, clusterIP, ports)
        self.service_map = {}

    def profile_devices(self):
        prof = self.node.get("profile")
        try:
            import sys
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
            import profiles  # pylint: disable=import-outside-toplevel
            return profiles.device_count(prof)
        except (ImportError, KeyError):
            return 0

    def reload_profile(self):
        """Follow a profile change of the node in state.json; True when it changed."""
        try:
            with open(os.path.join(self.lab_dir, "state.json")) as fh:
                state = json.load(fh)
        except (IOError, ValueError):
            return False
        node = next((n for n in state.get("nodes", []) if n["name"] == self.node_name), None)
        if not node or node.get("profile") == self.node.get("profile"):
            return False
        self.node["profile"] = node["profile"]
        self.device_count = self.profile_devices()
        return True

    def generation(self):
        try:
            import profiles  # pylint: disable=import-outside-toplevel
            return profiles.PROFILES[self.node["profile"]]["generation"]
        except (ImportError, KeyError):
            return None

    # ------------------------------------------------------------------ addresses

    def allocate_ip(self, wanted=None):
        """A free pod IP of the block; ``wanted`` (the pod's IP before an agent restart) when it is free."""
        with self.lock:
            hosts = list(range(self.block[0], self.block[1] + 1))
            if wanted and wanted.rsplit(".", 1)[0] == self.net_prefix and wanted.rsplit(".", 1)[1].isdigit():
                n = int(wanted.rsplit(".", 1)[1])
                if n in hosts:
                    hosts.remove(n)
                    hosts.insert(0, n)
            for host in hosts:
                ip = "%s.%d" % (self.net_prefix, host)
                if ip not in self.used_ips and not os.path.exists("/run/netns/%s-pod%d" % (self.prefix, host)):
                    self.used_ips.add(ip)
                    return ip
        return None

    def release_ip(self, ip):
        with self.lock:
            self.used_ips.discard(ip)

    def prepare_network(self):
        """Node side of pod networking: forward between eth0 and pod veths, proxy ARP for pod IPs on eth0."""
        for key, value in (("ipv4/conf/eth0/forwarding", "1"), ("ipv4/conf/eth0/proxy_arp", "1"),
                           ("ipv4/neigh/eth0/proxy_delay", "0"), ("ipv4/conf/lo/forwarding", "1")):
            with open("/proc/sys/net/" + key, "w") as fh:
                fh.write(value)

    # ------------------------------------------------------------------ NPUs (what the device plugin does)

    def allocate_devices(self, key, count):
        with self.lock:
            if key in self.devices:
                return self.devices[key]
            taken = {d for ds in self.devices.values() for d in ds}
            free = [d for d in range(self.device_count) if d not in taken]
            self.devices[key] = free[:count]
            return self.devices[key]

    def release_devices(self, key):
        with self.lock:
            self.devices.pop(key, None)

    # ------------------------------------------------------------------ services

    def set_services(self, services):
        """services: list of Service objects (dicts); used for /etc/hosts and the env of new containers."""
        with self.lock:
            self.services = [s for s in services if s.get("spec", {}).get("clusterIP") not in (None, "", "None")]

    def hosts_text(self, namespace):
        lines = []
        with self.lock:
            for svc in sorted(self.services, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
                ns, name, ip = svc["metadata"]["namespace"], svc["metadata"]["name"], svc["spec"]["clusterIP"]
                names = ["%s.%s.svc.cluster.local" % (name, ns), "%s.%s.svc" % (name, ns), "%s.%s" % (name, ns)]
                if ns == namespace:
                    names.append(name)
                lines.append("%s\t%s" % (ip, " ".join(names)))
        return "".join(line + "\n" for line in lines)

    def service_env(self, namespace):
        """Docker-link style variables of the namespace's Services (what kubelet injects)."""
        env = {}
        with self.lock:
            for svc in self.services:
                meta, spec = svc["metadata"], svc["spec"]
                master = meta["namespace"] == "default" and meta["name"] == "kubernetes"
                if meta["namespace"] != namespace and not master:
                    continue
                ports = spec.get("ports") or []
                if not ports:
                    continue
                n = service_env_name(meta["name"])
                ip = spec["clusterIP"]
                env[n + "_SERVICE_HOST"] = ip
                env[n + "_SERVICE_PORT"] = str(ports[0]["port"])
                for p in ports:
                    proto = p.get("protocol", "TCP")
                    if p.get("name"):
                        env["%s_SERVICE_PORT_%s" % (n, service_env_name(p["name"]))] = str(p["port"])
                    base = "%s_PORT_%d_%s" % (n, p["port"], proto)
                    env[base] = "%s://%s:%d" % (proto.lower(), ip, p["port"])
                    env[base + "_PROTO"] = proto.lower()
                    env[base + "_PORT"] = str(p["port"])
                    env[base + "_ADDR"] = ip
                env[n + "_PORT"] = "%s://%s:%d" % (ports[0].get("protocol", "TCP").lower(), ip, ports[0]["port"])
        return env


def cleanup_stale_pods(ctx):
    """Remove pod sandboxes of this node left by an earlier agent (processes, tmpfs, netns, dirs)."""
    lo, hi = ctx.block
    for host in range(lo, hi + 1):
        ns = "%s-pod%d" % (ctx.prefix, host)
        if os.path.exists("/run/netns/" + ns):
            out = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, check=False).stdout.split()
            for pid in out:
                try:
                    os.kill(int(pid), 9)
                except (OSError, ValueError):
                    pass
            subprocess.run(["ip", "link", "del", "%sp%d" % (ctx.prefix, host)], stderr=subprocess.DEVNULL, check=False)
            subprocess.run(["ip", "netns", "del", ns], check=False)
    if os.path.isdir(ctx.pods_dir):
        try:
            with open("/proc/%d/mounts" % ctx.node["init_pid"]) as fh:
                mounts = [line.split()[1] for line in fh]
        except IOError:
            mounts = []
        for mnt in sorted((m for m in mounts if m.startswith(ctx.pods_dir + "/")), key=len, reverse=True):
            subprocess.run(["nsenter", "--mount=" + ctx.node_mnt_ns, "--", "umount", "-l", mnt], check=False)
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(ctx.pods_dir, ignore_errors=True)
