# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tests that run MindIE 3.x's own code share: the cached mindie-motor install
(tests/lab/images/mindie-motor/build.py, /var/cache/ascend-lab/mindie-motor/<version>/site) and a
Python 3.11 that runs motor's code with it, in a subprocess (motor's dependencies stay out of ours)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.join(ROOT, "tests", "lab", "images", "mindie-motor", "build.py")
ENGINE = os.path.join(ROOT, "tests", "lab", "images", "mindie-motor", "engine_server.py")
GEN_CERT = os.path.join(ROOT, "roles", "pki", "files", "mindie_gen_cert.py")


def python311():
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3", sys.executable):
        if candidate and os.path.exists(candidate):
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                 capture_output=True, text=True, check=False).stdout.strip()
            if out == "True":
                return candidate
    return None


def motor_site():
    """The site dir with mindie-motor installed (built once, ~40 s, ~340 MB); skips saying why."""
    py = python311()
    if py is None:
        pytest.skip("mindie-motor %s needs Python 3.11 (none found)" % "3.0.0b2")
    proc = subprocess.run([py, BUILD, "--site"], capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        pytest.skip("cannot install mindie-motor from PyPI into the cache (needs write access to "
                    "/var/cache/ascend-lab and PyPI): %s" % proc.stderr.strip()[-400:])
    return proc.stdout.strip().splitlines()[-1]


def motor_env(site, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=site, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_motor(site, code, *args, **env):
    """Run `code` with motor importable; returns its stdout parsed as JSON (last line)."""
    proc = subprocess.run([python311(), "-s", "-c", code] + [str(a) for a in args], capture_output=True,
                          text=True, check=False, env=motor_env(site, **env), timeout=120)
    assert proc.returncode == 0, "motor code failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def have_root_tools():
    return os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount")
