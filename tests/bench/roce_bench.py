#!/usr/bin/env python3
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the ascend.mindie.roce check on simulated Atlas labs (not a test).

For each cluster size (default 4 and 16 A2 nodes, 8 NPU ports each; half prefill, half decode)
it brings a lab up with its own lab id, then measures:

  role      ansible-playbook running the roce role (all nodes at once, forks = nodes):
            the whole play, and its ping phase (slowest node's roce_ping run)
  serial    the same pings done node after node, each node's pings back to back over one SSH
            session (how hand-run scripts do it today)
  floor     the busiest node's pings back to back over one SSH session: the wall time no
            schedule of these pings can beat while hccn_tool is single-instance per node

and tears the lab down. Run as root from the repository root:

    . /work/venv/bin/activate; export ANSIBLE_COLLECTIONS_PATH=/work/collections
    python3 tests/bench/roce_bench.py [--nodes 4 16] [--pairing same_index]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LAB = os.path.join(REPO, 'tests', 'lab', 'atlas_lab.py')
TOOL = '/usr/local/Ascend/driver/tools/hccn_tool'

PLAYBOOK = """
- name: RoCE check (benchmark)
  hosts: mindie_cluster
  gather_facts: false
  vars:
    mindie_layout: multi
    roce_report_dir: {report_dir}
    roce_pairing: {pairing}
    roce_fail: false
  roles:
    - role: ascend.mindie.roce
  post_tasks:
    - name: Keep the plan and the verdict for the benchmark
      ansible.builtin.copy:
        content: "{{{{ {{'result': hostvars['localhost'].roce_result, 'per_node': roce_plan.plan.per_node}} | to_json }}}}"
        dest: {out}
        mode: "0600"
      delegate_to: localhost
      run_once: true
"""


def lab(lab_id, *args):
    cmd = [sys.executable, LAB, '--lab-id', lab_id] + list(args)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout


def hosts_of(inventory):
    with open(inventory) as fh:
        inv = yaml.safe_load(fh)
    out = {}

    def walk(group):
        for name, hv in (group.get('hosts') or {}).items():
            out[name] = hv
        for child in (group.get('children') or {}).values():
            walk(child or {})
    walk(inv['all'])
    return out


def ssh(hostvars, script):
    cmd = ['ssh', '-i', hostvars['ansible_ssh_private_key_file'], '-o', 'BatchMode=yes',
           '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
           '-o', 'LogLevel=ERROR', 'root@%s' % hostvars['ansible_host'], script]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def ping_script(pings):
    """One shell session running the node's pings back to back, like a hand-written loop."""
    lines = ['%s -i %d -ping -g address %s >/dev/null 2>&1' % (
        TOOL, p['device'], shlex.quote(p['address'])) for p in pings]
    return '; '.join(lines) + '; true'


def timed(fn):
    started = time.time()
    fn()
    return time.time() - started


def bench(size, pairing, keep, report_root):
    lab_id = 'roce-bench-%d' % size
    half = size // 2
    lab(lab_id, 'down')
    lab(lab_id, 'up', '--prefill', str(half), '--decode', str(size - half), '--profile', 'a2-64g')
    try:
        inventory = lab(lab_id, 'inventory').strip().splitlines()[-1]
        hosts = hosts_of(inventory)
        # warm the SSH control paths and ARP caches so every method starts equal
        for hv in hosts.values():
            ssh(hv, 'true')
        with tempfile.TemporaryDirectory(prefix='roce-bench-') as tmp:
            out = os.path.join(tmp, 'result.json')
            play = os.path.join(tmp, 'play.yml')
            with open(play, 'w') as fh:
                fh.write(PLAYBOOK.format(report_dir=os.path.join(report_root, str(size)),
                                         pairing=pairing, out=out))
            cmd = ['ansible-playbook', '-i', inventory, '--forks', str(size), play]
            role_s = timed(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))
            with open(out) as fh:
                data = json.load(fh)
        per_node = data['per_node']
        result = data['result']
        if not result['ok']:
            print('warning: the check did not pass on the healthy lab (%s failed pairs); see %s'
                  % (result['failed_pairs'], os.path.join(report_root, str(size), 'roce.md')),
                  file=sys.stderr)
        serial_s = timed(lambda: [ssh(hosts[h], ping_script(per_node[h])) for h in sorted(per_node)])
        busiest = max(sorted(per_node), key=lambda h: len(per_node[h]))
        floor_s = timed(lambda: ssh(hosts[busiest], ping_script(per_node[busiest])))
        return {
            'nodes': size, 'ports_per_node': 8, 'pairing': pairing,
            'pings': sum(len(v) for v in per_node.values()),
            'busiest_node_pings': len(per_node[busiest]),
            'role_play_s': round(role_s, 1), 'role_ping_phase_s': round(float(result['ping_seconds']), 1),
            'serial_s': round(serial_s, 1), 'floor_s': round(floor_s, 1), 'ok': result['ok'],
        }
    finally:
        if not keep:
            lab(lab_id, 'down')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--nodes', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--pairing', choices=['same_index', 'full_mesh'], default='same_index')
    ap.add_argument('--keep', action='store_true', help='leave the labs up')
    ap.add_argument('--json', help='also write the rows to this file')
    ap.add_argument('--report-dir', default='/tmp/roce-bench-reports',
                    help='where the role writes its reports (one directory per size)')
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('run as root (the lab needs it)')
    rows = [bench(n, args.pairing, args.keep, args.report_dir) for n in args.nodes]
    head = ('| nodes | pings (busiest node) | role: whole play | role: ping phase | '
            'node after node | floor (busiest node back to back) |')
    print(head)
    print('|---|---|---|---|---|---|')
    for r in rows:
        print('| %d | %d (%d) | %.1f s | %.1f s | %.1f s | %.1f s |' % (
            r['nodes'], r['pings'], r['busiest_node_pings'], r['role_play_s'],
            r['role_ping_phase_s'], r['serial_s'], r['floor_s']))
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(rows, fh, indent=2)


if __name__ == '__main__':
    main()
