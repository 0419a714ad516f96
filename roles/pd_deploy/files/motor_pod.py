# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-pod helper for MindIE 3.x (PyMotor) pods deployed by ascend.mindie.pd_deploy.

Mounted from the motor ConfigMap together with motor_config.py and inference_smoke.py (the
collection's module_utils; one copy of the rules for the role and the pods). Commands:

  motor_pod.py start controller|coordinator|prefill|decode
      NodeManagers: write the HCCL rank table (HCCL_PATH) from POD_IP and MOTOR_DEVICE_COUNT first
      (container_ip becomes the NodeManager's address). Then run `python3 -m motor.<component>.main`
      with stdin on a pipe that stays open: the Controller's input loop spins at ~60% CPU on EOF
      (stdin of a container is /dev/null). SIGTERM is passed on; the exit code is the component's.
  motor_pod.py probe controller|coordinator|nodemanager startup|readiness|liveness
      Probe the component's health endpoint on POD_IP, over TLS with the mounted CA when the
      management TLS of USER_CONFIG_PATH is on. The Coordinator answers /readiness with HTTP 200
      and {"ready": false} while it has no P/D instances: the body decides, not the status code.
Only the standard library.
"""

from __future__ import (absolute_import, division, print_function)

import json
import os
import signal
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _candidate in (_HERE, os.path.join(_HERE, "..", "..", "..", "plugins", "module_utils")):
    if os.path.exists(os.path.join(_candidate, "motor_config.py")):
        sys.path.insert(0, os.path.abspath(_candidate))
        break

import inference_smoke  # noqa: E402  (beside this script in the pod)
import motor_config  # noqa: E402

MODULES = {"controller": "motor.controller.main", "coordinator": "motor.coordinator.main",
           "prefill": "motor.node_manager.main", "decode": "motor.node_manager.main"}
PATHS = {"controller": {"startup": "/startup", "readiness": "/readiness", "liveness": "/liveness"},
         "coordinator": {"startup": "/startup", "readiness": "/readiness", "liveness": "/liveness"},
         "nodemanager": {"startup": "/node-manager/status", "readiness": "/node-manager/status",
                         "liveness": "/node-manager/status"}}


def fail(msg, code=1):
    sys.stderr.write("motor_pod: %s\n" % msg)
    return code


def load_config():
    path = os.environ.get("USER_CONFIG_PATH")
    if not path:
        raise SystemExit(fail("USER_CONFIG_PATH is not set"))
    with open(path) as fh:
        return json.load(fh)


def port_of(config, component):
    if component == "controller":
        return config["motor_controller_config"].get("api_config", {}).get("controller_api_port", 1026)
    if component == "coordinator":
        return config["motor_coordinator_config"].get("http_config", {}).get("coordinator_api_mgmt_port", 1026)
    return config["motor_nodemanger_config"].get("api_config", {}).get("node_manager_port", 1026)


def probe(component, kind):
    config = load_config()
    tls = config["motor_deploy_config"]["tls_config"]["mgmt_tls_config"]
    host = os.environ.get("POD_IP") or "127.0.0.1"
    url = "%s://%s:%s%s" % ("https" if tls.get("enable_tls") else "http", host, port_of(config, component),
                            PATHS[component][kind])
    # The server certificate names the pod IP, so verification holds when we dial it.
    status, body = inference_smoke.readiness(url, ca_file=tls.get("ca_file") if tls.get("enable_tls") else None)
    if status != 200:
        return fail("%s %s: %s %s" % (component, kind, status, body[:300]))
    if kind == "readiness":
        if component == "nodemanager":
            try:
                ok = bool(json.loads(body).get("status"))
            except (ValueError, AttributeError):
                ok = False
        else:
            ok = inference_smoke.is_ready(status, body)
        if not ok:
            return fail("%s not ready: %s" % (component, body[:300]))
    print("%s %s ok" % (component, kind))
    return 0


def start(component):
    if component in ("prefill", "decode"):
        if os.environ.get("ROLE") != component:
            return fail("ROLE=%s but asked to start %s" % (os.environ.get("ROLE"), component))
        ip = os.environ.get("POD_IP")
        hccl = os.environ.get("HCCL_PATH")
        if not ip or not hccl:
            return fail("POD_IP and HCCL_PATH must be set for a NodeManager")
        table = motor_config.rank_table(ip, int(os.environ.get("MOTOR_DEVICE_COUNT", "1")),
                                        os.environ.get("HOST_IP"))
        os.makedirs(os.path.dirname(hccl), exist_ok=True)
        with open(hccl, "w") as fh:
            json.dump(table, fh)
    cmd = [sys.executable, "-m", MODULES[component]]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)  # the pipe stays open while we wait

    def forward(signum, _frame):
        proc.send_signal(signum)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    return proc.wait()


def main(argv):
    if len(argv) == 2 and argv[0] == "start" and argv[1] in MODULES:
        return start(argv[1])
    if len(argv) == 3 and argv[0] == "probe" and argv[1] in PATHS and argv[2] in PATHS[argv[1]]:
        return probe(argv[1], argv[2])
    return fail("usage: motor_pod.py start controller|coordinator|prefill|decode | "
                "probe controller|coordinator|nodemanager startup|readiness|liveness", 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
