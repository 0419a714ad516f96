# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kernel entropy pool and haveged state, read from /proc and the package database.

Facts this is built on (reference ascend-tools.md section 13):

* ``/proc/sys/kernel/random/poolsize`` is 4096 on kernels before the 2022 RNG rewrite and a fixed
  256 after it (mainline 5.18, backported to several stable lines), so the pool size is read, never
  guessed from the kernel version.
* haveged ``-w N`` sets ``write_wakeup_threshold`` capped at ``poolsize - 32`` (4064 on a 4096 pool)
  and tops the pool up, so on a 4096 pool the target is reached at 4064.
* On a 256 pool the threshold has no effect; a healthy node reads ``entropy_avail == poolsize``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import time

RANDOM_DIR = '/proc/sys/kernel/random'
# Kernels after the 2022 rewrite report this fixed size; anything at or below it is "fixed pool".
FIXED_POOL_BITS = 256
# haveged caps the wakeup threshold at poolsize minus this (HAV src/haveged.c).
HAVEGED_CAP_MARGIN = 32

MODE_FULL_POOL = 'full_pool'
MODE_WATERMARK = 'watermark'

_INT_RE = re.compile(r'^\s*(\d+)\s*$')
# dpkg-query -f '${db:Status-Abbrev}|${Version}\n': want/status/error flags, then the version.
_DPKG_LINE_RE = re.compile(r'^([uihrp])([ncHUFWti])([ R])\|(.*)$')
_RPM_VERSION_RE = re.compile(r'^\S+-\S+$')
_RPM_NOT_INSTALLED_RE = re.compile(r'^package \S+ is not installed$')


class EntropyError(Exception):
    """Input that does not match the documented formats; the message says what was read where."""


def parse_int_file(text, path):
    """Return the integer a /proc/sys file holds; refuse anything else."""
    match = _INT_RE.match(text or '')
    if not match:
        raise EntropyError('%s holds %r, expected one non-negative integer' % (path, text))
    return int(match.group(1))


def read_int(path):
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise EntropyError('cannot read %s: %s (is /proc mounted and is this Linux?)' % (path, exc))
    return parse_int_file(text, path)


def read_pool(random_dir=RANDOM_DIR):
    """Read poolsize, entropy_avail and (when present) write_wakeup_threshold."""
    pool = {
        'poolsize': read_int(os.path.join(random_dir, 'poolsize')),
        'entropy_avail': read_int(os.path.join(random_dir, 'entropy_avail')),
        'write_wakeup_threshold': None,
    }
    wakeup = os.path.join(random_dir, 'write_wakeup_threshold')
    if os.path.exists(wakeup):
        pool['write_wakeup_threshold'] = read_int(wakeup)
    if pool['poolsize'] <= 0:
        raise EntropyError('%s/poolsize reads %d; a kernel pool cannot be empty'
                           % (random_dir, pool['poolsize']))
    return pool


def required_bits(poolsize, target_bits):
    """What entropy_avail must reach on this kernel for the requested haveged target.

    Returns ``(mode, bits)``. On a fixed 256-bit pool (or smaller) the target cannot apply: the
    pool must simply be full. On a classic pool the target is capped where haveged caps it.
    """
    if target_bits <= 0:
        raise EntropyError('target_bits must be positive, got %d' % target_bits)
    if poolsize <= FIXED_POOL_BITS:
        return MODE_FULL_POOL, poolsize
    return MODE_WATERMARK, min(target_bits, poolsize - HAVEGED_CAP_MARGIN)


def parse_write_arg(argv):
    """The ``-w``/``--write`` value of a haveged command line (list of args), or None.

    Accepts ``-w N``, ``-wN``, ``--write N`` and ``--write=N``; the last one wins, like getopt.
    A value that is not an integer raises, because a daemon started that way is not what we think.
    """
    value = None
    args = list(argv[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        raw = None
        if arg in ('-w', '--write'):
            if index + 1 >= len(args):
                raise EntropyError('haveged command line %r ends in %s without a value' % (argv, arg))
            raw = args[index + 1]
            index += 1
        elif arg.startswith('--write='):
            raw = arg[len('--write='):]
        elif arg.startswith('-w') and not arg.startswith('--'):
            raw = arg[2:]
        if raw is not None:
            match = _INT_RE.match(raw)
            if not match:
                raise EntropyError('haveged command line %r has a non-numeric write threshold %r'
                                   % (argv, raw))
            value = int(match.group(1))
        index += 1
    return value


def find_processes(name, proc_dir='/proc'):
    """Processes whose comm is ``name``: list of dicts with pid and argv (sorted by pid)."""
    found = []
    try:
        entries = os.listdir(proc_dir)
    except OSError as exc:
        raise EntropyError('cannot list %s: %s' % (proc_dir, exc))
    for entry in entries:
        if not entry.isdigit():
            continue
        base = os.path.join(proc_dir, entry)
        try:
            with open(os.path.join(base, 'comm')) as handle:
                comm = handle.read().strip()
            if comm != name:
                continue
            with open(os.path.join(base, 'cmdline'), 'rb') as handle:
                raw = handle.read()
        except (IOError, OSError):
            # The process ended between listdir and open.
            continue
        argv = [part.decode('utf-8', 'replace') for part in raw.split(b'\0') if part]
        if not argv:
            # Zombie or kernel thread: no command line, not a running daemon.
            continue
        found.append({'pid': int(entry), 'argv': argv})
    return sorted(found, key=lambda item: item['pid'])


def parse_dpkg_query(stdout, rc, name):
    """Installed version of ``name`` from dpkg-query output, or None when it is not installed.

    rc 1 with no output means dpkg never heard of the package. Several lines (multi-arch) are
    fine; the package counts as installed when one of them is fully installed (status ``i``).
    """
    lines = [line for line in (stdout or '').splitlines() if line.strip()]
    if rc not in (0, 1):
        raise EntropyError('dpkg-query for %s failed with rc %d: %r' % (name, rc, stdout))
    if rc == 1 and not lines:
        return None
    version = None
    for line in lines:
        match = _DPKG_LINE_RE.match(line)
        if not match:
            raise EntropyError('dpkg-query printed %r for %s; expected "<status>|<version>"'
                               % (line, name))
        if match.group(2) == 'i':
            version = match.group(4)
    return version


def parse_rpm_query(stdout, rc, name):
    """Installed version-release of ``name`` from ``rpm -q --qf '%{VERSION}-%{RELEASE}\\n'``."""
    lines = [line.strip() for line in (stdout or '').splitlines() if line.strip()]
    if rc == 1 and len(lines) == 1 and _RPM_NOT_INSTALLED_RE.match(lines[0]):
        return None
    if rc != 0 or not lines:
        raise EntropyError('rpm -q %s failed with rc %d: %r' % (name, rc, stdout))
    for line in lines:
        if not _RPM_VERSION_RE.match(line):
            raise EntropyError('rpm -q printed %r for %s; expected "<version>-<release>"' % (line, name))
    # Several installed versions (multilib): report the last, rpm's order.
    return lines[-1]


def wait_for_pool(read, required, timeout, interval, clock=time.time, sleep=time.sleep):
    """Poll ``read()`` (returns entropy_avail) until it reaches ``required`` or ``timeout`` passes.

    Returns a dict with ``reached``, the last, lowest and highest values, the number of samples and
    the seconds waited. Always takes at least one sample, so a timeout of 0 is a plain check.
    """
    start = clock()
    samples = []
    while True:
        value = read()
        samples.append(value)
        waited = clock() - start
        if value >= required or waited >= timeout:
            break
        sleep(min(interval, max(timeout - waited, 0)))
    return {
        'reached': samples[-1] >= required,
        'last': samples[-1],
        'min_seen': min(samples),
        'max_seen': max(samples),
        'samples': len(samples),
        'waited': round(clock() - start, 1),
    }


def explain(facts, target_bits):
    """One message for the operator: what was read (values), the daemon's state and what to do."""
    pool = facts['poolsize']
    check = facts['check']
    haveged = facts['haveged']
    systemd = facts.get('init_system') == 'systemd'
    if haveged['running']:
        daemon = 'haveged is running (pid %s, -w %s)' % (
            ', '.join(str(proc['pid']) for proc in haveged['processes']),
            haveged['write_bits'] if haveged['write_bits'] is not None else 'not set')
    elif haveged['installed']:
        daemon = 'haveged is installed but not running'
    else:
        daemon = 'haveged is not installed'

    if not haveged['installed']:
        fix = 'install haveged (entropy_package_source / entropy_package_dir) and start it with -w %d' % target_bits
    elif not haveged['running']:
        fix = ('find out why haveged stops: %s' % (
            'systemctl status haveged; journalctl -u haveged' if systemd else
            'run "/usr/sbin/haveged -F -w %d" by hand and read its error' % target_bits))
    elif haveged['write_bits'] != target_bits:
        fix = 'restart haveged with -w %d' % target_bits
    elif facts['mode'] == MODE_FULL_POOL:
        fix = ('this kernel seeds its fixed pool itself; check dmesg for "crng init done" and that '
               'nothing drains /dev/random')
    else:
        fix = ('haveged runs as asked but the kernel does not take its entropy (in a container it '
               'lacks CAP_SYS_ADMIN for the watermark and RNDADDENTROPY); run it on the host, or give '
               'it longer with entropy_wait_timeout')

    if facts['mode'] == MODE_FULL_POOL:
        what = ('the kernel pool is a fixed %d bits (RNG after the 2022 rewrite), so it must read full '
                '(%d); entropy_avail read %d..%d over %d samples in %.1f s'
                % (pool, pool, check['min_seen'], check['max_seen'], check['samples'], check['waited']))
    else:
        what = ('the kernel pool is %d bits, so haveged -w %d should keep entropy_avail at >= %d; it '
                'read %d..%d over %d samples in %.1f s'
                % (pool, target_bits, facts['required_bits'], check['min_seen'], check['max_seen'],
                   check['samples'], check['waited']))
    return '%s; %s. Fix: %s.' % (what, daemon, fix)


def gather(run_command, get_bin_path, packages, target_bits, wait_timeout=0, poll_interval=1.0,
           random_dir=RANDOM_DIR, proc_dir='/proc', run_dir='/run', etc_dir='/etc',
           sleep=time.sleep, clock=time.time):
    """Everything the entropy role needs, in one pass.

    ``run_command(argv) -> (rc, stdout, stderr)`` and ``get_bin_path(name) -> path or None`` come
    from the module so this stays testable without Ansible.
    """
    pool = read_pool(random_dir)
    mode, required = required_bits(pool['poolsize'], target_bits)

    versions = {}
    dpkg = get_bin_path('dpkg-query')
    rpm = get_bin_path('rpm') if not dpkg else None
    if not dpkg and not rpm:
        raise EntropyError('neither dpkg-query nor rpm found; cannot tell whether haveged is installed')
    for name in packages:
        if dpkg:
            rc, out, err = run_command([dpkg, '-W', '-f', '${db:Status-Abbrev}|${Version}\\n', name])
            versions[name] = parse_dpkg_query(out, rc, name)
        else:
            rc, out, err = run_command([rpm, '-q', '--qf', '%{VERSION}-%{RELEASE}\\n', name])
            versions[name] = parse_rpm_query(out, rc, name)

    processes = find_processes('haveged', proc_dir)
    write_values = sorted(set(parse_write_arg(proc['argv']) for proc in processes),
                          key=lambda v: (v is None, v))
    init_script = os.path.join(etc_dir, 'init.d', 'haveged')
    haveged = {
        'installed': bool(packages) and all(versions.get(name) for name in packages),
        'packages': versions,
        'running': bool(processes),
        'processes': processes,
        # One value when every haveged process agrees; None when unset or they disagree.
        'write_bits': write_values[0] if len(write_values) == 1 else None,
        'init_script': init_script if os.access(init_script, os.X_OK) else None,
    }
    facts = {
        'poolsize': pool['poolsize'],
        'entropy_avail': pool['entropy_avail'],
        'write_wakeup_threshold': pool['write_wakeup_threshold'],
        'mode': mode,
        'target_bits': target_bits,
        'required_bits': required,
        # sd_booted(): systemd is the init when this directory exists.
        'init_system': 'systemd' if os.path.isdir(os.path.join(run_dir, 'systemd', 'system')) else 'other',
        'haveged': haveged,
        'note': None,
    }
    if mode == MODE_FULL_POOL and target_bits > pool['poolsize']:
        facts['note'] = ('the kernel pool is a fixed %d bits, so a %d-bit target is impossible; '
                         'checking for a full pool instead' % (pool['poolsize'], target_bits))

    check = wait_for_pool(lambda: read_int(os.path.join(random_dir, 'entropy_avail')), required,
                          wait_timeout, poll_interval, clock=clock, sleep=sleep)
    facts['entropy_avail'] = check['last']
    facts['check'] = check
    facts['reached'] = check['reached']
    facts['message'] = None if check['reached'] else explain(facts, target_bits)
    return facts
