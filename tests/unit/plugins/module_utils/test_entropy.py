# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import os

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import entropy
from ansible_collections.ascend.mindie.plugins.module_utils.entropy import (
    EntropyError, explain, find_processes, gather, parse_dpkg_query, parse_int_file, parse_rpm_query,
    parse_write_arg, read_pool, required_bits, wait_for_pool)


# --- fixtures: a fake /proc, /run and /etc ---------------------------------------------------------

def make_random(tmp_path, poolsize='256\n', avail='256\n', wakeup='224\n'):
    rnd = tmp_path / 'random'
    rnd.mkdir()
    (rnd / 'poolsize').write_text(poolsize)
    (rnd / 'entropy_avail').write_text(avail)
    if wakeup is not None:
        (rnd / 'write_wakeup_threshold').write_text(wakeup)
    return rnd


def add_proc(proc, pid, comm, argv):
    d = proc / str(pid)
    d.mkdir(parents=True)
    (d / 'comm').write_text(comm + '\n')
    (d / 'cmdline').write_bytes(b'\0'.join(a.encode() for a in argv) + (b'\0' if argv else b''))


class Clock:
    """A fake clock advanced by the fake sleep, so waits take no real time."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# --- /proc integers ----------------------------------------------------------------------------------

@pytest.mark.parametrize('text,value', [('4096\n', 4096), ('256', 256), (' 0 \n', 0)])
def test_parse_int_file(text, value):
    assert parse_int_file(text, '/p') == value


@pytest.mark.parametrize('text', ['', '\n', '-1\n', '4096 bits\n', '40 96', '0x100'])
def test_parse_int_file_refuses_other_content(text):
    with pytest.raises(EntropyError, match='/p holds'):
        parse_int_file(text, '/p')


def test_read_pool_reads_all_three(tmp_path):
    rnd = make_random(tmp_path, '4096\n', '3900\n', '4064\n')
    assert read_pool(str(rnd)) == {'poolsize': 4096, 'entropy_avail': 3900, 'write_wakeup_threshold': 4064}


def test_read_pool_without_wakeup_file(tmp_path):
    rnd = make_random(tmp_path, wakeup=None)
    assert read_pool(str(rnd))['write_wakeup_threshold'] is None


def test_read_pool_missing_file_names_it(tmp_path):
    rnd = tmp_path / 'random'
    rnd.mkdir()
    with pytest.raises(EntropyError, match='cannot read .*poolsize'):
        read_pool(str(rnd))


def test_read_pool_refuses_zero_pool(tmp_path):
    rnd = make_random(tmp_path, poolsize='0\n')
    with pytest.raises(EntropyError, match='cannot be empty'):
        read_pool(str(rnd))


# --- what the pool must reach --------------------------------------------------------------------------

@pytest.mark.parametrize('poolsize,target,expected', [
    (256, 4096, ('full_pool', 256)),       # Linux >= 5.18 / backports: the target cannot apply
    (256, 128, ('full_pool', 256)),        # fixed pool reads full whatever the target
    (4096, 4096, ('watermark', 4064)),     # haveged caps at poolsize - 32
    (4096, 1024, ('watermark', 1024)),     # below the cap the target itself
    (4096, 8192, ('watermark', 4064)),
    (512, 4096, ('watermark', 480)),       # any classic pool: the same cap rule
])
def test_required_bits(poolsize, target, expected):
    assert required_bits(poolsize, target) == expected


def test_required_bits_refuses_nonpositive_target():
    with pytest.raises(EntropyError):
        required_bits(4096, 0)


# --- haveged command lines -----------------------------------------------------------------------------

@pytest.mark.parametrize('argv,value', [
    (['/usr/sbin/haveged', '-w', '4096'], 4096),
    (['/usr/sbin/haveged', '--Foreground', '--verbose=1', '-w', '4096'], 4096),
    (['haveged', '-w1024'], 1024),
    (['haveged', '--write=2048'], 2048),
    (['haveged', '--write', '2048', '-F'], 2048),
    (['haveged', '-w', '1024', '-w', '4096'], 4096),      # getopt: the last one wins
    (['/usr/sbin/haveged', '--Foreground', '--verbose=1'], None),
    (['haveged'], None),
])
def test_parse_write_arg(argv, value):
    assert parse_write_arg(argv) == value


@pytest.mark.parametrize('argv', [['haveged', '-w'], ['haveged', '-w', 'lots'], ['haveged', '--write=']])
def test_parse_write_arg_refuses_garbage(argv):
    with pytest.raises(EntropyError, match='haveged command line'):
        parse_write_arg(argv)


def test_find_processes_matches_comm_and_skips_zombies(tmp_path):
    proc = tmp_path / 'proc'
    add_proc(proc, 812, 'haveged', ['/usr/sbin/haveged', '-w', '4096'])
    add_proc(proc, 77, 'haveged', ['haveged', '-w1024'])
    add_proc(proc, 90, 'haveged', [])                     # zombie: empty cmdline
    add_proc(proc, 91, 'sshd', ['/usr/sbin/haveged'])     # argv lies, comm does not
    (proc / 'self').mkdir()
    (proc / 'meminfo').write_text('x')
    found = find_processes('haveged', str(proc))
    assert found == [{'pid': 77, 'argv': ['haveged', '-w1024']},
                     {'pid': 812, 'argv': ['/usr/sbin/haveged', '-w', '4096']}]


# --- package databases ---------------------------------------------------------------------------------

@pytest.mark.parametrize('stdout,rc,version', [
    ('ii |1.9.14-1+deb12u1\n', 0, '1.9.14-1+deb12u1'),
    ('rc |1.9.14-1+deb12u1\n', 0, None),                  # removed, config files left
    ('iF |1.9.14-1\n', 0, None),                          # half-configured is not installed
    ('iHR|1.9.14-1\n', 0, None),
    ('un |\n', 0, None),
    ('', 1, None),                                        # "no packages found matching"
    ('ii |1.9.14-1\nun |\n', 0, '1.9.14-1'),              # multi-arch: one architecture installed
])
def test_parse_dpkg_query(stdout, rc, version):
    assert parse_dpkg_query(stdout, rc, 'haveged') == version


@pytest.mark.parametrize('stdout,rc', [
    ('haveged 1.9.14\n', 0),
    ('Desired=Unknown/Install\n', 0),
    ('', 2),
])
def test_parse_dpkg_query_refuses_other_output(stdout, rc):
    with pytest.raises(EntropyError, match='dpkg-query'):
        parse_dpkg_query(stdout, rc, 'haveged')


@pytest.mark.parametrize('stdout,rc,version', [
    ('1.9.18-1.oe2203sp4\n', 0, '1.9.18-1.oe2203sp4'),
    ('package haveged is not installed\n', 1, None),
    ('1.9.14-1.el7\n1.9.14-2.el7\n', 0, '1.9.14-2.el7'),
])
def test_parse_rpm_query(stdout, rc, version):
    assert parse_rpm_query(stdout, rc, 'haveged') == version


@pytest.mark.parametrize('stdout,rc', [
    ('', 1),
    ('error: rpmdb open failed\n', 1),
    ('haveged\n', 0),
    ('', 0),
])
def test_parse_rpm_query_refuses_other_output(stdout, rc):
    with pytest.raises(EntropyError, match='rpm -q'):
        parse_rpm_query(stdout, rc, 'haveged')


# --- bounded wait --------------------------------------------------------------------------------------

def test_wait_returns_at_once_when_reached():
    clock = Clock()
    res = wait_for_pool(lambda: 4090, 4064, 30, 1.0, clock=clock.time, sleep=clock.sleep)
    assert res == {'reached': True, 'last': 4090, 'min_seen': 4090, 'max_seen': 4090, 'samples': 1,
                   'waited': 0.0}
    assert clock.sleeps == []


def test_wait_polls_until_reached():
    clock = Clock()
    values = iter([100, 900, 4070, 1])
    res = wait_for_pool(lambda: next(values), 4064, 30, 1.0, clock=clock.time, sleep=clock.sleep)
    assert res['reached'] and res['samples'] == 3 and res['min_seen'] == 100 and res['last'] == 4070
    assert clock.sleeps == [1.0, 1.0]


def test_wait_gives_up_after_timeout():
    clock = Clock()
    res = wait_for_pool(lambda: 103, 4064, 5, 2.0, clock=clock.time, sleep=clock.sleep)
    assert not res['reached']
    assert res['waited'] == 5.0
    # 0, 2, 4, then a last short sleep to exactly 5: bounded, and never past the timeout
    assert clock.sleeps == [2.0, 2.0, 1.0]
    assert res['samples'] == 4


def test_wait_timeout_zero_reads_once():
    clock = Clock()
    res = wait_for_pool(lambda: 5, 256, 0, 1.0, clock=clock.time, sleep=clock.sleep)
    assert res['samples'] == 1 and not res['reached'] and clock.sleeps == []


# --- gather: the whole module logic --------------------------------------------------------------------

class FakeRunner:
    def __init__(self, replies):
        self.replies = replies
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        return self.replies[argv[-1]]


def bins(*present):
    return lambda name: '/usr/bin/' + name if name in present else None


def run_gather(tmp_path, runner, get_bin, poolsize='256\n', avail='256\n', procs=(), systemd=False,
               init_script=False, target=4096, timeout=0, avail_seq=None):
    rnd = make_random(tmp_path, poolsize, avail)
    proc = tmp_path / 'proc'
    proc.mkdir()
    for pid, argv in procs:
        add_proc(proc, pid, 'haveged', argv)
    run = tmp_path / 'run'
    (run / 'systemd' / 'system').mkdir(parents=True) if systemd else run.mkdir()
    etc = tmp_path / 'etc'
    (etc / 'init.d').mkdir(parents=True)
    if init_script:
        script = etc / 'init.d' / 'haveged'
        script.write_text('#!/bin/sh\n')
        script.chmod(0o755)
    clock = Clock()
    sleep = clock.sleep
    if avail_seq is not None:
        seq = iter(avail_seq)

        def sleep(seconds):
            clock.sleep(seconds)
            (rnd / 'entropy_avail').write_text('%d\n' % next(seq))
    return gather(runner, get_bin, ['haveged'], target, timeout, 1.0, random_dir=str(rnd),
                  proc_dir=str(proc), run_dir=str(run), etc_dir=str(etc), sleep=sleep, clock=clock.time)


def test_gather_fixed_pool_debian_sysv(tmp_path):
    runner = FakeRunner({'haveged': (0, 'ii |1.9.14-1+deb12u1\n', '')})
    facts = run_gather(tmp_path, runner, bins('dpkg-query', 'rpm'),
                       procs=[(812, ['/usr/sbin/haveged', '-w', '4096'])], init_script=True)
    assert runner.calls == [['/usr/bin/dpkg-query', '-W', '-f', '${db:Status-Abbrev}|${Version}\\n',
                             'haveged']]
    assert facts['mode'] == 'full_pool' and facts['required_bits'] == 256 and facts['reached']
    assert 'impossible' in facts['note'] and facts['message'] is None
    assert facts['init_system'] == 'other'
    hv = facts['haveged']
    assert hv['installed'] and hv['running'] and hv['write_bits'] == 4096
    assert hv['init_script'].endswith('/etc/init.d/haveged')
    assert hv['packages'] == {'haveged': '1.9.14-1+deb12u1'}


def test_gather_rpm_systemd_not_installed(tmp_path):
    runner = FakeRunner({'haveged': (1, 'package haveged is not installed\n', '')})
    facts = run_gather(tmp_path, runner, bins('rpm'), systemd=True)
    assert runner.calls[0][:2] == ['/usr/bin/rpm', '-q']
    assert facts['init_system'] == 'systemd'
    assert facts['haveged'] == {'installed': False, 'packages': {'haveged': None}, 'running': False,
                                'processes': [], 'write_bits': None, 'init_script': None}


def test_gather_processes_disagreeing_have_no_single_write_value(tmp_path):
    runner = FakeRunner({'haveged': (0, 'ii |1\n', '')})
    facts = run_gather(tmp_path, runner, bins('dpkg-query'),
                       procs=[(1, ['haveged', '-w', '1024']), (2, ['haveged', '-w', '4096'])])
    assert facts['haveged']['write_bits'] is None and facts['haveged']['running']


def test_gather_classic_pool_fills_while_waiting(tmp_path):
    runner = FakeRunner({'haveged': (0, 'ii |1\n', '')})
    facts = run_gather(tmp_path, runner, bins('dpkg-query'), poolsize='4096\n', avail='120\n',
                       procs=[(5, ['haveged', '-w', '4096'])], timeout=10, avail_seq=[2000, 4064])
    assert facts['mode'] == 'watermark' and facts['required_bits'] == 4064
    assert facts['reached'] and facts['entropy_avail'] == 4064 and facts['check']['samples'] == 3
    assert facts['note'] is None


def test_gather_low_entropy_fails_with_clear_message(tmp_path):
    runner = FakeRunner({'haveged': (0, 'ii |1\n', '')})
    facts = run_gather(tmp_path, runner, bins('dpkg-query'), poolsize='4096\n', avail='100\n',
                       procs=[(5, ['haveged', '-w', '4096'])], timeout=3,
                       avail_seq=[101, 99, 102, 100])
    assert not facts['reached']
    msg = facts['message']
    assert 'pool is 4096 bits' in msg and '>= 4064' in msg and 'read 99..102' in msg
    assert 'haveged is running (pid 5, -w 4096)' in msg
    assert 'Fix: haveged runs as asked but the kernel does not take its entropy' in msg
    assert 'entropy_wait_timeout' in msg


def test_gather_without_package_tools_fails(tmp_path):
    with pytest.raises(EntropyError, match='neither dpkg-query nor rpm'):
        run_gather(tmp_path, FakeRunner({}), bins())


def _facts(mode='watermark', pool=4096, running=False, installed=True, write_bits=None, init='other'):
    return {'poolsize': pool, 'mode': mode, 'required_bits': 256 if mode == 'full_pool' else 4064,
            'init_system': init,
            'check': {'min_seen': 30, 'max_seen': 40, 'samples': 2, 'waited': 1.0},
            'haveged': {'running': running, 'installed': installed,
                        'processes': [{'pid': 9, 'argv': ['haveged']}] if running else [],
                        'write_bits': write_bits}}


@pytest.mark.parametrize('kwargs,daemon,fix', [
    (dict(mode='full_pool', pool=256, installed=False), 'haveged is not installed',
     'Fix: install haveged (entropy_package_source / entropy_package_dir) and start it with -w 4096.'),
    (dict(), 'haveged is installed but not running',
     'Fix: find out why haveged stops: run "/usr/sbin/haveged -F -w 4096" by hand and read its error.'),
    (dict(init='systemd'), 'haveged is installed but not running',
     'Fix: find out why haveged stops: systemctl status haveged; journalctl -u haveged.'),
    (dict(running=True, write_bits=1024), 'haveged is running (pid 9, -w 1024)',
     'Fix: restart haveged with -w 4096.'),
    (dict(running=True), 'haveged is running (pid 9, -w not set)', 'Fix: restart haveged with -w 4096.'),
    (dict(mode='full_pool', pool=256, running=True, write_bits=4096), 'haveged is running (pid 9, -w 4096)',
     'crng init done'),
])
def test_explain_names_values_state_and_fix(kwargs, daemon, fix):
    facts = _facts(**kwargs)
    msg = explain(facts, 4096)
    assert 'read 30..40 over 2 samples in 1.0 s' in msg
    assert daemon in msg and fix in msg
    if facts['mode'] == 'full_pool':
        assert msg.startswith('the kernel pool is a fixed 256 bits (RNG after the 2022 rewrite), so it must read full (256)')
    else:
        assert msg.startswith('the kernel pool is 4096 bits, so haveged -w 4096 should keep entropy_avail at >= 4064')


def test_default_paths_are_the_kernel_ones():
    assert entropy.RANDOM_DIR == '/proc/sys/kernel/random'
    assert os.path.isabs(entropy.RANDOM_DIR)
