# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The global rank table of the MindIE 2.x multi-pod layout, built from the Ascend component's
``rings-config-<server>`` table (``hccl.json``) and the pods' IPs.

Format as MindIE-Motor's ``gen_global_ranktable.py`` writes it (fact sheet section 5.1): version
``1.0``, status ``completed``, ``server_group_list`` with group ``2`` (Servers: ``server_id``,
``server_ip`` = the pod IP, ``device`` with ``device_logical_id``), ``1`` (Controller) and ``0``
(Coordinator), ``server_count`` as strings. Unlike the vendor script it never drops the Server group
on a timeout: a table that does not cover every running Server pod is an error.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import json

MAX_RANK = 2048


def _running_ips(pods, app):
    ips = []
    for pod in pods:
        meta, status = pod.get('metadata') or {}, pod.get('status') or {}
        if (meta.get('labels') or {}).get('app') != app or meta.get('deletionTimestamp'):
            continue
        if status.get('phase') in ('Running', 'Pending') and status.get('podIP'):
            ips.append(status['podIP'])
    return sorted(ips, key=ipaddress.ip_address)


def _ip(value, what):
    try:
        return str(ipaddress.ip_address(value))
    except (ValueError, TypeError):
        raise ValueError('%s %r is not an IP address' % (what, value))


def parse_rings(data):
    """hccl.json of a rings-config ConfigMap's data (dict of strings); None while not completed."""
    text = (data or {}).get('hccl.json')
    if not text:
        return None
    try:
        table = json.loads(text)
    except ValueError:
        return None
    return table if table.get('status') == 'completed' else None


def build(rings_data, pods, server_app, controller_app, coordinator_app):
    """The global table as a dict; ValueError when the inputs do not describe the running pods."""
    rings = parse_rings(rings_data)
    if rings is None:
        raise ValueError('rings-config hccl.json is not completed yet')
    hardware = (rings_data or {}).get('hardware_type')
    server_ips = _running_ips(pods, server_app)
    servers = []
    for entry in rings.get('server_list') or []:
        ip = _ip(entry.get('container_ip'), 'rings-config container_ip')
        devices = []
        for index, dev in enumerate(entry.get('device') or []):
            rank = int(dev.get('rank_id'))
            if not 0 <= rank <= MAX_RANK or not 0 <= int(dev.get('device_id')) <= MAX_RANK:
                raise ValueError('rings-config device %r has a device_id/rank_id outside [0, %d]' % (dev, MAX_RANK))
            _ip(dev.get('device_ip'), 'rings-config device_ip')
            devices.append(dict(dev, device_logical_id=str(index)))
        if not devices:
            raise ValueError('rings-config server %s has no devices' % ip)
        server = {'server_id': _ip(entry.get('server_id'), 'rings-config server_id'), 'server_ip': ip,
                  'device': devices}
        if hardware:
            server['hardware_type'] = hardware
        servers.append(server)
    listed = sorted((s['server_ip'] for s in servers), key=ipaddress.ip_address)
    if listed != server_ips:
        raise ValueError('rings-config lists Server IPs %s but the running Server pods have %s (pods were '
                         'recreated; waiting for the Ascend component to refresh it)' % (listed, server_ips))
    group2 = {'group_id': '2', 'server_count': str(len(servers)), 'server_list': servers}
    if rings.get('super_pod_list'):
        group2['super_pod_list'] = rings['super_pod_list']
    groups = [group2]
    for gid, app in (('1', controller_app), ('0', coordinator_app)):
        ips = _running_ips(pods, app)
        if len(ips) != 1:
            raise ValueError('expected one running %s pod with an IP, found %s' % (app, ips or 'none'))
        groups.append({'group_id': gid, 'server_count': '1', 'server_list': [{'server_ip': ips[0]}]})
    return {'version': '1.0', 'status': 'completed', 'server_group_list': groups}
