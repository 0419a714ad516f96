# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ascend.mindie contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ascend.mindie.plugins.modules import job_storage_check


def test_fails_under_awx_with_a_local_ca(run_module):
    result = run_module(job_storage_check.main, {'job_id': '42', 'ca_host': 'localhost',
                                                 'inventory_hosts': ['p1'], 'pki_dir': '~/pki'},
                        check_mode=True)
    assert result['failed'] and not result['changed']
    assert result['controller_job'] is True
    assert 'mindie_pki_dir_persistent' in result['msg']


def test_passes_outside_awx_and_reports_the_dir(run_module):
    result = run_module(job_storage_check.main, {'ca_host': 'localhost', 'inventory_hosts': ['p1'],
                                                 'report_dir': '/srv/r'})
    assert not result['failed'] and result['report_ref'] == '/srv/r' and result['controller_job'] is False
