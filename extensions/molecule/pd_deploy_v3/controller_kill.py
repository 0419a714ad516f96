# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault of the molecule scenario pd_deploy_v3 (test code): kill MindIE's Controller process inside its
pod while requests flow through the inference NodePort; the node agent restarts the container.

Sends a completion every --interval seconds from before the kill until --after seconds after the
Controller's /readiness (over management TLS, verified with our CA) answers ready again, and prints
one JSON object: requests sent and failed (with the first problems), whether the last one answered
through Prefill and Decode, seconds from the kill to the Controller's readiness, old and new pid.

  controller_kill.py --pod-ip IP --url http://NODE:31015 --ca ROOT.pem [--timeout 180]
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "plugins", "module_utils"))
import inference_smoke as smoke  # noqa: E402  pylint: disable=wrong-import-position
from pod_proc import pod_process  # noqa: E402  pylint: disable=wrong-import-position


def controller_pid(pod_ip):
    """The `python -m motor.controller.main` process of the pod."""
    return pod_process(pod_ip, ["-m", "motor.controller.main"])


def ready(url, ca):
    try:
        with urllib.request.urlopen(url, timeout=5, context=ssl.create_default_context(cafile=ca)) as resp:
            return resp.status == 200 and smoke.is_ready(resp.status, resp.read().decode("utf-8", "replace"))
    except Exception:  # down is what we wait through
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pod-ip", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--model", default="Qwen2-7B-Instruct")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--after", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    out = {"sent": 0, "failed": 0, "problems": []}
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                result = smoke.request(args.url, "/v1/completions", args.model, "during the fault", 4, False,
                                       timeout=30)
                problems = smoke.check(result, expect_trace=True)
            except smoke.SmokeError as exc:
                problems = [str(exc)]
            out["sent"] += 1
            out["last_ok"] = not problems
            if problems:
                out["failed"] += 1
                if len(out["problems"]) < 3:
                    out["problems"].append("; ".join(problems)[:300])
            stop.wait(args.interval)

    readiness = "https://%s:1026/readiness" % args.pod_ip
    pid = controller_pid(args.pod_ip)
    out["killed_pid"] = pid
    if pid is None or not ready(readiness, args.ca):
        out["error"] = "no running, ready Controller process found for pod IP %s" % args.pod_ip
        json.dump(out, sys.stdout)
        return 1
    worker = threading.Thread(target=traffic)
    worker.start()
    time.sleep(2)  # requests flow before the kill
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = killed + args.timeout
    went_down = False
    while time.monotonic() < deadline:
        if not ready(readiness, args.ca):
            went_down = True
        elif went_down or controller_pid(args.pod_ip) not in (None, pid):
            out["ready_after_s"] = round(time.monotonic() - killed, 1)
            break
        time.sleep(0.5)
    time.sleep(args.after)  # and keep flowing a little after it is back
    stop.set()
    worker.join()
    out["new_pid"] = controller_pid(args.pod_ip)
    json.dump(out, sys.stdout)
    return 0 if "ready_after_s" in out else 1


if __name__ == "__main__":
    sys.exit(main())
