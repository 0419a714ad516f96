# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for hccn_tool outputs and /etc/hccn.conf.

Every parser takes the stdout of one ``hccn_tool -i N -<cmd> -g`` call and either returns
structured data or raises :class:`HccnParseError` naming the line it did not understand.
Results are on stdout and errors on stderr (driver ``ossl_user_linux.h``); the exit code is
not trusted on its own (a ping with any lost packet exits non-zero by design).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

DEFAULT_HCCN_TOOL = '/usr/local/Ascend/driver/tools/hccn_tool'
DEFAULT_HCCN_CONF = '/etc/hccn.conf'

# Words of ``-net_health -g`` (driver tool_ops.c); anything else is kept raw and unhealthy.
# Older drivers print "Socket failed" where newer ones print "Socket fail".
NET_HEALTH_WORDS = (
    'Success', 'Socket fail', 'Socket failed', 'Receive timeout', 'Unreachable', 'Time exceeded',
    'Fault', 'Init', 'Thread error', 'Detect ip set', 'Unknown',
)
# What a health word says about the port, for the report (both socket wordings mean the same).
NET_HEALTH_MEANING = {
    'socket fail': 'the device could not open its detect socket (driver or firmware fault)',
    'socket failed': 'the device could not open its detect socket (driver or firmware fault)',
    'receive timeout': 'the detect IP did not answer (switch, VLAN or detect address)',
    'unreachable': 'the detect IP is unreachable (routing or subnet)',
    'time exceeded': 'the probe to the detect IP ran out of hops',
    'fault': 'the port reports a fault (link or optics)',
    'init': 'detection has not run yet (no detect IP or just configured)',
    'detect ip set': 'a detect IP is set but detection has not finished',
}

# Keys the tool writes to /etc/hccn.conf once per device as ``<key>_<device>=<value>`` (driver cfg.h).
HCCN_CONF_KEYS = frozenset((
    'address', 'netmask', 'netdetect', 'gateway', 'bond_address', 'bond_netmask',
    'IPv6address', 'IPv6netmask', 'IPv6netdetect', 'IPv6gateway', 'mtu', 'tls_enable',
    'tls_ca_recovered', 'send_arp_status', 'send_arp_period', 'roce_port', 'udp_port_mode',
    'multi_qp_count', 'multi_qp_udp_ports', 'lldp_portid_type', 'bitmap', 'prio_tc', 'tsa',
    'tcbw', 'encoding', 'bw_limit', 'mac_addr', 'udhcpc_enable', 'udhcpc_ipv6_enable',
    'static_speed', 'auto_adapt', 'down_fault_time', 'mem_reserve', 'cw_bad_cnt_thd_high_limit',
    'nslb_dp_listen_port', 'scdr_reset_delay_time', 'xsfp_reset_max_times',
    'xsfp_reset_wait_times',
))

# Per-device entries the tool appends, possibly several per device, e.g.
# ``arp_0=-i eth0 -s <ip> <mac>`` or ``ip_rule_0=from <ip> table <n>`` (driver cfg.c).
HCCN_CONF_LIST_KEYS = frozenset(('arp', 'ip_route', 'ip_rule', 'IPv6neigh'))

# "Please try again" answers: the tool (or its I2C path or device lock) is single-instance per
# node. The driver prints the first two on stdout, "Get lock failed" on stderr; look at both.
BUSY_PATTERNS = (
    re.compile(r'hccn_tool is busy', re.IGNORECASE),
    re.compile(r'is busy\.?\s*please try again', re.IGNORECASE),
    re.compile(r'get lock failed\.?\s*please try again', re.IGNORECASE),
)
# The driver's answer (stdout) to a command the product lacks, e.g. -tls on older firmware.
UNSUPPORTED_PATTERN = re.compile(
    r'not supported on this product|not support|unsupported|invalid (?:command|parameter)',
    re.IGNORECASE)

# stderr answers that are states, not failures of the parser.
NO_IP_PATTERN = re.compile(r'no ip was preset', re.IGNORECASE)
NO_GATEWAY_PATTERN = re.compile(r'no gateway was preset', re.IGNORECASE)
NO_NETDETECT_PATTERN = re.compile(r'no netdetect(?: ip)? was preset', re.IGNORECASE)
NO_DEVICE_PATTERN = re.compile(r'device is not exist', re.IGNORECASE)
LINK_DOWN_PATTERN = re.compile(r'link status is down', re.IGNORECASE)

_IPV4 = r'\d{1,3}(?:\.\d{1,3}){3}'
_IPV4_RE = re.compile(r'^' + _IPV4 + r'$')


class HccnParseError(ValueError):
    """Output of hccn_tool (or hccn.conf) that does not match the documented format."""

    def __init__(self, what, line, text):
        self.what = what
        self.line = line
        self.text = text
        super(HccnParseError, self).__init__(
            'cannot parse %s: unexpected line %r (full output: %r)' % (what, line, _clip(text)))


def _clip(text, limit=600):
    text = text or ''
    return text if len(text) <= limit else text[:limit] + '...'


def _lines(text):
    """Non-empty lines, right-stripped; CR (from some terminals) removed."""
    return [ln.rstrip() for ln in (text or '').replace('\r', '').split('\n') if ln.strip()]


def is_busy(stdout, stderr=''):
    """True when the tool answered that it is busy and the call should be retried."""
    text = '%s\n%s' % (stdout or '', stderr or '')
    return any(p.search(text) for p in BUSY_PATTERNS)


def is_unsupported(stdout, stderr=''):
    """True when the tool says the command does not exist on this product/driver.

    Only a short answer counts: a data dump that happens to contain the words is not one.
    """
    for text in (stdout, stderr):
        lines = _lines(text)
        if lines and len(lines) <= 3 and any(UNSUPPORTED_PATTERN.search(ln) for ln in lines):
            return True
    return False


def net_health_meaning(word):
    """Plain words for a ``-net_health`` answer ('' for Success and unknown words)."""
    return NET_HEALTH_MEANING.get((word or '').strip().lower(), '')


def is_ipv4(value):
    if not value or not _IPV4_RE.match(value):
        return False
    return all(0 <= int(part) <= 255 for part in value.split('.'))


def netmask_to_prefix(netmask):
    """255.255.255.0 -> 24; raises ValueError on a non-contiguous or malformed mask."""
    if not is_ipv4(netmask):
        raise ValueError('not an IPv4 netmask: %r' % (netmask,))
    bits = ''.join('{0:08b}'.format(int(p)) for p in netmask.split('.'))
    if '01' in bits:
        raise ValueError('non-contiguous netmask: %r' % (netmask,))
    return bits.count('1')


def ip_to_int(address):
    if not is_ipv4(address):
        raise ValueError('not an IPv4 address: %r' % (address,))
    value = 0
    for part in address.split('.'):
        value = (value << 8) | int(part)
    return value


def int_to_ip(value):
    return '.'.join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def network_of(address, netmask):
    """'10.0.1.7', '255.255.0.0' -> '10.0.0.0/16'."""
    prefix = netmask_to_prefix(netmask)
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
    return '%s/%d' % (int_to_ip(ip_to_int(address) & mask), prefix)


def address_in_network(address, cidr):
    """True when ``address`` lies in ``cidr`` ('10.0.0.0/16')."""
    net, _sep, prefix = cidr.partition('/')
    prefix = int(prefix) if prefix else 32
    if not 0 <= prefix <= 32:
        raise ValueError('bad prefix length in %r' % (cidr,))
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
    return (ip_to_int(address) & mask) == (ip_to_int(net) & mask)


# ---------------------------------------------------------------------------------------------
# one parser per sub-command


_IP_LINE = re.compile(r'^(ipaddr|netmask)\s*:\s*(\S+)$')


def parse_ip(stdout):
    """``-ip -g`` -> {'address': str, 'netmask': str}."""
    result = {}
    for line in _lines(stdout):
        m = _IP_LINE.match(line.strip())
        if not m or m.group(1) in result:
            raise HccnParseError('hccn_tool -ip -g', line, stdout)
        result[m.group(1)] = m.group(2)
    if set(result) != {'ipaddr', 'netmask'}:
        raise HccnParseError('hccn_tool -ip -g', '<missing ipaddr or netmask>', stdout)
    for key in ('ipaddr', 'netmask'):
        if not is_ipv4(result[key]):
            raise HccnParseError('hccn_tool -ip -g', '%s:%s' % (key, result[key]), stdout)
    return {'address': result['ipaddr'], 'netmask': result['netmask']}


def _one_line(stdout, command, pattern, address_group=None):
    """The match of a get command that prints exactly one line; anything else is a parse error.

    ``address_group`` names a group that must hold an IPv4 address.
    """
    lines = _lines(stdout)
    if len(lines) != 1:
        raise HccnParseError(command, lines[1] if lines else '<empty>', stdout)
    m = pattern.match(lines[0].strip())
    if not m or (address_group is not None and not is_ipv4(m.group(address_group))):
        raise HccnParseError(command, lines[0], stdout)
    return m


_LINK_LINE = re.compile(r'^link status\s*:\s*(\S+)$', re.IGNORECASE)


def parse_link(stdout):
    """``-link -g`` -> 'UP' / 'DOWN' (other words kept upper-cased; only UP counts as up)."""
    return _one_line(stdout, 'hccn_tool -link -g', _LINK_LINE).group(1).upper()


_HEALTH_LINE = re.compile(r'^net health status\s*:\s*(\S.*)$', re.IGNORECASE)


def parse_net_health(stdout):
    """``-net_health -g`` -> the raw health word(s), e.g. 'Success' or 'Receive timeout'."""
    return _one_line(stdout, 'hccn_tool -net_health -g', _HEALTH_LINE).group(1).strip()


_NETDETECT_LINE = re.compile(r'^netdetect addr(?:ess)?\s*:\s*(\S+)$', re.IGNORECASE)


def parse_netdetect(stdout):
    """``-netdetect -g`` (both driver wordings) -> detect address."""
    return _one_line(stdout, 'hccn_tool -netdetect -g', _NETDETECT_LINE, address_group=1).group(1)


_GATEWAY_LINE = re.compile(r'^default gateway\s*:\s*([^,\s]+)\s*,\s*Iface\s*:\s*(\S+)$',
                           re.IGNORECASE)


def parse_gateway(stdout):
    """``-gateway -g`` -> {'gateway': ip, 'iface': 'ethN'}."""
    m = _one_line(stdout, 'hccn_tool -gateway -g', _GATEWAY_LINE, address_group=1)
    return {'gateway': m.group(1), 'iface': m.group(2)}


_TLS_LINE = re.compile(r'tls switch\[(\d)\]', re.IGNORECASE)


def parse_tls(stdout):
    """``-tls -g`` -> {'enabled': bool, 'preconfigured': bool|None} from its ``dev_id`` line.

    The certificate blocks that follow are not interpreted.
    """
    for line in _lines(stdout):
        if line.strip().lower().startswith('dev_id'):
            m = _TLS_LINE.search(line)
            if not m:
                raise HccnParseError('hccn_tool -tls -g', line, stdout)
            pre = re.search(r'tls preconfigured\[(\d)\]', line, re.IGNORECASE)
            return {'enabled': m.group(1) == '1',
                    'preconfigured': (pre.group(1) == '1') if pre else None}
    raise HccnParseError('hccn_tool -tls -g', '<no dev_id line>', stdout)


# ---------------------------------------------------------------------------------------------
# ping

_PING_HEADER = re.compile(r'^device\s+(\d+)\s+PING6?\s+(\S+)$', re.IGNORECASE)
_PING_REPLY = re.compile(r'^recv\s+seq\s*[=:]\s*\w+\s*,\s*time\s*\S?\s*[\d.]+\s*ms$',
                         re.IGNORECASE)
_PING_TIMEOUT = re.compile(r'^recv\s+time\s*out\s+seq\s*[=:]?\s*\w+$', re.IGNORECASE)
_PING_SUMMARY = re.compile(
    r'^(\d+)\s+packets transmitted,\s*(\d+)\s+received,\s*([\d.]+)%\s+packet loss$',
    re.IGNORECASE)
_PING_UNREACHABLE = re.compile(r'Destination Host Unreachable', re.IGNORECASE)
_PING_TOO_LONG = re.compile(r'Message too long', re.IGNORECASE)
_PING_RTT = re.compile(r'time\s*\S?\s*([\d.]+)\s*ms', re.IGNORECASE)


def parse_ping(stdout):
    """``-ping -g address <ip>`` stdout -> counts and verdict.

    Keys on the summary line; per-packet ``recv time out``, ``Destination Host Unreachable`` and
    ``Message too long`` lines count as failures even when a summary claims otherwise.
    Raises HccnParseError on a line of unknown shape or a missing summary.
    """
    out = {
        'device': None, 'target': None, 'transmitted': None, 'received': None,
        'loss_percent': None, 'replies': 0, 'timeouts': 0, 'unreachable': 0,
        'message_too_long': 0, 'rtt_ms': [],
    }
    for line in _lines(stdout):
        text = line.strip()
        if out['transmitted'] is not None:
            # nothing is documented after the summary line
            raise HccnParseError('hccn_tool -ping', line, stdout)
        m = _PING_HEADER.match(text)
        if m:
            if out['target'] is not None:
                raise HccnParseError('hccn_tool -ping', line, stdout)
            out['device'] = int(m.group(1))
            out['target'] = m.group(2)
            continue
        if _PING_TIMEOUT.match(text):
            out['timeouts'] += 1
            continue
        if _PING_REPLY.match(text):
            out['replies'] += 1
            rtt = _PING_RTT.search(text)
            out['rtt_ms'].append(float(rtt.group(1)))
            continue
        if _PING_UNREACHABLE.search(text):
            out['unreachable'] += 1
            continue
        if _PING_TOO_LONG.search(text):
            out['message_too_long'] += 1
            continue
        m = _PING_SUMMARY.match(text)
        if m:
            out['transmitted'] = int(m.group(1))
            out['received'] = int(m.group(2))
            out['loss_percent'] = float(m.group(3))
            continue
        raise HccnParseError('hccn_tool -ping', line, stdout)
    if out['transmitted'] is None:
        raise HccnParseError('hccn_tool -ping', '<no "packets transmitted" summary>', stdout)
    if out['received'] > out['transmitted']:
        raise HccnParseError('hccn_tool -ping', 'received > transmitted', stdout)
    failures = out['timeouts'] + out['unreachable'] + out['message_too_long']
    out['success'] = (out['transmitted'] > 0 and out['received'] == out['transmitted']
                      and failures == 0)
    return out


# ---------------------------------------------------------------------------------------------
# LLDP

_TLV_NAME = re.compile(r'^(\S.*\bTLV)$')
_PVID_LINE = re.compile(r'^PVID\s*:\s*(\d+)$', re.IGNORECASE)


def parse_lldp(stdout):
    """``-lldp -g`` TLV dump -> neighbour summary plus every TLV's value lines.

    TLV names are unindented lines ending in ``TLV``; indented lines (TAB or spaces) and
    unindented continuation lines belong to the TLV above. Returns None when the dump is empty
    (no LLDP frame received). The 802.1 ``Port VLAN ID TLV`` (``PVID: <n>``) is only present
    when the switch sends it; ``pvid`` is None otherwise.
    """
    lines = _lines(stdout)
    if not lines:
        return None
    tlvs = []
    for line in lines:
        if not line[0].isspace():
            m = _TLV_NAME.match(line)
            if m:
                tlvs.append({'name': m.group(1).strip(), 'values': []})
                continue
            if not tlvs:
                raise HccnParseError('hccn_tool -lldp -g', line, stdout)
        tlvs[-1]['values'].append(line.strip())

    result = {
        'chassis_id': None, 'port_id': None, 'system_name': None, 'system_description': None,
        'management_addresses': [], 'pvid': None, 'max_frame_size': None,
        'tlvs': [t['name'] for t in tlvs],
    }
    for tlv in tlvs:
        name = tlv['name'].lower()
        values = tlv['values']
        first = values[0] if values else ''
        if name == 'chassis id tlv':
            result['chassis_id'] = _after_colon(first)
        elif name == 'port id tlv':
            result['port_id'] = _after_colon(first)
        elif name == 'system name tlv':
            result['system_name'] = first or None
        elif name == 'system description tlv':
            result['system_description'] = '\n'.join(values) or None
        elif name == 'management address tlv':
            for value in values:
                key, sep, rest = value.partition(':')
                if sep and key.strip().lower() in ('ipv4', 'ipv6'):
                    result['management_addresses'].append(rest.strip())
        elif name == 'port vlan id tlv':
            pvids = [_PVID_LINE.match(v) for v in values]
            pvids = [m for m in pvids if m]
            if len(pvids) != 1:
                raise HccnParseError('hccn_tool -lldp -g (Port VLAN ID TLV)',
                                     first or '<empty TLV>', stdout)
            result['pvid'] = int(pvids[0].group(1))
        elif name == 'maximum frame size tlv' and first.isdigit():
            result['max_frame_size'] = int(first)
    return result


def _after_colon(value):
    """'Ifname: 400GE1/1/5:2' -> '400GE1/1/5:2' (split at the first colon only)."""
    key, sep, rest = value.partition(':')
    return rest.strip() if sep else (value.strip() or None)


# ---------------------------------------------------------------------------------------------
# /etc/hccn.conf

_CONF_KEY = re.compile(r'^(.+)_(\d+)$')


def conf_key(line):
    """'address_3=10.0.0.1' -> ('address', 3, '10.0.0.1'); None for a line of no device.

    Keys are split at the first ``=`` and the device is the trailing ``_<digits>`` of the key;
    only keys the tool writes count (HCCN_CONF_KEYS once per device, HCCN_CONF_LIST_KEYS any
    number of times).
    """
    line = (line or '').strip()
    if not line or line.startswith('#'):
        return None
    key, sep, value = line.partition('=')
    m = _CONF_KEY.match(key.strip()) if sep else None
    if not m or m.group(1) not in HCCN_CONF_KEYS | HCCN_CONF_LIST_KEYS:
        return None
    return m.group(1), int(m.group(2)), value.strip()


def parse_hccn_conf(text):
    """/etc/hccn.conf -> {'devices': {N: {key: value}}, 'other': [raw lines]}.

    ``key_N=value`` lines with a key the tool is known to write land under device N; the
    entries a device may have several of (``arp_N``, ``ip_route_N``, ``ip_rule_N``,
    ``IPv6neigh_N``) are lists in file order. Anything else that looks like an assignment is
    kept raw in ``other``; comments and blank lines are ignored.
    """
    devices = {}
    other = []
    for raw in (text or '').replace('\r', '').split('\n'):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        parsed = conf_key(line)
        if parsed is None:
            other.append(line)
            continue
        key, device, value = parsed
        entry = devices.setdefault(device, {})
        if key in HCCN_CONF_LIST_KEYS:
            entry.setdefault(key, []).append(value)
        else:
            entry[key] = value
    return {'devices': devices, 'other': other}


# ---------------------------------------------------------------------------------------------
# running the tool


class ToolResult(object):
    """One (possibly retried) hccn_tool invocation."""

    __slots__ = ('argv', 'rc', 'stdout', 'stderr', 'timed_out', 'attempts', 'busy', 'elapsed')

    def __init__(self, argv, rc, stdout, stderr, timed_out=False, attempts=1, busy=False,
                 elapsed=0.0):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.attempts = attempts
        self.busy = busy
        self.elapsed = elapsed


def backoff_delays(retries, base, cap):
    """Bounded exponential backoff: base, 2*base, 4*base ... each at most ``cap``."""
    delay = float(base)
    for _i in range(int(retries)):
        yield min(delay, float(cap))
        delay *= 2


class HccnTool(object):
    """Runs ``hccn_tool -i <device> ...`` with a per-call timeout and retries on "busy".

    ``runner`` and ``sleep`` are injectable for unit tests; by default subprocess and time.sleep.
    """

    def __init__(self, path=DEFAULT_HCCN_TOOL, timeout=15.0, retries=5, backoff=0.25,
                 backoff_max=4.0, runner=None, sleep=None, clock=None):
        import time
        self.path = path
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self._runner = runner or _subprocess_runner
        self._sleep = sleep or time.sleep
        self._clock = clock or time.time

    def argv(self, device, args):
        return [self.path, '-i', str(int(device))] + [str(a) for a in args]

    def run(self, device, args, timeout=None):
        argv = self.argv(device, args)
        started = self._clock()
        delays = backoff_delays(self.retries, self.backoff, self.backoff_max)
        attempts = 0
        while True:
            attempts += 1
            rc, out, err, timed_out = self._runner(argv, self.timeout if timeout is None else timeout)
            busy = (not timed_out) and is_busy(out, err)
            if not busy:
                break
            delay = next(delays, None)
            if delay is None:
                break
            self._sleep(delay)
        return ToolResult(argv, rc, out, err, timed_out=timed_out, attempts=attempts,
                          busy=busy, elapsed=self._clock() - started)


def _subprocess_runner(argv, timeout):
    """-> (rc, stdout, stderr, timed_out). The C locale keeps the tool's wording stable."""
    import os
    import signal
    import subprocess
    env = dict(os.environ, LC_ALL='C', LANG='C')
    # own process group, so a timeout also ends children that still hold the pipes
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, close_fds=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        timed_out = True
    return (proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'),
            timed_out)


# ---------------------------------------------------------------------------------------------
# one port, all queries

GATHER_COMMANDS = (
    ('ip', ['-ip', '-g']),
    ('link', ['-link', '-g']),
    ('net_health', ['-net_health', '-g']),
    ('netdetect', ['-netdetect', '-g']),
    ('gateway', ['-gateway', '-g']),
    ('lldp', ['-lldp', '-g']),
    ('tls', ['-tls', '-g']),
)
GATHER_NAMES = tuple(name for name, _args in GATHER_COMMANDS)


def empty_port(device):
    return {
        'device': int(device), 'address': None, 'netmask': None, 'prefix': None,
        'network': None, 'gateway': None, 'gateway_iface': None, 'netdetect': None,
        'link': None, 'link_up': False, 'net_health': None, 'lldp': None, 'tls': None,
        'conf': None, 'conf_mismatch': [], 'notes': [], 'errors': [],
    }


def _error(port, command, message, result=None):
    entry = {'command': command, 'message': message}
    if result is not None:
        entry['rc'] = result.rc
        entry['stderr'] = _clip((result.stderr or '').strip(), 300)
    port['errors'].append(entry)


def gather_port(tool, device, gather=GATHER_NAMES, conf=None):
    """Query one NPU port with ``tool`` (an HccnTool); never raises on tool output.

    Failures land in ``port['errors']`` (command, message, rc, stderr) so one odd port does not
    hide the others; states the tool reports on stderr on purpose (no IP preset, link down) are
    values, not errors.
    """
    port = empty_port(device)
    for name, args in GATHER_COMMANDS:
        if name not in gather:
            continue
        res = tool.run(device, args)
        out = (res.stdout or '').strip()
        err = res.stderr or ''
        if res.timed_out:
            _error(port, name, 'hccn_tool did not answer within %ss' % tool.timeout, res)
            continue
        if res.busy:
            _error(port, name, 'hccn_tool still busy after %d attempts' % res.attempts, res)
            continue
        if not out and NO_DEVICE_PATTERN.search(err):
            _error(port, name, 'device %s does not exist' % device, res)
            break
        if is_unsupported(out, err):
            # the driver answers on stdout; an optional query is a note, a core one an error
            if name in ('tls', 'lldp'):
                port['notes'].append('%s query not supported by this driver' % name)
            else:
                _error(port, name, 'not supported on this product: %s' % _clip(
                    (out or err).strip(), 200), res)
            continue
        if not out:
            if name == 'ip' and NO_IP_PATTERN.search(err):
                port['notes'].append('no IP address preset')
            elif name == 'gateway' and NO_GATEWAY_PATTERN.search(err):
                port['notes'].append('no gateway preset')
            elif name == 'netdetect' and NO_NETDETECT_PATTERN.search(err):
                port['notes'].append('no detect IP preset')
            elif LINK_DOWN_PATTERN.search(err):
                port['notes'].append('%s: link is down' % name)
            elif name == 'lldp' and res.rc == 0:
                port['notes'].append('no LLDP frame received')
            else:
                _error(port, name, 'no output (rc=%s)' % res.rc, res)
            continue
        try:
            _apply(port, name, out)
        except HccnParseError as exc:
            _error(port, name, str(exc), res)
    if conf is not None:
        compare_conf(port, conf)
    return port


def _apply(port, name, out):
    if name == 'ip':
        ip = parse_ip(out)
        port['address'] = ip['address']
        port['netmask'] = ip['netmask']
        try:
            port['prefix'] = netmask_to_prefix(ip['netmask'])
            port['network'] = network_of(ip['address'], ip['netmask'])
        except ValueError as exc:
            raise HccnParseError('hccn_tool -ip -g', str(exc), out)
    elif name == 'link':
        port['link'] = parse_link(out)
        port['link_up'] = port['link'] == 'UP'
    elif name == 'net_health':
        port['net_health'] = parse_net_health(out)
    elif name == 'netdetect':
        port['netdetect'] = parse_netdetect(out)
    elif name == 'gateway':
        gw = parse_gateway(out)
        port['gateway'] = gw['gateway']
        port['gateway_iface'] = gw['iface']
    elif name == 'lldp':
        port['lldp'] = parse_lldp(out)
    elif name == 'tls':
        port['tls'] = parse_tls(out)


_CONF_COMPARE = (('address', 'address'), ('netmask', 'netmask'), ('netdetect', 'netdetect'),
                 ('gateway', 'gateway'))


def compare_conf(port, conf_devices):
    """Attach this device's /etc/hccn.conf keys and list running values that differ.

    The file is what ``-cfg recovery`` re-applies after a reboot and what Server pods mount, so
    a difference means the port will change (or the pods see another address).
    """
    entry = conf_devices.get(port['device'])
    port['conf'] = dict(entry) if entry else None
    port['conf_mismatch'] = []
    if not entry:
        return
    for conf_key, port_key in _CONF_COMPARE:
        running = port.get(port_key)
        stored = entry.get(conf_key)
        if stored is None or running is None:
            continue
        if stored != running:
            port['conf_mismatch'].append(
                {'key': conf_key, 'running': running, 'hccn_conf': stored})


# ---------------------------------------------------------------------------------------------
# pings of one node


def ping_args(address, packet_size=None, extra_args=None):
    args = ['-ping', '-g', 'address', address]
    if packet_size is not None:
        args += ['pkt', str(int(packet_size))]
    return args + [str(a) for a in (extra_args or [])]


def classify_ping(res, address):
    """ToolResult of one ``-ping`` -> result dict with ``state``:

    ok, loss (parsed, some packet lost), link_down, timeout (killed), busy (retries exhausted),
    error (no or unparseable output; ``message`` holds why).
    """
    out = {
        'address': address, 'state': 'error', 'ok': False, 'transmitted': None,
        'received': None, 'loss_percent': None, 'timeouts': 0, 'unreachable': 0,
        'message_too_long': 0, 'rtt_avg_ms': None, 'rc': res.rc, 'attempts': res.attempts,
        'elapsed': round(res.elapsed, 3), 'message': '', 'stdout': '', 'stderr': '',
    }
    stdout = (res.stdout or '').strip()
    stderr = (res.stderr or '').strip()
    if res.timed_out:
        out.update(state='timeout', message='no answer within the ping timeout')
    elif res.busy:
        out.update(state='busy', message='hccn_tool still busy after %d attempts' % res.attempts)
    elif is_unsupported(stdout, stderr):
        out['message'] = 'hccn_tool -ping not supported here: %s' % _clip(stdout or stderr, 200)
    elif not stdout:
        if LINK_DOWN_PATTERN.search(stderr):
            out.update(state='link_down', message='source port link is down')
        else:
            out['message'] = 'no output on stdout (rc=%s)' % res.rc
    else:
        try:
            parsed = parse_ping(stdout)
        except HccnParseError as exc:
            out['message'] = str(exc)
        else:
            rtts = parsed['rtt_ms']
            out.update(
                state='ok' if parsed['success'] else 'loss', ok=parsed['success'],
                transmitted=parsed['transmitted'], received=parsed['received'],
                loss_percent=parsed['loss_percent'], timeouts=parsed['timeouts'],
                unreachable=parsed['unreachable'], message_too_long=parsed['message_too_long'],
                rtt_avg_ms=round(sum(rtts) / len(rtts), 6) if rtts else None)
            if parsed['target'] and parsed['target'] != address:
                out.update(state='error', ok=False,
                           message='tool pinged %s, asked for %s' % (parsed['target'], address))
            elif not parsed['success']:
                out['message'] = '%s of %s packets received' % (parsed['received'],
                                                                parsed['transmitted'])
    if not out['ok']:
        out['stdout'] = _clip(stdout, 600)
        out['stderr'] = _clip(stderr, 300)
    return out


RECHECK_STATES = ('loss', 'timeout')


def run_pings(tool, pings, concurrency=1, packet_size=None, extra_args=None, clock=None,
              recheck=False):
    """Run ``pings`` (dicts with ``device`` and ``address``; other keys are passed through)
    with at most ``concurrency`` hccn_tool processes in flight on this node.

    With ``recheck``, pings that lost packets or timed out run once more after the others: the
    first packet to a fresh neighbour often dies in ARP resolution. A ping clean on the second
    try is ``ok`` with ``flaky`` true and its first try kept in ``first_try``.

    Returns (results in input order, stats) where stats holds ``max_in_flight`` and ``elapsed``.
    """
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    clock = clock or time.time
    lock = threading.Lock()
    stats = {'in_flight': 0, 'max_in_flight': 0}

    def one(ping):
        with lock:
            stats['in_flight'] += 1
            stats['max_in_flight'] = max(stats['max_in_flight'], stats['in_flight'])
        try:
            res = tool.run(ping['device'], ping_args(ping['address'], packet_size, extra_args))
        finally:
            with lock:
                stats['in_flight'] -= 1
        result = dict(ping)
        result.update(classify_ping(res, ping['address']))
        return result

    started = clock()
    workers = max(1, min(int(concurrency), len(pings) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, pings))
        again = [i for i, r in enumerate(results) if recheck and r['state'] in RECHECK_STATES]
        for i, second in zip(again, pool.map(one, [pings[i] for i in again])):
            first = results[i]
            second['first_try'] = dict((k, first[k]) for k in (
                'state', 'received', 'transmitted', 'message', 'stdout'))
            second['flaky'] = bool(second['ok'])
            second['attempts'] += first['attempts']
            results[i] = second
    for r in results:
        r.setdefault('flaky', False)
    return results, {'max_in_flight': stats['max_in_flight'], 'rechecked': len(again),
                     'elapsed': round(clock() - started, 3), 'concurrency': workers}
