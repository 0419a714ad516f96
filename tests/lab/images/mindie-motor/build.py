# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab image `mindie-motor:<tag>`: MindIE 3.x PyMotor (the `mindie-motor` wheel from PyPI, pinned by
version and sha256) plus our fake engine on PATH as `engine_server` (engine_server.py beside this
file: test code standing in for vLLM on NPUs).

Two caches under /var/cache/ascend-lab (ATLAS_LAB_CACHE moves them):
- mindie-motor/<version>/site/       the wheel and its dependencies (pip --target, Python 3.11 like
                                     the Debian bookworm base), manifest.json with versions + sha256
- images/mindie-motor/<tag>/         the image directory of the lab's node agent (K8S_CONTRACT.md):
                                     rootfs/ (laid over the base) and image.json
The tag is the wheel version plus a digest of the fake engine, so a changed engine gives a new image.
Second call: a stat of two stamps (well under a second). The last line printed is the image dir
(`--site` prints the site dir instead).
"""

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

VERSION = "3.0.0b2"
WHEEL = "mindie_motor-%s-py3-none-any.whl" % VERSION
WHEEL_SHA256 = "2371058d216653f0ecd187bf42f01786e9f3b0b22a6f6539dddf4c66c80ce489"
PYTHON = "3.11"  # Debian bookworm's python3; pip installs cp311 wheels for it
HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = os.path.join(HERE, "engine_server.py")
CACHE = os.environ.get("ATLAS_LAB_CACHE", "/var/cache/ascend-lab")
SITE_ROOT = os.path.join(CACHE, "mindie-motor", VERSION)
SITE = os.path.join(SITE_ROOT, "site")
IMAGE_SITE = "/opt/mindie-motor/site"  # inside the image


class BuildError(Exception):
    pass


def log(msg):
    sys.stderr.write("mindie-motor image: %s\n" % msg)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def image_tag():
    return "%s-lab.%s" % (VERSION, sha256(ENGINE)[:10])


def image_dir():
    return os.path.join(CACHE, "images", "mindie-motor", image_tag())


def _locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _du(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def ensure_site():
    """The installed wheel + dependencies; returns the site dir."""
    stamp = os.path.join(SITE_ROOT, "manifest.json")
    if os.path.exists(stamp):
        return SITE
    fd = _locked(os.path.join(CACHE, ".mindie-motor.lock"))
    try:
        if os.path.exists(stamp):
            return SITE
        if sys.version_info[:2] != tuple(int(x) for x in PYTHON.split(".")):
            raise BuildError("run with Python %s (the base image's python3), not %s" % (PYTHON, sys.version.split()[0]))
        os.makedirs(SITE_ROOT, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="site.tmp.", dir=SITE_ROOT)
        start = time.time()
        try:
            dl = os.path.join(tmp, "dl")
            pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
            subprocess.check_call(pip + ["download", "--no-deps", "-d", dl, "mindie-motor==" + VERSION])
            got = sha256(os.path.join(dl, WHEEL))
            if got != WHEEL_SHA256:
                raise BuildError("%s has sha256 %s, pinned %s: refusing it" % (WHEEL, got, WHEEL_SHA256))
            subprocess.check_call(pip + ["install", "--no-compile", "--target", os.path.join(tmp, "site"),
                                         os.path.join(dl, WHEEL)])
            dists = sorted(n[:-len(".dist-info")] for n in os.listdir(os.path.join(tmp, "site"))
                           if n.endswith(".dist-info"))
            manifest = {"mindie-motor": VERSION, "wheel_sha256": WHEEL_SHA256, "python": PYTHON,
                        "distributions": dists, "bytes": _du(os.path.join(tmp, "site")),
                        "install_seconds": round(time.time() - start, 1)}
            if os.path.exists(SITE):
                shutil.rmtree(SITE)
            os.rename(os.path.join(tmp, "site"), SITE)
            with open(stamp + ".tmp", "w") as fh:
                json.dump(manifest, fh, indent=1)
            os.rename(stamp + ".tmp", stamp)
            log("installed mindie-motor %s: %d MB in %.0f s" % (VERSION, manifest["bytes"] >> 20, manifest["install_seconds"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return SITE
    finally:
        os.close(fd)


def install_engine(dest, python):
    """The fake engine as an executable `engine_server` (the NodeManager runs it from PATH)."""
    with open(ENGINE) as src, open(dest, "w") as out:
        out.write("#!%s\n" % python + src.read())
    os.chmod(dest, 0o755)


def ensure_image():
    """The image directory for the node agent; returns its path."""
    dest = image_dir()
    stamp = os.path.join(dest, "image.json")
    if os.path.exists(stamp):
        return dest
    site = ensure_site()
    fd = _locked(os.path.join(CACHE, ".mindie-motor-image.lock"))
    try:
        if os.path.exists(stamp):
            return dest
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=image_tag() + ".tmp.", dir=os.path.dirname(dest))
        os.chmod(tmp, 0o755)
        rootfs = os.path.join(tmp, "rootfs")
        # hard links: the image shares the site's inodes (no second 340 MB copy)
        os.makedirs(os.path.dirname(rootfs + IMAGE_SITE))
        subprocess.check_call(["cp", "-al", site, rootfs + IMAGE_SITE])
        bindir = os.path.join(rootfs, "usr/local/bin")
        os.makedirs(bindir)
        install_engine(os.path.join(bindir, "engine_server"), "/usr/bin/python3")
        meta = {"env": {"PYTHONPATH": IMAGE_SITE, "PYTHONUNBUFFERED": "1",
                        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "MINDIE_MOTOR_VERSION": VERSION},
                "workdir": "/", "cmd": ["/bin/bash"]}
        with open(os.path.join(tmp, "image.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(tmp, dest)
        log("image ready: %s" % dest)
        return dest
    finally:
        os.close(fd)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="store_true", help="only the installed wheel; print its dir")
    parser.add_argument("--tag", action="store_true", help="print the image tag and exit")
    args = parser.parse_args(argv)
    try:
        if args.tag:
            print(image_tag())
        elif args.site:
            print(ensure_site())
        else:
            print(ensure_image())
    except (BuildError, subprocess.CalledProcessError, OSError) as exc:
        log("error: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
