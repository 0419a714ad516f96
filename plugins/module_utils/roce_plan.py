# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RoCE check of an Ascend cluster: which NPU ports ping which, and the verdicts.

Input is, per node, its group role and the ``ports`` list of ``ansible_facts.ascend_hccn``
(module ``ascend.mindie.hccn_facts``). Nothing here runs a command; it is pure data in, data out,
so the control node can plan and judge the whole cluster in one place.

Vocabulary: a *port* is ``<host>:dev<N>``; a *pair* is two ports that must talk; the *source*
runs ``hccn_tool -i N -ping`` towards the other end. On A3 the two dies of one NPU (devices 2k and
2k+1) are in different subnets by plan and never ping each other; the *plane* of a port is its die
index (A2: one plane).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections import Counter, OrderedDict, deque

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    address_in_network,
    is_ipv4,
    net_health_meaning,
    netmask_to_prefix,
    network_of,
)

ROLES = ('prefill', 'decode', 'single')
SCOPES = ('pd', 'cluster')
PAIRINGS = ('same_index', 'full_mesh')
GENERATIONS = ('auto', 'a2', 'a3')


class PlanError(ValueError):
    """Input the planner cannot work with (message names the node and the fix)."""


def port_name(host, device):
    return '%s:dev%d' % (host, int(device))


# ---------------------------------------------------------------------------------------------
# input normalisation


def normalise_nodes(nodes):
    """[{host, role, ports}] -> OrderedDict host -> {'role', 'ports': {device: port}}."""
    out = OrderedDict()
    for node in sorted(nodes, key=lambda n: n['host']):
        host = node['host']
        if node.get('role') not in ROLES:
            raise PlanError('node %s: role %r is not one of %s' % (host, node.get('role'), ROLES))
        if host in out:
            raise PlanError('node %s listed twice' % host)
        ports = OrderedDict()
        for port in sorted(node.get('ports') or [], key=lambda p: int(p['device'])):
            ports[int(port['device'])] = port
        if not ports:
            raise PlanError('node %s: no NPU ports in its ascend_hccn facts' % host)
        out[host] = {'role': node['role'], 'ports': ports}
    roles = set(n['role'] for n in out.values())
    if 'single' in roles and len(roles) > 1:
        raise PlanError('nodes mix the single layout with prefill/decode groups: %s'
                        % ', '.join('%s=%s' % (h, n['role']) for h, n in out.items()))
    if roles & {'prefill', 'decode'} and roles != {'prefill', 'decode'}:
        raise PlanError('multi layout needs nodes in both mindie_prefill and mindie_decode; '
                        'found only %s' % sorted(roles))
    return out


def node_generation(ports, forced='auto'):
    """A3 nodes expose 16 devices (two dies per NPU); A2 nodes 8."""
    if forced != 'auto':
        return forced
    return 'a3' if len(ports) > 8 or max(ports) >= 8 else 'a2'


def plane_of(device, generation):
    return int(device) % 2 if generation == 'a3' else 0


def siblings(dev_a, dev_b, generation):
    """Die 0 and die 1 of one A3 NPU (devices 2k, 2k+1)."""
    return generation == 'a3' and dev_a != dev_b and int(dev_a) // 2 == int(dev_b) // 2


def _skip_reason(host, port):
    if not port.get('address'):
        return '%s has no device IP' % port_name(host, port['device'])
    if port.get('link') is not None and port.get('link') != 'UP':
        return '%s link is %s' % (port_name(host, port['device']), port.get('link'))
    return None


# ---------------------------------------------------------------------------------------------
# address plan: which subnet (plane) every device index belongs to


def _cidr(value, what):
    """'10.20.0.0/16' -> normalised network string; PlanError naming ``what`` otherwise."""
    net, sep, prefix = str(value or '').partition('/')
    if not sep or not is_ipv4(net) or not prefix.isdigit() or not 0 < int(prefix) <= 32:
        raise PlanError('%s: %r is not a subnet a.b.c.d/len (e.g. 10.20.0.0/16)' % (what, value))
    mask = '.'.join(str((0xFFFFFFFF << (32 - int(prefix)) >> s) & 0xFF) for s in (24, 16, 8, 0))
    return network_of(net, mask)


def _device_key(value, what):
    try:
        device = int(value)
    except (TypeError, ValueError):
        device = -1
    if device < 0:
        raise PlanError('%s: device %r is not a physical device id (0, 1, ...)' % (what, value))
    return device


def _ip(value, what):
    if value is None:
        return None
    if not is_ipv4(str(value)):
        raise PlanError('%s: %r is not an IPv4 address' % (what, value))
    return str(value)


def normalise_address_plan(given, var='roce_address_plan'):
    """The operator's plan -> {'devices': {d: {subnet, netmask, netdetect, gateway}},
    'addresses': {host: {d: ip}}}, or None when not given.

    ``devices`` maps a physical device id to its plane: ``subnet`` (CIDR, required),
    ``netdetect`` and ``gateway`` (optional, in that subnet). ``addresses`` (optional) maps a
    node to ``{device: ip}``; every address must lie in its device's subnet. Keys may be ints
    or strings (YAML and JSON differ); errors name the variable and the entry.
    """
    if not given:
        return None
    if not isinstance(given, dict) or not given.get('devices'):
        raise PlanError('%s needs a "devices" mapping of device id -> {subnet: a.b.c.d/len, '
                        'netdetect: ip, gateway: ip}, got %r' % (var, given))
    unknown = set(given) - {'devices', 'addresses'}
    if unknown:
        raise PlanError('%s: unknown keys %s (known: devices, addresses)' % (var, sorted(unknown)))
    raw = given['devices']
    if isinstance(raw, list):
        raw = OrderedDict((entry.get('device') if isinstance(entry, dict) else None, entry)
                          for entry in raw)
    if not isinstance(raw, dict):
        raise PlanError('%s.devices must map device id -> {subnet: ...}' % var)
    devices = OrderedDict()
    for key, entry in raw.items():
        what = '%s.devices[%s]' % (var, key)
        device = _device_key(key, what)
        if isinstance(entry, str):
            entry = {'subnet': entry}
        if not isinstance(entry, dict) or 'subnet' not in entry:
            raise PlanError('%s: needs a subnet (a.b.c.d/len), got %r' % (what, entry))
        extra = set(entry) - {'device', 'subnet', 'netdetect', 'gateway'}
        if extra:
            raise PlanError('%s: unknown keys %s (known: subnet, netdetect, gateway)'
                            % (what, sorted(extra)))
        subnet = _cidr(entry['subnet'], what + '.subnet')
        prefix = int(subnet.split('/')[1])
        item = OrderedDict([('subnet', subnet), ('netmask', _prefix_mask(prefix))])
        for name in ('netdetect', 'gateway'):
            value = _ip(entry.get(name), '%s.%s' % (what, name))
            if value is not None and not address_in_network(value, subnet):
                raise PlanError('%s.%s: %s is outside the subnet %s' % (what, name, value, subnet))
            item[name] = value
        devices[device] = item
    addresses = OrderedDict()
    for host, mapping in sorted((given.get('addresses') or {}).items()):
        if not isinstance(mapping, dict):
            raise PlanError('%s.addresses[%s] must map device id -> address' % (var, host))
        node = OrderedDict()
        seen = {}
        for key, value in sorted(mapping.items(), key=lambda kv: int(kv[0]) if str(
                kv[0]).isdigit() else -1):
            what = '%s.addresses[%s][%s]' % (var, host, key)
            device = _device_key(key, what)
            address = _ip(value, what)
            if device not in devices:
                raise PlanError('%s: device %d has no subnet in %s.devices' % (what, device, var))
            if not address_in_network(address, devices[device]['subnet']):
                raise PlanError('%s: %s is outside dev%d\'s subnet %s' % (
                    what, address, device, devices[device]['subnet']))
            if address in seen:
                raise PlanError('%s: %s is also planned for dev%d' % (what, address, seen[address]))
            seen[address] = device
            node[device] = address
        addresses[str(host)] = node
    planned = {}
    for host, node in addresses.items():
        for device, address in node.items():
            if address in planned:
                raise PlanError('%s.addresses: %s planned for both %s and %s' % (
                    var, address, planned[address], port_name(host, device)))
            planned[address] = port_name(host, device)
    return OrderedDict([('devices', devices), ('addresses', addresses)])


def _prefix_mask(prefix):
    value = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
    return '.'.join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


def derive_address_plan(nodes, gens):
    """Plan from the ports themselves: every device index gets the subnet most of its ports
    across the nodes are in. A tie (two nodes that disagree) goes to the subnet most common in
    the device's default plane (A2: all ports; A3: its die), so one stray port cannot move a
    whole index; with more planes than that, give the plan to say which port is right."""
    by_device = OrderedDict()
    by_default = {}
    for h, n in nodes.items():
        for d, p in n['ports'].items():
            net = _net(p)
            by_device.setdefault(d, Counter())
            if net:
                by_device[d][net] += 1
                by_default.setdefault(plane_of(d, gens[h]), Counter())[net] += 1
    devices = OrderedDict()
    for d in sorted(by_device):
        counter = by_device[d]
        if not counter:
            continue
        default = by_default.get(plane_of(d, _gen_of_device(nodes, gens, d)), Counter())
        subnet = sorted(counter.items(), key=lambda kv: (-kv[1], -default[kv[0]], kv[0]))[0][0]
        devices[d] = OrderedDict([('subnet', subnet),
                                  ('netmask', _prefix_mask(int(subnet.split('/')[1]))),
                                  ('netdetect', None), ('gateway', None)])
    return OrderedDict([('devices', devices), ('addresses', OrderedDict())])


def _gen_of_device(nodes, gens, device):
    for h, n in nodes.items():
        if device in n['ports']:
            return gens[h]
    return 'a2'


def address_plan(nodes, gens, given=None):
    """The plan the stage works with: the operator's (``source`` given) or derived from the
    ports, plus ``planes``: subnet -> device ids, the groups of ports that can reach each
    other."""
    plan_ = normalise_address_plan(given) if given else None
    source = 'given' if plan_ else 'derived'
    if plan_ is None:
        plan_ = derive_address_plan(nodes, gens)
    planes = OrderedDict()
    for d, entry in plan_['devices'].items():
        planes.setdefault(entry['subnet'], []).append(d)
    plan_['source'] = source
    plan_['planes'] = planes
    return plan_


def plane_key(ap, host, device, gens):
    """The plane a port is planned in: its device's subnet; ports of a device the plan does not
    cover keep the generation's default plane (A2 one, A3 one per die)."""
    entry = ap['devices'].get(int(device))
    if entry:
        return entry['subnet']
    return 'default-plane-%d' % plane_of(device, gens[host])


def address_plan_out(ap):
    """JSON-safe form of the plan (device ids as list entries / string keys)."""
    return OrderedDict([
        ('source', ap['source']),
        ('devices', [OrderedDict([('device', d)] + list(e.items()))
                     for d, e in ap['devices'].items()]),
        ('addresses', OrderedDict((h, OrderedDict((str(d), a) for d, a in m.items()))
                                  for h, m in ap['addresses'].items())),
        ('planes', [OrderedDict([('subnet', net), ('devices', devs)])
                    for net, devs in ap['planes'].items()]),
    ])


def address_plan_in(data):
    """Inverse of address_plan_out (the plan comes back through Ansible as JSON)."""
    devices = OrderedDict()
    for entry in data.get('devices') or []:
        devices[int(entry['device'])] = OrderedDict(
            (k, entry.get(k)) for k in ('subnet', 'netmask', 'netdetect', 'gateway'))
    addresses = OrderedDict((h, OrderedDict((int(d), a) for d, a in m.items()))
                            for h, m in (data.get('addresses') or {}).items())
    planes = OrderedDict((p['subnet'], [int(d) for d in p['devices']])
                         for p in data.get('planes') or [])
    return OrderedDict([('devices', devices), ('addresses', addresses),
                        ('source', data.get('source')), ('planes', planes)])


# ---------------------------------------------------------------------------------------------
# planning


def plan(nodes, scope='pd', pairing='same_index', generation='auto', both_directions=False,
         intra_node=False, address_plan_data=None):
    """Pairs to ping and who pings, balanced so the busiest node has as few pings as possible.

    scope: ``pd`` = every prefill node with every decode node (single layout: all nodes of the
    cluster with each other and within themselves, as P and D share the nodes); ``cluster`` =
    every node with every other node and within itself.
    intra_node: also pair ports of one node (single layout or ``cluster`` scope). Within a server
    the NPUs talk over HCCS; a RoCE ping between two ports of one node only proves their switch
    ports, so it is optional.
    pairing: ``same_index`` = port i with port i of every peer node (within one node: each port
    with the next port of its plane); ``full_mesh`` = every port with every port of the peer
    (same plane only).
    address_plan_data: the operator's address plan (see normalise_address_plan); without it the
    plan is derived from the ports. Ports pair only within one plane (subnet) of that plan.
    """
    if scope not in SCOPES:
        raise PlanError('scope %r is not one of %s' % (scope, SCOPES))
    if pairing not in PAIRINGS:
        raise PlanError('pairing %r is not one of %s' % (pairing, PAIRINGS))
    if generation not in GENERATIONS:
        raise PlanError('generation %r is not one of %s' % (generation, GENERATIONS))
    nodes = normalise_nodes(nodes)
    gens = OrderedDict((h, node_generation(n['ports'], generation)) for h, n in nodes.items())
    ap = address_plan(nodes, gens, address_plan_data)
    hosts = list(nodes)
    layout = 'single' if any(n['role'] == 'single' for n in nodes.values()) else 'multi'

    node_pairs = []
    intra = []
    if layout == 'multi' and scope == 'pd':
        p_nodes = [h for h in hosts if nodes[h]['role'] == 'prefill']
        d_nodes = [h for h in hosts if nodes[h]['role'] == 'decode']
        node_pairs = [(p, d) for p in p_nodes for d in d_nodes]
    else:
        node_pairs = [(a, b) for i, a in enumerate(hosts) for b in hosts[i + 1:]]
        intra = list(hosts) if intra_node else []

    excluded = Counter()
    candidates = []  # (host_a, dev_a, host_b, dev_b, kind)
    for a, b in node_pairs:
        kind = 'pd' if layout == 'multi' and {nodes[a]['role'], nodes[b]['role']} == {
            'prefill', 'decode'} else 'cluster'
        for dev_a in nodes[a]['ports']:
            if pairing == 'same_index':
                peers = [dev_a] if dev_a in nodes[b]['ports'] else []
            else:
                peers = list(nodes[b]['ports'])
            for dev_b in peers:
                if plane_key(ap, a, dev_a, gens) != plane_key(ap, b, dev_b, gens):
                    excluded['cross_plane'] += 1
                    continue
                candidates.append((a, dev_a, b, dev_b, kind))
    for h in intra:
        gen = gens[h]
        by_plane = OrderedDict()
        for dev in nodes[h]['ports']:
            by_plane.setdefault(plane_key(ap, h, dev, gens), []).append(dev)
        for devs in by_plane.values():
            if len(devs) < 2:
                continue
            if pairing == 'same_index':
                ring = [(devs[i], devs[(i + 1) % len(devs)]) for i in range(len(devs))]
                if len(devs) == 2:
                    ring = ring[:1]
            else:
                ring = [(x, y) for i, x in enumerate(devs) for y in devs[i + 1:]]
            for x, y in ring:
                if not siblings(x, y, gen):  # planes keep siblings apart; never ping them
                    candidates.append((h, x, h, y, 'intra'))
        excluded['sibling_dies'] += sum(1 for dev in nodes[h]['ports']
                                        if dev % 2 == 0 and siblings(dev, dev + 1, gen)
                                        and dev + 1 in nodes[h]['ports'])

    pairs = []
    skipped = []
    for a, dev_a, b, dev_b, kind in candidates:
        port_a = nodes[a]['ports'][dev_a]
        port_b = nodes[b]['ports'][dev_b]
        entry = OrderedDict([
            ('a_host', a), ('a_device', dev_a), ('a_address', port_a.get('address')),
            ('b_host', b), ('b_device', dev_b), ('b_address', port_b.get('address')),
            ('kind', kind), ('plane', plane_key(ap, a, dev_a, gens)),
        ])
        reason = _skip_reason(a, port_a) or _skip_reason(b, port_b)
        if reason:
            entry['reason'] = reason
            skipped.append(entry)
        else:
            pairs.append(entry)

    pings = _orient(pairs, both_directions)
    per_node = OrderedDict((h, []) for h in hosts)
    for ping in pings:
        per_node[ping['src_host']].append(OrderedDict([
            ('id', ping['id']), ('device', ping['src_device']), ('address', ping['dst_address']),
        ]))
    load = OrderedDict((h, len(v)) for h, v in per_node.items())
    busiest = max(hosts, key=lambda h: (load[h], h)) if hosts else None
    covered = set()
    for p in pings:
        covered.add((p['src_host'], p['src_device']))
        covered.add((p['dst_host'], p['dst_device']))
    uncovered = [port_name(h, d) for h in hosts for d in nodes[h]['ports']
                 if (h, d) not in covered]
    return OrderedDict([
        ('layout', layout), ('scope', scope), ('pairing', pairing),
        ('both_directions', bool(both_directions)), ('intra_node', bool(intra_node)),
        ('generations', gens),
        ('roles', OrderedDict((h, n['role']) for h, n in nodes.items())),
        ('pings', pings), ('skipped', skipped), ('excluded', dict(excluded)),
        ('per_node', per_node), ('load', load), ('busiest', busiest),
        ('max_load', load[busiest] if busiest else 0), ('total', len(pings)),
        ('uncovered_ports', uncovered),
        ('address_plan', address_plan_out(ap)),
    ])


def _ping(pair, reverse, index):
    a, b = ('b', 'a') if reverse else ('a', 'b')
    src, dst = port_name(pair[a + '_host'], pair[a + '_device']), port_name(
        pair[b + '_host'], pair[b + '_device'])
    return OrderedDict([
        ('id', '%s>%s' % (src, dst)), ('src', src), ('dst', dst),
        ('src_host', pair[a + '_host']), ('src_device', pair[a + '_device']),
        ('src_address', pair[a + '_address']),
        ('dst_host', pair[b + '_host']), ('dst_device', pair[b + '_device']),
        ('dst_address', pair[b + '_address']),
        ('kind', pair['kind']), ('plane', pair['plane']), ('index', index),
    ])


def _orient(pairs, both_directions):
    """Choose the pinging end of every pair so the largest per-node ping count is minimal.

    A ping loads only the source node's hccn_tool; the target answers in the NIC. Start with the
    end that has less to do, then reverse paths from the busiest nodes towards nodes with at
    least two pings less until none is left (no such path <=> max load is optimal).
    """
    if both_directions:
        out = []
        for i, pair in enumerate(pairs):
            out.append(_ping(pair, False, i))
            if pair['a_host'] != pair['b_host'] or pair['a_device'] != pair['b_device']:
                out.append(_ping(pair, True, i))
        return out

    load = Counter()
    reverse = [False] * len(pairs)
    edges = {}  # (src_host, dst_host) -> indices of pairs pinged that way (inter-node only)
    for i, pair in enumerate(pairs):
        a, b = pair['a_host'], pair['b_host']
        if a != b and (load[b], b) < (load[a], a):
            reverse[i] = True
        src, dst = (b, a) if reverse[i] else (a, b)
        load[src] += 1
        if src != dst:
            edges.setdefault((src, dst), []).append(i)

    while True:
        top = max(load.values()) if load else 0
        path = None
        for start in sorted(h for h in load if load[h] == top):
            path = _improving_path(start, top, load, edges)
            if path:
                break
        if not path:
            break
        for src, dst in zip(path, path[1:]):
            i = edges[(src, dst)].pop()
            if not edges[(src, dst)]:
                del edges[(src, dst)]
            reverse[i] = not reverse[i]
            edges.setdefault((dst, src), []).append(i)
        load[path[0]] -= 1
        load[path[-1]] += 1
    return [_ping(pair, reverse[i], i) for i, pair in enumerate(pairs)]


def _improving_path(start, top, load, edges):
    """BFS along source->target edges from ``start`` to a node with load <= top - 2."""
    out = {}
    for src, dst in edges:
        out.setdefault(src, []).append(dst)
    prev = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node != start and load[node] <= top - 2:
            path = [node]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return list(reversed(path))
        for nxt in sorted(out.get(node, ())):
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return None


# ---------------------------------------------------------------------------------------------
# verdicts


def _check(name, status, summary, evidence=None, problems=None):
    return OrderedDict([('name', name), ('status', status), ('summary', summary),
                        ('evidence', evidence or []), ('problems', problems or [])])


def _problem(port, message):
    return OrderedDict([('port', port), ('message', message)])


def evaluate(nodes, the_plan, results, accept_health=('Success',), subnets=None, vlan=None,
             require_pvid=False, check_conf=True, check_tls=True, missing_nodes=None):
    """Judge facts, plan and ping results -> report dict (``ok``, ``checks``, ``vlan``,
    ``failed_pairs``, ``matrix``). ``results`` maps a node to the list roce_ping returned;
    ``missing_nodes`` maps nodes of the groups that gave no facts to the reason."""
    nodes = normalise_nodes(nodes)
    gens = the_plan['generations']
    ports = OrderedDict()
    for h, n in nodes.items():
        for d, p in n['ports'].items():
            ports[port_name(h, d)] = (h, d, p)
    checks = []
    missing = OrderedDict(sorted((missing_nodes or {}).items()))
    checks.append(_check(
        'nodes', 'fail' if missing else 'pass',
        '%d nodes gave no hccn facts' % len(missing) if missing
        else 'hccn facts from all %d nodes' % len(nodes), ['ascend.mindie.hccn_facts'],
        [_problem(h, 'no hccn facts: %s' % why) for h, why in missing.items()]))

    # facts the tool could not give
    problems = []
    for name, (h, d, p) in ports.items():
        for err in p.get('errors') or []:
            problems.append(_problem(name, 'hccn_tool -%s failed: %s' % (
                err.get('command'), err.get('message'))))
    checks.append(_check('facts', 'fail' if problems else 'pass',
                         '%d hccn_tool queries failed' % len(problems) if problems
                         else 'all hccn_tool queries answered', ['hccn_tool'], problems))

    # links and health
    problems = [_problem(n, 'link is %s (hccn_tool -i %d -link -g); check cable, optics and '
                            'the switch port' % (p.get('link') or 'unknown', d))
                for n, (h, d, p) in ports.items() if p.get('link') != 'UP']
    checks.append(_check('link', 'fail' if problems else 'pass',
                         '%d of %d ports not UP' % (len(problems), len(ports)) if problems
                         else 'all %d ports UP' % len(ports), ['hccn_tool -link -g'], problems))
    accept = list(accept_health)
    problems = [_problem(n, 'net health is %r%s, expected one of %s (hccn_tool -i %d '
                            '-net_health -g; detect IP %s)'
                         % (p.get('net_health'), _meaning(p.get('net_health')), accept, d,
                            p.get('netdetect')))
                for n, (h, d, p) in ports.items() if p.get('net_health') not in accept]
    checks.append(_check('health', 'fail' if problems else 'pass',
                         '%d ports unhealthy' % len(problems) if problems
                         else 'all ports report %s' % ' or '.join(accept),
                         ['hccn_tool -net_health -g'], problems))

    # addresses
    problems = []
    by_ip = OrderedDict()
    for n, (h, d, p) in ports.items():
        if not p.get('address'):
            problems.append(_problem(n, 'no device IP (hccn_tool -i %d -ip -g); set it with '
                                        'hccn_tool -i %d -ip -s address <ip> netmask <mask>'
                                     % (d, d)))
        else:
            by_ip.setdefault(p['address'], []).append(n)
    duplicates = OrderedDict((ip, names) for ip, names in by_ip.items() if len(names) > 1)
    for ip, names in duplicates.items():
        for n in names:
            problems.append(_problem(n, 'duplicate device IP %s: also used by %s' % (
                ip, ', '.join(x for x in names if x != n))))
    checks.append(_check('addresses', 'fail' if problems else 'pass',
                         '%d duplicate device IPs, %d ports without IP' % (
                             len(duplicates), sum(1 for _h, _d, p in ports.values()
                                                  if not p.get('address')))
                         if problems else 'all %d device IPs set and unique' % len(ports),
                         ['hccn_tool -ip -g'], problems))

    ap = (address_plan_in(the_plan['address_plan']) if the_plan.get('address_plan')
          else address_plan(nodes, gens))
    subnet_check = _subnet_check(ports, gens, subnets, ap)
    checks.append(subnet_check)

    if check_conf:
        problems = []
        for n, (h, d, p) in ports.items():
            if p.get('conf') is None:
                problems.append(_problem(n, 'no address_%d entry in /etc/hccn.conf; MindIE Server '
                                            'pods mount that file, and the driver re-applies it at '
                                            'boot' % d))
            for mm in p.get('conf_mismatch') or []:
                problems.append(_problem(n, '%s running %s but /etc/hccn.conf has %s_%d=%s '
                                            '(set it again with hccn_tool -s so both agree)'
                                         % (mm['key'], mm['running'], mm['key'], d,
                                            mm['hccn_conf'])))
        checks.append(_check('hccn_conf', 'fail' if problems else 'pass',
                             '%d ports differ from /etc/hccn.conf' % len(
                                 set(x['port'] for x in problems)) if problems
                             else '/etc/hccn.conf matches the running addresses',
                             ['/etc/hccn.conf', 'hccn_tool -ip -g'], problems))

    if check_tls:
        tls = OrderedDict((n, p['tls']['enabled']) for n, (h, d, p) in ports.items()
                          if p.get('tls'))
        values = Counter(tls.values())
        if len(values) > 1:
            major = values.most_common(1)[0][0]
            problems = [_problem(n, 'TLS switch %s while %d other ports have it %s; TLS-enabled '
                                    'and TLS-disabled devices cannot link'
                                 % (_onoff(v), values[major], _onoff(major)))
                        for n, v in tls.items() if v != major]
            checks.append(_check('tls', 'fail', 'TLS switch differs between ports',
                                 ['hccn_tool -tls -g'], problems))
        elif tls:
            checks.append(_check('tls', 'pass', 'TLS switch %s on all %d ports reporting it'
                                 % (_onoff(list(values)[0]), len(tls)), ['hccn_tool -tls -g']))

    ping_rows = _join_results(the_plan, results)
    reach = _reachability_check(the_plan, ping_rows)
    checks.append(reach)
    vlan_info, vlan_check = _vlan_check(
        ports, vlan, require_pvid, subnet_check, reach,
        dict((n, plane_key(ap, h, d, gens)) for n, (h, d, p) in ports.items()))
    checks.append(vlan_check)

    failed = [_failed_pair(row, ports, duplicates) for row in ping_rows if not row['ok']]
    for skip in the_plan['skipped']:
        row = OrderedDict([
            ('src', port_name(skip['a_host'], skip['a_device'])),
            ('dst', port_name(skip['b_host'], skip['b_device'])),
            ('src_address', skip['a_address']), ('dst_address', skip['b_address']),
            ('state', 'skipped'), ('message', 'not pinged: %s' % skip['reason']),
            ('src_host', skip['a_host']), ('dst_host', skip['b_host']),
        ])
        failed.append(_failed_pair(row, ports, duplicates))

    ok = all(c['status'] != 'fail' for c in checks) and not failed
    return OrderedDict([
        ('ok', ok), ('checks', checks), ('vlan', vlan_info), ('failed_pairs', failed),
        ('matrix', _matrix(nodes, ping_rows, the_plan['skipped'])),
        ('plan', OrderedDict((k, the_plan[k]) for k in (
            'layout', 'scope', 'pairing', 'both_directions', 'intra_node', 'generations',
            'roles', 'load',
            'busiest', 'max_load', 'total', 'excluded', 'uncovered_ports'))),
        ('address_plan', address_plan_out(ap)),
    ])


def _meaning(word):
    text = net_health_meaning(word)
    return ' (%s)' % text if text else ''


def _onoff(value):
    return 'on' if value else 'off'


def _subnet_check(ports, gens, subnets, ap=None):
    """Every port in the subnet its plane has in the address plan (given or derived from the
    ports: A2 one or several planes, A3 one per die plane); the two dies of one A3 NPU in
    different subnets; with a per-node address map, every port at its planned address."""
    problems = []
    evidence = ['hccn_tool -ip -g']
    planned = list(subnets or [])
    for cidr in planned:
        net, _sep, prefix = cidr.partition('/')
        if not is_ipv4(net) or not prefix.isdigit() or int(prefix) > 32:
            return _check('subnet', 'fail', 'roce_subnets entry %r is not a.b.c.d/len' % cidr,
                          evidence, [])
    if planned:
        evidence.append('roce_subnets')
    if ap is None:
        nodes = OrderedDict()
        for n, (h, d, p) in ports.items():
            nodes.setdefault(h, {'ports': OrderedDict()})['ports'][d] = p
        ap = address_plan(nodes, gens)
    given = ap.get('source') == 'given'
    if given:
        evidence.append('roce_address_plan')
    members = Counter()
    located = OrderedDict()
    for n, (h, d, p) in ports.items():
        if not p.get('address') or not p.get('netmask'):
            continue
        try:
            net = network_of(p['address'], p['netmask'])
        except ValueError as exc:
            problems.append(_problem(n, str(exc)))
            continue
        located[n] = (h, d, net)
        members[plane_key(ap, h, d, gens)] += 1
        if planned:
            home = [c for c in planned if address_in_network(p['address'], c)]
            if not home:
                problems.append(_problem(n, 'device IP %s is outside the planned subnets %s'
                                         % (p['address'], ', '.join(planned))))
            elif net not in planned:
                problems.append(_problem(n, 'netmask %s (/%d) does not match the planned subnet '
                                            '%s' % (p['netmask'], netmask_to_prefix(p['netmask']),
                                                    home[0])))
    for n, (h, d, net) in located.items():
        entry = ap['devices'].get(d)
        if not entry:
            if given:
                problems.append(_problem(n, 'dev%d is in no plane of roce_address_plan.devices; '
                                            'add it with its subnet' % d))
            continue
        want = entry['subnet']
        address = ports[n][2]['address']
        if net != want:
            owner = [(sub, devs) for sub, devs in ap['planes'].items()
                     if address_in_network(address, sub) and d not in devs]
            if not given and _default_planes(ap, gens):
                what = 'die %d plane' % plane_of(d, gens[h]) if gens[h] == 'a3' else 'cluster'
                message = 'subnet %s differs from the %s subnet %s (%d ports)' % (
                    net, what, want, members[want])
            elif owner:
                message = ('device IP %s is in the plane %s of devices %s, but dev%d belongs to '
                           'the plane %s (devices %s): the port is in the wrong plane' % (
                               address, owner[0][0], _devs(owner[0][1]), d, want,
                               _devs(ap['planes'][want])))
            elif address_in_network(address, want):
                message = 'netmask %s (/%d) does not match the planned subnet %s of dev%d' % (
                    ports[n][2]['netmask'], netmask_to_prefix(ports[n][2]['netmask']), want, d)
            elif given:
                message = 'device IP %s (%s) is outside the planned subnet %s of dev%d' % (
                    address, net, want, d)
            else:
                message = 'subnet %s differs from the subnet %s of dev%d on the other nodes' % (
                    net, want, d)
            problems.append(_problem(n, message))
        planned_ip = ap['addresses'].get(h, {}).get(d)
        if planned_ip and planned_ip != address:
            problems.append(_problem(n, 'device IP %s, the plan says %s' % (address, planned_ip)))
    a3_nets = OrderedDict()
    for n, (h, d, net) in located.items():
        if gens[h] == 'a3':
            a3_nets[(h, d)] = (n, net)
    for (h, d), (n, net) in a3_nets.items():
        if d % 2 == 0 and (h, d + 1) in a3_nets and a3_nets[(h, d + 1)][1] == net:
            problems.append(_problem(n, 'die 0 and die 1 of NPU %d (%s, %s) share subnet %s; A3 '
                                        'needs them in different subnets or hccn_tool ping fails'
                                     % (d // 2, n, a3_nets[(h, d + 1)][0], net)))
    if problems:
        summary = '%d subnet problems' % len(problems)
    elif _default_planes(ap, gens):
        summary = 'subnet plan holds: %s' % ', '.join(
            '%s%s' % ('die %d: ' % (devs[0] % 2) if set(gens.values()) == {'a3'} else '', net)
            for net, devs in ap['planes'].items())
    else:
        summary = 'subnet plan holds (%s, %d planes): %s' % (
            ap.get('source') or 'derived', len(ap['planes']), '; '.join(
                '%s devices %s' % (net, _devs(devs)) for net, devs in ap['planes'].items()))
    return _check('subnet', 'fail' if problems else 'pass', summary, evidence, problems)


def _devs(devices):
    return ','.join(str(d) for d in devices)


def _default_planes(ap, gens):
    """The plan is the generation's default: A2 one subnet, A3 one per die (even/odd)."""
    planes = list(ap['planes'].values())
    kinds = set(gens.values())
    if kinds == {'a3'}:
        return len(planes) == 2 and all(len(set(d % 2 for d in devs)) == 1 for devs in planes)
    return len(planes) == 1


def _join_results(the_plan, results):
    """Match every planned ping to its result by id; a missing result is a failure."""
    by_id = {}
    for host_results in (results or {}).values():
        for res in host_results or []:
            if res.get('id') is not None:
                by_id[res['id']] = res
    rows = []
    for ping in the_plan['pings']:
        res = by_id.get(ping['id'])
        row = OrderedDict(ping)
        if res is None:
            row.update(state='missing', ok=False,
                       message='no result from %s (host unreachable or task failed)'
                       % ping['src_host'])
        else:
            for key in ('state', 'ok', 'transmitted', 'received', 'loss_percent', 'timeouts',
                        'unreachable', 'message_too_long', 'rtt_avg_ms', 'attempts', 'message',
                        'stdout', 'stderr', 'rc', 'flaky', 'first_try'):
                row[key] = res.get(key)
            row['ok'] = bool(res.get('ok'))
        rows.append(row)
    return rows


def _reachability_check(the_plan, rows):
    bad = [r for r in rows if not r['ok']]
    n_skipped = len(the_plan['skipped'])
    status = 'fail' if bad or n_skipped else 'pass'
    summary = '%d of %d planned pings succeeded' % (len(rows) - len(bad), len(rows))
    if not rows and not n_skipped:
        # one single-layout node without intra-node pairs: RoCE carries no P-D traffic to test
        return _check('reachability', 'warn', 'no pairs planned (one node; roce_intra_node '
                      'pairs the ports within a node)', ['hccn_tool -ping'])
    if n_skipped:
        summary += ', %d pairs not pinged (port down or without IP)' % n_skipped
    if the_plan['uncovered_ports']:
        summary += '; ports in no pair: %s' % ', '.join(the_plan['uncovered_ports'])
    flaky = [r for r in rows if r['ok'] and r.get('flaky')]
    problems = []
    if flaky:
        summary += '; %d passed only on the recheck' % len(flaky)
        status = 'warn' if status == 'pass' else status
        for r in flaky:
            first = r.get('first_try') or {}
            problems.append(_problem('%s>%s' % (r['src'], r['dst']), (
                'first try %s (%s of %s received), recheck clean: transient (ARP warm-up, a busy '
                'node); a flapping link or congestion when it repeats' % (
                    first.get('state'), first.get('received'), first.get('transmitted')))))
    return _check('reachability', status, summary, ['hccn_tool -ping'], problems)


def _vlan_check(ports, expected_vlan, require_pvid, subnet_check, reach, planes=None):
    """'The NPU ports of one plane share one VLAN' from LLDP PVID (when the switch sends it),
    the subnet plan and the ping mesh: hccn_tool has no VLAN query, so this is inferred, never
    measured. ``planes`` maps a port name to its plane; planes (separate switches on multi-
    subnet layouts) may use different VLANs unless ``expected_vlan`` says one for all."""
    pvids = OrderedDict((n, p['lldp']['pvid']) for n, (h, d, p) in ports.items()
                        if p.get('lldp') and p['lldp'].get('pvid') is not None)
    missing = [n for n in ports if n not in pvids]
    problems = []
    evidence = []
    planes = planes or {}
    by_plane = OrderedDict()
    for n, v in pvids.items():
        by_plane.setdefault(planes.get(n), OrderedDict())[n] = v
    references = OrderedDict()
    if pvids:
        evidence.append('lldp_pvid')
    for plane, members in by_plane.items():
        reference = expected_vlan
        if reference is None:
            reference = sorted(Counter(members.values()).items(),
                               key=lambda kv: (-kv[1], kv[0]))[0][0]
        references[plane] = reference
        count = sum(1 for v in members.values() if v == reference)
        for n, v in members.items():
            if v != reference:
                problems.append(_problem(n, 'switch port announces PVID %d, %s %d%s; move the '
                                            'switch port to VLAN %d' % (
                                                v, 'expected' if expected_vlan is not None
                                                else 'the other', reference,
                                                '' if expected_vlan is not None
                                                else ' (%d ports%s)' % (
                                                    count, '' if len(by_plane) < 2
                                                    else ' of plane %s' % plane), reference)))
    distinct = sorted(set(references.values()))
    reference = distinct[0] if len(distinct) == 1 else expected_vlan
    if require_pvid:
        for n in missing:
            problems.append(_problem(n, 'no LLDP Port VLAN ID TLV received (roce_require_lldp_pvid '
                                        'is true); enable 802.1 PVID TLVs on the switch'))
    evidence.append('subnet:%s' % subnet_check['status'])
    evidence.append('reachability:%s' % reach['status'])
    if problems:
        verdict = 'different'
    elif subnet_check['status'] == 'pass' and reach['status'] in ('pass', 'warn'):
        verdict = 'same'
    else:
        verdict = 'not established'
    if not pvids:
        basis = ('no switch sent an LLDP Port VLAN ID TLV: the verdict rests on the subnet plan '
                 'and the reachability mesh only')
    elif missing:
        basis = ('LLDP PVID from %d of %d ports (none from %s); the rest rests on the subnet plan '
                 'and the reachability mesh' % (len(pvids), len(ports),
                                                ', '.join(missing[:8]) + (
                                                    '...' if len(missing) > 8 else '')))
    else:
        basis = 'LLDP PVID from all %d ports, the subnet plan and the reachability mesh' % len(ports)
    info = OrderedDict([
        ('verdict', verdict), ('vlan', reference if verdict == 'same' else None),
        ('plane_vlans', OrderedDict((str(k), v) for k, v in references.items())
         if verdict == 'same' and len(distinct) > 1 else OrderedDict()),
        ('evidence', evidence), ('basis', basis),
        ('note', 'inferred from subnet + ping (+ LLDP PVID); hccn_tool has no VLAN query'),
        ('pvids', pvids), ('ports_without_pvid', missing),
    ])
    summary = {'same': 'all NPU ports in one VLAN%s (%s)' % (
        ' %s' % reference if reference is not None else '', basis) if len(distinct) < 2 else
        'the ports of each plane in one VLAN (%s) (%s)' % (', '.join(
            '%s: %s' % (k, v) for k, v in references.items()), basis),
        'different': 'NPU ports in different VLANs',
        'not established': 'one VLAN not established: subnet %s, reachability %s (%s)' % (
            subnet_check['status'], reach['status'], basis)}[verdict]
    status = 'pass' if verdict == 'same' else 'fail'
    return info, _check('vlan', status, summary, evidence, problems)


def _failed_pair(row, ports, duplicates):
    src = ports.get(row['src'], (None, None, {}))[2]
    dst = ports.get(row['dst'], (None, None, {}))[2]
    entry = OrderedDict([
        ('src', row['src']), ('dst', row['dst']),
        ('src_address', row.get('src_address')), ('dst_address', row.get('dst_address')),
        ('state', row.get('state')), ('message', row.get('message')),
        ('received', row.get('received')), ('transmitted', row.get('transmitted')),
        ('src_link', src.get('link')), ('dst_link', dst.get('link')),
        ('src_vlan', _pvid(src)), ('dst_vlan', _pvid(dst)),
        ('src_switch_port', _lldp_port(src)), ('dst_switch_port', _lldp_port(dst)),
    ])
    entry['hint'] = _hint(row, src, dst, duplicates)
    return entry


def _pvid(port):
    lldp = port.get('lldp') or {}
    return lldp.get('pvid')


def _lldp_port(port):
    lldp = port.get('lldp') or {}
    return lldp.get('port_id')


def _net(port):
    try:
        return network_of(port['address'], port['netmask'])
    except (KeyError, TypeError, ValueError):
        return None


def _hint(row, src, dst, duplicates):
    s, d = row['src'], row['dst']
    for name, port in ((s, src), (d, dst)):
        if port.get('link') != 'UP':
            return 'link %s on %s: check cable, optics and the switch port' % (
                port.get('link') or 'unknown', name)
        if not port.get('address'):
            return '%s has no device IP' % name
    ps, pd = _pvid(src), _pvid(dst)
    if ps is not None and pd is not None and ps != pd:
        return 'switch ports in different VLANs (PVID %d on %s, %d on %s): fix the switch port ' \
               'VLAN' % (ps, s, pd, d)
    for name, port in ((d, dst), (s, src)):
        if port.get('address') in duplicates:
            return 'duplicate device IP %s (%s): give every port its own address' % (
                port['address'], ', '.join(duplicates[port['address']]))
    ns, nd = _net(src), _net(dst)
    if ns and nd and ns != nd:
        return 'different subnets (%s on %s, %s on %s): fix the device IP or netmask' % (
            ns, s, nd, d)
    for name, port in ((s, src), (d, dst)):
        if port.get('net_health') not in (None, 'Success'):
            return 'net health %r on %s%s' % (
                port.get('net_health'), name, _meaning(port.get('net_health')))
    ts, td = (src.get('tls') or {}).get('enabled'), (dst.get('tls') or {}).get('enabled')
    if ts is not None and td is not None and ts != td:
        return 'TLS switch differs (%s on %s, %s on %s)' % (_onoff(ts), s, _onoff(td), d)
    state = row.get('state')
    if state == 'busy':
        return 'hccn_tool on %s stayed busy through every retry: another hccn_tool user is ' \
               'running; raise roce_ping_retries or lower roce_ping_concurrency' % row.get('src_host')
    if state == 'timeout':
        return 'ping did not finish within roce_ping_timeout; the peer may be unreachable or ' \
               'the node overloaded'
    if state == 'missing':
        return 'the ping task did not return for %s' % row.get('src_host')
    if state == 'error':
        return 'hccn_tool output not understood; see message and stdout'
    if row.get('message_too_long'):
        return 'payload larger than the path MTU: check hccn_tool -mtu -g and the switch MTU'
    if row.get('received'):
        return 'partial loss: flapping link, congestion or PFC/ECN settings; check hccn_tool ' \
               '-stat -g'
    if row.get('unreachable'):
        return 'no ARP answer: peer not in the same L2 segment (switch VLAN) or IP not set'
    return 'no reply: check the switch port VLAN/ACL (LLDP port %s and %s) and cabling' % (
        _lldp_port(src) or '?', _lldp_port(dst) or '?')


def _matrix(nodes, rows, skipped):
    """Node x node: successful / planned pairs between the two nodes, whichever end pinged
    (symmetric; the diagonal holds the pairs within one node)."""
    hosts = list(nodes)
    mat = OrderedDict((a, OrderedDict((b, OrderedDict([('ok', 0), ('total', 0)])) for b in hosts))
                      for a in hosts)

    def add(a, b, ok):
        for x, y in set([(a, b), (b, a)]):
            mat[x][y]['total'] += 1
            mat[x][y]['ok'] += 1 if ok else 0

    for r in rows:
        add(r['src_host'], r['dst_host'], r['ok'])
    for s in skipped:
        add(s['a_host'], s['b_host'], False)
    return mat


# ---------------------------------------------------------------------------------------------
# presentation


def failure_lines(report, limit=20):
    """Short lines for the play's failure message: port problems first, then broken pairs."""
    lines = []
    for check in report['checks']:
        if check['status'] != 'fail':
            continue
        if check['name'] == 'reachability' or not check['problems']:
            # the broken pairs follow; reachability problems are only recheck warnings
            lines.append('%s: %s' % (check['name'], check['summary']))
            continue
        for prob in check['problems']:
            lines.append('%s: %s: %s' % (check['name'], prob['port'], prob['message']))
    for pair in report['failed_pairs']:
        lines.append('pair %s (%s) -> %s (%s): %s; links %s/%s, VLAN %s/%s; hint: %s' % (
            pair['src'], pair['src_address'], pair['dst'], pair['dst_address'],
            pair['message'] or pair['state'], pair['src_link'], pair['dst_link'],
            _v(pair['src_vlan']), _v(pair['dst_vlan']), pair['hint']))
    if len(lines) > limit:
        lines = lines[:limit] + ['... and %d more (see the report)' % (len(lines) - limit)]
    return lines


def _v(value):
    return '?' if value is None else str(value)


def markdown(report, title='NPU RoCE check'):
    out = ['# %s' % title, '']
    out.append('Result: **%s**' % ('PASS' if report['ok'] else 'FAIL'))
    plan_info = report['plan']
    out.append('')
    out.append('Layout %s, scope %s, pairing %s; %d pings, busiest node %s with %d.' % (
        plan_info['layout'], plan_info['scope'], plan_info['pairing'], plan_info['total'],
        plan_info['busiest'], plan_info['max_load']))
    out += ['', '## Checks', '', '| check | status | evidence | summary |', '|---|---|---|---|']
    for c in report['checks']:
        out.append('| %s | %s | %s | %s |' % (c['name'], c['status'].upper(),
                                              ', '.join(c['evidence']), _md(c['summary'])))
    vlan = report['vlan']
    out += ['', '## VLAN', '', '- verdict: **%s**' % vlan['verdict'],
            '- basis: %s' % vlan['basis'], '- %s' % vlan['note']]
    problems = [(c['name'], p) for c in report['checks'] for p in c['problems']]
    if problems:
        out += ['', '## Port problems', '', '| check | port | problem |', '|---|---|---|']
        out += ['| %s | %s | %s |' % (n, p['port'], _md(p['message'])) for n, p in problems]
    hosts = list(report['matrix'])
    out += ['', '## Reachability (successful / planned pairs between two nodes)', '',
            '| node \\ node | %s |' % ' | '.join(hosts), '|---|%s' % ('---|' * len(hosts))]
    for a in hosts:
        cells = []
        for b in hosts:
            cell = report['matrix'][a][b]
            cells.append('-' if not cell['total'] else '%d/%d%s' % (
                cell['ok'], cell['total'], '' if cell['ok'] == cell['total'] else ' !'))
        out.append('| %s | %s |' % (a, ' | '.join(cells)))
    if report['failed_pairs']:
        out += ['', '## Failed pairs', '',
                '| source | target | result | links | VLAN (PVID) | hint |',
                '|---|---|---|---|---|---|']
        for p in report['failed_pairs']:
            out.append('| %s (%s) | %s (%s) | %s | %s / %s | %s / %s | %s |' % (
                p['src'], p['src_address'], p['dst'], p['dst_address'],
                _md(p['message'] or p['state']), p['src_link'], p['dst_link'],
                _v(p['src_vlan']), _v(p['dst_vlan']), _md(p['hint'])))
    return '\n'.join(out) + '\n'


def _md(text):
    return (text or '').replace('|', '\\|').replace('\n', ' ')
