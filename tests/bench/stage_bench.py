"""Benchmark: preflight and RoCE stages through Ansible vs a raw parallel-ssh run of the same probes.

Not a test (nothing is asserted); it prints a table for the README. For each cluster size it brings
up a lab (half prefill, half decode, Atlas 800I A2), then times:
  ansible   - ansible-playbook playbooks/preflight.yml and playbooks/roce.yml (forks >= nodes)
  raw ssh   - one ssh per node at once, running the probe commands those stages run on a node
              (npu-smi info, dmidecode, every port's hccn_tool get commands, /etc/hccn.conf, and the
              node's share of the same-index pings between P and D: each pair pinged once, as the
              stage's plan does), one after another on the node
and prints the ratio. Run as root: python tests/bench/stage_bench.py --sizes 4,16,32
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = [sys.executable, os.path.join(ROOT, "tests", "lab", "atlas_lab.py")]
HCCN = "/usr/local/Ascend/driver/tools/hccn_tool"


def lab(lab_id, *args):
    return subprocess.run(LAB + ["--lab-id", lab_id] + list(args), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()


def hosts_of(inventory_path):
    with open(inventory_path) as handle:
        inv = yaml.safe_load(handle)
    groups = inv["all"]["children"]["mindie_cluster"]["children"]
    return {name: groups[name]["hosts"] for name in ("mindie_prefill", "mindie_decode")}


def probe_script(ports, peer_ips):
    lines = ["npu-smi info >/dev/null", "dmidecode -t 1 >/dev/null", "cat /etc/hccn.conf >/dev/null"]
    for port in range(ports):
        for cmd in ("-ip -g", "-link -g", "-net_health -g", "-netdetect -g", "-gateway -g", "-lldp -g"):
            lines.append("%s -i %d %s >/dev/null 2>&1" % (HCCN, port, cmd))
    for port, address in peer_ips:
        # one line per ping that did not get all its replies, so the run can say how many it lost
        lines.append("%s -i %d -ping -g address %s 2>&1 | grep -q ', 3 received' || echo LOST %d %s"
                     % (HCCN, port, address, port, address))
    return "\n".join(lines) + "\n"


def hccn_addresses(host):
    out = ssh(host, "cat /etc/hccn.conf")
    addresses = {}
    for line in out.splitlines():
        key, _sep, value = line.partition("=")
        if key.startswith("address_"):
            addresses[int(key.split("_")[1])] = value.strip()
    return addresses


def ssh(host, script):
    cmd = ["ssh", "-i", host["ansible_ssh_private_key_file"], "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@" + host["ansible_host"], "sh -s"]
    return subprocess.run(cmd, input=script, stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout


def raw_run(groups):
    """Returns (seconds, lost pings, pings). Each P/D node pair is pinged once, from the side the
    (i + j) parity picks, so every node sends about as many pings as the stage's balanced plan has it
    send (the stage plans one direction per pair too: roce_both_directions false)."""
    prefill, decode = groups["mindie_prefill"], groups["mindie_decode"]
    addresses = {name: hccn_addresses(h) for side in (prefill, decode) for name, h in side.items()}
    pings = {name: [] for name in addresses}
    for i, p_name in enumerate(sorted(prefill)):
        for j, d_name in enumerate(sorted(decode)):
            src, dst = (p_name, d_name) if (i + j) % 2 == 0 else (d_name, p_name)
            pings[src] += [(port, addresses[dst][port]) for port in sorted(addresses[src])]
    hosts = dict(prefill, **decode)
    jobs = [(hosts[name], probe_script(len(addresses[name]), pings[name])) for name in sorted(hosts)]
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outputs = list(pool.map(lambda job: ssh(*job), jobs))
    lost = sum(out.count("LOST ") for out in outputs)
    return time.time() - start, lost, sum(len(p) for p in pings.values())


def ansible_run(inventory, nodes):
    env = dict(os.environ, ANSIBLE_FORKS=str(max(nodes, 5)), MINDIE_REPORT_DIR="/tmp/stage-bench-reports")
    start = time.time()
    logs = os.path.join(ROOT, ".build", "bench")
    os.makedirs(logs, exist_ok=True)
    for playbook in ("preflight.yml", "roce.yml"):
        # The play's output is kept so a failing stage at scale can be read afterwards.
        with open(os.path.join(logs, "%d-%s.log" % (nodes, playbook)), "w") as log:
            subprocess.run(["ansible-playbook", "-i", os.path.join(ROOT, "inventories", "lab"), "-i", inventory,
                            os.path.join(ROOT, "playbooks", playbook)], cwd=ROOT, env=env, check=True,
                           stdout=log, stderr=subprocess.STDOUT)
    return time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4,16,32")
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        lab_id = "bench%d" % size
        lab(lab_id, "down")
        lab(lab_id, "up", "--prefill", str(size // 2), "--decode", str(size - size // 2))
        try:
            inventory = lab(lab_id, "inventory")
            groups = hosts_of(inventory)
            raw, lost, pings = raw_run(groups)
            ans = ansible_run(inventory, size)
            rows.append((size, ans, raw, pings, lost))
            print("%d nodes: ansible %.1fs, raw parallel ssh %.1fs (%d pings, %d lost), ratio %.1fx"
                  % (size, ans, raw, pings, lost, ans / raw), flush=True)
        finally:
            lab(lab_id, "down")
    print("\n| nodes | pings | preflight + roce via ansible-playbook | same probes via raw parallel ssh | ratio |")
    print("|---|---|---|---|---|")
    for size, ans, raw, pings, lost in rows:
        print("| %d | %d%s | %.1f s | %.1f s | %.1fx |"
              % (size, pings, " (%d lost in the raw run)" % lost if lost else "", ans, raw, ans / raw))


if __name__ == "__main__":
    main()
