# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replay the steps of an ansible-builder build context without a container engine.

``ansible-builder create`` writes a Containerfile (Dockerfile) and a ``_build/`` directory. This module
runs its galaxy stage (COPY, WORKDIR and RUN lines, in order) and the pip steps of its base and
builder stages in a scratch directory: every container path the steps use is mapped into the scratch
directory, ``$PYCMD`` is this Python, the steps that need the image's system package manager are
listed as skipped, and pip runs with ``--dry-run`` (it resolves every requirement against the index
but installs nothing). Galaxy is not reachable from our machines: the collection install runs with
``--offline``, so kubernetes.core must already be on ANSIBLE_COLLECTIONS_PATH (the ``ansible`` package).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

# Container paths the generated steps use -> directory names in the scratch dir.
CONTAINER_PATHS = ("/usr/share/ansible", "/tmp/src", "/output", "/build", "/opt/builder")


class Replay(object):
    def __init__(self, context, scratch, env=None):
        self.context, self.scratch = context, scratch
        self.env = dict(os.environ if env is None else env)
        self.log = []
        self.skipped = []
        with open(os.path.join(context, "Dockerfile")) as handle:
            self.lines = self._join(handle.read())
        self.args = dict(re.findall(r'^ARG (\w+)="(.*)"$', "\n".join(self.lines), re.M))
        self.args["PYCMD"] = sys.executable
        self.args["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] = "--offline"
        self.host_args = {"PYCMD"}  # values of this machine, not of the image

    @staticmethod
    def _join(text):
        return [line for line in text.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]

    def stage(self, name):
        """The instructions of one stage (FROM ... AS name up to the next FROM)."""
        out, inside = [], False
        for line in self.lines:
            if line.startswith("FROM "):
                inside = line.split()[-1] == name
                continue
            if inside:
                out.append(line)
        return out

    def map(self, text):
        """Container paths in ``text`` -> scratch paths (one pass; any other /tmp path too)."""
        def repl(match):
            path = match.group(0)
            if path == "/tmp/":
                return os.path.join(self.scratch, "tmp") + "/"
            return os.path.join(self.scratch, path.strip("/").replace("/", "_"))
        pattern = "|".join(re.escape(p) + r"(?=/|\b|\")" for p in CONTAINER_PATHS) + "|/tmp/"
        return re.sub(r"(?<![\w/.])(?:%s)" % pattern, repl, text)

    def _copy(self, args, cwd):
        src, dest = [self.map(a) for a in shlex.split(args)]
        src = os.path.join(self.context, src)
        dest = os.path.join(cwd, dest)
        if not os.path.exists(src):
            raise AssertionError("COPY %s: not in the build context" % args)
        if os.path.isdir(src):
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            os.makedirs(dest if dest.endswith("/") else os.path.dirname(dest), exist_ok=True)
            shutil.copy(src, dest)

    def run_lines(self, lines, rewrite=None):
        """Run COPY/WORKDIR/RUN/ENV lines; rewrite(cmd) may return a replacement command or None (skip)."""
        cwd = self.scratch
        for line in lines:
            word, _sep, rest = line.partition(" ")
            if word in ("ARG", "USER", "LABEL", "ENTRYPOINT", "CMD"):
                continue
            if word == "ENV":
                key, _sep, value = rest.partition("=")
                self.env[key] = value
            elif word == "WORKDIR":
                cwd = self.map(rest.strip())
                os.makedirs(cwd, exist_ok=True)
            elif word == "COPY":
                if rest.startswith("--from="):
                    src, dest = [self.map(p) for p in rest.split()[1:]]
                    if os.path.abspath(src) != os.path.abspath(dest):
                        shutil.copytree(src, dest, dirs_exist_ok=True)
                    continue
                self._copy(rest, cwd)
            elif word == "RUN":
                # container paths are mapped before the host's values go in: $PYCMD is this Python, which may
                # itself live under /tmp (a checkout there) and must stay as it is
                cmd = self.map(rest)
                for key, value in self.args.items():
                    value = value if key in self.host_args else self.map(value)
                    # unquoted in the Containerfile: the shell splits the value into words
                    words = " ".join(shlex.quote(w) for w in value.split())
                    cmd = re.sub(r"\$%s\b" % key, lambda _m, v=words: v, cmd)
                if rewrite:
                    cmd = rewrite(cmd)
                if cmd is None:
                    self.skipped.append(rest)
                    continue
                proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=self.env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, universal_newlines=True, check=False)
                self.log.append("RUN %s\n%s" % (cmd, proc.stdout))
                if proc.returncode != 0:
                    raise AssertionError("step failed (rc %d): RUN %s\n%s" % (proc.returncode, rest, proc.stdout[-3000:]))
            else:
                raise AssertionError("cannot replay: %s" % line)
        return cwd

    def galaxy(self):
        """The galaxy stage, every line of it (it starts from the base stage's scripts)."""
        self._base_scripts()
        return self.run_lines(self.stage("galaxy"))

    def _base_scripts(self):
        os.makedirs(self.map("/output/scripts"), exist_ok=True)
        shutil.copytree(os.path.join(self.context, "_build", "scripts"), self.map("/output/scripts"), dirs_exist_ok=True)

    def pip(self):
        """The pip steps: Ansible itself (base stage), then the introspected requirements (builder stage)."""
        def base(cmd):
            if " -m pip install " in cmd:
                return cmd.replace(" pip install ", " pip install --dry-run --ignore-installed ", 1)
            return None  # the system package manager and pip bootstrap belong to the image

        def builder(cmd):
            if "introspect.py introspect" in cmd:
                # the step relies on introspect's default folder, the mapped /usr/share/ansible/collections
                return cmd + " " + shlex.quote(self.map("/usr/share/ansible/collections"))
            if cmd.strip().endswith("/scripts/assemble"):
                # assemble builds wheels and asks bindep for system packages; resolve the same list with pip
                return "%s -m pip install --dry-run --ignore-installed -r %s" % (
                    shlex.quote(sys.executable), shlex.quote(self.map("/tmp/src/requirements.txt")))
            if "pip install" in cmd:
                return cmd.replace(" pip install ", " pip install --dry-run --ignore-installed ", 1)
            return None

        self._base_scripts()
        self.run_lines([l for l in self.stage("base") if not l.startswith("COPY")], base)
        self.run_lines(self.stage("builder"), builder)
        with open(self.map("/tmp/src/requirements.txt")) as handle:
            return handle.read()
