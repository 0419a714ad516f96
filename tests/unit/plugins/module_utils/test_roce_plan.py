# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pair planning (who pings whom, load balance, A3 exclusions) and verdicts."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import itertools
import math
import re

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import roce_plan as rp


def port(device, address, netmask='255.255.255.0', link='UP', health='Success', pvid=100,
         tls=False):
    return {
        'device': device, 'address': address, 'netmask': netmask, 'link': link,
        'link_up': link == 'UP', 'net_health': health,
        'lldp': None if pvid is None else {'pvid': pvid, 'port_id': '400GE1/1/%d' % device},
        'tls': {'enabled': tls, 'preconfigured': True},
        'conf': {'address': address, 'netmask': netmask}, 'conf_mismatch': [], 'errors': [],
    }


def a2_node(host, role, index, n=8, **kw):
    return {'host': host, 'role': role,
            'ports': [port(d, '10.20.0.%d' % (index * 8 + d + 1), **kw) for d in range(n)]}


def a3_node(host, role, index):
    # even dies in 10.30.0.0/24, odd dies in 10.30.1.0/24 (the lab's layout)
    return {'host': host, 'role': role,
            'ports': [port(d, '10.30.%d.%d' % (d % 2, index * 8 + d // 2 + 1)) for d in range(16)]}


def cluster(p, d, n=8):
    return ([a2_node('p%02d' % i, 'prefill', i, n) for i in range(p)]
            + [a2_node('d%02d' % i, 'decode', p + i, n) for i in range(d)])


def all_ok(the_plan):
    return dict((h, [dict(x, ok=True, state='ok', message='') for x in lst])
                for h, lst in the_plan['per_node'].items())


class TestPlan:
    def test_pd_same_index_pairs(self):
        pl = rp.plan(cluster(2, 2))
        got = set((x['src_host'], x['src_device'], x['dst_host'], x['dst_device'])
                  for x in pl['pings'])
        # every P port meets the same-index port of every D node exactly once, either direction
        unordered = set(frozenset([(a, i), (b, j)]) for a, i, b, j in got)
        want = set(frozenset([(p, i), (d, i)]) for p in ('p00', 'p01') for d in ('d00', 'd01')
                   for i in range(8))
        assert unordered == want and len(got) == 32
        assert all(x['src_device'] == x['dst_device'] for x in pl['pings'])
        assert not any(x['src_host'][0] == x['dst_host'][0] for x in pl['pings'])  # no P-P, D-D
        assert pl['uncovered_ports'] == []

    def test_full_mesh_pairs(self):
        pl = rp.plan(cluster(1, 2), pairing='full_mesh')
        assert pl['total'] == 2 * 64

    @pytest.mark.parametrize('p,d,pairing', [
        (1, 15, 'same_index'), (15, 1, 'same_index'), (2, 2, 'same_index'), (3, 13, 'same_index'),
        (1, 3, 'full_mesh'), (3, 5, 'full_mesh'), (8, 8, 'same_index')])
    def test_busiest_node_is_optimal(self, p, d, pairing):
        pl = rp.plan(cluster(p, d), pairing=pairing)
        per_pair = 8 if pairing == 'same_index' else 64
        # lower bounds: the average and, per node, its pairs shared evenly with the other side
        bound = max(math.ceil(pl['total'] / float(p + d)),
                    math.ceil(per_pair * p * d / float(p + d)))
        assert pl['max_load'] == bound
        assert sum(pl['load'].values()) == pl['total'] == p * d * per_pair
        assert pl['busiest'] in pl['load']
        # per-node lists are the pings whose source is that node
        for host, lst in pl['per_node'].items():
            assert len(lst) == pl['load'][host]

    def test_one_p_many_d_does_not_pile_on_p(self):
        pl = rp.plan(cluster(1, 15))
        assert pl['max_load'] == 8          # not 120: the D nodes ping the P node

    def test_single_layout_pings_within_nodes_on_request(self):
        nodes = [a2_node('s0', 'single', 0)]
        assert rp.plan(nodes)['total'] == 0                  # HCCS inside a server: optional
        pl = rp.plan(nodes, intra_node=True)
        assert pl['layout'] == 'single' and pl['total'] == 8  # ring of 8 ports
        srcs = sorted(x['src_device'] for x in pl['pings'])
        dsts = sorted(x['dst_device'] for x in pl['pings'])
        assert srcs == dsts == list(range(8))
        assert rp.plan(nodes, pairing='full_mesh', intra_node=True)['total'] == 28

    def test_single_layout_two_nodes(self):
        nodes = [a2_node('s0', 'single', 0), a2_node('s1', 'single', 1)]
        pl = rp.plan(nodes)
        assert set(x['kind'] for x in pl['pings']) == {'cluster'} and pl['total'] == 8
        pl = rp.plan(nodes, intra_node=True)
        kinds = sorted(set(x['kind'] for x in pl['pings']))
        assert kinds == ['cluster', 'intra'] and pl['total'] == 8 + 2 * 8

    def test_one_node_without_pairs_warns(self):
        nodes = [a2_node('s0', 'single', 0)]
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, {})
        reach = [c for c in rep['checks'] if c['name'] == 'reachability'][0]
        assert rep['ok'] and reach['status'] == 'warn' and 'no pairs planned' in reach['summary']

    def test_a3_never_pings_sibling_dies_or_across_planes(self):
        nodes = [a3_node('s0', 'single', 0), a3_node('s1', 'single', 1)]
        for pairing in ('same_index', 'full_mesh'):
            pl = rp.plan(nodes, pairing=pairing, intra_node=True)
            assert pl['generations'] == {'s0': 'a3', 's1': 'a3'}
            for x in pl['pings']:
                assert x['src_device'] % 2 == x['dst_device'] % 2
                assert not (x['src_host'] == x['dst_host']
                            and x['src_device'] // 2 == x['dst_device'] // 2)
            assert pl['excluded']['sibling_dies'] == 16
        pl = rp.plan(nodes, pairing='full_mesh')
        assert pl['excluded']['cross_plane'] == 128 and pl['total'] == 128

    def test_down_or_ipless_ports_are_skipped_not_pinged(self):
        nodes = cluster(1, 1)
        nodes[1]['ports'][3]['link'] = 'DOWN'
        nodes[0]['ports'][5]['address'] = None
        pl = rp.plan(nodes)
        assert pl['total'] == 6
        reasons = sorted(s['reason'] for s in pl['skipped'])
        assert reasons == ['d00:dev3 link is DOWN', 'p00:dev5 has no device IP']

    def test_both_directions(self):
        pl = rp.plan(cluster(1, 1), both_directions=True)
        assert pl['total'] == 16
        assert pl['load'] == {'d00': 8, 'p00': 8}

    @pytest.mark.parametrize('nodes,msg', [
        ([a2_node('x', 'single', 0), a2_node('y', 'prefill', 1)], 'mix'),
        ([a2_node('x', 'prefill', 0)], 'both'),
        ([{'host': 'x', 'role': 'decode', 'ports': []}], 'no NPU ports'),
        ([{'host': 'x', 'role': 'worker', 'ports': []}], 'role'),
    ])
    def test_bad_input(self, nodes, msg):
        with pytest.raises(rp.PlanError, match=msg):
            rp.plan(nodes)

    def test_deterministic(self):
        a = rp.plan(cluster(3, 5))
        b = rp.plan(list(reversed(cluster(3, 5))))
        assert a['pings'] == b['pings']


class TestEvaluate:
    def test_healthy_cluster_passes(self):
        nodes = cluster(2, 2)
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        assert rep['ok'], rp.failure_lines(rep)
        assert rep['vlan']['verdict'] == 'same' and rep['vlan']['vlan'] == 100
        assert rep['vlan']['evidence'] == ['lldp_pvid', 'subnet:pass', 'reachability:pass']
        assert rep['matrix']['p00']['d00'] == rep['matrix']['d00']['p00'] == {'ok': 8, 'total': 8}
        assert rep['matrix']['p00']['p00'] == {'ok': 0, 'total': 0}
        assert rp.failure_lines(rep) == []

    def test_no_pvid_rests_on_subnet_and_reachability(self):
        nodes = [a2_node('p', 'prefill', 0, pvid=None), a2_node('d', 'decode', 1, pvid=None)]
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        assert rep['ok']
        assert rep['vlan']['evidence'] == ['subnet:pass', 'reachability:pass']
        assert 'rests on the subnet plan and the reachability mesh only' in rep['vlan']['basis']
        rep = rp.evaluate(nodes, pl, all_ok(pl), require_pvid=True)
        assert not rep['ok']

    def test_port_in_other_vlan_named(self):
        nodes = cluster(1, 1)
        nodes[1]['ports'][3]['lldp']['pvid'] = 200
        pl = rp.plan(nodes)
        res = all_ok(pl)
        for lst in res.values():
            for r in lst:
                if 'd00:dev3' in r['id']:
                    r.update(ok=False, state='loss', received=0, transmitted=3, message='0 of 3')
        rep = rp.evaluate(nodes, pl, res)
        assert not rep['ok'] and rep['vlan']['verdict'] == 'different'
        vlan = [c for c in rep['checks'] if c['name'] == 'vlan'][0]
        assert [p['port'] for p in vlan['problems']] == ['d00:dev3']
        assert 'PVID 200' in vlan['problems'][0]['message']
        (pair,) = rep['failed_pairs']
        assert set([pair['src'], pair['dst']]) == {'p00:dev3', 'd00:dev3'}
        assert 'different VLANs' in pair['hint']
        assert set([pair['src_vlan'], pair['dst_vlan']]) == {100, 200}
        text = '\n'.join(rp.failure_lines(rep))
        assert 'd00:dev3' in text and 'p00:dev3' in text

    def test_expected_vlan(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl), vlan=300)
        vlan = [c for c in rep['checks'] if c['name'] == 'vlan'][0]
        assert len(vlan['problems']) == 16 and 'expected 300' in vlan['problems'][0]['message']

    def test_link_down_named_and_pair_skipped(self):
        nodes = cluster(1, 1)
        nodes[0]['ports'][6]['link'] = 'DOWN'
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        link = [c for c in rep['checks'] if c['name'] == 'link'][0]
        assert link['status'] == 'fail' and [p['port'] for p in link['problems']] == ['p00:dev6']
        (pair,) = rep['failed_pairs']
        assert pair['state'] == 'skipped' and pair['src_link'] == 'DOWN'
        assert 'link DOWN on p00:dev6' in pair['hint']
        assert rep['matrix']['p00']['d00'] == {'ok': 7, 'total': 8}

    def test_duplicate_ip_named(self):
        nodes = cluster(1, 1)
        nodes[1]['ports'][2]['address'] = nodes[0]['ports'][2]['address']
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        addr = [c for c in rep['checks'] if c['name'] == 'addresses'][0]
        assert sorted(p['port'] for p in addr['problems']) == ['d00:dev2', 'p00:dev2']
        (msg,) = [p['message'] for p in addr['problems'] if p['port'] == 'd00:dev2']
        assert 'duplicate device IP 10.20.0.3: also used by p00:dev2' in msg
        assert not rep['ok']

    def test_a2_port_in_other_subnet(self):
        nodes = cluster(1, 2)
        nodes[2]['ports'][4]['address'] = '10.21.0.5'
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert [p['port'] for p in sub['problems']] == ['d01:dev4']
        assert rep['vlan']['verdict'] == 'not established'

    def test_planned_subnet(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        assert rp.evaluate(nodes, pl, all_ok(pl), subnets=['10.20.0.0/24'])['ok']
        rep = rp.evaluate(nodes, pl, all_ok(pl), subnets=['10.20.0.0/16'])
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert len(sub['problems']) == 16 and 'netmask' in sub['problems'][0]['message']
        rep = rp.evaluate(nodes, pl, all_ok(pl), subnets=['10.99.0.0/16'])
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert 'outside the planned subnets' in sub['problems'][0]['message']

    def test_a3_siblings_in_one_subnet_fail(self):
        nodes = [a3_node('s0', 'single', 0), a3_node('s1', 'single', 1)]
        pl = rp.plan(nodes)
        assert rp.evaluate(nodes, pl, all_ok(pl))['ok']
        bad = copy.deepcopy(nodes)
        bad[0]['ports'][5]['address'] = '10.30.0.77'   # die 1 of NPU 2 moved to the die-0 subnet
        rep = rp.evaluate(bad, rp.plan(bad), all_ok(rp.plan(bad)))
        msgs = [p['message'] for c in rep['checks'] if c['name'] == 'subnet' for p in c['problems']]
        assert any('die 0 and die 1 of NPU 2' in m for m in msgs)
        assert any('die 1 plane' in m for m in msgs)

    def test_missing_result_fails(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        res = all_ok(pl)
        res['d00'] = []
        rep = rp.evaluate(nodes, pl, res)
        assert not rep['ok'] and all(p['state'] == 'missing' for p in rep['failed_pairs'])

    def test_facts_errors_and_conf_and_tls(self):
        nodes = cluster(1, 1)
        nodes[0]['ports'][0]['errors'] = [{'command': 'lldp', 'message': 'cannot parse'}]
        nodes[0]['ports'][1]['conf_mismatch'] = [
            {'key': 'address', 'running': '10.20.0.2', 'hccn_conf': '10.20.0.99'}]
        nodes[1]['ports'][7]['tls'] = {'enabled': True}
        pl = rp.plan(nodes)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        failing = dict((c['name'], [p['port'] for p in c['problems']]) for c in rep['checks']
                       if c['status'] == 'fail')
        assert failing == {'facts': ['p00:dev0'], 'hccn_conf': ['p00:dev1'], 'tls': ['d00:dev7']}

    def test_hints(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        res = all_ok(pl)
        first = list(itertools.chain(*res.values()))
        first[0].update(ok=False, state='busy', message='busy')
        first[1].update(ok=False, state='loss', received=2, transmitted=3, message='2 of 3')
        first[2].update(ok=False, state='loss', received=0, transmitted=3, unreachable=3)
        rep = rp.evaluate(nodes, pl, res)
        hints = [p['hint'] for p in rep['failed_pairs']]
        assert 'busy' in hints[0] and 'partial loss' in hints[1] and 'ARP' in hints[2]

    def test_markdown(self):
        nodes = cluster(1, 1)
        nodes[1]['ports'][3]['link'] = 'DOWN'
        pl = rp.plan(nodes)
        md = rp.markdown(rp.evaluate(nodes, pl, all_ok(pl)))
        assert 'Result: **FAIL**' in md
        assert '| node \\ node | d00 | p00 |' in md
        assert '| d00 | - | 7/8 ! |' in md     # one pair of the 8 not pinged
        assert '| p00 | 7/8 ! | - |' in md
        assert 'd00:dev3' in md


class TestFlaky:
    def test_flaky_pair_is_a_warning_not_a_failure(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        res = all_ok(pl)
        first = list(itertools.chain(*res.values()))[0]
        first.update(flaky=True, first_try={'state': 'loss', 'received': 2, 'transmitted': 3})
        rep = rp.evaluate(nodes, pl, res)
        reach = [c for c in rep['checks'] if c['name'] == 'reachability'][0]
        assert rep['ok'] and reach['status'] == 'warn' and rep['vlan']['verdict'] == 'same'
        assert reach['problems'][0]['port'] == first['id']
        assert '2 of 3 received' in reach['problems'][0]['message']
        assert '| reachability | WARN |' in rp.markdown(rep)

    def test_failure_lines_name_pairs_not_warnings(self):
        nodes = cluster(1, 1)
        pl = rp.plan(nodes)
        res = all_ok(pl)
        rows = list(itertools.chain(*res.values()))
        rows[0].update(flaky=True, first_try={'state': 'loss', 'received': 0, 'transmitted': 3})
        rows[1].update(ok=False, state='loss', received=0, transmitted=3, message='0 of 3')
        lines = rp.failure_lines(rp.evaluate(nodes, pl, res))
        assert lines[0].startswith('reachability: 7 of 8 planned pings succeeded')
        src, dst = rows[1]['id'].split('>')
        assert any(l.startswith('pair %s (' % src) and dst in l for l in lines)
        src, dst = rows[0]['id'].split('>')
        assert not any(src in l and dst in l for l in lines)


# ---- address plans with several subnets --------------------------------------------------------

def four_plane_node(host, role, index):
    """A2 with one subnet per switch plane: devices i and i+4 share 10.(20+i%4).0.0/16."""
    return {'host': host, 'role': role,
            'ports': [port(d, '10.%d.%d.%d' % (20 + d % 4, index, d // 4 + 1), netmask='255.255.0.0',
                           pvid=100 + d % 4) for d in range(8)]}


FOUR_PLANES = {'devices': dict((d, {'subnet': '10.%d.0.0/16' % (20 + d % 4),
                                    'netdetect': '10.%d.255.254' % (20 + d % 4)})
                               for d in range(8))}


class TestAddressPlan:
    def nodes(self):
        return [four_plane_node('p0', 'prefill', 0), four_plane_node('p1', 'prefill', 1),
                four_plane_node('d0', 'decode', 2)]

    @pytest.mark.parametrize('given', [FOUR_PLANES, None])
    def test_four_planes_pass_given_or_derived(self, given):
        nodes = self.nodes()
        pl = rp.plan(nodes, pairing='full_mesh', address_plan_data=given)
        # full mesh pairs only ports of one plane: 2 x 2 per plane, 4 planes, 2 P-D node pairs
        assert pl['total'] == 2 * 4 * 4 and pl['excluded']['cross_plane'] == 2 * (64 - 16)
        assert all((x['src_device'] - x['dst_device']) % 4 == 0 for x in pl['pings'])
        assert [p['devices'] for p in pl['address_plan']['planes']] == [[0, 4], [1, 5], [2, 6], [3, 7]]
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        assert rep['ok'], rp.failure_lines(rep)
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert '4 planes' in sub['summary'] and '10.22.0.0/16 devices 2,6' in sub['summary']
        # one VLAN per plane (PVID 100..103) is accepted
        assert rep['vlan']['verdict'] == 'same' and rep['vlan']['plane_vlans']['10.23.0.0/16'] == 103

    def test_port_in_the_wrong_plane_fails_with_its_name(self):
        nodes = self.nodes()
        nodes[1]['ports'][2]['address'] = '10.20.1.9'     # p1:dev2 moved into the plane of 0 and 4
        pl = rp.plan(nodes, address_plan_data=FOUR_PLANES)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert [p['port'] for p in sub['problems']] == ['p1:dev2']
        assert 'in the wrong plane' in sub['problems'][0]['message']
        assert 'devices 0,4' in sub['problems'][0]['message']
        assert not rep['ok'] and rep['vlan']['verdict'] == 'not established'
        assert any('p1:dev2' in line for line in rp.failure_lines(rep))

    def test_per_node_address_map(self):
        nodes = self.nodes()
        given = dict(FOUR_PLANES, addresses={'p0': {'0': '10.20.0.1', 1: '10.21.0.7'}})
        pl = rp.plan(nodes, address_plan_data=given)
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert [(p['port'], p['message']) for p in sub['problems']] == [
            ('p0:dev1', 'device IP 10.21.0.1, the plan says 10.21.0.7')]

    @pytest.mark.parametrize('given, message', [
        ({'devices': {0: {'subnet': '10.20.0.0'}}}, 'roce_address_plan.devices[0].subnet'),
        ({'devices': {'x': {'subnet': '10.20.0.0/16'}}}, 'device \'x\''),
        ({'devices': {0: {'subnet': '10.20.0.0/16', 'gateway': '10.21.0.1'}}}, 'outside the subnet'),
        ({'devices': {0: '10.20.0.0/16'}, 'addresses': {'p0': {0: '10.30.0.1'}}},
         "outside dev0's subnet"),
        ({'devices': {0: '10.20.0.0/16'}, 'addresses': {'p0': {1: '10.20.0.1'}}},
         'device 1 has no subnet'),
        ({'subnets': []}, 'needs a "devices" mapping'),
    ])
    def test_bad_plans_name_the_entry(self, given, message):
        with pytest.raises(rp.PlanError, match=re.escape(message)):
            rp.plan(self.nodes(), address_plan_data=given)

    def test_a3_derived_plan_is_the_die_planes(self):
        nodes = [a3_node('s0', 'single', 0), a3_node('s1', 'single', 1)]
        pl = rp.plan(nodes, pairing='full_mesh')
        assert [p['subnet'] for p in pl['address_plan']['planes']] == ['10.30.0.0/24', '10.30.1.0/24']
        rep = rp.evaluate(nodes, pl, all_ok(pl))
        sub = [c for c in rep['checks'] if c['name'] == 'subnet'][0]
        assert sub['summary'] == 'subnet plan holds: die 0: 10.30.0.0/24, die 1: 10.30.1.0/24'

    def test_a3_given_plan_with_die_planes(self):
        nodes = [a3_node('s0', 'single', 0), a3_node('s1', 'single', 1)]
        given = {'devices': dict((d, '10.30.%d.0/24' % (d % 2)) for d in range(16))}
        pl = rp.plan(nodes, pairing='full_mesh', address_plan_data=given)
        assert pl['total'] == 128 and pl['excluded']['cross_plane'] == 128
        assert rp.evaluate(nodes, pl, all_ok(pl))['ok']
        bad = copy.deepcopy(nodes)
        bad[1]['ports'][3]['address'] = '10.30.0.99'   # die 1 of NPU 1 in the die-0 plane
        rep = rp.evaluate(bad, rp.plan(bad, address_plan_data=given), all_ok(pl))
        msgs = dict((p['port'], p['message']) for c in rep['checks'] if c['name'] == 'subnet'
                    for p in c['problems'])
        assert 'the port is in the wrong plane' in msgs['s1:dev3']
