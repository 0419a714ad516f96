# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuring NPU ports from an address plan: commands, /etc/hccn.conf, read-back, check mode.

The fake tool keeps per-device state and answers in the driver's shapes (reference section 8):
``ipaddr:``/``netmask:`` lines, ``netdetect addr:``, ``default gateway:..., Iface:ethN``, the
"no ip was preset" errors on stderr and ``Cmd executed successfully!`` after a set.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import hccn
from ansible_collections.ascend.mindie.plugins.module_utils import hccn_config as hc
from ansible_collections.ascend.mindie.plugins.module_utils.roce_plan import PlanError

PLAN = {
    'devices': {0: {'subnet': '10.20.0.0/16', 'netdetect': '10.20.0.1', 'gateway': '10.20.0.1'},
                1: {'subnet': '10.21.0.0/16', 'netdetect': '10.21.0.1'}},
    'addresses': {'node-1': {0: '10.20.1.1', 1: '10.21.1.1'}},
}
CONF = """send_arp_status_0=1
send_arp_status_1=1
arp_0=-i eth0 -s 10.20.0.1 00:e0:fc:00:00:01
ip_rule_1=from 10.21.1.1 table 101
"""


class FakeNode(object):
    """hccn_tool of one node: -ip/-netdetect/-gateway get and set on in-memory ports."""

    def __init__(self, ports=None, sticky=()):
        self.ports = ports or {0: {}, 1: {}}
        self.sticky = set(sticky)      # devices that answer "success" but keep their address
        self.calls = []

    def __call__(self, argv, timeout):
        dev, cmd, op, args = int(argv[2]), argv[3], argv[4], argv[5:]
        self.calls.append((dev, cmd, op) + tuple(args))
        port = self.ports[dev]
        kv = dict(zip(args[0::2], args[1::2]))
        if op == '-s':
            if cmd == '-ip' and dev not in self.sticky:
                port.update(address=kv['address'], netmask=kv['netmask'])
            elif cmd == '-netdetect':
                port['netdetect'] = kv['address']
            elif cmd == '-gateway':
                port['gateway'] = kv['gateway']
            return 0, 'Cmd executed successfully!\n', '', False
        if cmd == '-ip':
            if 'address' not in port:
                return 1, '', 'Get ipconf failed, because no ip was preset there!\n', False
            return 0, 'ipaddr:%s\nnetmask:%s\n' % (port['address'], port['netmask']), '', False
        if cmd == '-netdetect':
            if 'netdetect' not in port:
                return 1, '', 'Get netdetect failed, because no netdetect ip was preset there!\n', False
            return 0, 'netdetect addr: %s\n' % port['netdetect'], '', False
        if 'gateway' not in port:
            return 1, '', 'Get gateway failed, because no gateway was preset there!\n', False
        return 0, 'default gateway:%s, Iface:eth%d\n' % (port['gateway'], dev), '', False


def tool(node):
    return hccn.HccnTool('/x', retries=0, runner=node, sleep=lambda s: None)


def run(node, conf=CONF, check_mode=False, plan=None):
    written = []
    res = hc.configure_node(tool(node), hc.plan_from_any(plan or PLAN), 'node-1', [0, 1], conf,
                            check_mode=check_mode, write_conf=written.append)
    return res, written


def test_unconfigured_node_gets_the_plan_and_a_second_run_changes_nothing():
    node = FakeNode()
    res, written = run(node)
    assert res['changed'] and res['failed'] == []
    assert node.ports[0] == {'address': '10.20.1.1', 'netmask': '255.255.0.0',
                             'netdetect': '10.20.0.1', 'gateway': '10.20.0.1'}
    # no gateway planned for dev1: none is set
    assert node.ports[1] == {'address': '10.21.1.1', 'netmask': '255.255.0.0', 'netdetect': '10.21.0.1'}
    sets = [c for c in node.calls if c[2] == '-s']
    assert sets == [(0, '-ip', '-s', 'address', '10.20.1.1', 'netmask', '255.255.0.0'),
                    (0, '-netdetect', '-s', 'address', '10.20.0.1'),
                    (0, '-gateway', '-s', 'gateway', '10.20.0.1'),
                    (1, '-ip', '-s', 'address', '10.21.1.1', 'netmask', '255.255.0.0'),
                    (1, '-netdetect', '-s', 'address', '10.21.0.1')]
    # the driver's key names and order per device; ARP and rule lines kept where they were
    assert written == ["""address_0=10.20.1.1
netmask_0=255.255.0.0
netdetect_0=10.20.0.1
gateway_0=10.20.0.1
send_arp_status_0=1
address_1=10.21.1.1
netmask_1=255.255.0.0
netdetect_1=10.21.0.1
send_arp_status_1=1
arp_0=-i eth0 -s 10.20.0.1 00:e0:fc:00:00:01
ip_rule_1=from 10.21.1.1 table 101
"""]
    node.calls = []
    again, written_again = run(node, conf=written[0])
    assert not again['changed'] and written_again == []
    assert [c for c in node.calls if c[2] == '-s'] == []


def test_check_mode_reports_per_port_and_calls_no_set():
    node = FakeNode()
    res, written = run(node, check_mode=True)
    assert res['changed'] and written == [] and node.ports == {0: {}, 1: {}}
    assert [c for c in node.calls if c[2] == '-s'] == []
    diff = hc.diffs(res)
    assert diff[0]['before_header'] == 'node-1:dev0 (running)'
    assert 'address: -\n' in diff[0]['before'] and 'address: 10.20.1.1\n' in diff[0]['after']
    assert diff[-1]['before_header'] == 'hccn.conf (before)' and 'address_1=10.21.1.1' in diff[-1]['after']


def test_wrong_netmask_and_detect_are_fixed_address_kept_without_map():
    node = FakeNode({0: {'address': '10.20.3.3', 'netmask': '255.255.255.0', 'netdetect': '10.20.0.9',
                         'gateway': '10.20.0.1'},
                     1: {'address': '10.21.3.3', 'netmask': '255.255.0.0', 'netdetect': '10.21.0.1'}})
    plan = {'devices': PLAN['devices']}
    res, written = run(node, plan=plan)
    assert [p['state'] for p in res['ports']] == ['changed', 'ok']
    assert node.ports[0]['netmask'] == '255.255.0.0' and node.ports[0]['netdetect'] == '10.20.0.1'
    assert node.ports[0]['address'] == '10.20.3.3'


def test_port_that_does_not_take_its_address_is_reported():
    node = FakeNode(sticky={1})
    res, written = run(node)
    assert res['failed'] == ['node-1:dev1: did not take its settings: address is unset, planned '
                             '10.21.1.1, netmask is unset, planned 255.255.0.0']
    assert res['ports'][0]['state'] == 'changed' and res['ports'][1]['state'] == 'failed'


def test_port_without_planned_address_fails_before_any_set():
    node = FakeNode()
    res, written = run(node, plan={'devices': PLAN['devices']})
    assert len(res['failed']) == 2 and 'no address planned' in res['failed'][0]
    assert 'node-1:dev0' in res['failed'][0]
    assert [c for c in node.calls if c[2] == '-s'] == []


def test_plan_as_roce_ping_returns_it():
    from ansible_collections.ascend.mindie.plugins.module_utils import roce_plan
    ap = roce_plan.address_plan({}, {}, PLAN)
    data = roce_plan.address_plan_out(ap)
    again = hc.plan_from_any(data)
    assert again['devices'][0]['netmask'] == '255.255.0.0'
    assert again['addresses']['node-1'][1] == '10.21.1.1'
    with pytest.raises(PlanError, match='roce_address_plan'):
        hc.plan_from_any({'devices': {0: {'subnet': 'x'}}})


def test_render_replaces_in_place_and_drops_duplicates():
    text = 'address_0=1.1.1.1\nsend_arp_status_0=1\naddress_0=1.1.1.2\n# keep\n'
    out = hc.render_hccn_conf(text, {0: {'address': '10.20.1.1', 'netmask': '255.255.0.0'}})
    assert out == 'address_0=10.20.1.1\nnetmask_0=255.255.0.0\nsend_arp_status_0=1\n# keep\n'
    assert hc.render_hccn_conf('', {3: {'address': '10.0.0.3', 'netmask': '255.0.0.0'}}) == \
        'address_3=10.0.0.3\nnetmask_3=255.0.0.0\n'
