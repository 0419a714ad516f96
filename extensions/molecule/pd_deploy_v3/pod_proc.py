# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a pod's container process on the lab host (test code of the molecule scenario pd_deploy_v3; the
lab has no kubectl exec): the process whose command line ends as asked and whose environment has
POD_IP=<the pod's IP>."""
import os


def pod_process(pod_ip, tail, first_suffix=None):
    """pid of the process whose argv ends with ``tail`` (and whose argv[-len(tail)-1] ends with
    ``first_suffix`` when given), in the pod with ``pod_ip``; None if there is none."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
            if argv[-len(tail):] != list(tail):
                continue
            if first_suffix and not (len(argv) > len(tail) and argv[-len(tail) - 1].endswith(first_suffix)):
                continue
            with open("/proc/%s/environ" % pid, "rb") as fh:
                if ("POD_IP=%s" % pod_ip).encode() in fh.read().split(b"\0"):
                    return int(pid)
        except OSError:
            continue
    return None
