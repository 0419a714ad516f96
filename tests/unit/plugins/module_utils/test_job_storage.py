# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.ascend.mindie.plugins.module_utils import job_storage as js

HOSTS = ['prefill-1', 'decode-1', 'k8s-cp-1']


@pytest.mark.parametrize('variables, expected', [
    ({}, None),
    ({'awx_job_id': 42}, '42'),
    ({'tower_job_id': 7}, '7'),
    ({'awx_job_id': '', 'tower_job_id': 9}, '9'),
])
def test_controller_job_id(variables, expected):
    assert js.controller_job_id(variables) == expected


def test_outside_awx_the_control_node_may_keep_the_ca():
    assert js.check_job_storage(None, 'localhost', HOSTS, pki_dir='~/.ascend-mindie/pki') == []


@pytest.mark.parametrize('host, connection, address', [
    ('localhost', '', ''), ('127.0.0.1', '', ''), ('ca', 'local', ''), ('ca', 'ssh', '127.0.0.1')])
def test_awx_refuses_a_ca_in_the_execution_environment(host, connection, address):
    found = js.check_job_storage('42', host, HOSTS + ['ca'], connection, address, '~/.ascend-mindie/pki')
    assert [v['variable'] for v in found] == ['mindie_ca_host']
    message = found[0]['message']
    # why (the job's environment is deleted, a new CA every job) and what to set
    assert 'AWX job 42' in message and 'deletes when the job ends' in message and 'new CA' in message
    assert 'set mindie_ca_host to a persistent inventory host' in message
    assert 'mindie_pki_dir_persistent: true' in message


def test_awx_accepts_a_persistent_inventory_ca_host():
    assert js.check_job_storage('42', 'k8s-cp-1', HOSTS, 'ssh', '198.18.0.5', '/var/lib/pki') == []


def test_awx_accepts_an_absolute_pki_dir_declared_persistent():
    assert js.check_job_storage('42', 'localhost', HOSTS, pki_dir='/runner/persistent/pki',
                                pki_dir_persistent=True) == []


def test_awx_refuses_a_relative_pki_dir_declared_persistent():
    found = js.check_job_storage('42', 'localhost', HOSTS, pki_dir='pki', pki_dir_persistent=True)
    assert [v['variable'] for v in found] == ['mindie_pki_dir']
    assert 'absolute path' in found[0]['fix']


def test_unknown_ca_host_and_report_host():
    found = js.check_job_storage(None, 'nohost', HOSTS, report_host='gone')
    assert [v['variable'] for v in found] == ['mindie_ca_host', 'mindie_report_host']
    assert "mindie_ca_host is 'nohost', which is not in the inventory" in found[0]['message']


def test_report_ref_names_nothing_that_dies_with_the_job():
    assert js.report_ref(None, '/srv/reports') == '/srv/reports'
    assert js.report_ref('42', 'mindie-reports') == js.ARTIFACTS_REF
    ref = js.report_ref('42', 'mindie-reports', 'k8s-cp-1', '/var/lib/ascend-mindie/reports')
    assert ref.startswith('k8s-cp-1:/var/lib/ascend-mindie/reports') and 'mindie-reports ' not in ref


def test_awx_checks_only_job_does_not_need_the_ca_host():
    assert js.check_job_storage('42', 'localhost', HOSTS, ca_needed=False) == []
