# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the preflight playbook once against the lab and summarise what happened, as JSON.

Used by verify.yml for the failing cases. The summary holds the exit code, every failure message,
the hosts each task ran on, the reports written, and the files that changed inside each lab node's
overlay (the proof that a failing preflight changed nothing on the nodes).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

# Paths inside a node that change without any task touching the node (ssh sessions, Ansible's
# own temporary files).
IGNORED = ('tmp/', 'root/.ansible/', 'var/log/', 'run/')


def snapshot(lab_dir):
    """Content hash of every regular file in each node's overlay upper dir."""
    result = {}
    nodes = os.path.join(lab_dir, 'nodes')
    for node in sorted(os.listdir(nodes)):
        upper = os.path.join(nodes, node, 'upper')
        files = {}
        for root, dirs, names in os.walk(upper):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, upper)
                if rel.startswith(IGNORED) or not os.path.isfile(path) or os.path.islink(path):
                    continue
                with open(path, 'rb') as handle:
                    files[rel] = hashlib.sha256(handle.read()).hexdigest()
        result[node] = files
    return result


def diff(before, after):
    changes = {}
    for node in sorted(set(before) | set(after)):
        a, b = before.get(node, {}), after.get(node, {})
        changed = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
        if changed:
            changes[node] = changed
    return changes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--lab-dir', required=True)
    parser.add_argument('--playbook', required=True)
    parser.add_argument('--report-dir', required=True)
    parser.add_argument('--inventory', action='append', default=[])
    parser.add_argument('--extra-vars', default='{}')
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args()

    for name in ('preflight.json', 'preflight.md'):
        path = os.path.join(args.report_dir, name)
        if os.path.exists(path):
            os.unlink(path)
    before = snapshot(args.lab_dir)
    inventories = args.inventory or [os.path.join(args.lab_dir, 'inventory.yml')]
    cmd = ['ansible-playbook', args.playbook, '--extra-vars', args.extra_vars]
    for inv in inventories:
        cmd += ['--inventory', inv]
    if args.check:
        cmd.append('--check')
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CALLBACK_RESULT_FORMAT='json',
               PREFLIGHT_REPORT_DIR=args.report_dir, ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    after = snapshot(args.lab_dir)

    summary = {'rc': proc.returncode, 'failures': [], 'changed': [], 'ran': {}, 'stderr': proc.stderr[-3000:],
               'node_changes': diff(before, after)}
    try:
        out = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        summary['stdout'] = proc.stdout[-3000:]
        out = {'plays': []}
    for play in out.get('plays', []):
        for task in play.get('tasks', []):
            name = task['task']['name']
            for host, res in task.get('hosts', {}).items():
                if res.get('skipped'):
                    continue
                summary['ran'].setdefault(name, []).append(host)
                if res.get('failed'):
                    summary['failures'].append({'host': host, 'task': name, 'msg': str(res.get('msg', ''))})
                if res.get('changed'):
                    summary['changed'].append({'host': host, 'task': name})
    summary['failure_text'] = ' || '.join(f['msg'] for f in summary['failures'])
    report = os.path.join(args.report_dir, 'preflight.json')
    summary['report'] = None
    if os.path.exists(report):
        with open(report) as handle:
            summary['report'] = json.load(handle)
    md = os.path.join(args.report_dir, 'preflight.md')
    summary['report_markdown'] = open(md).read() if os.path.exists(md) else None
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
