#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds the lab's Kubernetes control-plane binaries once and caches them.

Sources: Debian 12's `kubernetes` source package (1.20.5+really1.20.2: the upstream tree with
vendor/), built with Debian 11's Go 1.15 (the toolchain Kubernetes 1.20 was released with; Debian 12's
Go 1.19 builds an apiserver that segfaults in its vendored reflect2 on the first watch), and etcd from
Debian's `etcd-server`/`etcd-client` .debs. Everything is fetched through a private apt setup (own
sources list, lists and cache directories); the machine's apt configuration is never touched and
nothing is installed system-wide.

Cache: /var/cache/ascend-lab/k8s/1.20.2/{bin/*,manifest.json}. The last line printed is the bin dir.
A second call only checks the manifest against the files (sizes), well under a second; --verify also
re-hashes them.
"""

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

K8S_VERSION = "1.20.2"
# Debian's version string of the source package carries the upstream version after "really".
K8S_SOURCE_MARK = "really" + K8S_VERSION
GO_PACKAGES = ("golang-1.15-go", "golang-1.15-src")
ETCD_PACKAGES = ("etcd-server", "etcd-client")
KUBE_TARGETS = ("cmd/kube-apiserver", "cmd/kube-controller-manager", "cmd/kube-scheduler",
                "cmd/kubectl")
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
            "etcd", "etcdctl")
CACHE_ROOT = os.environ.get("ASCEND_LAB_K8S_CACHE", "/var/cache/ascend-lab/k8s")
CACHE = os.path.join(CACHE_ROOT, K8S_VERSION)
BIN = os.path.join(CACHE, "bin")
MANIFEST = os.path.join(CACHE, "manifest.json")
WORK = os.path.join(CACHE_ROOT, "work-" + K8S_VERSION)
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = os.environ.get("ASCEND_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")

SOURCES = f"""\
# private to tests/lab/k8s/build.py (never the machine's apt configuration)
deb-src [signed-by={KEYRING}] {MIRROR} bookworm main
deb [signed-by={KEYRING}] {MIRROR} bookworm main
deb [signed-by={KEYRING}] {MIRROR} bullseye main
"""


class BuildError(Exception):
    pass


def log(msg):
    print(f"[k8s-build {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cached():
    """The manifest when it matches the files on disk (existence and size), else None."""
    try:
        with open(MANIFEST, encoding="utf-8") as f:
            man = json.load(f)
        for name in BINARIES:
            entry = man["binaries"][name]
            st = os.stat(os.path.join(BIN, name))
            if st.st_size != entry["size"] or not st.st_mode & 0o100:
                return None
        return man
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(man):
    bad = [n for n in BINARIES if sha256(os.path.join(BIN, n)) != man["binaries"][n]["sha256"]]
    if bad:
        raise BuildError(f"cached binaries in {BIN} do not match {MANIFEST}: {', '.join(bad)}; "
                         f"remove {CACHE} and run this script again")


def run(cmd, cwd=None, env=None, logfile=None, what=None):
    """Runs cmd; on failure raises BuildError with the tail of its output."""
    out = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, check=False)
    if logfile:
        with open(logfile, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(cmd)}\n{out.stdout}\n")
    if out.returncode != 0:
        tail = "\n".join(out.stdout.strip().splitlines()[-15:])
        raise BuildError(f"{what or cmd[0]} failed (rc {out.returncode}):\n{tail}")
    return out.stdout


class PrivateApt:
    """apt-get with its own sources list, lists and cache: the system's apt setup stays untouched."""

    def __init__(self, root):
        self.root = root
        self.lists = os.path.join(root, "lists")
        self.cache = os.path.join(root, "cache")
        self.sources = os.path.join(root, "sources.list")
        os.makedirs(os.path.join(self.lists, "partial"), exist_ok=True)
        os.makedirs(os.path.join(self.cache, "archives", "partial"), exist_ok=True)
        with open(self.sources, "w", encoding="utf-8") as f:
            f.write(SOURCES)

    def opts(self):
        return ["-o", f"Dir::Etc::sourcelist={self.sources}", "-o", "Dir::Etc::sourceparts=-",
                "-o", f"Dir::State::Lists={self.lists}", "-o", f"Dir::Cache={self.cache}",
                "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1", "-q"]

    def get(self, *args, cwd=None, what=None):
        return run(["apt-get", *self.opts(), *args], cwd=cwd, what=what)

    def cache_query(self, *args):
        return run(["apt-cache", *self.opts(), *args], what="apt-cache " + " ".join(args))

    def candidate(self, pkg):
        for line in self.cache_query("policy", pkg).splitlines():
            line = line.strip()
            if line.startswith("Candidate:"):
                version = line.split(":", 1)[1].strip()
                return None if version == "(none)" else version
        return None


def fetch(apt, dl):
    if not os.path.exists(KEYRING):
        raise BuildError(f"{KEYRING} is missing: install debian-archive-keyring")
    for tool in ("apt-get", "dpkg-source", "dpkg"):
        if not shutil.which(tool):
            raise BuildError(f"{tool} not found: this script needs Debian's apt and dpkg-dev")
    log("updating the private package lists (bookworm source, bookworm + bullseye binaries)")
    apt.get("update", what="apt-get update (private sources list)")
    versions = {}
    src = apt.cache_query("showsrc", "kubernetes")
    src_versions = [line.split(":", 1)[1].strip() for line in src.splitlines()
                    if line.startswith("Version:")]
    want = [v for v in src_versions if K8S_SOURCE_MARK in v]
    if not want:
        raise BuildError(f"Debian's 'kubernetes' source package with upstream {K8S_VERSION} "
                         f"(version *{K8S_SOURCE_MARK}*) is not available from {MIRROR} bookworm "
                         f"(found: {', '.join(src_versions) or 'none'}); set "
                         f"ASCEND_LAB_DEBIAN_MIRROR to a mirror or snapshot that has it")
    versions["kubernetes-source"] = want[0]
    for pkg in GO_PACKAGES + ETCD_PACKAGES:
        version = apt.candidate(pkg)
        if not version:
            raise BuildError(f"package {pkg} is not available from {MIRROR} "
                             f"({'bullseye' if pkg in GO_PACKAGES else 'bookworm'}); the build "
                             f"needs it (Go 1.15 from Debian 11, etcd from Debian 12)")
        versions[pkg] = version
    if not any(f.endswith(".dsc") for f in os.listdir(dl)):
        log(f"downloading source package kubernetes {versions['kubernetes-source']} (~34 MB)")
        apt.get("source", "--download-only", f"kubernetes={versions['kubernetes-source']}",
                cwd=dl, what="apt-get source kubernetes")
    log(f"downloading {', '.join(GO_PACKAGES + ETCD_PACKAGES)}")
    apt.get("download", *(f"{p}={versions[p]}" for p in GO_PACKAGES + ETCD_PACKAGES), cwd=dl,
            what="apt-get download (Go 1.15, etcd)")
    return versions


def build(keep_work=False):
    os.makedirs(WORK, exist_ok=True)
    buildlog = os.path.join(WORK, "build.log")
    apt = PrivateApt(os.path.join(WORK, "apt"))
    dl = os.path.join(WORK, "download")
    os.makedirs(dl, exist_ok=True)
    versions = fetch(apt, dl)
    debs = {p: next(os.path.join(dl, f) for f in sorted(os.listdir(dl))
                    if f.startswith(p + "_") and f.endswith(".deb"))
            for p in GO_PACKAGES + ETCD_PACKAGES}

    root = os.path.join(WORK, "root")  # dpkg -x target for Go and etcd
    shutil.rmtree(root, ignore_errors=True)
    for p, deb in debs.items():
        log(f"unpacking {os.path.basename(deb)} (dpkg -x, private)")
        run(["dpkg", "-x", deb, root], what=f"dpkg -x {os.path.basename(deb)}")
    goroot = os.path.join(root, "usr", "lib", "go-1.15")
    gobin = os.path.join(goroot, "bin", "go")
    if not os.access(gobin, os.X_OK):
        raise BuildError(f"Go 1.15 not found at {gobin} after unpacking {', '.join(GO_PACKAGES)}")

    src = os.path.join(WORK, "src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    dsc = next(os.path.join(dl, f) for f in os.listdir(dl) if f.endswith(".dsc"))
    log(f"unpacking {os.path.basename(dsc)}")
    run(["dpkg-source", "--no-check", "-x", dsc, os.path.join(src, "kubernetes")], cwd=src,
        what="dpkg-source -x")
    # The GOPATH layout of the package's debian/rules: the tree as k8s.io/kubernetes in a GOPATH.
    gopath = os.path.join(src, "gopath")
    tree = os.path.join(gopath, "src", "k8s.io", "kubernetes")
    os.makedirs(os.path.dirname(tree))
    os.rename(os.path.join(src, "kubernetes"), tree)

    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update({
        "GOROOT": goroot, "GOPATH": gopath, "GO111MODULE": "off",
        "GOCACHE": os.path.join(WORK, "gocache"), "CGO_ENABLED": "0", "GOPROXY": "off",
        "PATH": os.path.join(goroot, "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
        "KUBE_GIT_VERSION": "v" + K8S_VERSION, "KUBE_GIT_TREE_STATE": "clean",
        "KUBE_GIT_MAJOR": K8S_VERSION.split(".", maxsplit=1)[0], "KUBE_GIT_MINOR": K8S_VERSION.split(".")[1],
        "KUBE_BUILD_PLATFORMS": "linux/amd64", "KUBE_VERBOSE": "1",
        "GOLDFLAGS": "-s -w",
    })
    log(f"building {' '.join(KUBE_TARGETS)} with Go 1.15, CGO_ENABLED=0 "
        f"(~4 min on 2 idle cores; log: {buildlog})")
    started = time.monotonic()
    with open(buildlog, "a", encoding="utf-8") as f:
        proc = subprocess.Popen(["make", f"WHAT={' '.join(KUBE_TARGETS)}"], cwd=tree, env=env,
                                stdout=f, stderr=subprocess.STDOUT)
        while True:
            try:
                proc.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                log(f"still building ({int(time.monotonic() - started)} s)")
    if proc.returncode != 0:
        with open(buildlog, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-20:])
        raise BuildError(f"make WHAT=... failed (rc {proc.returncode}); see {buildlog}:\n{tail}")
    build_seconds = int(time.monotonic() - started)
    log(f"built in {build_seconds} s")

    out = os.path.join(tree, "_output", "local", "bin", "linux", "amd64")
    staging = BIN + ".new"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in KUBE_TARGETS:
        name = os.path.basename(name)
        shutil.copy2(os.path.join(out, name), os.path.join(staging, name))
    for name in ("etcd", "etcdctl"):
        found = [os.path.join(root, "usr", "bin", name)]
        if not os.path.exists(found[0]):
            raise BuildError(f"{name} not found in the unpacked {', '.join(ETCD_PACKAGES)}")
        shutil.copy2(found[0], os.path.join(staging, name))
    manifest = {
        "kubernetes": K8S_VERSION,
        "packages": versions,
        "go": "1.15 (" + versions[GO_PACKAGES[0]] + ")",
        "build_seconds": build_seconds,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "binaries": {},
    }
    for name in BINARIES:
        path = os.path.join(staging, name)
        os.chmod(path, 0o755)
        manifest["binaries"][name] = {"sha256": sha256(path), "size": os.path.getsize(path)}
    shutil.rmtree(BIN, ignore_errors=True)
    os.rename(staging, BIN)
    tmp = MANIFEST + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    os.rename(tmp, MANIFEST)
    if not keep_work:
        log(f"removing the build tree {WORK}")
        shutil.rmtree(WORK, ignore_errors=True)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--verify", action="store_true", help="re-hash cached binaries")
    ap.add_argument("--keep-work", action="store_true", help=f"keep {WORK} after the build")
    ap.add_argument("--check", action="store_true",
                    help="only report whether the cache is complete (rc 0) or not (rc 1)")
    args = ap.parse_args(argv)
    man = cached()
    if args.check:
        print(BIN if man else f"not built: run {sys.argv[0]}")
        return 0 if man else 1
    try:
        if man is None:
            if os.geteuid() != 0:
                raise BuildError(f"{CACHE} is not built yet and building needs root "
                                 f"(it writes under {CACHE_ROOT})")
            os.makedirs(CACHE_ROOT, exist_ok=True)
            with open(os.path.join(CACHE_ROOT, ".build.lock"), "w", encoding="utf-8") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    log("another build is running; waiting for it")
                    fcntl.flock(lock, fcntl.LOCK_EX)
                man = cached()  # the other build may have finished it
                if man is None:
                    log(f"building Kubernetes {K8S_VERSION} control-plane binaries into {BIN}")
                    man = build(keep_work=args.keep_work)
        elif args.verify:
            verify(man)
    except BuildError as exc:
        print(f"tests/lab/k8s/build.py: {exc}", file=sys.stderr)
        return 1
    print(BIN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
