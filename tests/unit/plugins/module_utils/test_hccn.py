# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of hccn_tool outputs and /etc/hccn.conf, the retrying runner and the ping runner.

Fixtures follow the formats in ../shared/reference/ascend-tools.md section 8 (samples from a
910B3 node, device 1) and section 9 (hccn.conf).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import hccn
from ansible_collections.ascend.mindie.plugins.module_utils.hccn import HccnParseError

PING_OK = """device 1 PING 11.12.165.80
recv seq=0,time=0.149000ms
recv seq=1,time=0.066000ms
recv seq=2,time=0.064000ms
3 packets transmitted, 3 received, 0.00% packet loss
"""
# Huawei doc sample: no header, typo seq=O
PING_LOSS = """recv time out seq=O
recv seq=1,time=0.097000ms
recv seq=2,time=0.066000ms
3 packets transmitted, 2 received, 33.33% packet loss
"""
LLDP_BLOG = """Chassis ID TLV
        MAC: ...
Port ID TLV
        Ifname: 400GE1/1/20:2
System Description TLV
        Versatile Routing Platform Software
VRP (R) software, Version 8.211 (DX511 V200R021C10SPC600)

Huarong DX511

System Capabilities TLV
        Enabled capabilities: Bridge, Router
Management Address TLV
        IPv4: 26.xx.xx.xx
...
Maximum Frame Size TLV
        9216
End of LLDPDU TLV
"""
LLDP_PVID = ("Chassis ID TLV\n\tMAC: 00:e0:fc:00:00:01\nPort ID TLV\n\tIfname: 400GE1/1/5:2\n"
             "System Name TLV\n\tleaf-1\nManagement Address TLV\n\tIPv4: 10.1.1.1\n\tIfindex: 1\n"
             "Port VLAN ID TLV\n\tPVID: 100\nEnd of LLDPDU TLV\n")
HCCN_CONF = """address_0=29.1.137.205
netmask_0=255.255.0.0
netdetect_0=29.1.0.1
gateway_0=29.1.0.1
send_arp_status_0=1
# comment
address_7=29.1.170.143
netmask_7=255.255.0.0
netdetect_7=29.1.0.1
gateway_7=29.1.0.1
send_arp_status_7=1
arp_0=-i eth0 -s 29.1.0.9 aa:bb:cc:dd:ee:01
arp_0=-i eth0 -s 29.1.0.10 aa:bb:cc:dd:ee:02
ip_route_7=add 29.2.0.0/16 via 29.1.0.1 dev eth7 table 107
ip_rule_7=from 29.1.170.143 table 107
IPv6neigh_7=-i eth7 -s fd00::9 aa:bb:cc:dd:ee:03
lab_note=kept as is
"""


class TestSimpleParsers:
    def test_ip(self):
        assert hccn.parse_ip('ipaddr:11.12.165.81\nnetmask:255.255.255.0\n') == {
            'address': '11.12.165.81', 'netmask': '255.255.255.0'}

    @pytest.mark.parametrize('text', [
        'ipaddr:11.12.165.81\n',                                   # netmask missing
        'ipaddr:11.12.165.81\nnetmask:255.255.255.0\nbroadcast:1\n',  # unknown line
        'ipaddr:11.12.165.81\nipaddr:11.12.165.82\nnetmask:255.255.255.0\n',
        'ipaddr:11.12.165.300\nnetmask:255.255.255.0\n',
        'ipaddr : fe80::1\nnetmask:255.255.255.0\n',
    ])
    def test_ip_rejects(self, text):
        with pytest.raises(HccnParseError):
            hccn.parse_ip(text)

    def test_link(self):
        assert hccn.parse_link('link status: UP\n') == 'UP'
        assert hccn.parse_link('link status: DOWN') == 'DOWN'
        with pytest.raises(HccnParseError):
            hccn.parse_link('status: UP')
        with pytest.raises(HccnParseError):
            hccn.parse_link('link status: UP\nlink status: DOWN')

    @pytest.mark.parametrize('word', list(hccn.NET_HEALTH_WORDS))
    def test_net_health_words(self, word):
        assert hccn.parse_net_health('net health status: %s\n' % word) == word

    def test_net_health_rejects(self):
        with pytest.raises(HccnParseError):
            hccn.parse_net_health('health: Success')

    def test_netdetect_both_wordings(self):
        assert hccn.parse_netdetect('netdetect address: 11.12.165.1') == '11.12.165.1'
        assert hccn.parse_netdetect('netdetect addr: 11.12.165.1\n') == '11.12.165.1'
        with pytest.raises(HccnParseError):
            hccn.parse_netdetect('netdetect addr: none')

    def test_gateway(self):
        assert hccn.parse_gateway('default gateway:11.12.165.1, Iface:eth1\n') == {
            'gateway': '11.12.165.1', 'iface': 'eth1'}
        with pytest.raises(HccnParseError):
            hccn.parse_gateway('default gateway:11.12.165.1')

    def test_tls(self):
        line = ('dev_id:1, tls switch[0](0:disable, 1:enable), tls preconfigured[1](0:non-preset, '
                '1:preset), tls alarm time threshold[60]days\n-----BEGIN CERTIFICATE-----\n')
        assert hccn.parse_tls(line) == {'enabled': False, 'preconfigured': True}
        with pytest.raises(HccnParseError):
            hccn.parse_tls('tls: on')

    def test_netmask_helpers(self):
        assert hccn.netmask_to_prefix('255.255.255.0') == 24
        assert hccn.netmask_to_prefix('255.255.0.0') == 16
        assert hccn.network_of('29.1.170.143', '255.255.0.0') == '29.1.0.0/16'
        assert hccn.address_in_network('10.0.3.4', '10.0.0.0/16')
        assert not hccn.address_in_network('10.1.3.4', '10.0.0.0/16')
        with pytest.raises(ValueError):
            hccn.netmask_to_prefix('255.0.255.0')


class TestPing:
    def test_success(self):
        res = hccn.parse_ping(PING_OK)
        assert res['success'] is True
        assert (res['device'], res['target']) == (1, '11.12.165.80')
        assert (res['transmitted'], res['received'], res['replies']) == (3, 3, 3)
        assert res['rtt_ms'][0] == pytest.approx(0.149)

    def test_loss_without_header_and_typo(self):
        res = hccn.parse_ping(PING_LOSS)
        assert res['success'] is False
        assert res['timeouts'] == 1
        assert (res['transmitted'], res['received'], res['loss_percent']) == (3, 2, 33.33)

    def test_time_typo_is_a_reply(self):
        res = hccn.parse_ping('recv seq=0,time-0.049000ms\n1 packets transmitted, 1 received, '
                              '0.00% packet loss\n')
        assert res['success'] and res['rtt_ms'] == [0.049]

    def test_unreachable_counts_as_failure_even_if_summary_is_clean(self):
        text = ('device 0 PING 10.0.0.2\nFrom 10.0.0.1: Destination Host Unreachable\n'
                '3 packets transmitted, 3 received, 0.00% packet loss\n')
        res = hccn.parse_ping(text)
        assert res['unreachable'] == 1 and res['success'] is False

    def test_ipv6_header(self):
        res = hccn.parse_ping('device 2 PING6 fe80::2\nrecv seq=0,time=0.1ms\n'
                              '1 packets transmitted, 1 received, 0.00% packet loss\n')
        assert res['target'] == 'fe80::2' and res['success']

    @pytest.mark.parametrize('text', [
        '',                                                   # nothing
        'device 1 PING 1.2.3.4\nrecv seq=0,time=0.1ms\n',     # no summary
        PING_OK.replace('recv seq=1', 'got seq=1'),           # unknown line
        PING_OK + 'rtt min/avg/max = 1/2/3\n',                # line after summary
        '3 packets transmitted, 4 received, 0.00% packet loss',
    ])
    def test_rejects(self, text):
        with pytest.raises(HccnParseError):
            hccn.parse_ping(text)

    def test_busy_detection(self):
        assert hccn.is_busy('', 'hccn_tool is busy, please try again\n')
        # the driver prints these two on stdout, the lock failure on stderr
        assert hccn.is_busy('hccn_tool is busy, please try again.\n', '')
        assert hccn.is_busy('I2c is busy. Please try again.\n', '')
        assert hccn.is_busy('', 'Get lock failed. Please try again.\n')
        assert not hccn.is_busy(PING_OK, '')
        assert not hccn.is_busy('', 'Command execute failed!\n')

    def test_unsupported_detection(self):
        assert hccn.is_unsupported('The command is not supported on this product.\n', '')
        assert not hccn.is_unsupported(PING_OK, '')
        assert not hccn.is_unsupported('', 'Get ipconf failed, because no ip was preset there!\n')

    def test_both_socket_wordings(self):
        assert hccn.parse_net_health('net health status: Socket failed\n') == 'Socket failed'
        assert hccn.net_health_meaning('Socket failed') == hccn.net_health_meaning('Socket fail')
        assert 'socket' in hccn.net_health_meaning('Socket failed')
        assert hccn.net_health_meaning('Success') == ''


class TestLldp:
    def test_blog_dump(self):
        res = hccn.parse_lldp(LLDP_BLOG)
        assert res['port_id'] == '400GE1/1/20:2'
        assert res['pvid'] is None
        assert res['max_frame_size'] == 9216
        assert 'Huarong DX511' in res['system_description']
        assert res['management_addresses'] == ['26.xx.xx.xx']
        assert res['tlvs'][-1] == 'End of LLDPDU TLV'

    def test_pvid(self):
        res = hccn.parse_lldp(LLDP_PVID)
        assert res['pvid'] == 100
        assert res['chassis_id'] == '00:e0:fc:00:00:01'
        assert res['system_name'] == 'leaf-1'
        assert res['management_addresses'] == ['10.1.1.1']

    def test_empty_is_no_neighbour(self):
        assert hccn.parse_lldp('\n') is None

    def test_text_before_first_tlv(self):
        with pytest.raises(HccnParseError):
            hccn.parse_lldp('lldp neighbour:\n' + LLDP_PVID)

    def test_bad_pvid(self):
        with pytest.raises(HccnParseError):
            hccn.parse_lldp('Port VLAN ID TLV\n\tPVID: none\n')


class TestConf:
    def test_parse(self):
        res = hccn.parse_hccn_conf(HCCN_CONF)
        assert sorted(res['devices']) == [0, 7]
        assert res['devices'][7]['address'] == '29.1.170.143'
        assert res['devices'][0]['send_arp_status'] == '1'
        # the driver's per-device ARP/route lines land under their device, several per key
        assert res['devices'][0]['arp'] == ['-i eth0 -s 29.1.0.9 aa:bb:cc:dd:ee:01',
                                            '-i eth0 -s 29.1.0.10 aa:bb:cc:dd:ee:02']
        assert res['devices'][7]['ip_route'] == ['add 29.2.0.0/16 via 29.1.0.1 dev eth7 table 107']
        assert res['devices'][7]['ip_rule'] == ['from 29.1.170.143 table 107']
        assert res['devices'][7]['IPv6neigh'] == ['-i eth7 -s fd00::9 aa:bb:cc:dd:ee:03']
        assert res['other'] == ['lab_note=kept as is']

    def test_conf_key(self):
        assert hccn.conf_key('arp_12=-i eth12 -s 1.2.3.4 aa:bb:cc:dd:ee:ff') == (
            'arp', 12, '-i eth12 -s 1.2.3.4 aa:bb:cc:dd:ee:ff')
        assert hccn.conf_key('netdetect_3=10.0.0.1') == ('netdetect', 3, '10.0.0.1')
        assert hccn.conf_key('arp_0_29.1.0.9=aa:bb') is None
        assert hccn.conf_key('# address_0=1.2.3.4') is None

    def test_field_note_address_mismatch(self):
        # -ip -g on device 3 answers 10.20.11.24 while the file says address_3=10.20.11.14
        conf = hccn.parse_hccn_conf('address_3=10.20.11.14\nnetmask_3=255.255.255.0\n'
                                    'arp_3=-i eth3 -s 10.20.11.1 aa:bb:cc:dd:ee:10\n')['devices']
        port = hccn.empty_port(3)
        hccn._apply(port, 'ip', 'ipaddr:10.20.11.24\nnetmask:255.255.255.0\n')
        hccn.compare_conf(port, conf)
        assert port['conf_mismatch'] == [
            {'key': 'address', 'running': '10.20.11.24', 'hccn_conf': '10.20.11.14'}]

    def test_compare(self):
        conf = hccn.parse_hccn_conf(HCCN_CONF)['devices']
        port = hccn.empty_port(7)
        port.update(address='29.1.170.144', netmask='255.255.0.0')
        hccn.compare_conf(port, conf)
        assert port['conf_mismatch'] == [
            {'key': 'address', 'running': '29.1.170.144', 'hccn_conf': '29.1.170.143'}]
        port = hccn.empty_port(3)
        hccn.compare_conf(port, conf)
        assert port['conf'] is None


class FakeRunner:
    """Answers argv by the command word; optional per-call scripted answers."""

    def __init__(self, table, busy_first=0, delay=0.0):
        self.table = table
        self.busy_left = busy_first
        self.delay = delay
        self.calls = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, argv, timeout):
        with self.lock:
            self.calls.append(list(argv))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            busy = self.busy_left > 0
            if busy:
                self.busy_left -= 1
        try:
            if self.delay:
                time.sleep(self.delay)
            if busy:
                return 1, '', 'hccn_tool is busy, please try again\n', False
            key = argv[3] if argv[3] != '-ping' else argv[6]
            answer = self.table[(int(argv[2]), key)] if (int(argv[2]), key) in self.table \
                else self.table[key]
            return answer
        finally:
            with self.lock:
                self.active -= 1


GOOD = {
    '-ip': (0, 'ipaddr:10.0.0.1\nnetmask:255.255.255.0\n', '', False),
    '-link': (0, 'link status: UP\n', '', False),
    '-net_health': (0, 'net health status: Success\n', '', False),
    '-netdetect': (0, 'netdetect addr: 10.0.0.254\n', '', False),
    '-gateway': (0, 'default gateway:10.0.0.254, Iface:eth0\n', '', False),
    '-lldp': (0, LLDP_PVID, '', False),
    '-tls': (0, 'dev_id:0, tls switch[0](0:disable, 1:enable), tls preconfigured[1]'
                '(0:non-preset, 1:preset), tls alarm time threshold[60]days\n', '', False),
}


class TestTool:
    def test_backoff_is_bounded(self):
        assert list(hccn.backoff_delays(6, 0.25, 1.0)) == [0.25, 0.5, 1.0, 1.0, 1.0, 1.0]

    def test_busy_retried_then_succeeds(self):
        sleeps = []
        runner = FakeRunner(GOOD, busy_first=2)
        tool = hccn.HccnTool('/x/hccn_tool', retries=5, backoff=0.1, backoff_max=1,
                             runner=runner, sleep=sleeps.append)
        res = tool.run(0, ['-link', '-g'])
        assert res.attempts == 3 and not res.busy and res.stdout.startswith('link status')
        assert sleeps == [0.1, 0.2]
        assert runner.calls[0] == ['/x/hccn_tool', '-i', '0', '-link', '-g']

    def test_busy_gives_up(self):
        sleeps = []
        tool = hccn.HccnTool('/x', retries=3, backoff=0.5, backoff_max=0.8,
                             runner=FakeRunner(GOOD, busy_first=99), sleep=sleeps.append)
        res = tool.run(0, ['-link', '-g'])
        assert res.busy and res.attempts == 4
        assert sleeps == [0.5, 0.8, 0.8]

    def test_real_subprocess_timeout(self, tmp_path):
        script = tmp_path / 'slow'
        script.write_text('#!/bin/sh\nsleep 5\n')
        script.chmod(0o755)
        tool = hccn.HccnTool(str(script), timeout=0.3, retries=0)
        started = time.time()
        res = tool.run(0, ['-link', '-g'])
        assert res.timed_out and time.time() - started < 3


class TestGatherPort:
    def _tool(self, table):
        return hccn.HccnTool('/x', retries=0, runner=FakeRunner(table), sleep=lambda s: None)

    def test_all_good(self):
        port = hccn.gather_port(self._tool(GOOD), 0)
        assert port['errors'] == []
        assert port['address'] == '10.0.0.1' and port['network'] == '10.0.0.0/24'
        assert port['link_up'] and port['net_health'] == 'Success'
        assert port['gateway_iface'] == 'eth0' and port['lldp']['pvid'] == 100
        assert port['tls'] == {'enabled': False, 'preconfigured': True}

    def test_states_on_stderr_are_values_not_errors(self):
        table = dict(GOOD)
        table['-ip'] = (1, '', 'Get ipconf failed, because no ip was preset there!\n', False)
        table['-link'] = (0, 'link status: DOWN\n', '', False)
        table['-lldp'] = (1, '', 'Execute failed: Link status is down.\n', False)
        table['-gateway'] = (1, '', 'Get gateway failed, because no gateway was preset there!\n',
                             False)
        port = hccn.gather_port(self._tool(table), 0)
        assert port['errors'] == []
        assert port['address'] is None and port['link'] == 'DOWN' and not port['link_up']
        assert 'no IP address preset' in port['notes']

    def test_garbage_is_an_error_with_text(self):
        table = dict(GOOD)
        table['-net_health'] = (0, 'net health: maybe\n', '', False)
        port = hccn.gather_port(self._tool(table), 0)
        assert [e['command'] for e in port['errors']] == ['net_health']
        assert 'net health: maybe' in port['errors'][0]['message']

    def test_unsupported_tls_on_stdout_is_a_note(self):
        table = dict(GOOD)
        table['-tls'] = (1, 'The command is not supported on this product.\n', '', False)
        port = hccn.gather_port(self._tool(table), 0)
        assert port['errors'] == [] and port['tls'] is None
        assert 'tls query not supported by this driver' in port['notes']

    def test_unsupported_core_query_is_an_error_naming_it(self):
        table = dict(GOOD)
        table['-net_health'] = (1, 'The command is not supported on this product.\n', '', False)
        port = hccn.gather_port(self._tool(table), 0)
        assert [e['command'] for e in port['errors']] == ['net_health']
        assert 'not supported on this product' in port['errors'][0]['message']

    @pytest.mark.parametrize('answer', [
        (1, 'hccn_tool is busy, please try again.\n', '', False),
        (1, 'I2c is busy. Please try again.\n', '', False),
        (1, '', 'Get lock failed. Please try again.\n', False),
    ])
    def test_busy_answers_are_retried(self, answer):
        answers = [answer, GOOD['-link']]
        calls = []

        def runner(argv, timeout):
            calls.append(argv)
            return answers.pop(0)
        sleeps = []
        tool = hccn.HccnTool('/x', retries=2, backoff=0.1, runner=runner, sleep=sleeps.append)
        port = hccn.gather_port(tool, 0, gather=['link'])
        assert port['errors'] == [] and port['link'] == 'UP'
        assert len(calls) == 2 and sleeps == [0.1]

    def test_missing_device_stops(self):
        table = dict(GOOD)
        table['-ip'] = (1, '', 'The device is not exist!\n', False)
        port = hccn.gather_port(self._tool(table), 9)
        assert len(port['errors']) == 1 and 'does not exist' in port['errors'][0]['message']

    def test_gather_subset(self):
        runner = FakeRunner(GOOD)
        tool = hccn.HccnTool('/x', retries=0, runner=runner)
        hccn.gather_port(tool, 0, gather=['ip', 'link'])
        assert [c[3] for c in runner.calls] == ['-ip', '-link']


class TestRunPings:
    def _table(self):
        return {
            '10.0.0.2': (0, 'device 0 PING 10.0.0.2\nrecv seq=0,time=0.1ms\nrecv seq=1,time=0.1ms\n'
                            'recv seq=2,time=0.1ms\n3 packets transmitted, 3 received, 0.00% packet '
                            'loss\n', '', False),
            '10.0.0.3': (100, 'device 0 PING 10.0.0.3\nrecv time out seq=0\nrecv time out seq=1\n'
                              'recv time out seq=2\n3 packets transmitted, 0 received, 100.00% '
                              'packet loss\n', '', False),
            '10.0.0.4': (1, '', 'Execute failed: Link status is down.\n', False),
            '10.0.0.5': (0, 'PING what\n', '', False),
            '10.0.0.6': (-9, '', '', True),
            # exit code 0 must not make a lossy ping pass
            '10.0.0.7': (0, 'device 0 PING 10.0.0.7\nrecv time out seq=0\n1 packets transmitted, 0 '
                            'received, 100.00% packet loss\n', '', False),
        }

    def test_states(self):
        tool = hccn.HccnTool('/x', retries=0, runner=FakeRunner(self._table()))
        pings = [{'device': 0, 'address': a, 'id': a} for a in sorted(self._table())]
        results, stats = hccn.run_pings(tool, pings)
        states = dict((r['id'], r['state']) for r in results)
        assert states == {'10.0.0.2': 'ok', '10.0.0.3': 'loss', '10.0.0.4': 'link_down',
                          '10.0.0.5': 'error', '10.0.0.6': 'timeout', '10.0.0.7': 'loss'}
        assert [r['id'] for r in results] == [p['id'] for p in pings]
        assert results[0]['ok'] and results[0]['stdout'] == ''
        assert 'recv time out' in results[1]['stdout']
        assert stats['max_in_flight'] == 1

    def test_unsupported_ping_on_stdout_is_an_error_naming_it(self):
        table = {'10.0.0.9': (1, 'The command is not supported on this product.\n', '', False)}
        tool = hccn.HccnTool('/x', retries=0, runner=FakeRunner(table))
        results, _stats = hccn.run_pings(tool, [{'device': 0, 'address': '10.0.0.9'}])
        assert results[0]['state'] == 'error' and not results[0]['ok']
        assert 'not supported here' in results[0]['message']

    def test_target_mismatch_is_error(self):
        table = {'10.0.0.9': self._table()['10.0.0.2']}
        tool = hccn.HccnTool('/x', retries=0, runner=FakeRunner(table))
        results, _stats = hccn.run_pings(tool, [{'device': 0, 'address': '10.0.0.9'}])
        assert results[0]['state'] == 'error' and 'asked for 10.0.0.9' in results[0]['message']

    @pytest.mark.parametrize('concurrency', [1, 3])
    def test_concurrency_bound(self, concurrency):
        out = ('device 0 PING 10.0.1.%d\nrecv seq=0,time=0.1ms\n1 packets transmitted, 1 received, '
               '0.00%% packet loss\n')
        table = dict(('10.0.1.%d' % i, (0, out % i, '', False)) for i in range(9))
        runner = FakeRunner(table, delay=0.05)
        tool = hccn.HccnTool('/x', retries=0, runner=runner)
        pings = [{'device': i % 8, 'address': a} for i, a in enumerate(sorted(table))]
        results, stats = hccn.run_pings(tool, pings, concurrency=concurrency)
        assert all(r['ok'] for r in results)
        assert stats['max_in_flight'] == runner.max_active == concurrency

    def test_ping_args(self):
        runner = FakeRunner(self._table())
        tool = hccn.HccnTool('/t', retries=0, runner=runner)
        hccn.run_pings(tool, [{'device': 3, 'address': '10.0.0.2'}], packet_size=64,
                       extra_args=['x', 1])
        assert runner.calls[0] == ['/t', '-i', '3', '-ping', '-g', 'address', '10.0.0.2', 'pkt',
                                   '64', 'x', '1']


class TestRecheck:
    def test_flaky_pair_passes_on_second_try_and_keeps_first(self):
        outputs = iter([
            (100, 'device 0 PING 10.0.0.2\nrecv time out seq=0\nrecv seq=1,time=0.1ms\n'
                  'recv seq=2,time=0.1ms\n3 packets transmitted, 2 received, 33.33% packet loss\n',
             '', False),
            (0, 'device 0 PING 10.0.0.3\nrecv seq=0,time=0.1ms\n1 packets transmitted, 1 received, '
                '0.00% packet loss\n', '', False),
            (0, 'device 0 PING 10.0.0.2\nrecv seq=0,time=0.1ms\n1 packets transmitted, 1 received, '
                '0.00% packet loss\n', '', False),
        ])
        calls = []

        def runner(argv, timeout):
            calls.append(argv[6])
            return next(outputs)
        tool = hccn.HccnTool('/x', retries=0, runner=runner)
        pings = [{'device': 0, 'address': '10.0.0.2'}, {'device': 0, 'address': '10.0.0.3'}]
        results, stats = hccn.run_pings(tool, pings, recheck=True)
        assert calls == ['10.0.0.2', '10.0.0.3', '10.0.0.2']   # the recheck runs after the others
        assert results[0]['ok'] and results[0]['flaky'] and results[0]['attempts'] == 2
        assert results[0]['first_try']['received'] == 2 and stats['rechecked'] == 1
        assert results[1]['ok'] and not results[1]['flaky']

    def test_no_recheck_for_link_down_or_errors_and_still_failing_stays_failed(self):
        table = {
            '10.0.0.4': (1, '', 'Execute failed: Link status is down.\n', False),
            '10.0.0.5': (100, 'device 0 PING 10.0.0.5\nrecv time out seq=0\n1 packets transmitted, '
                              '0 received, 100.00% packet loss\n', '', False),
        }
        runner = FakeRunner(table)
        tool = hccn.HccnTool('/x', retries=0, runner=runner)
        results, stats = hccn.run_pings(tool, [{'device': 0, 'address': a} for a in sorted(table)],
                                        recheck=True)
        assert [c[6] for c in runner.calls] == ['10.0.0.4', '10.0.0.5', '10.0.0.5']
        assert results[0]['state'] == 'link_down' and results[1]['state'] == 'loss'
        assert not results[1]['flaky'] and results[1]['first_try']['state'] == 'loss'
