# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hccn_facts and roce_ping as modules, against a fake hccn_tool executable.

The fake tool is a real process, single-instance like the real one (a second overlapping call
answers "hccn_tool is busy, please try again"), so the busy retries and the concurrency bound are
exercised through subprocesses, not mocks.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ascend.mindie.plugins.modules import hccn_facts, roce_ping
from ansible_collections.ascend.mindie.plugins.filter import roce as roce_filters


FAKE_TOOL = r'''#!%(python)s
import fcntl, json, os, sys, time
table = json.load(open(%(table)r))
args = sys.argv[1:]
fd = os.open(%(lock)r, os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.stderr.write("hccn_tool is busy, please try again\n")
    sys.exit(1)
with open(%(log)r, "a") as log:
    log.write(" ".join(args) + "\n")
dev, cmd = args[1], args[2]
key = "%%s %%s" %% (dev, cmd) if cmd != "-ping" else "ping " + args[5]
rc, out, err = table.get(key) or table.get(cmd) or [1, "", "Command execute failed!\n"]
time.sleep(table.get("_delay", 0))
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
'''

PING_OK = ('device %d PING %s\nrecv seq=0,time=0.1ms\nrecv seq=1,time=0.1ms\nrecv seq=2,time=0.1ms\n'
           '3 packets transmitted, 3 received, 0.00%% packet loss\n')

BASE = {
    '-ip': [0, 'ipaddr:10.0.0.1\nnetmask:255.255.255.0\n', ''],
    '-link': [0, 'link status: UP\n', ''],
    '-net_health': [0, 'net health status: Success\n', ''],
    '-netdetect': [0, 'netdetect addr: 10.0.0.254\n', ''],
    '-gateway': [0, 'default gateway:10.0.0.254, Iface:eth0\n', ''],
    '-lldp': [0, 'Port ID TLV\n\tIfname: 400GE1/1/1\nPort VLAN ID TLV\n\tPVID: 100\n', ''],
    '-tls': [0, 'dev_id:0, tls switch[0](0:disable, 1:enable), tls preconfigured[1](0:non-preset, '
                '1:preset), tls alarm time threshold[60]days\n', ''],
}


@pytest.fixture
def fake_tool(tmp_path):
    def make(table):
        (tmp_path / 'table.json').write_text(json.dumps(table))
        tool = tmp_path / 'hccn_tool'
        tool.write_text(FAKE_TOOL % {'python': sys.executable, 'table': str(tmp_path / 'table.json'),
                                     'lock': str(tmp_path / 'lock'), 'log': str(tmp_path / 'log')})
        tool.chmod(0o755)
        return str(tool)
    return make


@pytest.fixture
def run(run_module):
    return lambda module, args, check_mode=False: run_module(module.main, args, check_mode=check_mode)


class TestHccnFacts:
    def test_all_ports_one_call(self, run, fake_tool, tmp_path):
        table = dict(BASE)
        table['1 -ip'] = [0, 'ipaddr:10.0.0.2\nnetmask:255.255.255.0\n', '']
        conf = tmp_path / 'hccn.conf'
        conf.write_text('address_0=10.0.0.1\nnetmask_0=255.255.255.0\naddress_1=10.0.0.9\n')
        res = run(hccn_facts, {'tool': fake_tool(table), 'conf_path': str(conf),
                               'devices': [1, 0]}, check_mode=True)
        assert not res['failed'] and res['changed'] is False
        facts = res['ansible_facts']['ascend_hccn']
        assert facts['devices'] == [0, 1] and facts['devices_source'] == 'option'
        assert [p['address'] for p in facts['ports']] == ['10.0.0.1', '10.0.0.2']
        assert facts['ports'][1]['conf_mismatch'] == [
            {'key': 'address', 'running': '10.0.0.2', 'hccn_conf': '10.0.0.9'}]
        assert facts['ports'][0]['lldp']['pvid'] == 100
        # ports are queried one after another: 7 queries x 2 ports, none refused as busy
        assert len((tmp_path / 'log').read_text().splitlines()) == 14

    def test_devices_from_conf_when_no_dev_nodes(self, run, fake_tool, tmp_path, monkeypatch):
        original = hccn_facts.detect_devices
        monkeypatch.setattr(hccn_facts, 'detect_devices', lambda conf: original(
            conf, dev_dir=str(tmp_path / 'nodev')))
        conf = tmp_path / 'hccn.conf'
        conf.write_text('address_3=10.0.0.1\n')
        res = run(hccn_facts, {'tool': fake_tool(BASE), 'conf_path': str(conf), 'gather': ['ip']})
        facts = res['ansible_facts']['ascend_hccn']
        assert facts['devices'] == [3] and facts['devices_source'] == 'hccn_conf'

    def test_detect_devices_from_dev_nodes(self, tmp_path):
        for name in ('davinci0', 'davinci10', 'davinci2', 'davinci_manager', 'davinci1x'):
            (tmp_path / name).write_text('')
        assert hccn_facts.detect_devices({5: {}}, dev_dir=str(tmp_path)) == ([0, 2, 10], 'dev')
        assert hccn_facts.detect_devices({5: {}}, dev_dir=str(tmp_path / 'x')) == ([5], 'hccn_conf')

    def test_no_devices_fails_naming_the_fix(self, run, fake_tool, tmp_path, monkeypatch):
        monkeypatch.setattr(hccn_facts, 'detect_devices', lambda conf: ([], 'none'))
        res = run(hccn_facts, {'tool': fake_tool(BASE), 'conf_path': str(tmp_path / 'none')})
        assert res['failed'] and "pass 'devices'" in res['msg']

    def test_missing_tool(self, run, tmp_path):
        res = run(hccn_facts, {'tool': str(tmp_path / 'nope'), 'devices': [0]})
        assert res['failed'] and 'not found or not executable' in res['msg']

    def test_unknown_output_is_reported_with_text(self, run, fake_tool, tmp_path):
        table = dict(BASE)
        table['-link'] = [0, 'link state = up\n', '']
        res = run(hccn_facts, {'tool': fake_tool(table), 'devices': [0],
                               'conf_path': str(tmp_path / 'none')})
        port = res['ansible_facts']['ascend_hccn']['ports'][0]
        assert port['errors'][0]['command'] == 'link'
        assert 'link state = up' in port['errors'][0]['message']


class TestRocePingRun:
    def test_results_in_order_and_rc_not_trusted(self, run, fake_tool):
        table = {
            'ping 10.0.0.2': [100, PING_OK % (0, '10.0.0.2'), ''],   # rc says loss, stdout says ok
            'ping 10.0.0.3': [100, 'device 0 PING 10.0.0.3\nrecv time out seq=0\nrecv seq=1,time=0.1ms\n'
                                   'recv seq=2,time=0.1ms\n3 packets transmitted, 2 received, 33.33% '
                                   'packet loss\n', ''],
        }
        res = run(roce_ping, {'tool': fake_tool(table), 'pings': [
            {'device': 0, 'address': '10.0.0.2', 'id': 'a'},
            {'device': 1, 'address': '10.0.0.3', 'id': 'b'}]}, check_mode=True)
        assert not res['failed'] and res['changed'] is False
        got = [(r['id'], r['state'], r['ok']) for r in res['results']]
        assert got == [('a', 'ok', True), ('b', 'loss', False)]
        assert res['summary']['failed'] == 1

    def test_busy_tool_with_parallel_pings_is_retried(self, run, fake_tool, tmp_path):
        table = dict(('ping 10.0.1.%d' % i, [0, PING_OK % (0, '10.0.1.%d' % i), ''])
                     for i in range(6))
        table['_delay'] = 0.15
        pings = [{'device': 0, 'address': '10.0.1.%d' % i} for i in range(6)]
        res = run(roce_ping, {'tool': fake_tool(table), 'pings': pings, 'concurrency': 3,
                              'retries': 30, 'backoff': 0.05, 'backoff_max': 0.2})
        results = res['results']
        assert all(r['ok'] for r in results), results
        # the single-instance tool refused overlapping calls; the retries absorbed them
        assert sum(r['attempts'] for r in results) > len(results)
        assert res['summary']['max_in_flight'] == 3

    def test_busy_forever_is_reported(self, run, fake_tool, tmp_path):
        tool = fake_tool({})
        import fcntl
        import os
        fd = os.open(str(tmp_path / 'lock'), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)          # someone else holds hccn_tool
        try:
            res = run(roce_ping, {'tool': tool, 'pings': [{'device': 0, 'address': '10.0.0.2'}],
                                  'retries': 2, 'backoff': 0.01})
        finally:
            os.close(fd)
        (r,) = res['results']
        assert r['state'] == 'busy' and r['attempts'] == 3 and 'busy' in r['stderr']

    @pytest.mark.parametrize('args,text', [
        ({'pings': [{'device': 'x', 'address': '10.0.0.1'}]}, 'not an integer'),
        ({'pings': [{'device': 0, 'address': 'host'}]}, 'IPv4'),
        ({'pings': [], 'concurrency': 0}, 'concurrency'),
        ({'pings': [], 'packet_size': 70000}, 'packet_size'),
    ])
    def test_bad_args(self, run, args, text):
        res = run(roce_ping, args)
        assert res['failed'] and text in res['msg']

    def test_empty_list_needs_no_tool(self, run, tmp_path):
        res = run(roce_ping, {'pings': [], 'tool': str(tmp_path / 'none')})
        assert not res['failed'] and res['summary']['total'] == 0


class TestMeshFilters:
    """Plan and verdict are control-node filters over module_utils/roce_plan.py; the module only runs pings."""

    def _nodes(self):
        def ports(base):
            return [{'device': d, 'address': '10.0.0.%d' % (base + d), 'netmask': '255.255.255.0',
                     'link': 'UP', 'net_health': 'Success', 'lldp': {'pvid': 100},
                     'conf': {}, 'conf_mismatch': [], 'errors': []} for d in range(8)]
        return [{'host': 'p', 'role': 'prefill', 'ports': ports(1)},
                {'host': 'd', 'role': 'decode', 'ports': ports(20)}]

    def test_plan_then_verdict(self):
        plan = roce_filters.roce_mesh_plan(self._nodes())
        assert plan['total'] == 8 and plan['max_load'] == 4
        results = dict((h, [dict(x, ok=True, state='ok') for x in lst])
                       for h, lst in plan['per_node'].items())
        verdict = roce_filters.roce_mesh_verdict(self._nodes(), plan, results)
        assert verdict['report']['ok'] and verdict['failure_lines'] == []
        assert 'Result: **PASS**' in verdict['markdown']
        # a lost pair is named in the failure lines
        results['p'][0] = dict(results['p'][0], ok=False, state='lost')
        verdict = roce_filters.roce_mesh_verdict(self._nodes(), plan, results, failure_limit=5)
        assert not verdict['report']['ok'] and verdict['failure_lines']

    def test_plan_error_is_a_clear_failure(self):
        with pytest.raises(AnsibleFilterError, match='mindie_decode'):
            roce_filters.roce_mesh_plan(self._nodes()[:1])

    def test_module_no_longer_plans(self, run):
        res = run(roce_ping, {'action': 'plan', 'pings': []})
        assert res['failed'] and 'action' in res['msg']
