# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""First process of a lab container: builds its root filesystem and becomes the container's command.

Started by the node agent as
``nsenter --net=<pod netns> unshare --mount --uts --ipc --pid --fork --propagation private
python3 container_init.py CONFIG.json``, so it runs as root, as PID 1 of a fresh PID namespace, in a
private mount namespace and in the pod's network namespace. It mounts the image (overlayfs: image
rootfs over the lab's Debian base, a fresh upper directory per container start), /proc, /sys, /dev,
the pod's /etc/hosts|hostname|resolv.conf and the volumes, makes the root read-only when asked,
chroots, drops capabilities and the user/group ids, and execs the command. Any failure before exec
exits 128 with the reason on stderr (the container log), like a runtime's start error.
"""
import ctypes
import json
import os
import socket
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
CAP_LAST = 40  # CAP_CHECKPOINT_RESTORE on 5.9+ kernels; unknown caps are skipped
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE"]
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class StartError(Exception):
    pass


def mount(src, dst, fstype, flags=0, data=""):
    if libc.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise StartError("mount %s on %s (%s): %s" % (src, dst, fstype, os.strerror(err)))


def ensure_point(path, is_dir):
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if is_dir:
        os.makedirs(path)
    else:
        open(path, "a").close()


def inside(root, path):
    """root joined with an absolute container path, symlinks resolved as the container sees them
    (an absolute link target is relative to root; '..' never climbs above root)."""
    parts = [p for p in path.split("/") if p and p != "."]
    done = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        full = os.path.join(root, *(done + [part]))
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                raise StartError("too many symlinks in %s" % path)
            target = os.readlink(full)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        done.append(part)
    return os.path.join(root, *done) if done else root


def setup_dev(root):
    dev = os.path.join(root, "dev")
    ensure_point(dev, True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=16m")
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        ensure_point(os.path.join(dev, name), False)
        mount("/dev/" + name, os.path.join(dev, name), None, MS_BIND)
    for sub in ("pts", "shm", "mqueue"):
        os.makedirs(os.path.join(dev, sub))
    mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    mount("mqueue", os.path.join(dev, "mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for target, link in (("pts/ptmx", "ptmx"), ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
                         ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")):
        os.symlink(target, os.path.join(dev, link))


def cap_numbers(names):
    out = set()
    for name in names:
        name = name.upper()
        name = name[4:] if name.startswith("CAP_") else name
        if name in CAPS:
            out.add(CAPS.index(name))
    return out


def drop_privileges(cfg):
    keep = cap_numbers(cfg.get("capabilities", []))
    for cap in range(CAP_LAST + 1):
        if cap not in keep:
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL for caps this kernel lacks: fine
    if cfg.get("no_new_privs"):
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise StartError("prctl(NO_NEW_PRIVS) failed")
    os.setgroups(cfg.get("groups", []))
    os.setgid(cfg["gid"])
    os.setuid(cfg["uid"])  # non-root: permitted/effective capabilities are cleared here
    # root keeps only the allowed capabilities: permitted/effective/inheritable = the kept set
    if cfg["uid"] == 0:
        mask = sum(1 << c for c in keep)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        hdr = Header(0x20080522, 0)
        data = (Data * 2)()
        for i in range(2):
            part = (mask >> (32 * i)) & 0xFFFFFFFF
            data[i].effective, data[i].permitted, data[i].inheritable = part, part, 0
        if libc.capset(ctypes.byref(hdr), data) != 0:
            raise StartError("capset failed: %s" % os.strerror(ctypes.get_errno()))


def build_root(cfg):
    root = cfg["merged"]
    mount("overlay", root, "overlay", 0,
          "lowerdir=%s,upperdir=%s,workdir=%s" % (":".join(cfg["lower"]), cfg["upper"], cfg["work"]))
    root = os.path.realpath(root)
    proc = inside(root, "/proc")
    ensure_point(proc, True)
    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    sysfs = inside(root, "/sys")
    ensure_point(sysfs, True)
    mount("sysfs", sysfs, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    setup_dev(root)
    # Mount points first (the root may become read-only), then the binds.
    targets = []
    for m in cfg["mounts"]:
        src_is_dir = os.path.isdir(m["source"])
        dst = inside(root, m["target"])
        ensure_point(dst, src_is_dir)
        targets.append((m, dst))
    workdir = inside(root, cfg.get("workdir") or "/")
    os.makedirs(workdir, exist_ok=True)
    if cfg.get("read_only_root"):
        mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for m, dst in targets:
        mount(m["source"], dst, None, MS_BIND | MS_REC)
        if m.get("read_only"):
            mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return root


def main():
    with open(sys.argv[1]) as fh:
        cfg = json.load(fh)
    try:
        if os.getpid() != 1:
            raise StartError("container_init must run as PID 1 of a new PID namespace")
        root = build_root(cfg)
        socket.sethostname(cfg["hostname"])
        os.chroot(root)
        os.chdir(cfg.get("workdir") or "/")
        os.umask(0o022)
        drop_privileges(cfg)
    except (StartError, OSError) as exc:
        sys.stderr.write("container start failed: %s\n" % exc)
        sys.stderr.flush()
        os._exit(128)
    argv = cfg["argv"]
    env = cfg["env"]
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        sys.stderr.write("exec %s: %s\n" % (argv[0], exc.strerror))
        sys.stderr.flush()
        os._exit(127 if exc.errno == 2 else 126)


if __name__ == "__main__":
    main()
