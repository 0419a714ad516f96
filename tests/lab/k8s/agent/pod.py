# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs one pod on a lab node: its network namespace and IP, volumes, init and app containers, probes,
restarts with back-off, termination with a grace period, and the pod status Kubernetes expects.

A PodWorker needs a node context (see node_agent.NodeContext, or a test's own) with: ``node_name``,
``node_ip``, ``prefix`` (the lab's interface/netns prefix), ``node_root`` (the node's filesystem as
seen from the host, for hostPath), ``pods_dir``, ``base`` (the Debian base), ``images_dir``,
``get_object(kind, namespace, name)``, ``hosts_text(namespace)``, ``service_env(namespace)``,
``allocate_devices(key, count)`` / ``release_devices(key)``.
"""
import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

from agent import atomic_writer

INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "container_init.py")
DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
                "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BACKOFF_START, BACKOFF_MAX = 10.0, 300.0
VOLUME_REFRESH = 10.0  # seconds between ConfigMap/Secret volume refreshes (kubelet: about a minute)
GATEWAY = "169.254.1.1"  # the pod's default gateway: the node side of its veth (as Calico does)


def now_iso(ts=None):
    return datetime.datetime.utcfromtimestamp(ts if ts is not None else time.time()).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(cmd, check=True, input_data=None):
    proc = subprocess.run(cmd, input=input_data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), proc.stderr.decode(errors="replace").strip()))
    return proc


class ConfigError(Exception):
    """A pod that cannot start as specified (reason, message) - reported on the container."""

    def __init__(self, reason, message):
        Exception.__init__(self, message)
        self.reason = reason


def image_dir(images_dir, ref):
    """Image reference -> (directory, error message or None), per the lab's image convention."""
    if "@" in ref:
        return None, "digest references are not supported by the lab runtime: %s" % ref
    last = ref.rsplit("/", 1)[-1]
    name, tag = last.rsplit(":", 1) if ":" in last else (last, "latest")
    path = os.path.join(images_dir, name, tag)
    if not os.path.isdir(os.path.join(path, "rootfs")):
        return path, "image %s not found: no lab image directory %s/rootfs (build the image first)" % (ref, path)
    return path, None


def parse_quantity_bytes(text):
    m = re.match(r"^([0-9.]+)([EPTGMK]i?|[kmun]|)$", str(text))
    if not m:
        raise ConfigError("CreateContainerConfigError", "invalid quantity %r" % text)
    mult = {"": 1, "k": 1000, "K": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4, "P": 1000 ** 5,
            "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "m": 0.001}
    return int(float(m.group(1)) * mult.get(m.group(2), 1))


def expand(value, env):
    """Kubernetes $(VAR) expansion: known variables are replaced, $$ escapes, unknown ones stay."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, value)


class Probe(object):
    def __init__(self, spec, kind):
        self.spec = spec
        self.kind = kind
        self.initial = spec.get("initialDelaySeconds", 0)
        self.period = spec.get("periodSeconds", 10)
        self.timeout = spec.get("timeoutSeconds", 1)
        self.success_threshold = spec.get("successThreshold", 1)
        self.failure_threshold = spec.get("failureThreshold", 3)
        self.successes = 0
        self.failures = 0
        self.next_at = 0.0
        self.last_message = ""

    def describe(self):
        s = self.spec
        if "exec" in s:
            return "exec %s" % s["exec"].get("command")
        if "httpGet" in s:
            return "http-get %s://:%s%s" % (s["httpGet"].get("scheme", "HTTP").lower(), s["httpGet"].get("port"),
                                            s["httpGet"].get("path", "/"))
        return "tcp-socket :%s" % s.get("tcpSocket", {}).get("port")


class Container(object):
    def __init__(self, spec, init=False):
        self.spec = spec
        self.name = spec["name"]
        self.init = init
        self.proc = None
        self.pid1 = None
        self.run_no = 0
        self.restart_count = 0
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.started_at = None
        self.ready = False
        self.started = False
        self.backoff = 0.0
        self.next_start = 0.0
        self.run_dir = None
        self.done = False  # init container finished successfully / app container finished for good
        self.kill_deadline = None
        self.kill_reason = None
        self.startup = Probe(spec["startupProbe"], "Startup") if spec.get("startupProbe") else None
        self.liveness = Probe(spec["livenessProbe"], "Liveness") if spec.get("livenessProbe") else None
        self.readiness = Probe(spec["readinessProbe"], "Readiness") if spec.get("readinessProbe") else None
        self.probe_message = ""
        self.env = {}

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self, pod_tag):
        image = self.spec.get("image", "")
        out = {"name": self.name, "image": image, "imageID": "lab-image://" + image, "ready": self.ready,
               "restartCount": self.restart_count, "state": self.state, "lastState": self.last_state}
        if not self.init:
            out["started"] = self.started
        if self.run_no:
            out["containerID"] = "lab://%s/%s/%d" % (pod_tag, self.name, self.run_no)
        return out


class PodWorker(threading.Thread):
    def __init__(self, ctx, pod, pod_ip, on_status, on_finished):
        threading.Thread.__init__(self, name="pod-%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"]))
        self.daemon = True
        self.ctx = ctx
        self.pod = pod
        self.meta = pod["metadata"]
        self.spec = pod["spec"]
        self.pod_ip = pod_ip
        self.on_status = on_status
        self.on_finished = on_finished
        self.uid = self.meta.get("uid", "nouid")
        self.tag = "%s_%s_%s" % (self.meta["namespace"], self.meta["name"], self.uid[:8])
        self.dir = os.path.join(ctx.pods_dir, self.tag)
        self.netns = "%s-pod%s" % (ctx.prefix, pod_ip.rsplit(".", 1)[1])
        self.veth = "%sp%s" % (ctx.prefix, pod_ip.rsplit(".", 1)[1])
        self.lock = threading.RLock()
        self.inits = [Container(c, True) for c in self.spec.get("initContainers", [])]
        self.apps = [Container(c) for c in self.spec.get("containers", [])]
        # an agent restart: the containers' earlier runs count as restarts (their processes are gone)
        before = {s["name"]: s for s in (pod.get("status", {}).get("containerStatuses") or [])}
        for c in self.apps:
            old = before.get(c.name)
            if old and old.get("containerID"):
                c.restart_count = old.get("restartCount", 0) + 1
                c.last_state = {"terminated": {"exitCode": 137, "reason": "Error",
                                               "message": "the node agent restarted"}}
        self.initialized = not self.inits
        self.phase = "Pending"
        self.pod_message = None
        self.pod_reason = None
        self.delete_requested = None  # grace seconds once deletion starts
        self.terminated = False
        self.net_ready = False
        self.volumes = {}
        self.mem_mounts = []
        self.conditions_time = {}
        self.start_time = now_iso()
        self.last_hosts = None
        self.event_times = {}

    def event(self, c, etype, reason, message, every=0.0):
        """A Kubernetes Event about a container (what kubectl describe and the deploy wait show)."""
        key = (c.name if c else "", reason)
        t = time.time()
        if every and t - self.event_times.get(key, 0.0) < every:
            return
        self.event_times[key] = t
        post = getattr(self.ctx, "post_event", None)
        if post:
            field = None
            if c is not None:
                field = "spec.%s{%s}" % ("initContainers" if c.init else "containers", c.name)
            post(self.meta, field, etype, reason, message)

    # ------------------------------------------------------------------ API-facing

    def request_delete(self, grace):
        with self.lock:
            if self.delete_requested is None or grace < self.delete_requested:
                self.delete_requested = grace
                self.delete_at = time.time()

    def abort(self):
        """The pod is gone from the API (force delete): kill at once."""
        self.request_delete(0)

    def status(self):
        with self.lock:
            ready = bool(self.apps) and all(c.ready for c in self.apps) and not self.terminated
            conds = []
            for ctype, value in (("Initialized", self.initialized), ("Ready", ready), ("ContainersReady", ready),
                                 ("PodScheduled", True)):
                if self.conditions_time.get(ctype, (None,))[0] != value:
                    self.conditions_time[ctype] = (value, now_iso())
                cond = {"type": ctype, "status": "True" if value else "False",
                        "lastProbeTime": None, "lastTransitionTime": self.conditions_time[ctype][1]}
                if not value and ctype in ("Ready", "ContainersReady"):
                    waiting = [c.name for c in self.apps if not c.ready]
                    cond["reason"] = "ContainersNotReady"
                    cond["message"] = "containers with unready status: [%s]" % " ".join(waiting)
                if not value and ctype == "Initialized":
                    cond["reason"] = "ContainersNotInitialized"
                    cond["message"] = "containers with incomplete status: [%s]" % " ".join(
                        c.name for c in self.inits if not c.done)
                conds.append(cond)
            st = {"phase": self.phase, "hostIP": self.ctx.node_ip, "startTime": self.start_time,
                  "conditions": conds, "qosClass": qos_class(self.spec),
                  "containerStatuses": [c.status(self.tag) for c in self.apps]}
            if self.net_ready:
                st["podIP"] = self.pod_ip
                st["podIPs"] = [{"ip": self.pod_ip}]
            if self.inits:
                st["initContainerStatuses"] = [c.status(self.tag) for c in self.inits]
            if self.pod_reason:
                st["reason"] = self.pod_reason
                st["message"] = self.pod_message
            return st

    # ------------------------------------------------------------------ setup

    def setup_network(self):
        ip = self.pod_ip
        run(["ip", "netns", "add", self.netns])
        run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns])
        for key, value in (("proxy_arp", "1"), ("forwarding", "1")):
            with open("/proc/sys/net/ipv4/conf/%s/%s" % (self.veth, key), "w") as fh:
                fh.write(value)
        batch = ("addr add %s/32 dev %s scope link\nlink set %s up\nroute add %s/32 dev %s scope link src %s\n"
                 % (GATEWAY, self.veth, self.veth, ip, self.veth, self.ctx.node_ip))
        run(["ip", "-batch", "-"], input_data=batch.encode())
        inner = ("link set lo up\naddr add %s/32 dev eth0\nlink set eth0 up\n"
                 "route add %s dev eth0 scope link\nroute add default via %s dev eth0\n" % (ip, GATEWAY, GATEWAY))
        run(["ip", "-n", self.netns, "-batch", "-"], input_data=inner.encode())
        self.net_ready = True

    def write_file(self, path, data, mode=0o644, uid=0, gid=0):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode())
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.rename(tmp, path)

    def fs_group(self):
        return (self.spec.get("securityContext") or {}).get("fsGroup")

    def key_volume(self, vdir, data, items, default_mode, optional, what):
        """ConfigMap/Secret data as files (all keys, or items with path/mode) in kubelet's atomic-writer
        layout (agent/atomic_writer.py: ``..data`` -> timestamped directory, per-key symlinks); group
        fsGroup like kubelet."""
        fsg = self.fs_group()
        if items:
            wanted = []
            for item in items:
                if item["key"] not in data:
                    if optional:
                        continue
                    raise ConfigError("ContainerCreating", "%s has no key %r" % (what, item["key"]))
                wanted.append((item["key"], item["path"], item.get("mode", default_mode)))
        else:
            wanted = [(k, k, default_mode) for k in sorted(data)]
        payload = {}
        for key, rel, mode in wanted:
            if not atomic_writer.check_path(rel):
                raise ConfigError("ContainerCreating", "%s: invalid item path %r" % (what, rel))
            if fsg is not None:
                mode |= 0o440  # kubelet's SetVolumeOwnership for read-only volumes
            payload[rel] = (data[key], mode)
        atomic_writer.write(vdir, payload, fsg)

    def setup_volumes(self, refresh=False):
        """Prepare the pod's volumes; refresh=True rewrites ConfigMap/Secret volumes from the API like
        kubelet's periodic sync (a changed payload swaps ``..data``: subPath mounts keep the old content)."""
        ns = self.meta["namespace"]
        for vol in self.spec.get("volumes", []):
            name = vol["name"]
            vdir = os.path.join(self.dir, "volumes", name)
            if refresh and ("configMap" in vol or "secret" in vol) and name in self.volumes:
                pass
            elif name in self.volumes:
                continue
            if "configMap" in vol or "secret" in vol:
                kind = "configMap" if "configMap" in vol else "secret"
                src = vol[kind]
                obj_name = src.get("name") if kind == "configMap" else src.get("secretName")
                obj = self.ctx.get_object("configmaps" if kind == "configMap" else "secrets", ns, obj_name)
                what = "%s %r" % (kind, obj_name)
                if obj is None and not src.get("optional"):
                    raise ConfigError("ContainerCreating", "MountVolume.SetUp failed for volume %r: %s not found"
                                      % (name, what))
                data = {}
                if obj:
                    if kind == "secret":
                        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
                    else:
                        data = dict((obj.get("data") or {}))
                        data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
                self.key_volume(vdir, data, src.get("items"), src.get("defaultMode", 0o644),
                                src.get("optional"), what)
                self.volumes[name] = (vdir, True)
            elif "emptyDir" in vol:
                os.makedirs(vdir, exist_ok=True)
                ed = vol["emptyDir"] or {}
                if ed.get("medium") == "Memory":
                    opts = "mode=1777"
                    if ed.get("sizeLimit"):
                        opts += ",size=%d" % parse_quantity_bytes(ed["sizeLimit"])
                    # in the node's mount namespace, where the containers are built
                    run(["nsenter", "--mount=" + self.ctx.node_mnt_ns, "--", "mount", "-t", "tmpfs", "-o", opts,
                         "tmpfs", vdir])
                    self.mem_mounts.append(vdir)
                else:
                    os.chmod(vdir, 0o1777 if self.fs_group() is None else 0o2777)
                if self.fs_group() is not None:
                    os.chown(vdir, 0, self.fs_group())
                self.volumes[name] = (vdir, False)
            elif "hostPath" in vol:
                hp = vol["hostPath"]
                path = os.path.normpath("/" + hp["path"].lstrip("/"))
                full = self.ctx.node_root.rstrip("/") + path
                htype = hp.get("type", "")
                if htype == "DirectoryOrCreate":
                    os.makedirs(full, 0o755, exist_ok=True)
                elif htype == "FileOrCreate" and not os.path.exists(full):
                    os.makedirs(os.path.dirname(full), exist_ok=True)
                    open(full, "a").close()
                elif htype in ("Directory", "File", "Socket", "CharDevice", "BlockDevice") and not os.path.exists(full):
                    raise ConfigError("ContainerCreating", "MountVolume.SetUp failed for volume %r: hostPath type "
                                      "check failed: %s is not a %s" % (name, hp["path"], htype))
                if not os.path.exists(full):
                    os.makedirs(full, 0o755, exist_ok=True)
                self.volumes[name] = (self.ctx.node_merged + path, False)
            elif "downwardAPI" in vol:
                data = {}
                for item in vol["downwardAPI"].get("items", []):
                    data[item["path"]] = str(self.field_value(item.get("fieldRef", {}).get("fieldPath", "")))
                self.key_volume(vdir, data, None, vol["downwardAPI"].get("defaultMode", 0o644), False, "downwardAPI")
                self.volumes[name] = (vdir, True)
            elif "projected" in vol:
                data = {}
                for source in vol["projected"].get("sources", []):
                    for kind, res in (("configMap", "configmaps"), ("secret", "secrets")):
                        if kind in source:
                            obj = self.ctx.get_object(res, ns, source[kind]["name"]) or {}
                            raw = obj.get("data") or {}
                            raw = {k: (base64.b64decode(v) if kind == "secret" else v) for k, v in raw.items()}
                            items = source[kind].get("items")
                            if items:
                                data.update({i["path"]: raw[i["key"]] for i in items if i["key"] in raw})
                            else:
                                data.update(raw)
                self.key_volume(vdir, data, None, vol["projected"].get("defaultMode", 0o644), False, "projected")
                self.volumes[name] = (vdir, True)
            else:
                raise ConfigError("ContainerCreating", "volume %r: this volume type is not supported by the lab agent"
                                  % name)

    def write_pod_files(self):
        hostname = self.spec.get("hostname") or self.meta["name"]
        self.write_file(os.path.join(self.dir, "etc", "hostname"), hostname + "\n")
        ns = self.meta["namespace"]
        self.write_file(os.path.join(self.dir, "etc", "resolv.conf"),
                        "search %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n" % ns)
        self.refresh_hosts()

    def refresh_hosts(self):
        ns = self.meta["namespace"]
        hostname = self.spec.get("hostname") or self.meta["name"]
        text = ("# Kubernetes-managed hosts file (lab node agent).\n127.0.0.1\tlocalhost\n%s\t%s\n"
                % (self.pod_ip, hostname) + self.ctx.hosts_text(ns))
        if text == self.last_hosts:
            return
        path = os.path.join(self.dir, "etc", "hosts")
        # in place: the file is bind-mounted into the containers
        with open(path, "a+") as fh:
            fh.seek(0)
            fh.truncate()
            fh.write(text)
        self.last_hosts = text

    # ------------------------------------------------------------------ containers

    def field_value(self, path):
        m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
        if m:
            return (self.meta.get(m.group(1)) or {}).get(m.group(2), "")
        values = {"metadata.name": self.meta["name"], "metadata.namespace": self.meta["namespace"],
                  "metadata.uid": self.uid, "spec.nodeName": self.ctx.node_name,
                  "spec.serviceAccountName": self.spec.get("serviceAccountName", "default"),
                  "status.hostIP": self.ctx.node_ip, "status.podIP": self.pod_ip, "status.podIPs": self.pod_ip}
        if path not in values:
            raise ConfigError("CreateContainerConfigError", "unsupported fieldRef %r" % path)
        return values[path]

    def resource_value(self, cspec, ref):
        res = ref["resource"]
        kind, what = res.split(".", 1) if "." in res else (res, "")
        val = (cspec.get("resources", {}).get(kind, {}) or {}).get(what)
        if val is None:
            return "0"
        if what == "memory":
            return str(parse_quantity_bytes(val) // parse_quantity_bytes(ref.get("divisor", "1")))
        if what == "cpu":
            v = str(val)
            cores = float(v[:-1]) / 1000 if v.endswith("m") else float(v)
            return str(max(1, int(-(-cores // 1))))
        return str(val)

    def key_ref(self, kind, ref):
        obj = self.ctx.get_object(kind, self.meta["namespace"], ref["name"])
        label = "configmap" if kind == "configmaps" else "secret"
        if obj is None:
            if ref.get("optional"):
                return None
            raise ConfigError("CreateContainerConfigError", "%s %r not found" % (label, ref["name"]))
        data = obj.get("data") or {}
        if ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise ConfigError("CreateContainerConfigError", "couldn't find key %s in %s %s/%s"
                              % (ref["key"], label.capitalize() if label == "secret" else "ConfigMap",
                                 self.meta["namespace"], ref["name"]))
        value = data[ref["key"]]
        return base64.b64decode(value).decode(errors="replace") if kind == "secrets" else value

    def build_env(self, cspec, image_env, devices):
        env = {"PATH": DEFAULT_PATH}
        env.update(image_env)
        env["HOSTNAME"] = self.spec.get("hostname") or self.meta["name"]
        if self.spec.get("enableServiceLinks", True):
            env.update(self.ctx.service_env(self.meta["namespace"]))
        else:
            env.update({k: v for k, v in self.ctx.service_env("default").items() if k.startswith("KUBERNETES_")})
        if devices is not None:
            env["ASCEND_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices)
        for src in cspec.get("envFrom", []):
            prefix = src.get("prefix", "")
            for kind, key in (("configmaps", "configMapRef"), ("secrets", "secretRef")):
                if key in src:
                    obj = self.ctx.get_object(kind, self.meta["namespace"], src[key]["name"])
                    if obj is None:
                        if src[key].get("optional"):
                            continue
                        raise ConfigError("CreateContainerConfigError", "%s %r not found"
                                          % (kind[:-1], src[key]["name"]))
                    for k, v in (obj.get("data") or {}).items():
                        env[prefix + k] = base64.b64decode(v).decode(errors="replace") if kind == "secrets" else v
        for item in cspec.get("env", []):
            if "value" in item or "valueFrom" not in item:
                env[item["name"]] = expand(item.get("value", ""), env)
                continue
            vf = item["valueFrom"]
            if "fieldRef" in vf:
                value = self.field_value(vf["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in vf:
                value = self.resource_value(cspec, vf["resourceFieldRef"])
            elif "configMapKeyRef" in vf:
                value = self.key_ref("configmaps", vf["configMapKeyRef"])
            elif "secretKeyRef" in vf:
                value = self.key_ref("secrets", vf["secretKeyRef"])
            else:
                raise ConfigError("CreateContainerConfigError", "env %s: unsupported valueFrom" % item["name"])
            if value is not None:
                env[item["name"]] = str(value)
        return env

    def security(self, cspec):
        psc = self.spec.get("securityContext") or {}
        csc = cspec.get("securityContext") or {}
        if self.spec.get("hostNetwork") or self.spec.get("hostPID") or self.spec.get("hostIPC"):
            raise ConfigError("CreateContainerConfigError",
                              "hostNetwork/hostPID/hostIPC pods are not supported by the lab node agent")
        if csc.get("privileged"):
            raise ConfigError("CreateContainerConfigError",
                              "privileged containers are not allowed on lab nodes (container %s)" % cspec["name"])
        uid = csc.get("runAsUser", psc.get("runAsUser", 0))
        gid = csc.get("runAsGroup", psc.get("runAsGroup", 0))
        if csc.get("runAsNonRoot", psc.get("runAsNonRoot")) and uid == 0:
            raise ConfigError("CreateContainerConfigError",
                              "container has runAsNonRoot and image will run as root")
        groups = [gid] + list(psc.get("supplementalGroups") or [])
        if psc.get("fsGroup") is not None:
            groups.append(psc["fsGroup"])
        caps = csc.get("capabilities") or {}
        drop = {c.upper() for c in caps.get("drop") or []}
        keep = [] if "ALL" in drop else [c for c in DEFAULT_CAPS if c not in drop and "CAP_" + c not in drop]
        keep += [c.upper() for c in caps.get("add") or []]
        return {"uid": uid, "gid": gid, "groups": sorted(set(groups)), "capabilities": keep,
                "no_new_privs": csc.get("allowPrivilegeEscalation") is False,
                "read_only_root": bool(csc.get("readOnlyRootFilesystem"))}

    def start_container(self, c):
        cspec = c.spec
        path, err = image_dir(self.ctx.images_dir, cspec.get("image", ""))
        if err:
            was = c.state.get("waiting", {}).get("reason")
            reason = "ImagePullBackOff" if was == "ErrImagePull" else "ErrImagePull"
            c.state = {"waiting": {"reason": reason, "message": err}}
            c.next_start = time.time() + 5
            self.event(c, "Warning", "Failed", "Failed to pull image %r: %s" % (cspec.get("image", ""), err), 20)
            return
        image = {}
        if os.path.exists(os.path.join(path, "image.json")):
            with open(os.path.join(path, "image.json")) as fh:
                image = json.load(fh)
        devices = None
        npus = (cspec.get("resources", {}).get("limits") or {}).get("huawei.com/Ascend910") or \
            (cspec.get("resources", {}).get("requests") or {}).get("huawei.com/Ascend910")
        if npus:
            devices = self.ctx.allocate_devices("%s/%s" % (self.uid, c.name), int(npus))
        try:
            env = self.build_env(cspec, image.get("env") or {}, devices)
            sec = self.security(cspec)
        except ConfigError as exc:
            c.state = {"waiting": {"reason": exc.reason, "message": str(exc)}}
            c.next_start = time.time() + 5
            self.event(c, "Warning", "Failed", "Error: %s" % exc, 20)
            return
        if cspec.get("command"):
            argv = [expand(a, env) for a in cspec["command"]] + [expand(a, env) for a in cspec.get("args", [])]
        else:
            args = cspec.get("args")
            argv = list(image.get("entrypoint") or []) + (
                [expand(a, env) for a in args] if args is not None else list(image.get("cmd") or []))
        if not argv:
            c.state = {"waiting": {"reason": "CreateContainerError", "message": "no command specified"}}
            c.next_start = time.time() + 5
            return
        mounts = [{"source": os.path.join(self.dir, "etc", "hosts"), "target": "/etc/hosts"},
                  {"source": os.path.join(self.dir, "etc", "hostname"), "target": "/etc/hostname"},
                  {"source": os.path.join(self.dir, "etc", "resolv.conf"), "target": "/etc/resolv.conf"}]
        for vm in cspec.get("volumeMounts", []):
            if vm["name"] not in self.volumes:
                c.state = {"waiting": {"reason": "CreateContainerConfigError",
                                       "message": "volumeMount %r names no volume of the pod" % vm["name"]}}
                c.next_start = time.time() + 5
                return
            src, ro = self.volumes[vm["name"]]
            if vm.get("subPath"):
                src = os.path.join(src, vm["subPath"])
                visible = src  # hostPath sources live in the node's mount namespace
                if src.startswith(self.ctx.node_merged + "/"):
                    visible = self.ctx.node_root + src[len(self.ctx.node_merged):]
                if any(src.startswith(mem + "/") for mem in self.mem_mounts):
                    # inside a memory emptyDir: its tmpfs exists only in the node's mount namespace, where
                    # the container is built (kubelet makes a missing subPath inside the volume)
                    run(["nsenter", "--mount=" + self.ctx.node_mnt_ns, "--", "mkdir", "-p", src])
                elif not os.path.exists(visible):
                    os.makedirs(visible)
            mounts.append({"source": src, "target": vm["mountPath"], "read_only": ro or vm.get("readOnly", False)})
        if c.run_dir and os.path.isdir(c.run_dir):
            shutil.rmtree(c.run_dir, ignore_errors=True)
        c.run_no += 1
        c.run_dir = os.path.join(self.dir, "run", "%s-%d" % (c.name, c.run_no))
        for sub in ("upper", "work", "merged"):
            os.makedirs(os.path.join(c.run_dir, sub))
        cfg = {"lower": [os.path.join(path, "rootfs"), self.ctx.base],
               "upper": os.path.join(c.run_dir, "upper"), "work": os.path.join(c.run_dir, "work"),
               "merged": os.path.join(c.run_dir, "merged"), "mounts": mounts,
               "hostname": self.spec.get("hostname") or self.meta["name"],
               "workdir": cspec.get("workingDir") or image.get("workdir") or "/",
               "argv": argv, "env": env}
        cfg.update(sec)
        c.env = env
        cfg_path = os.path.join(c.run_dir, "config.json")
        with open(cfg_path, "w") as fh:
            json.dump(cfg, fh)
        os.chmod(cfg_path, 0o600)
        logdir = os.path.join(self.dir, "logs", c.name)
        os.makedirs(logdir, exist_ok=True)
        logf = open(os.path.join(logdir, "%d.log" % (c.run_no - 1)), "ab")
        c.proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.netns, "--mount=" + self.ctx.node_mnt_ns, "--",
             "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child", "--propagation", "private",
             sys.executable, INIT, cfg_path],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True)
        logf.close()
        c.pid1 = None
        c.started_at = time.time()
        c.state = {"running": {"startedAt": now_iso(c.started_at)}}
        c.ready = False
        c.started = c.startup is None
        c.kill_deadline = None
        c.kill_reason = None
        for probe in (c.startup, c.liveness, c.readiness):
            if probe:
                probe.successes = probe.failures = 0
                probe.next_at = c.started_at + probe.initial
        c.probe_message = ""
        self.event(c, "Normal", "Started", "Started container %s" % c.name)

    def container_pid(self, c):
        """Host pid of the container's PID 1 (the unshare wrapper's child)."""
        if c.pid1 and os.path.exists("/proc/%d" % c.pid1):
            return c.pid1
        if not c.running():
            return None
        try:
            with open("/proc/%d/task/%d/children" % (c.proc.pid, c.proc.pid)) as fh:
                kids = fh.read().split()
        except IOError:
            return None
        c.pid1 = int(kids[0]) if kids else None
        return c.pid1

    def signal_container(self, c, sig):
        pid = self.container_pid(c)
        for target in ([pid] if pid else []) + ([c.proc.pid] if sig == signal.SIGKILL and c.proc else []):
            try:
                os.kill(target, sig)
            except OSError:
                pass

    def exited(self, c):
        rc = c.proc.returncode
        code = rc if rc >= 0 else 128 - rc
        finished = time.time()
        reason = "Completed" if code == 0 else "Error"
        term = {"exitCode": code, "reason": reason, "startedAt": now_iso(c.started_at), "finishedAt": now_iso(finished),
                "containerID": "lab://%s/%s/%d" % (self.tag, c.name, c.run_no)}
        if rc < 0:
            term["signal"] = -rc
        if c.kill_reason:
            term["message"] = c.kill_reason
        c.proc = None
        c.pid1 = None
        c.ready = False
        self.ctx.release_devices("%s/%s" % (self.uid, c.name))
        return term, finished

    def restart_policy(self):
        return self.spec.get("restartPolicy", "Always")

    def handle_exit(self, c):
        term, finished = self.exited(c)
        policy = self.restart_policy()
        code = term["exitCode"]
        if c.init:
            if code == 0:
                c.done = True
                c.state = {"terminated": term}
                return
            restart = policy != "Never"
        else:
            restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if self.delete_requested is not None or not restart:
            c.state = {"terminated": term}
            c.done = True
            return
        # back-off: first restart at once, then 10 s doubling to 5 min; reset after 10 min of running
        if finished - (c.started_at or finished) > 600:
            c.backoff = 0.0
        c.last_state = {"terminated": term}
        c.restart_count += 1
        if c.backoff == 0.0:
            c.backoff = BACKOFF_START
            c.next_start = finished
            c.state = {"waiting": {"reason": "ContainerCreating"}}
        else:
            c.next_start = finished + c.backoff
            self.event(c, "Warning", "BackOff", "Back-off restarting failed container", 10)
            c.state = {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                                   % (c.backoff, c.name, self.meta["name"], self.meta["namespace"], self.uid)}}
            c.backoff = min(c.backoff * 2, BACKOFF_MAX)

    # ------------------------------------------------------------------ probes

    def resolve_port(self, c, port):
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for p in c.spec.get("ports", []):
            if p.get("name") == port:
                return int(p["containerPort"])
        raise ValueError("port %r not found in container %s" % (port, c.name))

    def run_probe(self, c, probe):
        s = probe.spec
        try:
            if "exec" in s:
                pid = self.container_pid(c)
                if not pid:
                    return False, "container not running"
                sec = self.security(c.spec)
                # the container's credentials and capabilities (setpriv of the Debian base, the lowest layer)
                caps = ",".join(["-all"] + ["+" + cap.lower() for cap in sec["capabilities"]])
                groups = ["--groups", ",".join(str(g) for g in sec["groups"])] if sec["groups"] else ["--clear-groups"]
                cmd = (["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--",
                        "/usr/bin/setpriv", "--reuid", str(sec["uid"]), "--regid", str(sec["gid"])] + groups
                       + ["--bounding-set", caps, "--inh-caps", "-all"]
                       + (["--no-new-privs"] if sec["no_new_privs"] else []) + ["--"] + s["exec"]["command"])
                env = c.env
                try:
                    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                          timeout=probe.timeout, check=False)
                except subprocess.TimeoutExpired:
                    return False, "command timed out after %ss" % probe.timeout
                out = proc.stdout.decode(errors="replace").strip()[-200:]
                return proc.returncode == 0, out or ("exit code %d" % proc.returncode)
            if "httpGet" in s:
                hg = s["httpGet"]
                port = self.resolve_port(c, hg.get("port"))
                host = hg.get("host") or self.pod_ip
                if hg.get("scheme", "HTTP").upper() == "HTTPS":
                    conn = http.client.HTTPSConnection(host, port, timeout=probe.timeout,
                                                       context=ssl._create_unverified_context())  # kubelet skips verify
                else:
                    conn = http.client.HTTPConnection(host, port, timeout=probe.timeout)
                try:
                    headers = {h["name"]: h["value"] for h in hg.get("httpHeaders", [])}
                    conn.request("GET", hg.get("path", "/"), headers=headers)
                    resp = conn.getresponse()
                    resp.read(1024)
                finally:
                    conn.close()
                ok = 200 <= resp.status < 400
                return ok, "HTTP probe failed with statuscode: %d" % resp.status if not ok else ""
            if "tcpSocket" in s:
                port = self.resolve_port(c, s["tcpSocket"].get("port"))
                sock = socket.create_connection((s["tcpSocket"].get("host") or self.pod_ip, port), probe.timeout)
                sock.close()
                return True, ""
            return False, "probe has no handler"
        except (OSError, ValueError, http.client.HTTPException, ConfigError) as exc:
            return False, "%s" % exc

    def probe_tick(self, c):
        t = time.time()
        if not c.running() or c.kill_deadline:
            return
        probes = [c.startup] if not c.started else [p for p in (c.liveness, c.readiness) if p]
        if not c.started and c.startup is None:
            c.started = True
        for probe in probes:
            if probe is None or t < probe.next_at:
                continue
            probe.next_at = t + probe.period
            ok, msg = self.run_probe(c, probe)
            if ok:
                probe.successes += 1
                probe.failures = 0
            else:
                probe.failures += 1
                probe.successes = 0
                c.probe_message = "%s probe failed: %s" % (probe.kind, msg)
                probe.last_message = c.probe_message
                self.event(c, "Warning", "Unhealthy", c.probe_message, 5)
            if probe is c.startup:
                if ok:
                    c.started = True
                    for p in (c.liveness, c.readiness):
                        if p:
                            p.next_at = time.time() + p.initial
                elif probe.failures >= probe.failure_threshold:
                    self.kill_for_restart(c, "Container %s failed startup probe, will be restarted (%s)"
                                          % (c.name, c.probe_message))
            elif probe is c.liveness:
                if probe.failures >= probe.failure_threshold:
                    self.kill_for_restart(c, "Container %s failed liveness probe, will be restarted (%s)"
                                          % (c.name, c.probe_message))
            elif probe is c.readiness:
                if ok and probe.successes >= probe.success_threshold:
                    c.ready = True
                elif not ok and probe.failures >= probe.failure_threshold:
                    c.ready = False
        if c.started and c.readiness is None and c.running():
            c.ready = True
        if not c.started:
            c.ready = False

    def kill_for_restart(self, c, reason):
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        c.kill_reason = reason
        c.kill_deadline = time.time() + grace
        self.event(c, "Normal", "Killing", reason)
        c.ready = False
        self.signal_container(c, signal.SIGTERM)

    # ------------------------------------------------------------------ main loop

    def run(self):
        try:
            self.loop()
        except Exception as exc:  # pylint: disable=broad-except
            sys.stderr.write("pod %s: worker failed: %r\n" % (self.tag, exc))
            import traceback
            traceback.print_exc()
            with self.lock:
                self.pod_reason, self.pod_message = "AgentError", str(exc)
            self.on_status(self)
            self.kill_all()
            self.teardown()
            self.on_finished(self, False)
        else:
            self.on_finished(self, True)

    def set_waiting(self, containers, reason, message):
        for c in containers:
            if not c.running():
                c.state = {"waiting": {"reason": reason, "message": message}}

    def loop(self):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o711)
        setup_done = False
        refreshed = time.time()
        while True:
            with self.lock:
                deleting = self.delete_requested is not None
            if deleting:
                break
            if not setup_done:
                try:
                    if not self.net_ready:
                        self.setup_network()
                    self.setup_volumes()
                    self.write_pod_files()
                    setup_done = True
                except ConfigError as exc:
                    self.event(None, "Warning", "FailedMount", str(exc), 30)
                    with self.lock:
                        self.set_waiting(self.inits or self.apps, "ContainerCreating", str(exc))
                        if self.inits:
                            self.set_waiting(self.apps, "PodInitializing", "")
                    self.on_status(self)
                    self.sleep(3)
                    continue
            if time.time() - refreshed > VOLUME_REFRESH:
                refreshed = time.time()
                try:
                    self.setup_volumes(refresh=True)
                except ConfigError as exc:  # the object is gone: the files stay as they were
                    self.event(None, "Warning", "FailedMount", str(exc), 60)
            with self.lock:
                self.step()
            self.on_status(self)
            if self.phase in ("Succeeded", "Failed"):
                # terminal: keep the sandbox until the API object goes away (like kubelet), but no processes
                while self.delete_requested is None:
                    self.sleep(1)
                break
            self.sleep(0.3)
        self.terminate()

    def sleep(self, seconds):
        end = time.time() + seconds
        while time.time() < end and self.delete_requested is None:
            time.sleep(min(0.1, end - time.time()) if end > time.time() else 0)

    def step(self):
        t = time.time()
        self.refresh_hosts()
        # init containers, one after another
        if not self.initialized:
            for c in self.inits:
                if c.done:
                    continue
                if c.running():
                    break
                if c.proc is not None:
                    self.handle_exit(c)
                    if c.done and c.state.get("terminated", {}).get("exitCode", 0) != 0:
                        self.phase = "Failed"
                        self.set_waiting(self.apps, "PodInitializing", "")
                        return
                    if not c.done:
                        break
                    continue
                if t >= c.next_start:
                    self.start_container(c)
                break
            self.initialized = all(c.done for c in self.inits)
            if not self.initialized:
                self.set_waiting(self.apps, "PodInitializing", "")
                self.phase = "Pending"
                return
        for c in self.apps:
            if c.proc is not None and not c.running():
                self.handle_exit(c)
            if c.running():
                if c.kill_deadline and t >= c.kill_deadline:
                    self.signal_container(c, signal.SIGKILL)
                self.probe_tick(c)
            elif not c.done and t >= c.next_start:
                self.start_container(c)
        self.phase = self.compute_phase()

    def compute_phase(self):
        if all(c.done for c in self.apps) and self.apps:
            codes = [c.state.get("terminated", {}).get("exitCode", 1) for c in self.apps]
            return "Succeeded" if all(code == 0 for code in codes) else "Failed"
        if all(c.run_no > 0 for c in self.apps):
            return "Running"
        return "Pending"

    def kill_all(self):
        for c in self.inits + self.apps:
            if c.running():
                self.signal_container(c, signal.SIGKILL)
                try:
                    c.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass

    def terminate(self):
        """Deletion: SIGTERM, wait the grace period, SIGKILL; then remove the sandbox."""
        grace = self.delete_requested or 0
        running = [c for c in self.inits + self.apps if c.running()]
        with self.lock:
            for c in running:
                c.ready = False
                self.signal_container(c, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        self.on_status(self)
        deadline = time.time() + grace
        while time.time() < deadline and any(c.running() for c in running):
            time.sleep(0.1)
            with self.lock:
                if self.delete_requested == 0:
                    break
        for c in running:
            if c.running():
                self.signal_container(c, signal.SIGKILL)
        for c in running:
            try:
                c.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            with self.lock:
                if c.proc is not None:
                    term = self.exited(c)[0]
                    c.state = {"terminated": term}
        with self.lock:
            self.terminated = True
        self.teardown()

    def teardown(self):
        for mnt in self.mem_mounts:
            run(["nsenter", "--mount=" + self.ctx.node_mnt_ns, "--", "umount", "-l", mnt], check=False)
        self.mem_mounts = []
        # processes that escaped the container's PID 1 (none normally: PID 1's death ends the namespace)
        pids = run(["ip", "netns", "pids", self.netns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        run(["ip", "link", "del", self.veth], check=False)
        run(["ip", "netns", "del", self.netns], check=False)
        self.net_ready = False
        shutil.rmtree(self.dir, ignore_errors=True)
        for c in self.inits + self.apps:
            self.ctx.release_devices("%s/%s" % (self.uid, c.name))


def qos_class(spec):
    requests, limits, any_set = [], [], False
    for c in spec.get("containers", []):
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        requests.append(req)
        limits.append(lim)
    if not any_set:
        return "BestEffort"
    guaranteed = all(lim.get("cpu") and lim.get("memory")
                     and all(req.get(k, lim[k]) == lim[k] for k in ("cpu", "memory"))
                     for req, lim in zip(requests, limits))
    return "Guaranteed" if guaranteed else "Burstable"
