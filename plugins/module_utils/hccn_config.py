# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Setting NPU port addresses from an address plan: what to set, the hccn_tool commands, and
/etc/hccn.conf rewritten to match.

The plan is the one of ``roce_plan.address_plan`` (per device: subnet, netdetect, gateway; per
node: the device addresses). Per port the node gets only what the plan says and the port lacks:
``hccn_tool -i N -ip -s address A netmask M``, ``-netdetect -s address A``,
``-gateway -s gateway G`` (the driver answers ``Cmd executed successfully!``). After the calls the
port is read back; a port that did not take its values is a failure, never skipped.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.ascend.mindie.plugins.module_utils.hccn import (
    address_in_network,
    conf_key,
    gather_port,
)
from ansible_collections.ascend.mindie.plugins.module_utils.roce_plan import (
    PlanError,
    address_plan_in,
    normalise_address_plan,
    port_name,
)

# Keys this stage manages in /etc/hccn.conf, in the order the driver writes a device's block.
MANAGED_KEYS = ('address', 'netmask', 'netdetect', 'gateway')
SET_OK = 'Cmd executed successfully'


def plan_from_any(data, var='roce_address_plan'):
    """The address plan as the roce_mesh_plan filter returns it (``devices`` a list) or as the
    operator writes it (``devices`` a mapping) -> the normalised plan."""
    if not isinstance(data, dict):
        raise PlanError('%s must be a mapping with "devices", got %r' % (var, data))
    devices = data.get('devices')
    if isinstance(devices, list) and 'planes' in data:
        return address_plan_in(data)
    return normalise_address_plan(
        dict((k, v) for k, v in data.items() if k in ('devices', 'addresses')), var)


def wanted_settings(ap, host, device, current):
    """What device ``device`` of ``host`` should have -> (OrderedDict key -> value, problem).

    The address comes from the plan's address map, else the port keeps its own when it lies in
    the planned subnet; netmask from the subnet; netdetect and gateway only when planned.
    ``problem`` names why nothing can be set (device not in the plan, no address known).
    """
    entry = ap['devices'].get(int(device))
    name = port_name(host, device)
    if not entry:
        return None, '%s: dev%d has no plane in the address plan (roce_address_plan.devices)' % (
            name, device)
    address = ap['addresses'].get(host, {}).get(int(device))
    if address is None:
        have = current.get('address')
        if have and address_in_network(have, entry['subnet']):
            address = have
        else:
            return None, ('%s: no address planned (roce_address_plan.addresses.%s.%d) and the port '
                          'has %s, not one in %s' % (name, host, device, have or 'none',
                                                     entry['subnet']))
    want = OrderedDict([('address', address), ('netmask', entry['netmask'])])
    for key in ('netdetect', 'gateway'):
        if entry.get(key):
            want[key] = entry[key]
    return want, None


def commands(want, current):
    """hccn_tool argument lists (without ``-i N``) that bring ``current`` to ``want``."""
    out = []
    if (current.get('address'), current.get('netmask')) != (want['address'], want['netmask']):
        out.append(['-ip', '-s', 'address', want['address'], 'netmask', want['netmask']])
    if 'netdetect' in want and current.get('netdetect') != want['netdetect']:
        out.append(['-netdetect', '-s', 'address', want['netdetect']])
    if 'gateway' in want and current.get('gateway') != want['gateway']:
        out.append(['-gateway', '-s', 'gateway', want['gateway']])
    return out


def differences(want, current):
    """Keys whose running value differs from the wanted one -> [(key, running, wanted)]."""
    return [(k, current.get(k), v) for k, v in want.items() if current.get(k) != v]


def render_hccn_conf(text, wanted):
    """/etc/hccn.conf with the managed keys of ``wanted`` ({device: {key: value}}) set.

    Every other line (other keys, ARP/route entries, comments) stays where it is. A key the file
    has is replaced in place (a duplicate of it is dropped); a missing one goes right after the
    device's previous managed key, else before the device's first line, else into a new block at
    the end, in the driver's order (address, netmask, netdetect, gateway).
    """
    lines = (text or '').replace('\r', '').split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    for device in sorted(wanted):
        values = wanted[device]
        for key in MANAGED_KEYS:
            if key not in values:
                continue
            line = '%s_%d=%s' % (key, device, values[key])
            found = [i for i, ln in enumerate(lines) if _is(ln, key, device)]
            if found:
                lines[found[0]] = line
                for i in reversed(found[1:]):
                    del lines[i]
                continue
            lines.insert(_slot(lines, key, device), line)
    return '\n'.join(lines) + ('\n' if lines else '')


def _is(line, key, device):
    parsed = conf_key(line)
    return parsed is not None and parsed[0] == key and parsed[1] == device


def _slot(lines, key, device):
    earlier = MANAGED_KEYS[:MANAGED_KEYS.index(key)]
    for prev in reversed(earlier):
        hits = [i for i, ln in enumerate(lines) if _is(ln, prev, device)]
        if hits:
            return hits[-1] + 1
    own = [i for i, ln in enumerate(lines) if (conf_key(ln) or (None, None))[1] == device]
    if own:
        return own[0]
    return len(lines)


def read_port(tool, device):
    """Running address, netmask, netdetect and gateway of one port (hccn_facts parsers)."""
    port = gather_port(tool, device, gather=('ip', 'netdetect', 'gateway'))
    return port


def configure_node(tool, ap, host, devices, conf_text, check_mode=False, write_conf=None):
    """Bring the ports of ``host`` to the plan. ``write_conf(text)`` stores /etc/hccn.conf.

    Returns a dict: ``changed``, ``ports`` (per device: before, wanted, commands, state
    ok|changed|failed|skipped, message), ``failed`` (port names with why), ``conf_before``,
    ``conf_after``, ``unplanned`` (devices of the node the plan does not cover).
    """
    ports = []
    failed = []
    unplanned = []
    wanted = OrderedDict()
    for device in sorted(int(d) for d in devices):
        name = port_name(host, device)
        before = read_port(tool, device)
        entry = OrderedDict([('device', device), ('port', name),
                             ('before', _values(before)), ('wanted', None), ('commands', []),
                             ('state', 'ok'), ('message', '')])
        ports.append(entry)
        if before['errors']:
            entry.update(state='failed', message='cannot read the port: %s' % '; '.join(
                '-%s: %s' % (e['command'], e['message']) for e in before['errors']))
            failed.append('%s: %s' % (name, entry['message']))
            continue
        want, problem = wanted_settings(ap, host, device, before)
        if want is None:
            if int(device) not in ap['devices']:
                unplanned.append(device)
                entry.update(state='skipped', message=problem)
            else:
                entry.update(state='failed', message=problem)
                failed.append(problem)
            continue
        entry['wanted'] = dict(want)
        wanted[device] = want
        entry['commands'] = commands(want, before)
        if entry['commands']:
            entry['state'] = 'changed'
    conf_after = render_hccn_conf(conf_text, wanted)
    conf_changed = conf_after != (conf_text or '')
    result = OrderedDict([('changed', conf_changed or any(p['state'] == 'changed' for p in ports)),
                          ('ports', ports), ('failed', failed), ('unplanned', unplanned),
                          ('conf_before', conf_text or ''), ('conf_after', conf_after),
                          ('conf_changed', conf_changed)])
    if check_mode:
        return result
    if conf_changed and write_conf is not None:
        # the file first: the tool's own -s rewrites then find the lines already in place
        write_conf(conf_after)
    for entry in ports:
        if entry['state'] != 'changed':
            continue
        for args in entry['commands']:
            res = tool.run(entry['device'], args)
            if res.timed_out or res.busy or res.rc != 0 or SET_OK not in (res.stdout or ''):
                why = ('timed out' if res.timed_out else 'still busy' if res.busy else
                       (res.stderr or res.stdout or 'rc=%s' % res.rc).strip())
                entry['message'] = 'hccn_tool -i %d %s failed: %s' % (
                    entry['device'], ' '.join(args), why)
                break
        after = read_port(tool, entry['device'])
        entry['after'] = _values(after)
        off = differences(wanted[entry['device']], after)
        if off or entry['message']:
            entry['state'] = 'failed'
            detail = ', '.join('%s is %s, planned %s' % (k, have or 'unset', v) for k, have, v in off)
            entry['message'] = '; '.join(x for x in (entry['message'], (
                'did not take its settings: %s' % detail) if detail else '') if x)
            failed.append('%s: %s' % (entry['port'], entry['message']))
    return result


def _values(port):
    return OrderedDict((k, port.get(k)) for k in MANAGED_KEYS)


def diffs(result):
    """Ansible diff entries: one per port that changes, then /etc/hccn.conf."""
    out = []
    for entry in result['ports']:
        if entry['state'] != 'changed' and not (entry['state'] == 'failed' and entry['wanted']):
            continue
        before = entry['before']
        out.append({
            'before_header': '%s (running)' % entry['port'],
            'after_header': '%s (planned)' % entry['port'],
            'before': ''.join('%s: %s\n' % (k, before.get(k) or '-') for k in entry['wanted']),
            'after': ''.join('%s: %s\n' % (k, v) for k, v in entry['wanted'].items()),
        })
    if result['conf_changed']:
        out.append({'before_header': 'hccn.conf (before)', 'after_header': 'hccn.conf (after)',
                    'before': result['conf_before'], 'after': result['conf_after']})
    return out
