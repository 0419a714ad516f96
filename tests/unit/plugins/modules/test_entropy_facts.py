# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
import functools

import pytest
from ansible.module_utils import basic

from ansible_collections.ascend.mindie.plugins.module_utils import entropy
from ansible_collections.ascend.mindie.plugins.modules import entropy_facts


@pytest.fixture
def fake_node(tmp_path):
    rnd = tmp_path / 'random'
    rnd.mkdir()
    (rnd / 'poolsize').write_text('256\n')
    (rnd / 'entropy_avail').write_text('256\n')
    proc = tmp_path / 'proc'
    (proc / '4242').mkdir(parents=True)
    (proc / '4242' / 'comm').write_text('haveged\n')
    (proc / '4242' / 'cmdline').write_bytes(b'/usr/sbin/haveged\0-w\x004096\0')
    (tmp_path / 'run').mkdir()
    (tmp_path / 'etc' / 'init.d').mkdir(parents=True)
    return tmp_path


@pytest.fixture
def run(monkeypatch, fake_node, run_module):
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append((argv, kwargs))
        return 0, 'ii |1.9.14-1+deb12u1\n', ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, *a, **k: '/usr/bin/dpkg-query' if name == 'dpkg-query' else None)
    monkeypatch.setattr(entropy_facts, 'gather', functools.partial(
        entropy.gather, random_dir=str(fake_node / 'random'), proc_dir=str(fake_node / 'proc'),
        run_dir=str(fake_node / 'run'), etc_dir=str(fake_node / 'etc')))

    def _run(args, check_mode=False):
        return run_module(entropy_facts.main, args, check_mode=check_mode)
    _run.calls = calls
    return _run


def test_reads_everything_in_check_mode(run):
    res = run({}, check_mode=True)
    assert not res['failed'] and res['changed'] is False
    facts = res['ansible_facts']['ascend_entropy']
    assert facts['poolsize'] == 256 and facts['reached'] and facts['mode'] == 'full_pool'
    assert facts['haveged']['write_bits'] == 4096 and facts['haveged']['installed']
    # the package query runs untranslated so the parser sees the C locale
    argv, kwargs = run.calls[0]
    assert argv[-1] == 'haveged' and kwargs['environ_update']['LC_ALL'] == 'C'


def test_unparseable_proc_fails_loudly(run, fake_node):
    (fake_node / 'random' / 'poolsize').write_text('many\n')
    res = run({})
    assert res['failed'] and 'poolsize' in res['msg'] and "'many\\n'" in res['msg']


@pytest.mark.parametrize('args,text', [
    ({'target_bits': 0}, 'target_bits'),
    ({'wait_timeout': -1}, 'wait_timeout'),
    ({'poll_interval': 0}, 'poll_interval'),
])
def test_refuses_bad_parameters(run, args, text):
    res = run(args)
    assert res['failed'] and text in res['msg']
