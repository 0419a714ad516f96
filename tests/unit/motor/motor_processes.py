# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MindIE 3.x's own Controller, Coordinator and NodeManagers (from the cached mindie-motor install),
started like the pods our role deploys, on loopback addresses instead of pod IPs.

Each process gets a private mount namespace with a tmpfs on /mnt in which the pki role's in-pod
step (mindie_gen_cert.py --format plaintext) first issues that process's leaf certificate for its
address into /mnt/motor-tls, exactly as the init container does into the memory-backed emptyDir;
then the component starts with USER_CONFIG_PATH pointing at our generated user_config.json."""
import json
import os
import signal
import subprocess
import time

import motor_env
from ansible_collections.ascend.mindie.plugins.module_utils import inference_smoke as smoke
from ansible_collections.ascend.mindie.plugins.module_utils import motor_config as mc

IPS = {"controller": "127.0.0.10", "coordinator": "127.0.0.11", "prefill": "127.0.0.12", "decode": "127.0.0.13"}
COMMANDS = {"controller": ["-m", "motor.controller.main"], "coordinator": ["-m", "motor.coordinator.main"],
            "prefill": ["-m", "motor.node_manager.main"], "decode": ["-m", "motor.node_manager.main"]}
ISSUE = ('set -e; mount -t tmpfs -o mode=0755,size=8m motor-tls /mnt; '
         '"$MOTOR_PY" "$GEN_CERT" --security-dir "$SECURITY_DIR" --install-dir ' + mc.TLS_MOUNT +
         ' --ip "$POD_IP" --format plaintext ' + " ".join("%s %s" % kv for kv in mc.GEN_CERT_OUT.items()) +
         ' >/dev/null; exec "$@"')


class MotorCluster(object):
    def __init__(self, site, workdir, security_dir, tls=True, workers=1):
        self.site, self.dir, self.security, self.tls = site, str(workdir), str(security_dir), tls
        self.procs = {}
        params = {"model_name": "Qwen2-7B-Instruct", "model_path": "/data/Qwen2-7B-Instruct", "p_instances": 1,
                  "d_instances": 1, "npus_per_instance": 1, "tls_enabled": tls, "coordinator_workers": workers,
                  "image": "mindie-motor:lab",
                  "overrides": {s: {"logging_config": {"host_log_dir": os.path.join(self.dir, "log")}}
                                for s in ("motor_controller_config", "motor_coordinator_config", "motor_nodemanger_config")}}
        self.config = mc.build_user_config(params)
        self.config_path = os.path.join(self.dir, "user_config.json")
        with open(self.config_path, "w") as fh:
            fh.write(mc.dumps(self.config))
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin, exist_ok=True)
        with open(motor_env.ENGINE) as src, open(os.path.join(self.bin, "engine_server"), "w") as out:
            out.write("#!/usr/bin/env python3\n" + src.read())  # python3 = the bin dir's link below
        os.chmod(os.path.join(self.bin, "engine_server"), 0o755)
        if not os.path.exists(os.path.join(self.bin, "python3")):
            os.symlink(motor_env.python311(), os.path.join(self.bin, "python3"))
        self.ca = os.path.join(self.security, "security", "ca", "ca.pem")

    def start(self, name):
        ip = IPS[name]
        wd = os.path.join(self.dir, name)
        os.makedirs(wd, exist_ok=True)
        env = motor_env.motor_env(
            self.site, USER_CONFIG_PATH=self.config_path, POD_IP=ip, CONTROLLER_SERVICE=IPS["controller"],
            COORDINATOR_SERVICE=IPS["coordinator"], JOB_NAME="mindie-motor-%s" % name,
            PATH=self.bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"), MOTOR_PY=motor_env.python311(),
            GEN_CERT=motor_env.GEN_CERT, SECURITY_DIR=self.security, HOSTNAME="mindie-motor-%s-0" % name)
        if name in ("prefill", "decode"):
            hccl = os.path.join(wd, "hccl.json")
            with open(hccl, "w") as fh:
                json.dump(mc.rank_table(ip, 1), fh)
            env.update(ROLE=name, HCCL_PATH=hccl, RANKTABLE_PATH=hccl)
        else:
            env.update(ROLE=name)
        cmd = [motor_env.python311(), "-s"] + COMMANDS[name]
        if self.tls:
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", ISSUE, "sh"] + cmd
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        # stdin: a pipe that stays open (the Controller's input loop spins on EOF)
        self.procs[name] = subprocess.Popen(cmd, cwd=wd, env=env, stdin=subprocess.PIPE, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start_all(self, timeout=120):
        # The Coordinator first, answering, before any instance registers: mindie-motor 3.0.0b2's
        # Controller pushes each new instance to the Coordinator once and drops it when the Coordinator
        # is not up yet; its heartbeat re-sends everything only while the Coordinator is not ready, and a
        # Coordinator that learned Prefill alone counts as ready (seen: Decode lost for good).
        for name in ("controller", "coordinator"):
            self.start(name)
        deadline = time.monotonic() + timeout
        while self.readiness()[0] is None:
            if time.monotonic() > deadline:
                raise AssertionError("Coordinator management port not answering after %ss:\n%s"
                                     % (timeout, self.log("coordinator")))
            time.sleep(0.5)
        for name in ("prefill", "decode"):
            self.start(name)

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def mgmt_url(self, path):
        return "%s://%s:1026%s" % ("https" if self.tls else "http", IPS["coordinator"], path)

    def infer_url(self):
        return "http://%s:1025" % IPS["coordinator"]

    def readiness(self):
        return smoke.readiness(self.mgmt_url("/readiness"), ca_file=self.ca if self.tls else None)

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        status, body = None, ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError("%s exited with %s:\n%s" % (name, proc.returncode, self.log(name)))
            status, body = self.readiness()
            if smoke.is_ready(status, body):
                return time.monotonic() - (deadline - timeout)
            time.sleep(0.5)
        raise AssertionError("Coordinator not ready after %ss: %s %s\n%s" % (
            timeout, status, body, "\n".join(self.log(n) for n in self.procs)))

    def log(self, name, tail=4000):
        try:
            with open(os.path.join(self.dir, name + ".log"), "rb") as fh:
                return "== %s ==\n%s" % (name, fh.read()[-tail:].decode("utf-8", "replace"))
        except OSError:
            return ""
